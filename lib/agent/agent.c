/* The agent's move loop: its options and handles, the search over its
 * model (with the retrieval callback for a retrieval model), tree reuse
 * while the game only grows, the move drawn with a temperature, and the
 * report of the latest move. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "agent_internal.h"
#include "model/model_search_release.h"

static const sp_agent_options agent_defaults = SP_AGENT_OPTIONS_INIT;
static const sp__options_type agent_options_type = { "sp_agent_options", SP_AGENT_OPTIONS_VERSION,
                                                     sizeof(sp_agent_options), &agent_defaults,
                                                     { offsetof(sp_agent_options, per_node_neighbours),
                                                       offsetof(sp_agent_options, temperature_moves) } };
static const sp_agent_report report_defaults = SP_AGENT_REPORT_INIT;
static const sp__options_type report_type = { "sp_agent_report", SP_AGENT_REPORT_VERSION, sizeof(sp_agent_report),
                                              &report_defaults, { 0 } };
static const sp_agent_neighbour neighbour_defaults = SP_AGENT_NEIGHBOUR_INIT;
const sp__options_type sp__agent_neighbour_type = { "sp_agent_neighbour", SP_AGENT_NEIGHBOUR_VERSION,
                                                    sizeof(sp_agent_neighbour), &neighbour_defaults, { 0 } };

int sp_agent_options_init(sp_agent_options *opts, uint32_t version)
{
    return sp__options_init(opts, version, &agent_options_type, "sp_agent_options_init");
}

int sp_agent_report_init(sp_agent_report *report, uint32_t version)
{
    return sp__options_init(report, version, &report_type, "sp_agent_report_init");
}

int sp_agent_neighbour_init(sp_agent_neighbour *neighbour, uint32_t version)
{
    return sp__options_init(neighbour, version, &sp__agent_neighbour_type, "sp_agent_neighbour_init");
}

static int check_options(const sp_agent_options *o)
{
#define BAD(cond, ...)                                                                                         \
    if (cond)                                                                                                  \
    return sp__error(SP_ERR_INVALID_ARG, "sp_agent_create: " __VA_ARGS__)
    BAD(o->simulations < 1, "simulations %d is below 1", (int)o->simulations);
    BAD(o->kind != SP_SEARCH_PUCT && o->kind != SP_SEARCH_GUMBEL, "kind %d is no sp_search_kind", (int)o->kind);
    BAD(o->mode != SP_MODEL_SEARCH_LEARNED && o->mode != SP_MODEL_SEARCH_RULES, "mode %d is no sp_model_search_mode",
        (int)o->mode);
    BAD(o->threads < 1 || o->threads > 256, "threads %d is outside 1..256", (int)o->threads);
    BAD(o->batch < 0, "batch %d is negative", (int)o->batch);
    BAD(o->fpu != SP_SEARCH_FPU_ZERO && o->fpu != SP_SEARCH_FPU_PARENT, "fpu %d is no sp_search_fpu", (int)o->fpu);
    BAD(o->playouts < 1, "playouts %d is below 1", (int)o->playouts);
    BAD(o->board_size < 2 || o->board_size > 19, "board_size %d is outside 2..19", (int)o->board_size);
    BAD(!(o->temperature >= 0.0f) || isinf(o->temperature), "temperature %g is not a finite number >= 0",
        (double)o->temperature);
    BAD(!(o->seconds >= 0.0) || isinf(o->seconds), "seconds %g is not a finite number >= 0", o->seconds);
    BAD(o->zero_neighbours != 0 && o->zero_neighbours != 1, "zero_neighbours %d is neither 0 nor 1",
        (int)o->zero_neighbours);
    BAD(o->per_node_neighbours != 0 && o->per_node_neighbours != 1, "per_node_neighbours %d is neither 0 nor 1",
        (int)o->per_node_neighbours);
    BAD(o->temperature_moves < 0, "temperature_moves %d is negative", (int)o->temperature_moves);
#undef BAD
    return SP_OK;
}

/* The handles a model needs, and that they agree. */
static int check_handles(sp_model *model, const sp_embedder *e, const sp_retriever *r, const sp_dataset *ds,
                         int zero_neighbours)
{
    sp_model_options mo = SP_MODEL_OPTIONS_INIT;
    int rc = model ? sp_model_get_options(model, &mo) : SP_OK;
    if (rc)
        return rc;
    if (zero_neighbours && (!model || mo.neighbours == 0))
        return sp__error(SP_ERR_INVALID_ARG, "sp_agent_create: zero_neighbours for %s, which reads no neighbours",
                         model ? "a model" : "random playouts");
    const int N = model && !zero_neighbours ? mo.neighbours : 0;
    if (N == 0 && (e || r || ds))
        return sp__error(SP_ERR_INVALID_ARG, "sp_agent_create: an embedder, retriever or dataset for %s, which "
                                             "retrieves nothing: pass NULL",
                         !model ? "random playouts" : zero_neighbours ? "zero_neighbours"
                                                                      : "a model without neighbours");
    if (N == 0)
        return SP_OK;
    if (!e || !r || !ds)
        return sp__error(SP_ERR_INVALID_ARG, "sp_agent_create: the model reads %d neighbours and needs its %s", N,
                         !e ? "embedder" : !r ? "retriever (the retrieval set's index)"
                                              : "dataset (of the retriever's positions)");
    if ((rc = sp_model_check_retrieval(model, sp_embedder_id(e), N)))
        return rc;
    if (sp_retriever_embedder_id(r) != sp_embedder_id(e))
        return sp__error(SP_ERR_INVALID_ARG, "sp_agent_create: the retriever was built with embedder %016llx, "
                                             "not the given embedder %016llx",
                         (unsigned long long)sp_retriever_embedder_id(r), (unsigned long long)sp_embedder_id(e));
    if (sp_retriever_dim(r) != sp_embedder_dim(e))
        return sp__error(SP_ERR_INVALID_ARG, "sp_agent_create: the retriever holds %u-float keys, the embedder "
                                             "makes %u", sp_retriever_dim(r), sp_embedder_dim(e));
    if (sp_dataset_board_size(ds) != mo.board_size)
        return sp__error(SP_ERR_INVALID_ARG, "sp_agent_create: the dataset is of %dx%d games, the model plays %dx%d",
                         sp_dataset_board_size(ds), sp_dataset_board_size(ds), (int)mo.board_size,
                         (int)mo.board_size);
    return SP_OK;
}

/* The baseline of a retrieval model: every x_i = 0 (sp_model_initial()'s bits). */
static int zero_planes(size_t n, const sp_game *const *games, float *out, void *payload)
{
    const sp_agent *a = payload;
    (void)games;
    memset(out, 0, n * (size_t)a->zero_floats * sizeof *out);
    return 0;
}

static int make_search(sp_agent *a)
{
    const sp_agent_options *o = &a->opts;
    sp_search_model sm;
    int rc;
    if (a->model) {
        sp_model_search_options mo = SP_MODEL_SEARCH_OPTIONS_INIT;
        mo.mode = o->mode;
        if (a->neighbours) {
            mo.neighbours = sp__agent_neighbours;
            mo.neighbours_payload = a;
        } else if (a->opts.zero_neighbours) {
            mo.neighbours = zero_planes;
            mo.neighbours_payload = a;
        }
        rc = sp_model_search_model(a->model, &mo, &sm);
    } else {
        sp_go_evaluator_options eo = SP_GO_EVALUATOR_OPTIONS_INIT;
        eo.board_size = a->size;
        eo.playouts = o->playouts;
        eo.threads = o->threads;
        eo.seed = o->seed;
        rc = sp_go_evaluator_create(&a->evaluator, &eo);
        if (!rc)
            rc = sp_go_evaluator_model(a->evaluator, &sm);
    }
    if (rc)
        return rc;
    sp_search_options so = SP_SEARCH_OPTIONS_INIT;
    so.kind = o->kind;
    so.simulations = o->simulations;
    so.threads = o->threads;
    /* With threads, 4 leaves per thread let the threads share the selection
     * (docs/benchmarks.md, "Two threads"); a network call costs about as
     * much for 4 rows as for 1, so a model batches too. */
    so.batch_size = o->batch ? o->batch : o->threads > 1 || a->model ? 4 * o->threads : 1;
    so.seed = o->seed;
    so.fpu = o->fpu;
    return sp_search_create(&a->search, &sm, &so);
}

void sp_agent_free(sp_agent *a)
{
    if (!a)
        return;
    sp_search_free(a->search);
    /* The model keeps a searcher payload per neighbours payload (this agent) until it is freed. */
    if (a->model && (a->neighbours || a->opts.zero_neighbours))
        sp__model_search_release_neighbours(a->model, a);
    sp_go_evaluator_free(a->evaluator);
    sp_game_free(a->root);
    sp_rng_free(a->rng);
    sp__agent_retrieval_free(a);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

int sp_agent_create(sp_agent **out, sp_model *model, const sp_embedder *embedder, sp_retriever *retriever,
                    sp_dataset *dataset, const sp_agent_options *opts)
{
    if (!out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_agent_create: out is NULL");
    *out = NULL;
    sp_agent_options o;
    int rc = sp__options_read(&o, opts, &agent_options_type, "sp_agent_create");
    if (!rc)
        rc = check_options(&o);
    if (!rc)
        rc = check_handles(model, embedder, retriever, dataset, o.zero_neighbours);
    if (rc)
        return rc;
    sp_agent *a = calloc(1, sizeof *a);
    if (!a)
        return sp__error(SP_ERR_NOMEM, "sp_agent_create: out of memory");
    pthread_mutex_init(&a->lock, NULL);
    a->opts = o;
    a->model = model;
    a->size = o.board_size;
    a->report = (sp_agent_report)SP_AGENT_REPORT_INIT;
    if (model) {
        sp_model_options mo = SP_MODEL_OPTIONS_INIT;
        sp_model_get_options(model, &mo);
        a->size = mo.board_size;
        a->neighbours = o.zero_neighbours ? 0 : mo.neighbours;
        a->zero_floats = (size_t)mo.neighbours * SP_NEIGHBOUR_PLANES * (size_t)mo.board_size * mo.board_size;
    }
    a->area = a->size * a->size;
    if (a->neighbours) {
        a->embedder = embedder;
        a->retriever = retriever;
        a->dataset = dataset;
        a->dim = sp_embedder_dim(embedder);
        a->neighbour_floats = (size_t)a->neighbours * SP_NEIGHBOUR_PLANES * (size_t)a->area;
        rc = sp__agent_retrieval_init(a);
    }
    if (!rc)
        rc = sp_rng_create(&a->rng, o.seed ^ 0x9e3779b97f4a7c15ull);
    if (!rc)
        rc = make_search(a);
    if (rc) {
        sp_agent_free(a);
        return rc;
    }
    *out = a;
    return SP_OK;
}

int sp_agent_board_size(const sp_agent *a) { return a ? a->size : 0; }

int sp_agent_neighbours(const sp_agent *a) { return a ? a->neighbours : 0; }

const sp_search *sp_agent_search(const sp_agent *a) { return a ? a->search : NULL; }

int sp_agent_report_get(const sp_agent *a, sp_agent_report *out)
{
    if (!a || !out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_agent_report_get: %s is NULL", a ? "out" : "agent");
    return sp__options_write(out, &a->report, &report_type, "sp_agent_report_get");
}

/* Whether `game` is the last root with moves added (same start, same komi). */
static int continues(const sp_game *root, const sp_game *game)
{
    if (!root || sp_game_komi(root) != sp_game_komi(game))
        return 0;
    const int n0 = sp_game_move_count(root), n = sp_game_move_count(game);
    if (n < n0)
        return 0;
    for (int i = 0; i < n0; i++) {
        int c0, m0, c1, m1;
        sp_game_move_at(root, i, &c0, &m0);
        sp_game_move_at(game, i, &c1, &m1);
        if (c0 != c1 || m0 != m1)
            return 0;
    }
    /* The same moves from another set-up would still differ here. */
    sp_game *back = NULL;
    int ok = sp_game_clone(&back, game) == SP_OK;
    for (int i = n0; ok && i < n; i++)
        ok = sp_game_undo(back) == SP_OK;
    ok = ok && sp_game_hash(back) == sp_game_hash(root) && sp_game_to_play(back) == sp_game_to_play(root);
    sp_game_free(back);
    return ok;
}

/* Keep the subtree of the moves played since the last search, or start afresh. */
static void follow_game(sp_agent *a, const sp_game *game)
{
    /* Over a learned model every move starts a fresh tree, as MuZero's
     * does: a kept subtree's pass child was built by the dynamics, which
     * never meets the rules (model.h, SP_MODEL_SEARCH_LEARNED). */
    int ok = !(a->model && a->opts.mode == SP_MODEL_SEARCH_LEARNED) && continues(a->root, game);
    const int n0 = ok ? sp_game_move_count(a->root) : 0, n = sp_game_move_count(game);
    for (int i = n0; ok && i < n; i++) {
        int color, move, action;
        sp_game_move_at(game, i, &color, &move);
        ok = sp_move_to_action(a->size, move, &action) == SP_OK && sp_search_advance(a->search, action) == SP_OK;
    }
    if (!ok)
        sp_search_reset(a->search);
}

/* The root's visits after a run, over every action. */
static int32_t root_visits(const sp_agent *a)
{
    const size_t actions = (size_t)a->area + 1;
    int32_t *visits = malloc(actions * sizeof *visits), sum = 0;
    if (visits && sp_search_root_stats(a->search, visits, NULL, NULL, NULL, actions) == SP_OK)
        for (size_t i = 0; i < actions; i++)
            sum += visits[i];
    free(visits);
    return sum;
}

/* A move drawn with probability proportional to visits^(1/T). */
static int draw_action(sp_agent *a, int32_t *action)
{
    const int actions = a->area + 1;
    int32_t *visits = malloc((size_t)actions * sizeof *visits);
    if (!visits)
        return sp__error(SP_ERR_NOMEM, "sp_agent_genmove: out of memory");
    int rc = sp_search_root_stats(a->search, visits, NULL, NULL, NULL, (size_t)actions);
    double total = 0.0, top = 0.0;
    for (int i = 0; i < actions && !rc; i++)
        top = fmax(top, visits[i]);
    for (int i = 0; i < actions && !rc && top > 0.0; i++)
        total += pow(visits[i] / top, 1.0 / a->opts.temperature);
    if (!rc && total > 0.0) {
        double x = sp_rng_uniform(a->rng) * total;
        for (int i = 0; i < actions; i++) {
            const double w = pow(visits[i] / top, 1.0 / a->opts.temperature);
            if (w > 0.0)
                *action = i; /* the last visited one, should rounding leave x >= 0 */
            if (w > 0.0 && (x -= w) < 0.0)
                break;
        }
    }
    free(visits);
    return rc;
}

/* The report's closing figures: the move, the stages' times, the neighbours shown. */
static void finish_report(sp_agent *a, double start, int move)
{
    a->report.move = move;
    a->report.neighbours = 0;
    for (int i = 0; a->root_valid && i < a->neighbours; i++)
        a->report.neighbours += a->root_ids[i] != SP_RETRIEVER_NO_ID; /* fewer keys than N: the found ones, first */
    a->report.queries = a->queries;
    a->report.seconds = sp__agent_now() - start;
    a->report.seconds_embed = a->embed_seconds;
    a->report.seconds_retrieve = a->retrieve_seconds;
    /* The stages' times are summed over the search's workers: a thread's share comes off the wall time. */
    const double per_thread = (a->embed_seconds + a->retrieve_seconds) / a->opts.threads;
    a->report.seconds_search = fmax(0.0, a->report.seconds - per_thread);
}

/* Forget the tree and the last root, so that nothing shows a stale search. */
static void forget(sp_agent *a)
{
    sp_search_reset(a->search);
    sp_game_free(a->root);
    a->root = NULL;
}

int sp_agent_genmove(sp_agent *a, const sp_game *game, double seconds, int32_t *out_move)
{
    if (!a || !game || !out_move)
        return sp__error(SP_ERR_INVALID_ARG, "sp_agent_genmove: %s is NULL", !a ? "agent" : !game ? "game" : "out_move");
    if (sp_game_size(game) != a->size)
        return sp__error(SP_ERR_INVALID_ARG, "sp_agent_genmove: a %dx%d game for a %dx%d agent", sp_game_size(game),
                         sp_game_size(game), a->size, a->size);
    if (isnan(seconds) || isinf(seconds))
        return sp__error(SP_ERR_INVALID_ARG, "sp_agent_genmove: seconds %g is not a finite number", seconds);
    const double start = sp__agent_now();
    a->report = (sp_agent_report)SP_AGENT_REPORT_INIT;
    a->embed_seconds = a->retrieve_seconds = 0.0;
    a->queries = 0;
    a->root_valid = 0;
    *out_move = SP_PASS;
    if (sp_game_is_over(game)) {
        forget(a);
        finish_report(a, start, SP_PASS);
        return SP_OK;
    }

    sp_game *root = NULL;
    int rc = sp_game_clone(&root, game);
    if (rc)
        return rc;
    follow_game(a, root);
    sp_game_free(a->root);
    a->root = root;
    if (a->neighbours)
        rc = sp__agent_retrieve_root(a, root);

    double limit = a->opts.seconds;
    if (seconds > 0.0 && (limit == 0.0 || seconds < limit))
        limit = seconds;
    int32_t action = -1;
    if (!rc)
        rc = sp_search_set_limits(a->search, a->opts.simulations, limit);
    if (!rc)
        rc = sp_search_run(a->search, root, NULL, &action);
    if (!rc && a->opts.temperature > 0.0f
        && (a->opts.temperature_moves == 0 || sp_game_move_count(game) < a->opts.temperature_moves))
        rc = draw_action(a, &action);
    if (!rc) {
        sp_search_root_value(a->search, &a->report.value, &a->report.simulations);
        /* What the run did not add, the kept subtree brought. */
        a->report.reused = root_visits(a) - a->report.simulations;
    }
    int move = SP_PASS;
    if (!rc && action >= 0)
        sp_action_to_move(a->size, action, &move);
    if (rc)
        forget(a);
    finish_report(a, start, rc ? SP_PASS : move);
    *out_move = move;
    return rc;
}
