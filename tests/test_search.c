/* Search: a synthetic game-agnostic model for the searcher's contracts
 * (visit sums, determinism, masks, errors, batching, reuse), and the
 * playout evaluator on small Go positions with known answers. */
#include <check.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "semiparam.h"
#include "search/search_internal.h"

/* ------------------------------------------------------------------------ */
/* A synthetic model: states are heap ids (so leaks show), values and priors
 * are hashes of the path. Action WIN at the root ends the game won for the
 * mover; actions listed in `illegal` are masked at the root.              */

#define TOY_ACTIONS 6
#define TOY_WIN 3

typedef struct toy {
    atomic_int live;          /* states handed out and not yet released */
    atomic_int recurrent_calls;
    int fail_after;           /* recurrent calls before one fails; -1 never */
    int fail_initial;
    int has_win;
    uint8_t illegal[TOY_ACTIONS];
    float illegal_prior;      /* prior mass the model puts on each illegal action */
    atomic_int max_rows;      /* largest batch seen */
} toy;

typedef struct toy_state {
    uint64_t id;
    int depth;
} toy_state;

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

static float unit(uint64_t h) { return (float)((h >> 11) * 0x1.0p-53); }

static void toy_fill(toy *t, const toy_state *s, float *prior, float *value, uint8_t *mask, int root)
{
    *value = 0.6f * unit(mix(s->id)) - 0.3f;
    float sum = 0.0f;
    for (int a = 0; a < TOY_ACTIONS; a++) {
        prior[a] = 0.2f + unit(mix(s->id * 31 + (uint64_t)a));
        if (root && t->illegal[a]) {
            mask[a] = 0;
            prior[a] = t->illegal_prior;
        }
        sum += prior[a];
    }
    for (int a = 0; a < TOY_ACTIONS; a++)
        prior[a] /= sum;
}

static int toy_initial(int worker, size_t n, void *const *inputs, void **out_states, float *out_priors,
                       float *out_values, uint8_t *masks, int32_t *terminal, void *payload)
{
    toy *t = payload;
    if (t->fail_initial)
        return SP_ERR_IO;
    for (size_t i = 0; i < n; i++) {
        toy_state *s = malloc(sizeof *s);
        s->id = inputs[i] ? *(const uint64_t *)inputs[i] : 1;
        s->depth = 0;
        atomic_fetch_add(&t->live, 1);
        out_states[i] = s;
        toy_fill(t, s, out_priors + i * TOY_ACTIONS, &out_values[i], masks + i * TOY_ACTIONS, 1);
    }
    return 0;
}

static int toy_recurrent(int worker, size_t n, void *const *states, const int32_t *actions, void **out_states,
                         float *out_rewards, float *out_priors, float *out_values, uint8_t *masks, int32_t *terminal,
                         void *payload)
{
    toy *t = payload;
    int calls = atomic_fetch_add(&t->recurrent_calls, 1);
    if ((int)n > atomic_load(&t->max_rows))
        atomic_store(&t->max_rows, (int)n);
    /* Create some states before failing, so the searcher must release them. */
    for (size_t i = 0; i < n; i++) {
        const toy_state *p = states[i];
        ck_assert_int_ge(actions[i], 0);
        ck_assert_int_lt(actions[i], TOY_ACTIONS);
        toy_state *s = malloc(sizeof *s);
        s->id = mix(p->id * 1000003 + (uint64_t)actions[i] + 1);
        s->depth = p->depth + 1;
        atomic_fetch_add(&t->live, 1);
        out_states[i] = s;
        out_rewards[i] = 0.0f;
        toy_fill(t, s, out_priors + i * TOY_ACTIONS, &out_values[i], masks + i * TOY_ACTIONS, 0);
        if (t->has_win && p->depth == 0 && actions[i] == TOY_WIN) {
            out_values[i] = -1.0f; /* the player to move here has lost */
            terminal[i] = 1;
        }
    }
    if (t->fail_after >= 0 && calls >= t->fail_after)
        return SP_ERR_NO_DEVICE;
    return 0;
}

static void toy_release(void *state, void *payload)
{
    toy *t = payload;
    atomic_fetch_sub(&t->live, 1);
    free(state);
}

static void toy_init(toy *t)
{
    memset(t, 0, sizeof *t);
    t->fail_after = -1;
}

static sp_search_model toy_model(toy *t)
{
    sp_search_model m = SP_SEARCH_MODEL_INIT;
    m.num_actions = TOY_ACTIONS;
    m.initial = toy_initial;
    m.recurrent = toy_recurrent;
    m.release = toy_release;
    m.payload = t;
    return m;
}

static sp_search *toy_search(toy *t, int kind, int sims, int threads, int batch, uint64_t seed)
{
    sp_search_model m = toy_model(t);
    sp_search_options o;
    sp_search_options_init(&o, SP_SEARCH_OPTIONS_VERSION);
    o.kind = kind;
    o.simulations = sims;
    o.threads = threads;
    o.batch_size = batch;
    o.seed = seed;
    sp_search *s = NULL;
    ck_assert_int_eq(sp_search_create(&s, &m, &o), SP_OK);
    return s;
}

static int visit_sum(const sp_search *s, int32_t *visits)
{
    int32_t local[TOY_ACTIONS];
    if (!visits)
        visits = local;
    ck_assert_int_eq(sp_search_root_stats(s, visits, NULL, NULL, NULL, TOY_ACTIONS), SP_OK);
    int sum = 0;
    for (int a = 0; a < TOY_ACTIONS; a++)
        sum += visits[a];
    return sum;
}

START_TEST(options_and_arguments)
{
    sp_search_options o, init = SP_SEARCH_OPTIONS_INIT;
    ck_assert_int_eq(sp_search_options_init(&o, SP_SEARCH_OPTIONS_VERSION), SP_OK);
    ck_assert_uint_eq(o.version, init.version);
    ck_assert_int_eq(o.kind, init.kind);
    ck_assert_int_eq(o.batch_size, init.batch_size);
    ck_assert_int_eq(o.reuse_tree, init.reuse_tree);
    ck_assert(o.gumbel_c_scale == init.gumbel_c_scale);
    ck_assert_int_eq(o.simulations, 200);
    ck_assert(o.c1 == 1.25f && o.c2 == 19652.0f);
    ck_assert(o.dirichlet_fraction == 0.0f);
    ck_assert_int_eq(sp_search_options_init(NULL, SP_SEARCH_OPTIONS_VERSION), SP_ERR_INVALID_ARG);

    toy t;
    toy_init(&t);
    sp_search_model m = toy_model(&t);
    sp_search *s = (sp_search *)&o;
    o.version = SP_SEARCH_OPTIONS_VERSION + 1;
    ck_assert_int_eq(sp_search_create(&s, &m, &o), SP_ERR_VERSION);
    ck_assert_ptr_null(s);
    o.version = 0;
    ck_assert_int_eq(sp_search_create(&s, &m, &o), SP_ERR_INVALID_ARG);
    sp_search_options_init(&o, SP_SEARCH_OPTIONS_VERSION);
    o.simulations = 0;
    ck_assert_int_eq(sp_search_create(&s, &m, &o), SP_ERR_INVALID_ARG);
    sp_search_options_init(&o, SP_SEARCH_OPTIONS_VERSION);
    m.recurrent = NULL;
    ck_assert_int_eq(sp_search_create(&s, &m, &o), SP_ERR_INVALID_ARG);
    m = toy_model(&t);
    m.version = SP_SEARCH_MODEL_VERSION + 1;
    ck_assert_int_eq(sp_search_create(&s, &m, &o), SP_ERR_VERSION);
    ck_assert_int_eq(sp_search_create(NULL, &m, &o), SP_ERR_INVALID_ARG);
    ck_assert_ptr_null(s);

    s = toy_search(&t, SP_SEARCH_PUCT, 10, 1, 1, 1);
    ck_assert_int_eq(sp_search_root_value(s, NULL, NULL), SP_ERR_MISUSE);
    ck_assert_int_eq(sp_search_set_limits(s, 0, 0.0), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_search_set_limits(s, 20, -1.0), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_search_advance(s, TOY_ACTIONS), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_search_run(NULL, NULL, NULL, NULL), SP_ERR_INVALID_ARG);
    int32_t visits[TOY_ACTIONS];
    ck_assert_int_eq(sp_search_run(s, NULL, NULL, NULL), SP_OK);
    ck_assert_int_eq(sp_search_root_stats(s, visits, NULL, NULL, NULL, TOY_ACTIONS - 1), SP_ERR_BUFFER_TOO_SMALL);
    sp_search_free(s);
    sp_search_free(NULL);
    ck_assert_int_eq(atomic_load(&t.live), 0);
}
END_TEST

/* Every configuration: visits at the root sum to the simulations run. */
START_TEST(visit_counts_sum_to_simulations)
{
    const int kinds[] = { SP_SEARCH_PUCT, SP_SEARCH_GUMBEL };
    const int threads[] = { 1, 2, 2 }, batches[] = { 1, 1, 8 };
    for (int k = 0; k < 2; k++)
        for (int c = 0; c < 3; c++)
            for (int sims = 1; sims <= 301; sims += 50) {
                toy t;
                toy_init(&t);
                sp_search *s = toy_search(&t, kinds[k], sims, threads[c], batches[c], 7);
                int32_t action, done;
                ck_assert_int_eq(sp_search_run(s, NULL, NULL, &action), SP_OK);
                ck_assert_int_eq(sp_search_root_value(s, NULL, &done), SP_OK);
                ck_assert_int_eq(done, sims);
                ck_assert_int_eq(visit_sum(s, NULL), sims);
                ck_assert_int_ge(action, 0);
                ck_assert_int_lt(action, TOY_ACTIONS);
                if (batches[c] > 1 && sims > 50)
                    ck_assert_int_gt(atomic_load(&t.max_rows), 1);
                sp_search_free(s);
                ck_assert_int_eq(atomic_load(&t.live), 0);
            }
}
END_TEST

START_TEST(one_ply_win_is_found)
{
    for (int kind = 0; kind < 2; kind++)
        for (int sims = 16; sims <= 256; sims *= 4) {
            toy t;
            toy_init(&t);
            t.has_win = 1;
            sp_search *s = toy_search(&t, kind, sims, 1, 1, 3);
            int32_t action;
            float values[TOY_ACTIONS];
            ck_assert_int_eq(sp_search_run(s, NULL, NULL, &action), SP_OK);
            ck_assert_int_eq(action, TOY_WIN);
            ck_assert_int_eq(sp_search_root_stats(s, NULL, NULL, values, NULL, TOY_ACTIONS), SP_OK);
            ck_assert_float_eq(values[TOY_WIN], 1.0f);
            int32_t pv[8];
            size_t len;
            ck_assert_int_eq(sp_search_pv(s, pv, 8, &len), SP_OK);
            ck_assert_uint_eq(len, 1); /* the game ends there */
            ck_assert_int_eq(pv[0], TOY_WIN);
            sp_search_free(s);
        }
}
END_TEST

static void run_and_record(int kind, int threads, int batch, uint64_t seed, float temperature, int32_t *visits,
                           int32_t *action, float *policy)
{
    toy t;
    toy_init(&t);
    sp_search_model m = toy_model(&t);
    sp_search_options o;
    sp_search_options_init(&o, SP_SEARCH_OPTIONS_VERSION);
    o.kind = kind;
    o.simulations = 200;
    o.threads = threads;
    o.batch_size = batch;
    o.seed = seed;
    o.temperature = temperature;
    o.dirichlet_fraction = 0.25f;
    sp_search *s;
    ck_assert_int_eq(sp_search_create(&s, &m, &o), SP_OK);
    ck_assert_int_eq(sp_search_run(s, NULL, NULL, action), SP_OK);
    ck_assert_int_eq(sp_search_root_stats(s, visits, NULL, NULL, policy, TOY_ACTIONS), SP_OK);
    sp_search_free(s);
}

START_TEST(fixed_seed_is_reproducible)
{
    for (int kind = 0; kind < 2; kind++) {
        int32_t v1[TOY_ACTIONS], v2[TOY_ACTIONS], v3[TOY_ACTIONS], a1, a2, a3;
        float p1[TOY_ACTIONS], p2[TOY_ACTIONS], p3[TOY_ACTIONS];
        run_and_record(kind, 1, 1, 11, 1.0f, v1, &a1, p1);
        run_and_record(kind, 1, 1, 11, 1.0f, v2, &a2, p2);
        ck_assert_int_eq(a1, a2);
        ck_assert_int_eq(memcmp(v1, v2, sizeof v1), 0);
        ck_assert_int_eq(memcmp(p1, p2, sizeof p1), 0);
        /* Other seeds move the noise, hence the visits. */
        int differ = 0;
        for (uint64_t seed = 12; seed < 20; seed++) {
            run_and_record(kind, 1, 1, seed, 1.0f, v3, &a3, p3);
            differ += memcmp(v1, v3, sizeof v1) != 0;
        }
        ck_assert_int_gt(differ, 0);
    }
}
END_TEST

START_TEST(illegal_root_actions_are_never_chosen)
{
    for (int kind = 0; kind < 2; kind++)
        for (uint64_t seed = 1; seed <= 30; seed++) {
            toy t;
            toy_init(&t);
            t.illegal[0] = t.illegal[4] = 1;
            t.illegal_prior = 50.0f; /* the model "wants" them badly */
            sp_search_model m = toy_model(&t);
            sp_search_options o;
            sp_search_options_init(&o, SP_SEARCH_OPTIONS_VERSION);
            o.kind = kind;
            o.simulations = 60;
            o.seed = seed;
            o.temperature = 1.0f;
            o.dirichlet_fraction = 0.5f;
            sp_search *s;
            ck_assert_int_eq(sp_search_create(&s, &m, &o), SP_OK);
            /* The caller forbids one more action on top of the model's mask. */
            uint8_t allow[TOY_ACTIONS] = { 1, 1, 0, 1, 1, 1 };
            int32_t action, visits[TOY_ACTIONS];
            float prior[TOY_ACTIONS], policy[TOY_ACTIONS];
            ck_assert_int_eq(sp_search_run(s, NULL, allow, &action), SP_OK);
            ck_assert(action == 1 || action == 3 || action == 5);
            ck_assert_int_eq(sp_search_root_stats(s, visits, prior, NULL, policy, TOY_ACTIONS), SP_OK);
            for (int a = 0; a < TOY_ACTIONS; a += 2) {
                ck_assert_int_eq(visits[a], 0);
                ck_assert_float_eq(prior[a], 0.0f);
                ck_assert_float_eq(policy[a], 0.0f);
            }
            int32_t pv[4];
            size_t len;
            ck_assert_int_eq(sp_search_pv(s, pv, 4, &len), SP_OK);
            ck_assert_uint_ge(len, 1);
            ck_assert_int_eq(pv[0], action);
            sp_search_free(s);
        }
}
END_TEST

START_TEST(nothing_legal_gives_no_action)
{
    toy t;
    toy_init(&t);
    sp_search *s = toy_search(&t, SP_SEARCH_PUCT, 20, 1, 1, 1);
    uint8_t none[TOY_ACTIONS] = { 0 };
    int32_t action = 99, done = 99;
    ck_assert_int_eq(sp_search_run(s, NULL, none, &action), SP_OK);
    ck_assert_int_eq(action, -1);
    ck_assert_int_eq(sp_search_root_value(s, NULL, &done), SP_OK);
    ck_assert_int_eq(done, 0);
    sp_search_free(s);
    ck_assert_int_eq(atomic_load(&t.live), 0);
}
END_TEST

START_TEST(callback_errors_stop_the_search)
{
    for (int threads = 1; threads <= 2; threads++) {
        toy t;
        toy_init(&t);
        t.fail_after = 5;
        sp_search *s = toy_search(&t, SP_SEARCH_PUCT, 100, threads, 4, 1);
        sp_clear_error();
        int32_t action = 42;
        ck_assert_int_eq(sp_search_run(s, NULL, NULL, &action), SP_ERR_NO_DEVICE);
        ck_assert_int_eq(action, -1);
        ck_assert_ptr_nonnull(strstr(sp_last_error(), "recurrent"));
        /* The tree keeps what was finished and stays usable. */
        int32_t done;
        ck_assert_int_eq(sp_search_root_value(s, NULL, &done), SP_OK);
        ck_assert_int_lt(done, 100);
        ck_assert_int_eq(visit_sum(s, NULL), done);
        t.fail_after = -1;
        ck_assert_int_eq(sp_search_run(s, NULL, NULL, &action), SP_OK);
        ck_assert_int_ge(action, 0);
        ck_assert_int_eq(sp_search_root_value(s, NULL, &done), SP_OK);
        ck_assert_int_eq(done, 100);
        sp_search_free(s);
        ck_assert_int_eq(atomic_load(&t.live), 0);

        toy_init(&t);
        t.fail_initial = 1;
        s = toy_search(&t, SP_SEARCH_GUMBEL, 100, threads, 1, 1);
        ck_assert_int_eq(sp_search_run(s, NULL, NULL, &action), SP_ERR_IO);
        ck_assert_int_eq(action, -1);
        ck_assert_ptr_nonnull(strstr(sp_last_error(), "initial"));
        sp_search_free(s);
        ck_assert_int_eq(atomic_load(&t.live), 0);
    }
    /* A non-status failure code reads as a cancellation. */
    toy t;
    toy_init(&t);
    t.fail_after = 0;
    sp_search *s = toy_search(&t, SP_SEARCH_PUCT, 10, 1, 1, 1);
    ck_assert_int_eq(sp_search_run(s, NULL, NULL, NULL), SP_ERR_NO_DEVICE);
    sp_search_free(s);
    ck_assert_int_eq(atomic_load(&t.live), 0);
}
END_TEST

START_TEST(tree_reuse_keeps_the_subtree)
{
    toy t;
    toy_init(&t);
    sp_search *s = toy_search(&t, SP_SEARCH_PUCT, 300, 1, 1, 1);
    uint64_t root_id = 1;
    int32_t action, visits[TOY_ACTIONS];
    ck_assert_int_eq(sp_search_run(s, &root_id, NULL, &action), SP_OK);
    ck_assert_int_eq(sp_search_root_stats(s, visits, NULL, NULL, NULL, TOY_ACTIONS), SP_OK);
    int32_t kept = visits[action];
    ck_assert_int_gt(kept, 10);
    ck_assert_int_eq(sp_search_advance(s, action), SP_OK);
    ck_assert_int_eq(sp_search_root_value(s, NULL, NULL), SP_ERR_MISUSE);
    /* The child's state id as the toy computes it. */
    uint64_t child_id = mix(root_id * 1000003 + (uint64_t)action + 1);
    ck_assert_int_eq(sp_search_run(s, &child_id, NULL, &action), SP_OK);
    /* The kept subtree had kept-1 visits below its root. */
    ck_assert_int_eq(visit_sum(s, NULL), 300 + kept - 1);
    /* An action never expanded empties the tree. */
    ck_assert_int_eq(sp_search_reset(s), SP_OK);
    ck_assert_int_eq(sp_search_run(s, &child_id, NULL, &action), SP_OK);
    ck_assert_int_eq(visit_sum(s, NULL), 300);
    sp_search_free(s);
    ck_assert_int_eq(atomic_load(&t.live), 0);
}
END_TEST

START_TEST(many_trees_step_together)
{
    toy t;
    toy_init(&t);
    enum { TREES = 5 };
    sp_search *s[TREES];
    uint64_t ids[TREES];
    void *inputs[TREES];
    int32_t actions[TREES];
    for (int i = 0; i < TREES; i++) {
        s[i] = toy_search(&t, i % 2 ? SP_SEARCH_GUMBEL : SP_SEARCH_PUCT, 40 + 10 * i, 2, 4, (uint64_t)i);
        ids[i] = (uint64_t)i + 100;
        inputs[i] = &ids[i];
    }
    ck_assert_int_eq(sp_search_run_many(s, TREES, inputs, NULL, actions), SP_OK);
    /* One model call carried the leaves of all five trees (4 each). */
    ck_assert_int_ge(atomic_load(&t.max_rows), 10);
    for (int i = 0; i < TREES; i++) {
        ck_assert_int_eq(visit_sum(s[i], NULL), 40 + 10 * i);
        ck_assert_int_ge(actions[i], 0);
    }
    ck_assert_int_eq(sp_search_run_many(s, 0, inputs, NULL, actions), SP_ERR_INVALID_ARG);
    sp_search *twice[2] = { s[0], s[0] };
    ck_assert_int_eq(sp_search_run_many(twice, 2, inputs, NULL, actions), SP_ERR_INVALID_ARG);
    for (int i = 0; i < TREES; i++)
        sp_search_free(s[i]);
    ck_assert_int_eq(atomic_load(&t.live), 0);
}
END_TEST


/* ------------------------------------------------------------------------ */
/* The playout evaluator on small Go positions                              */

static sp_game *go_position(const char *rows, int size, float komi, int to_play)
{
    sp_game_options o = SP_GAME_OPTIONS_INIT;
    o.board_size = size;
    o.komi = komi;
    sp_game *g;
    ck_assert_int_eq(sp_game_create(&g, &o), SP_OK);
    for (int p = 0; p < size * size; p++)
        if (rows[p] != '.')
            ck_assert_int_eq(sp_game_setup(g, p, rows[p] == 'X' ? SP_BLACK : SP_WHITE), SP_OK);
    ck_assert_int_eq(sp_game_set_to_play(g, to_play), SP_OK);
    return g;
}

/* Black to play. C2 captures the white stone on D2; every other Black move
 * lets White answer so that Black wins under 15% of random playouts, while
 * after C2 Black wins 89% (found by random play and checked two plies deep
 * with playouts, komi 0.5). */
static const char capture_5x5[] = "XOX.."
                                  ".OX.X"
                                  "O.OX."
                                  ".O.OX"
                                  "O..X.";

typedef struct go_setup {
    sp_go_evaluator *ev;
    sp_search *search;
} go_setup;

static go_setup go_search(int kind, int sims, int threads, int batch, uint64_t seed, int size)
{
    go_setup g;
    sp_go_evaluator_options eo;
    ck_assert_int_eq(sp_go_evaluator_options_init(&eo, SP_GO_EVALUATOR_OPTIONS_VERSION), SP_OK);
    eo.board_size = size;
    eo.threads = threads;
    eo.seed = seed;
    ck_assert_int_eq(sp_go_evaluator_create(&g.ev, &eo), SP_OK);
    sp_search_model m;
    ck_assert_int_eq(sp_go_evaluator_model(g.ev, &m), SP_OK);
    ck_assert_int_eq(m.num_actions, size * size + 1);
    sp_search_options so = SP_SEARCH_OPTIONS_INIT;
    so.kind = kind;
    so.simulations = sims;
    so.threads = threads;
    so.batch_size = batch;
    so.seed = seed;
    ck_assert_int_eq(sp_search_create(&g.search, &m, &so), SP_OK);
    return g;
}

static void go_free(go_setup *g)
{
    sp_search_free(g->search);
    sp_go_evaluator_free(g->ev);
}

START_TEST(go_capture_or_lose)
{
    sp_game *game = go_position(capture_5x5, 5, 0.5f, SP_BLACK);
    int c2;
    ck_assert_int_eq(sp_move_from_gtp(5, "C2", &c2), SP_OK);
    for (uint64_t seed = 1; seed <= 5; seed++) {
        go_setup g = go_search(SP_SEARCH_PUCT, 1000, 1, 1, seed, 5);
        int32_t action;
        ck_assert_int_eq(sp_search_run(g.search, game, NULL, &action), SP_OK);
        ck_assert_int_eq(action, c2);
        int32_t visits[26];
        ck_assert_int_eq(sp_search_root_stats(g.search, visits, NULL, NULL, NULL, 26), SP_OK);
        ck_assert_int_gt(visits[c2], 800);
        go_free(&g);
    }
    /* Gumbel at a fifth of the budget, on most seeds. */
    int found = 0;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        go_setup g = go_search(SP_SEARCH_GUMBEL, 200, 1, 1, seed, 5);
        int32_t action;
        ck_assert_int_eq(sp_search_run(g.search, game, NULL, &action), SP_OK);
        found += action == c2;
        go_free(&g);
    }
    ck_assert_int_ge(found, 14);
    sp_game_free(game);
}
END_TEST

START_TEST(go_fixed_seed_is_reproducible)
{
    sp_game *game = go_position(capture_5x5, 5, 0.5f, SP_BLACK);
    int32_t first[26], again[26];
    float value1, value2;
    /* Each row goes to the same worker index, with its own generator, in
     * the same order, whichever thread takes it: two threads reproduce too,
     * however the threads happen to share the batches out in each run. */
    for (int threads = 1; threads <= 2; threads++)
        for (int run = 0; run < 4; run++) {
            go_setup g = go_search(SP_SEARCH_PUCT, 300, threads, 4 * threads, 99, 5);
            ck_assert_int_eq(sp_search_run(g.search, game, NULL, NULL), SP_OK);
            ck_assert_int_eq(sp_search_root_stats(g.search, run ? again : first, NULL, NULL, NULL, 26), SP_OK);
            ck_assert_int_eq(sp_search_root_value(g.search, run ? &value2 : &value1, NULL), SP_OK);
            go_free(&g);
            if (run > 0) {
                ck_assert_int_eq(memcmp(first, again, sizeof first), 0);
                ck_assert(value1 == value2);
            }
        }
    sp_game_free(game);
}
END_TEST

/* Mean visit distribution over seeds, and how often the capture is chosen. */
static double go_visit_profile(int threads, int batch, int seeds, double *mean, int *chosen)
{
    sp_game *game = go_position(capture_5x5, 5, 0.5f, SP_BLACK);
    int c2;
    sp_move_from_gtp(5, "C2", &c2);
    for (int a = 0; a < 26; a++)
        mean[a] = 0.0;
    *chosen = 0;
    for (int seed = 1; seed <= seeds; seed++) {
        go_setup g = go_search(SP_SEARCH_PUCT, 100, threads, batch, (uint64_t)seed + 1000, 5);
        int32_t action, visits[26];
        ck_assert_int_eq(sp_search_run(g.search, game, NULL, &action), SP_OK);
        ck_assert_int_eq(sp_search_root_stats(g.search, visits, NULL, NULL, NULL, 26), SP_OK);
        for (int a = 0; a < 26; a++)
            mean[a] += visits[a] / 100.0 / seeds;
        *chosen += action == c2;
        go_free(&g);
    }
    sp_game_free(game);
    return mean[c2];
}

START_TEST(go_batched_and_unbatched_agree)
{
    double one[26], batched[26], pooled[26];
    int chosen_one, chosen_batched, chosen_pooled;
    go_visit_profile(1, 1, 24, one, &chosen_one);
    go_visit_profile(1, 8, 24, batched, &chosen_batched);
    /* Two threads keep two batches in flight (run.c): batches of 4 leave as
     * many leaves pending as one thread's batches of 8. */
    go_visit_profile(2, 4, 24, pooled, &chosen_pooled);
    double tv = 0.0, tv_pooled = 0.0;
    for (int a = 0; a < 26; a++) {
        tv += fabs(one[a] - batched[a]) / 2.0;
        tv_pooled += fabs(one[a] - pooled[a]) / 2.0;
    }
    /* Measured: total variation 0.03 and 0.05 (0.10 for one thread at batch 16). */
    ck_assert_msg(tv < 0.12, "batch 8 vs 1: total variation %.3f", tv);
    ck_assert_msg(tv_pooled < 0.12, "2 threads, batch 4 vs 1: total variation %.3f", tv_pooled);
    ck_assert_int_ge(chosen_one, 18);
    ck_assert_int_ge(chosen_batched, 18);
    ck_assert_int_ge(chosen_pooled, 18);
}
END_TEST

START_TEST(go_terminal_values_are_exact)
{
    /* White passed; Black owns the whole 3x3 board but one point: its pass
     * ends the game won (Q exactly +1). With komi 20 the same pass loses. */
    const char board[] = "XXX"
                         "X.X"
                         "XX.";
    for (int k = 0; k < 2; k++) {
        sp_game *game = go_position(board, 3, k ? 20.0f : 0.5f, SP_WHITE);
        ck_assert_int_eq(sp_game_play(game, SP_PASS), SP_OK);
        go_setup g = go_search(SP_SEARCH_PUCT, 200, 1, 1, 5, 3);
        int32_t action, visits[10];
        float values[10];
        ck_assert_int_eq(sp_search_run(g.search, game, NULL, &action), SP_OK);
        ck_assert_int_eq(sp_search_root_stats(g.search, visits, NULL, values, NULL, 10), SP_OK);
        ck_assert_int_gt(visits[9], 0);
        ck_assert_float_eq(values[9], k ? -1.0f : 1.0f);
        if (!k)
            ck_assert_int_eq(action, 9);
        /* Black's own eyes are never candidates. */
        ck_assert_int_eq(visits[4], 0);
        ck_assert_int_eq(visits[8], 0);
        go_free(&g);
        /* A finished game has no move to search. */
        ck_assert_int_eq(sp_game_play(game, SP_PASS), SP_OK);
        g = go_search(SP_SEARCH_PUCT, 50, 1, 1, 5, 3);
        ck_assert_int_eq(sp_search_run(g.search, game, NULL, &action), SP_OK);
        ck_assert_int_eq(action, -1);
        go_free(&g);
        sp_game_free(game);
    }
}
END_TEST

START_TEST(go_evaluator_arguments)
{
    sp_go_evaluator_options o;
    ck_assert_int_eq(sp_go_evaluator_options_init(&o, SP_GO_EVALUATOR_OPTIONS_VERSION), SP_OK);
    ck_assert_int_eq(o.board_size, 9);
    ck_assert_int_eq(sp_go_evaluator_options_init(NULL, SP_GO_EVALUATOR_OPTIONS_VERSION), SP_ERR_INVALID_ARG);
    sp_go_evaluator *ev = (sp_go_evaluator *)&o;
    o.version = SP_GO_EVALUATOR_OPTIONS_VERSION + 1;
    ck_assert_int_eq(sp_go_evaluator_create(&ev, &o), SP_ERR_VERSION);
    ck_assert_ptr_null(ev);
    sp_go_evaluator_options_init(&o, SP_GO_EVALUATOR_OPTIONS_VERSION);
    o.playouts = 0;
    ck_assert_int_eq(sp_go_evaluator_create(&ev, &o), SP_ERR_INVALID_ARG);
    sp_go_evaluator_free(NULL);
    ck_assert_int_eq(sp_go_evaluator_model(NULL, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_go_evaluator_seed(NULL, 1), SP_ERR_INVALID_ARG);

    /* A root of the wrong size and a search with more threads than the
     * evaluator has generators both fail cleanly. */
    go_setup g = go_search(SP_SEARCH_PUCT, 20, 1, 1, 1, 9);
    sp_game *small = go_position(".........", 3, 7.0f, SP_BLACK);
    ck_assert_int_eq(sp_search_run(g.search, small, NULL, NULL), SP_ERR_INVALID_ARG);
    go_free(&g);
    sp_go_evaluator_options_init(&o, SP_GO_EVALUATOR_OPTIONS_VERSION);
    o.board_size = 3;
    ck_assert_int_eq(sp_go_evaluator_create(&ev, &o), SP_OK);
    sp_search_model m;
    sp_go_evaluator_model(ev, &m);
    sp_search_options so = SP_SEARCH_OPTIONS_INIT;
    so.threads = 2;
    so.batch_size = 4;
    sp_search *s;
    ck_assert_int_eq(sp_search_create(&s, &m, &so), SP_OK);
    ck_assert_int_eq(sp_search_run(s, small, NULL, NULL), SP_ERR_INVALID_ARG);
    sp_search_free(s);
    sp_go_evaluator_free(ev);
    sp_game_free(small);
}
END_TEST

/* A bandit: 16 actions, each ending the game at once with a fixed value;
 * the prior favours action 0, the best arm is 2 (third in the prior). */
#define ARMS 16
static int bandit_initial(int worker, size_t n, void *const *inputs, void **out_states, float *out_priors,
                          float *out_values, uint8_t *masks, int32_t *terminal, void *payload)
{
    for (size_t i = 0; i < n; i++) {
        for (int a = 0; a < ARMS; a++)
            out_priors[i * ARMS + (size_t)a] = a == 0 ? 0.3f : a == 1 ? 0.2f : a == 2 ? 0.1f : 0.4f / (ARMS - 3);
        out_values[i] = 0.0f;
    }
    return 0;
}

static int bandit_recurrent(int worker, size_t n, void *const *states, const int32_t *actions, void **out_states,
                            float *out_rewards, float *out_priors, float *out_values, uint8_t *masks,
                            int32_t *terminal, void *payload)
{
    for (size_t i = 0; i < n; i++) {
        /* The value is for the player to move after the arm: minus the arm's worth. */
        float worth = actions[i] == 2 ? 0.9f : actions[i] == 0 ? 0.1f : 0.0f;
        out_values[i] = -worth;
        terminal[i] = 1;
    }
    return 0;
}

START_TEST(gumbel_improves_the_prior_at_few_simulations)
{
    sp_search_model m = SP_SEARCH_MODEL_INIT;
    m.num_actions = ARMS;
    m.initial = bandit_initial;
    m.recurrent = bandit_recurrent;
    int found[2] = { 0, 0 };
    for (int kind = 0; kind < 2; kind++)
        for (uint64_t seed = 1; seed <= 50; seed++) {
            sp_search_options o = SP_SEARCH_OPTIONS_INIT;
            o.kind = kind;
            o.simulations = 8;
            o.seed = seed;
            sp_search *s;
            ck_assert_int_eq(sp_search_create(&s, &m, &o), SP_OK);
            int32_t action;
            float policy[ARMS];
            ck_assert_int_eq(sp_search_run(s, NULL, NULL, &action), SP_OK);
            ck_assert_int_eq(sp_search_root_stats(s, NULL, NULL, NULL, policy, ARMS), SP_OK);
            found[kind] += action == 2;
            /* Gumbel's improved policy puts the best visited arm first. */
            if (kind == SP_SEARCH_GUMBEL && action == 2)
                for (int a = 0; a < ARMS; a++)
                    ck_assert(policy[a] <= policy[2]);
            sp_search_free(s);
        }
    /* With 8 simulations pUCT spends them on the prior's favourites and
     * keeps the most visited (measured: never arm 2); Gumbel samples 8 arms
     * without replacement by prior and keeps the best of them by value
     * (measured: 39 of 50 seeds). */
    ck_assert_int_ge(found[SP_SEARCH_GUMBEL], 35);
    ck_assert_int_gt(found[SP_SEARCH_GUMBEL], found[SP_SEARCH_PUCT]);
}
END_TEST

START_TEST(tree_size_ends_a_run)
{
    toy t;
    toy_init(&t);
    sp_search *s = toy_search(&t, SP_SEARCH_PUCT, 100000, 1, 1, 1);
    s->max_tree_bytes = 200000;
    int32_t action, done;
    ck_assert_int_eq(sp_search_run(s, NULL, NULL, &action), SP_OK);
    ck_assert_int_ge(action, 0);
    ck_assert_int_eq(sp_search_root_value(s, NULL, &done), SP_OK);
    ck_assert_int_gt(done, 100);
    ck_assert_int_lt(done, 100000);
    ck_assert_int_eq(visit_sum(s, NULL), done);
    /* No room even for the first batch: an error, not an empty result. */
    ck_assert_int_eq(sp_search_reset(s), SP_OK);
    s->max_tree_bytes = 100;
    ck_assert_int_eq(sp_search_run(s, NULL, NULL, &action), SP_ERR_NOMEM);
    ck_assert_int_eq(action, -1);
    sp_search_free(s);
    ck_assert_int_eq(atomic_load(&t.live), 0);
}
END_TEST

Suite *search_suite(void);
Suite *search_suite(void)
{
    Suite *s = suite_create("search");
    TCase *tc = tcase_create("searcher");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, options_and_arguments);
    tcase_add_test(tc, visit_counts_sum_to_simulations);
    tcase_add_test(tc, one_ply_win_is_found);
    tcase_add_test(tc, fixed_seed_is_reproducible);
    tcase_add_test(tc, illegal_root_actions_are_never_chosen);
    tcase_add_test(tc, nothing_legal_gives_no_action);
    tcase_add_test(tc, callback_errors_stop_the_search);
    tcase_add_test(tc, tree_reuse_keeps_the_subtree);
    tcase_add_test(tc, many_trees_step_together);
    tcase_add_test(tc, gumbel_improves_the_prior_at_few_simulations);
    tcase_add_test(tc, tree_size_ends_a_run);
    suite_add_tcase(s, tc);
    TCase *go = tcase_create("go");
    tcase_set_timeout(go, 120);
    tcase_add_test(go, go_capture_or_lose);
    tcase_add_test(go, go_fixed_seed_is_reproducible);
    tcase_add_test(go, go_batched_and_unbatched_agree);
    tcase_add_test(go, go_terminal_values_are_exact);
    tcase_add_test(go, go_evaluator_arguments);
    suite_add_tcase(s, go);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(search_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
