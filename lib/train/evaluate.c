/* sp_model_evaluate (train.h): test metrics per unroll step of a model on a
 * part of a dataset (every position or a seeded uniform sample), and the two
 * floors scored by the same code on the same positions. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"
#include "train_internal.h"

static const sp_eval_options eval_defaults = SP_EVAL_OPTIONS_INIT;
static const sp__options_type eval_options_type = { "sp_eval_options", SP_EVAL_OPTIONS_VERSION,
                                                    sizeof(sp_eval_options), &eval_defaults,
                                                    { offsetof(sp_eval_options, neighbours) } };
static const sp_eval_report report_defaults = SP_EVAL_REPORT_INIT;
static const sp__options_type report_type = { "sp_eval_report", SP_EVAL_REPORT_VERSION, sizeof(sp_eval_report),
                                              &report_defaults, { offsetof(sp_eval_report, value_mse_se) } };

/* The move-number floor's table: move numbers 0..MOVE_BUCKETS-2 each have
 * their own entry, later ones share the last (few games run that long). */
#define MOVE_BUCKETS 128

int sp_eval_options_init(sp_eval_options *opts, uint32_t version)
{
    return sp__options_init(opts, version, &eval_options_type, "sp_eval_options_init");
}

/* Running totals of one predictor at one unroll step. */
typedef struct sums {
    uint64_t count;
    double top1, ce, se;
    double se2; /* sum of the squared errors' squares: their spread, for value_mse's standard error */
} sums;

typedef struct evaluation {
    sp_model *m;
    const sp_dataset *ds;
    sp_eval_options o;
    sp_split_options split;
    int K, area, history;
    size_t plane_floats;
    int32_t table[MOVE_BUCKETS]; /* most frequent training move per move number */
    double floor_value;          /* mean training outcome: the MSE-minimising constant */
    sums net[SP_TRAIN_MAX_UNROLL + 1], floor[SP_TRAIN_MAX_UNROLL + 1];
    /* One batch: rows (game, t), their planes, and the network's buffers. */
    int n;
    uint64_t *game;
    uint32_t *t;
    float *planes, *state, *next, *logits, *value, *action;
    uint8_t *ring;
    /* A retrieval model's (o.neighbours): the file indexed, the positions
     * it holds of the part (sorted), one batch's position ids and planes,
     * and the rows of the evaluation before this batch (the random mode's
     * dice). */
    sp__neighbour_batch *nb;
    uint64_t *listed, listed_count;
    uint64_t *position, rows_done;
    float *nbr;
} evaluation;

static int check_options(const sp_eval_options *o)
{
    const char *bad = NULL;
    if (o->unroll < 0 || o->unroll > SP_TRAIN_MAX_UNROLL)
        bad = "unroll (0..SP_TRAIN_MAX_UNROLL)";
    else if (o->part < SP_PART_ALL || o->part > SP_PART_HALF1)
        bad = "part (an sp_dataset_part)";
    else if (o->batch_size < 1 || o->batch_size > 65536)
        bad = "batch_size (1..65536)";
    else if (!isfinite(o->min_rating) || o->min_rating < 0)
        bad = "min_rating (finite, >= 0)";
    else if (!isfinite(o->test_fraction) || o->test_fraction < 0 || o->test_fraction >= 1)
        bad = "test_fraction ([0, 1))";
    else if (o->neighbour_mode < SP_EVAL_RETRIEVED || o->neighbour_mode > SP_EVAL_RANDOM)
        bad = "neighbour_mode (an sp_eval_neighbours)";
    if (bad)
        return sp__error(SP_ERR_INVALID_ARG, "sp_model_evaluate: option %s is out of range", bad);
    return SP_OK;
}

/* Whether game i is in `part` and passes the rating filter. */
static int game_counts(const evaluation *e, uint64_t i, int part)
{
    const sp__spd_game *g = sp__ds_game(e->ds, i);
    return sp__split_in_part(sp__split_part(g->key, i, &e->split), part) && sp__game_rated(g, e->o.min_rating);
}

/* The outcome from the side to move before move m of game g: +1, -1, 0. */
static float outcome(const sp__spd_game *g, uint64_t m)
{
    int mover = m % 2 ? 3 - g->first_color : g->first_color;
    return g->winner == SP_EMPTY ? 0.0f : g->winner == mover ? 1.0f : -1.0f;
}

/* Both floors from the training part (same split and rating filter). */
static int build_floors(evaluation *e)
{
    size_t actions = (size_t)e->area + 1;
    uint64_t *counts = calloc(MOVE_BUCKETS * actions, sizeof *counts);
    if (!counts)
        return sp__error(SP_ERR_NOMEM, "sp_model_evaluate: out of memory");
    double value_sum = 0;
    uint64_t positions = 0;
    for (uint64_t i = 0; i < e->ds->n_games; i++) {
        if (!game_counts(e, i, SP_PART_TRAIN))
            continue;
        const sp__spd_game *g = sp__ds_game(e->ds, i);
        for (uint32_t m = 0; m < g->moves; m++) {
            size_t bucket = m < MOVE_BUCKETS ? m : MOVE_BUCKETS - 1;
            counts[bucket * actions + (size_t)sp__ds_move(e->ds, g->move_offset + m)]++;
            value_sum += outcome(g, m);
        }
        positions += g->moves;
    }
    for (size_t b = 0; b < MOVE_BUCKETS; b++) {
        /* Ties and empty buckets go to the lowest action; empty means pass. */
        size_t best = (size_t)e->area;
        for (size_t a = 0; a < actions; a++)
            if (counts[b * actions + a] > counts[b * actions + best] ||
                (counts[b * actions + a] == counts[b * actions + best] && counts[b * actions + a] && a < best))
                best = a;
        e->table[b] = (int32_t)best;
    }
    e->floor_value = positions ? value_sum / (double)positions : 0.0;
    free(counts);
    return SP_OK;
}

/* One prediction scored against the move played and the outcome: the
 * network's and the floors' go through here alike. */
static void score(sums *s, int hit, double ce, double se)
{
    s->count++;
    s->top1 += hit;
    s->ce += ce;
    s->se += se;
    s->se2 += se * se;
}

/* Step k of every row whose game is still going at t + k. */
static void score_step(evaluation *e, int k)
{
    const int actions = e->area + 1;
    for (int i = 0; i < e->n; i++) {
        const sp__spd_game *g = sp__ds_game(e->ds, e->game[i]);
        uint64_t m = (uint64_t)e->t[i] + (uint64_t)k;
        if (m >= g->moves)
            continue;
        int target = sp__ds_move(e->ds, g->move_offset + m);
        const float *l = e->logits + (size_t)i * (size_t)actions;
        int best = 0;
        double max = l[0];
        for (int a = 1; a < actions; a++)
            if (l[a] > max) {
                max = l[a];
                best = a;
            }
        double sum = 0;
        for (int a = 0; a < actions; a++)
            sum += exp((double)l[a] - max);
        double z = outcome(g, m), v = e->value[i];
        score(&e->net[k], best == target, max + log(sum) - (double)l[target], (v - z) * (v - z));
        /* The floors have no distribution: no cross-entropy. */
        score(&e->floor[k], e->table[m < MOVE_BUCKETS ? m : MOVE_BUCKETS - 1] == target, 0.0,
              (e->floor_value - z) * (e->floor_value - z));
    }
}

/* The batch's rows through the representation, then K dynamics steps over
 * the moves played (a pass past a game's end: those rows no longer count). */
static int run_batch(evaluation *e)
{
    sp__model_net *net = &e->m->net;
    int rc = SP_OK;
    if (e->nb) {
        sp__neighbour_rng rng = sp__train_neighbour_rng(e->o.seed, 0);
        rc = sp__neighbour_batch_fill(e->nb, &rng, e->position, NULL, e->n, (int64_t)e->rows_done, e->nbr,
                                      (size_t)e->n * sp__neighbour_batch_sample_floats(e->nb));
        e->rows_done += (uint64_t)e->n;
    }
    if (!rc)
        rc = sp__model_net_initial(net, e->planes, e->nb ? e->nbr : NULL, e->n, e->state, e->logits, e->value);
    if (!rc)
        score_step(e, 0);
    for (int k = 1; k <= e->K && !rc; k++) {
        int going = 0;
        for (int i = 0; i < e->n; i++) {
            const sp__spd_game *g = sp__ds_game(e->ds, e->game[i]);
            uint64_t m = (uint64_t)e->t[i] + (uint64_t)k - 1;
            e->action[i] = m < g->moves ? (float)sp__ds_move(e->ds, g->move_offset + m) : (float)e->area;
            going += m + 1 < g->moves;
        }
        if (!going)
            break;
        rc = sp__model_net_recurrent(net, e->state, e->action, e->n, e->next, e->logits, e->value);
        float *swap = e->state;
        e->state = e->next;
        e->next = swap;
        if (!rc)
            score_step(e, k);
    }
    e->n = 0;
    return rc;
}

static int allocate(evaluation *e)
{
    size_t n = (size_t)e->o.batch_size, actions = (size_t)e->area + 1;
    size_t state = (size_t)e->m->arch.channels * (size_t)e->area;
    e->game = malloc(n * sizeof *e->game);
    e->t = malloc(n * sizeof *e->t);
    e->planes = malloc(n * e->plane_floats * sizeof *e->planes);
    e->state = malloc(n * state * sizeof *e->state);
    e->next = malloc(n * state * sizeof *e->next);
    e->logits = malloc(n * actions * sizeof *e->logits);
    e->value = malloc(n * sizeof *e->value);
    e->action = malloc(n * sizeof *e->action);
    e->ring = malloc((size_t)e->history * (size_t)e->area);
    if (e->nb) {
        e->position = malloc(n * sizeof *e->position);
        e->nbr = malloc(n * sp__neighbour_batch_sample_floats(e->nb) * sizeof *e->nbr);
    }
    if (!e->game || !e->t || !e->planes || !e->state || !e->next || !e->logits || !e->value || !e->action || !e->ring ||
        (e->nb && (!e->position || !e->nbr)))
        return sp__error(SP_ERR_NOMEM, "sp_model_evaluate: out of memory for batches of %d positions",
                         e->o.batch_size);
    return SP_OK;
}

static void release(evaluation *e)
{
    free(e->game);
    free(e->t);
    free(e->planes);
    free(e->state);
    free(e->next);
    free(e->logits);
    free(e->value);
    free(e->action);
    free(e->ring);
    free(e->position);
    free(e->nbr);
    free(e->listed);
    sp__neighbour_batch_free(e->nb);
}

static int progress(const evaluation *e, uint64_t done, uint64_t total)
{
    int stop = e->o.progress ? e->o.progress("evaluate", done, total, e->o.progress_payload)
                             : sp__progress("evaluate", done, total);
    return stop ? sp__error(SP_ERR_CANCELLED, "sp_model_evaluate: cancelled by the progress callback") : SP_OK;
}

/* Position t of game i into the batch; a full batch runs. */
static int take(evaluation *e, uint64_t i, uint32_t t, uint64_t taken, uint64_t want)
{
    int rc = sp__ds_position_planes(e->ds, i, t, e->history, NULL, e->ring, e->planes + (size_t)e->n * e->plane_floats);
    if (e->nb)
        e->position[e->n] = sp__ds_game(e->ds, i)->first_position + t;
    e->game[e->n] = i;
    e->t[e->n++] = t;
    if (!rc && e->n == e->o.batch_size) {
        rc = run_batch(e);
        if (!rc)
            rc = progress(e, taken, want);
    }
    return rc;
}

/* Every position of the part in order (with a neighbour file, every one it
 * holds), or a uniform sample without replacement (selection sampling:
 * still in order, one pass). */
static int evaluate_positions(evaluation *e, uint64_t total, uint64_t *evaluated)
{
    uint64_t want = e->o.max_positions && e->o.max_positions < total ? e->o.max_positions : total;
    uint64_t seen = 0, taken = 0;
    struct sp_rng rng;
    sp__rng_seed(&rng, sp__mix64(e->o.seed ^ 0x6576616cull));
    int rc = SP_OK;
    if (e->listed) {
        for (uint64_t j = 0; j < e->listed_count && !rc && taken < want; j++, seen++) {
            uint64_t left = total - seen;
            if (want < total && (uint64_t)(((unsigned __int128)sp__rng_next(&rng) * left) >> 64) >= want - taken)
                continue;
            uint64_t game = sp__ds_game_of(e->ds, e->listed[j]);
            rc = take(e, game, (uint32_t)(e->listed[j] - sp__ds_game(e->ds, game)->first_position), ++taken, want);
        }
    }
    for (uint64_t i = 0; i < e->ds->n_games && !e->listed && !rc && taken < want; i++) {
        if (!game_counts(e, i, e->o.part))
            continue;
        const sp__spd_game *g = sp__ds_game(e->ds, i);
        for (uint32_t t = 0; t < g->moves && !rc && taken < want; t++, seen++) {
            uint64_t left = total - seen;
            if (want < total && (uint64_t)(((unsigned __int128)sp__rng_next(&rng) * left) >> 64) >= want - taken)
                continue;
            rc = take(e, i, t, ++taken, want);
        }
    }
    if (!rc && e->n) {
        rc = run_batch(e);
        if (!rc)
            rc = progress(e, taken, want);
    }
    *evaluated = taken;
    return rc;
}

static void fill_report(const evaluation *e, uint64_t positions, sp_eval_report *r)
{
    *r = report_defaults;
    r->unroll = e->K;
    r->positions = positions;
    r->floor_value = e->floor_value;
    for (int k = 0; k <= e->K; k++) {
        const sums *s = &e->net[k], *f = &e->floor[k];
        /* No position reached step k: no measurement, NaN rather than a 0 that reads as one. */
        double n = (double)s->count, none = NAN;
        r->count[k] = s->count;
        r->top1[k] = s->count ? s->top1 / n : none;
        r->policy_ce[k] = s->count ? s->ce / n : none;
        r->value_mse[k] = s->count ? s->se / n : none;
        r->floor_top1[k] = s->count ? f->top1 / n : none;
        r->floor_value_mse[k] = s->count ? f->se / n : none;
        /* The sample variance of the squared errors, over n for the mean's. */
        double var = s->count > 1 ? (s->se2 - s->se * s->se / n) / (n - 1) : none;
        r->value_mse_se[k] = s->count > 1 ? sqrt(var > 0 ? var / n : 0) : none;
    }
}

static int by_id(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* A retrieval model's evaluation: the file indexed (what the model reads
 * chosen by the mode) and its positions of the part, sorted, each once. */
static int neighbour_setup(evaluation *e)
{
    const sp_eval_options *o = &e->o;
    int32_t count = e->m->opts.neighbours;
    if (count == 0 && o->neighbours)
        return sp__error(SP_ERR_INVALID_ARG, "sp_model_evaluate: the model reads no neighbours; options.neighbours "
                         "is for a model with neighbours > 0");
    if (!o->neighbours)
        return SP_OK;
    uint64_t id = sp_neighbours_embedder_id(o->neighbours);
    if (e->m->embedder_id && id != e->m->embedder_id)
        return sp__error(SP_ERR_INVALID_ARG, "sp_model_evaluate: the model was trained on neighbours of embedder "
                         "%016llx, the neighbour file's are of embedder %016llx",
                         (unsigned long long)e->m->embedder_id, (unsigned long long)id);
    sp__neighbour_options no = SP__NEIGHBOUR_OPTIONS_INIT;
    no.neighbours = count;
    no.zero_neighbours = o->neighbour_mode == SP_EVAL_ZEROED;
    no.randomise = o->neighbour_mode == SP_EVAL_RANDOM ? 1.0f : 0.0f;
    int rc = sp__neighbour_batch_create(&e->nb, e->ds, o->neighbours, &no);
    if (!rc)
        rc = sp__train_spn_positions(o->neighbours, &e->listed, &e->listed_count, "sp_model_evaluate");
    if (rc)
        return sp__error(rc, "sp_model_evaluate: %s", sp_last_error());
    qsort(e->listed, (size_t)e->listed_count, sizeof *e->listed, by_id);
    uint64_t kept = 0;
    for (uint64_t j = 0; j < e->listed_count; j++) {
        uint64_t game = sp__ds_game_of(e->ds, e->listed[j]);
        if ((kept && e->listed[kept - 1] == e->listed[j]) || !game_counts(e, game, o->part))
            continue;
        e->listed[kept++] = e->listed[j];
    }
    e->listed_count = kept;
    return SP_OK;
}

static int evaluate(evaluation *e, sp_eval_report *out)
{
    uint64_t total = 0, positions = 0;
    int rc = neighbour_setup(e);
    if (rc)
        return rc;
    for (uint64_t i = 0; i < e->ds->n_games && !e->listed; i++)
        if (game_counts(e, i, e->o.part))
            total += sp__ds_game(e->ds, i)->moves;
    if (e->listed)
        total = e->listed_count;
    if (!total)
        return sp__error(SP_ERR_INVALID_ARG, "sp_model_evaluate: the part holds no position%s%s",
                         e->o.min_rating > 0 ? " of a game rated at least min_rating" : "",
                         e->listed ? " among the neighbour file's" : "");
    rc = allocate(e);
    if (!rc)
        rc = build_floors(e);
    if (!rc)
        rc = evaluate_positions(e, total, &positions);
    if (!rc) {
        sp_eval_report r;
        fill_report(e, positions, &r);
        rc = sp__options_write(out, &r, &report_type, "sp_model_evaluate");
    }
    return rc;
}

int sp_model_evaluate(sp_model *model, const sp_dataset *ds, const sp_eval_options *opts, sp_eval_report *out)
{
    if (!model || !ds || !out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_model_evaluate: %s is NULL",
                         !model ? "model" : !ds ? "dataset" : "out");
    evaluation e;
    memset(&e, 0, sizeof e);
    int rc = sp__options_check(out->version, &report_type, "sp_model_evaluate", NULL);
    if (!rc)
        rc = sp__options_read(&e.o, opts, &eval_options_type, "sp_model_evaluate");
    if (!rc)
        rc = check_options(&e.o);
    if (rc)
        return rc;
    rc = sp__train_check_data(model, ds, "sp_model_evaluate");
    if (rc)
        return rc;
    e.m = model;
    e.ds = ds;
    e.K = e.o.unroll;
    e.area = ds->area;
    e.history = model->opts.history;
    e.plane_floats = (size_t)sp_go_plane_count(e.history) * (size_t)e.area;
    sp_split_options_init(&e.split, SP_SPLIT_OPTIONS_VERSION);
    e.split.seed = e.o.split_seed;
    e.split.test_fraction = e.o.test_fraction;
    /* The caller's own trainer may hold the model (test metrics between
     * runs, same thread); anyone else holding it is refused. */
    int held = 0;
    if (!sp__trainer_holds(model)) {
        rc = sp__model_hold(model, "sp_model_evaluate");
        if (rc)
            return rc;
        held = 1;
    }
    rc = evaluate(&e, out);
    release(&e);
    if (held)
        sp__model_unhold(model);
    return rc;
}
