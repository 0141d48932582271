/* sp-gtp's searching player: the engine's game goes to the searcher as the
 * root; the tree is kept from move to move while the game only grows. The
 * searcher's model is the playout evaluator or, with a model, the model's
 * own searcher model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gtp_search.h"

#define TOP_DEFAULT 10
#define PV_MAX 16

typedef struct searcher {
    gtp_engine *engine;
    gtp_search_options opts;
    int size;
    sp_go_evaluator *evaluator;
    sp_search *search;
    sp_game *root;      /* the position last searched, for tree reuse; NULL when none */
    int has_result;     /* sp-top-moves has something to show */
    int result_size;
    double result_seconds;
    /* Our own clock when the controller sends no time_left. */
    gtp_clock settings;
    double used_seconds;
} searcher;

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

double gtp_search_budget(const gtp_clock *c, int empty_points)
{
    if (c->main_time == 0 && c->byo_yomi_time == 0)
        return 0.0;
    if (c->byo_yomi_time > 0 && c->byo_yomi_stones == 0)
        return 0.0;
    double per_stone = c->byo_yomi_time > 0 ? (double)c->byo_yomi_time / c->byo_yomi_stones : 0.0;
    double budget;
    if (c->time_left >= 0 && c->stones_left > 0) {
        budget = (double)c->time_left / c->stones_left;
    } else {
        /* Main time: share what is left over the moves a 9x9 game still has. */
        double left = c->time_left >= 0 ? c->time_left : c->main_time;
        double moves = empty_points / 3.0 > 15.0 ? empty_points / 3.0 : 15.0;
        budget = left / moves;
        if (budget < per_stone)
            budget = per_stone;
    }
    /* Keep a margin for the protocol and the controller's clock. */
    budget = 0.9 * budget - 0.05;
    return budget > 0.01 ? budget : 0.01;
}

static int write_top_moves(searcher *s, int top, FILE *out);

/* The move of a search action; a search that found none (-1) passes. */
static int move_of(int size, int action)
{
    int move;
    return sp_action_to_move(size, action, &move) == SP_OK ? move : SP_PASS;
}

static void release_search(searcher *s)
{
    sp_search_free(s->search);
    sp_go_evaluator_free(s->evaluator);
    sp_game_free(s->root);
    s->search = NULL;
    s->evaluator = NULL;
    s->root = NULL;
    s->has_result = 0;
}

static int make_search(searcher *s, int size)
{
    release_search(s);
    sp_go_evaluator_options eo = SP_GO_EVALUATOR_OPTIONS_INIT;
    eo.board_size = size;
    eo.playouts = s->opts.playouts;
    eo.threads = s->opts.threads;
    eo.seed = s->opts.seed;
    sp_search_model model;
    sp_model_search_options mo = SP_MODEL_SEARCH_OPTIONS_INIT;
    mo.mode = s->opts.model_mode;
    sp_search_options so = SP_SEARCH_OPTIONS_INIT;
    so.kind = s->opts.kind;
    so.simulations = s->opts.simulations;
    so.threads = s->opts.threads;
    /* With threads, batches of 4 leaves per thread: each thread's part of a
     * batch then spans several calls, which lets the threads share the
     * selection time (docs/benchmarks.md, "Two threads"). A network call
     * costs about as much for 4 rows as for 1, so a model batches too. */
    so.batch_size = s->opts.batch                             ? s->opts.batch
                    : s->opts.threads > 1 || s->opts.model ? 4 * s->opts.threads
                                                           : 1;
    so.seed = s->opts.seed;
    so.fpu = s->opts.fpu;
    int rc = s->opts.model ? sp_model_search_model(s->opts.model, &mo, &model)
                           : sp_go_evaluator_create(&s->evaluator, &eo) || sp_go_evaluator_model(s->evaluator, &model);
    if (rc || sp_search_create(&s->search, &model, &so)) {
        release_search(s);
        return -1;
    }
    s->size = size;
    return 0;
}

/* Advance the tree by the moves played since the last search when the game
 * only grew (same set-up, same komi); otherwise start a new tree. */
static void follow_game(searcher *s, const sp_game *game)
{
    /* Over a learned model every move starts a fresh tree, as MuZero's
     * does: the kept subtree was built by the dynamics, and its root's pass
     * child with it, which then never meets the rules (model.h,
     * SP_MODEL_SEARCH_LEARNED). Kept, such pass children valued giving a
     * move away like the end of a won game, and the engine passed in the
     * middle of fights (issue 13's matches, docs/results.md). */
    const int learned = s->opts.model && s->opts.model_mode == SP_MODEL_SEARCH_LEARNED;
    int ok = !learned && s->root != NULL && sp_game_komi(s->root) == sp_game_komi(game);
    int n0 = ok ? sp_game_move_count(s->root) : 0, n = sp_game_move_count(game);
    ok = ok && n >= n0;
    for (int i = 0; ok && i < n0; i++) {
        int c0, m0, c1, m1;
        sp_game_move_at(s->root, i, &c0, &m0);
        sp_game_move_at(game, i, &c1, &m1);
        ok = c0 == c1 && m0 == m1;
    }
    if (ok) {
        /* The same moves from another set-up would still differ here. */
        sp_game *back = NULL;
        ok = sp_game_clone(&back, game) == SP_OK;
        for (int i = n0; ok && i < n; i++)
            ok = sp_game_undo(back) == SP_OK;
        ok = ok && sp_game_hash(back) == sp_game_hash(s->root) && sp_game_to_play(back) == sp_game_to_play(s->root);
        sp_game_free(back);
    }
    for (int i = n0; ok && i < n; i++) {
        int color, move, action;
        sp_game_move_at(game, i, &color, &move);
        ok = sp_move_to_action(s->size, move, &action) == SP_OK && sp_search_advance(s->search, action) == SP_OK;
    }
    if (!ok)
        sp_search_reset(s->search);
}

static sp_game *clone_game(const sp_game *game)
{
    sp_game *g = NULL;
    return sp_game_clone(&g, game) == SP_OK ? g : NULL;
}

/* GTP lets a colour move out of turn. Pretending the other side passed
 * would let a pass of ours end the game in the search's eyes; instead the
 * search gets the bare position with @p color to move (superko history lost). */
sp_game *gtp_search_position(const sp_game *game, int color)
{
    if (sp_game_to_play(game) == color)
        return clone_game(game);
    sp_game_options o = SP_GAME_OPTIONS_INIT;
    o.board_size = sp_game_size(game);
    o.komi = sp_game_komi(game);
    sp_game *g = NULL;
    if (sp_game_create(&g, &o))
        return NULL;
    int rc = SP_OK;
    for (int p = 0; p < o.board_size * o.board_size && !rc; p++) {
        int c = sp_game_color_at(game, p);
        if (c != SP_EMPTY)
            rc = sp_game_setup(g, p, c);
    }
    if (rc || sp_game_set_to_play(g, color)) {
        sp_game_free(g);
        return NULL;
    }
    return g;
}

static int search_genmove(void *payload, const sp_game *game, int color, const gtp_clock *clock, int *out_move)
{
    searcher *s = payload;
    const int size = sp_game_size(game);
    if ((!s->search || s->size != size) && make_search(s, size))
        return -1;
    s->has_result = 0;
    sp_game *root = gtp_search_position(game, color);
    if (!root)
        return -1;
    if (sp_game_is_over(root)) {
        sp_game_free(root);
        *out_move = SP_PASS;
        return 0;
    }
    follow_game(s, root);

    /* Time: the controller's time_left when it sends one, else our own count. */
    gtp_clock c = *clock;
    if (memcmp(&c, &s->settings, 3 * sizeof(int)) || sp_game_move_count(root) < 2) {
        s->settings = c;
        s->used_seconds = 0.0;
    }
    if (c.time_left < 0 && c.main_time > 0)
        c.time_left = (int)fmax(0.0, c.main_time - s->used_seconds);
    int empty = 0;
    for (int p = 0; p < size * size; p++)
        empty += sp_game_color_at(root, p) == SP_EMPTY;
    double budget = gtp_search_budget(&c, empty);
    if (s->opts.seconds > 0.0 && (budget == 0.0 || s->opts.seconds < budget))
        budget = s->opts.seconds;
    sp_search_set_limits(s->search, s->opts.simulations, budget);

    const double start = now_seconds();
    int32_t action;
    int rc = sp_search_run(s->search, root, NULL, &action);
    s->result_seconds = now_seconds() - start;
    s->used_seconds += s->result_seconds;
    sp_game_free(s->root);
    s->root = root;
    if (rc) {
        sp_search_reset(s->search);
        return -1;
    }
    s->has_result = 1;
    s->result_size = size;
    if (s->opts.show_top > 0) {
        char vertex[8];
        sp_move_to_gtp(size, move_of(size, action), vertex, sizeof vertex);
        fprintf(stderr, "sp-gtp: %s plays %s after ", color == SP_BLACK ? "Black" : "White", vertex);
        write_top_moves(s, s->opts.show_top, stderr);
        fprintf(stderr, "\n");
    }
    *out_move = move_of(size, action);
    return 0;
}

static void release_searcher(void *payload)
{
    searcher *s = payload;
    release_search(s);
    free(s);
}

/* The latest search's best @p top moves by visits, each with its visits,
 * prior and value (for the side that moved, -1..1), then the principal
 * variation; 0, or -1 when the search cannot be read. */
static int write_top_moves(searcher *s, int top, FILE *out)
{
    const int actions = s->result_size * s->result_size + 1;
    int32_t *visits = malloc((size_t)actions * sizeof *visits);
    float *priors = malloc((size_t)actions * sizeof *priors), *values = malloc((size_t)actions * sizeof *values);
    int32_t pv[PV_MAX], sims = 0;
    size_t pv_len = 0;
    float root_value = 0.0f;
    int ok = visits && priors && values &&
             sp_search_root_stats(s->search, visits, priors, values, NULL, (size_t)actions) == SP_OK &&
             sp_search_root_value(s->search, &root_value, &sims) == SP_OK &&
             sp_search_pv(s->search, pv, PV_MAX, &pv_len) == SP_OK;
    if (ok) {
        fprintf(out, "simulations %d seconds %.3f value %+.3f\n", sims, s->result_seconds, (double)root_value);
        for (int shown = 0; shown < top; shown++) {
            int best = -1;
            for (int a = 0; a < actions; a++)
                if (visits[a] > 0 && (best < 0 || visits[a] > visits[best]))
                    best = a;
            if (best < 0)
                break;
            char vertex[8];
            sp_move_to_gtp(s->result_size, move_of(s->result_size, best), vertex, sizeof vertex);
            fprintf(out, "%-5s visits %5d prior %.3f value %+.3f\n", vertex, visits[best], (double)priors[best],
                    (double)values[best]);
            visits[best] = -visits[best];
        }
        fprintf(out, "pv");
        for (size_t i = 0; i < pv_len; i++) {
            char vertex[8];
            sp_move_to_gtp(s->result_size, move_of(s->result_size, pv[i]), vertex, sizeof vertex);
            fprintf(out, " %s", vertex);
        }
    }
    free(visits);
    free(priors);
    free(values);
    return ok ? 0 : -1;
}

/* sp-top-moves [N]: write_top_moves() of the latest genmove. */
static int cmd_top_moves(gtp_engine *e, int argc, char **args, void *payload)
{
    searcher *s = payload;
    int top = TOP_DEFAULT;
    if (argc > 1 || (argc == 1 && ((top = atoi(args[0])) < 1 || top > 400))) {
        gtp_printf(e, "syntax error");
        return -1;
    }
    if (!s->has_result) {
        gtp_printf(e, "no search yet: genmove first");
        return -1;
    }
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    int rc = out ? write_top_moves(s, top, out) : -1;
    if (out)
        fclose(out);
    if (rc)
        gtp_printf(e, "cannot read the search: %s", sp_last_error());
    else
        gtp_printf(e, "%s", text);
    free(text);
    return rc;
}

int gtp_search_attach(gtp_engine *engine, const gtp_search_options *opts)
{
    searcher *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->engine = engine;
    s->opts = *opts;
    if (make_search(s, sp_game_size(gtp_engine_game(engine)))) {
        free(s);
        return -1;
    }
    if (gtp_engine_register(engine, "sp-top-moves", cmd_top_moves, s)) {
        release_searcher(s);
        return -1;
    }
    gtp_player player = { "semiparam-mcts", search_genmove, release_searcher, s };
    gtp_engine_set_player(engine, &player);
    return 0;
}
