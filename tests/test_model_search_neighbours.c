/* model_search_neighbours: searching a retrieval model (model.h,
 * sp_model_search_options.neighbours). The neighbours a callback gives for
 * the root reach its priors exactly as sp_model_initial_neighbours() with
 * those planes computes them; zero planes give the baseline's priors; in
 * rules mode the callback sees every real position the search evaluates
 * and nothing else, in learned mode only the root and its passes; a
 * callback's failure stops the search with its status and message; the
 * options a model refuses (no callback for N > 0, a callback for N = 0, a
 * version-1 struct) are refused. A tiny untrained network: these are
 * questions of plumbing, not of strength. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/core_internal.h" /* sp__error: a callback's message, as the library's own callbacks set it */
#include "semiparam.h"
#include "semiparam/model.h"

#define SIZE 5
#define AREA (SIZE * SIZE)
#define ACTIONS (AREA + 1)
#define HISTORY 2
#define N 3
#define NB_FLOATS ((size_t)N * SP_NEIGHBOUR_PLANES * AREA)
#define MAX_SEEN 4096

static sp_model *tiny_model(int neighbours)
{
    sp_model_options o;
    ck_assert_int_eq(sp_model_options_init(&o, SP_MODEL_OPTIONS_VERSION), SP_OK);
    o.board_size = SIZE;
    o.history = HISTORY;
    o.channels = 8;
    o.repr_blocks = 1;
    o.dyn_blocks = 1;
    o.value_hidden = 8;
    o.neighbours = neighbours;
    o.neighbour_channels = 3;
    o.neighbour_blocks = 1;
    sp_nn_options nn = SP_NN_OPTIONS_INIT;
    nn.backend = SP_BACKEND_CPU;
    nn.threads = 1;
    nn.seed = 11;
    sp_model *m = NULL;
    ck_assert_msg(sp_model_create(&m, &o, &nn) == SP_OK, "%s", sp_last_error());
    return m;
}

/* What a test's callback gives and remembers. */
typedef struct neighbours_log {
    pthread_mutex_t lock;
    int zeros;          /* give zero planes instead of the hash's */
    int fail;           /* return SP_ERR_IO with a message */
    size_t seen;        /* positions asked for */
    uint64_t hashes[MAX_SEEN];
} neighbours_log;

/* Planes that depend on the position alone: a generator seeded by its hash. */
static void planes_of(const sp_game *g, float *out)
{
    sp_rng *rng = NULL;
    ck_assert_int_eq(sp_rng_create(&rng, sp_game_hash(g)), SP_OK);
    for (size_t i = 0; i < NB_FLOATS; i++)
        out[i] = (float)(sp_rng_below(rng, 1000) < 300);
    sp_rng_free(rng);
}

static int give_neighbours(size_t n, const sp_game *const *games, float *out, void *payload)
{
    neighbours_log *log = payload;
    if (log->fail)
        return sp__error(SP_ERR_IO, "test neighbours: the index is unreadable");
    pthread_mutex_lock(&log->lock);
    for (size_t i = 0; i < n; i++) {
        if (log->seen < MAX_SEEN)
            log->hashes[log->seen] = sp_game_hash(games[i]);
        log->seen++;
    }
    pthread_mutex_unlock(&log->lock);
    for (size_t i = 0; i < n; i++) {
        if (log->zeros)
            memset(out + i * NB_FLOATS, 0, NB_FLOATS * sizeof *out);
        else
            planes_of(games[i], out + i * NB_FLOATS);
    }
    return 0;
}

static sp_search *search_of(sp_model *m, int mode, neighbours_log *log, int simulations)
{
    sp_model_search_options o;
    ck_assert_int_eq(sp_model_search_options_init(&o, SP_MODEL_SEARCH_OPTIONS_VERSION), SP_OK);
    o.mode = mode;
    o.neighbours = log ? give_neighbours : NULL;
    o.neighbours_payload = log;
    sp_search_model sm;
    ck_assert_msg(sp_model_search_model(m, &o, &sm) == SP_OK, "%s", sp_last_error());
    sp_search_options so = SP_SEARCH_OPTIONS_INIT;
    so.simulations = simulations;
    so.batch_size = 4;
    so.seed = 5;
    sp_search *s = NULL;
    ck_assert_msg(sp_search_create(&s, &sm, &so) == SP_OK, "%s", sp_last_error());
    return s;
}

static sp_game *opening(void)
{
    sp_game_options o = SP_GAME_OPTIONS_INIT;
    o.board_size = SIZE;
    sp_game *g = NULL;
    ck_assert_int_eq(sp_game_create(&g, &o), SP_OK);
    const int moves[] = { 12, 6, 8, 16 };
    for (size_t i = 0; i < sizeof moves / sizeof *moves; i++)
        ck_assert_int_eq(sp_game_play(g, moves[i]), SP_OK);
    return g;
}

/* The root's priors by hand: initial inference with `neighbours` (NULL:
 * the baseline) and a softmax over the rules' legal moves. */
static void expected_priors(sp_model *m, const sp_game *g, const float *neighbours, double *out)
{
    const size_t P = sp_go_plane_count(HISTORY) * (size_t)AREA;
    float *planes = malloc(P * sizeof *planes), logits[ACTIONS];
    ck_assert_int_eq(sp_game_planes(g, HISTORY, planes, P), SP_OK);
    ck_assert_msg(sp_model_initial_neighbours(m, planes, neighbours, 1, NULL, logits, NULL) == SP_OK, "%s",
                  sp_last_error());
    free(planes);
    uint8_t legal[ACTIONS];
    ck_assert_int_eq(sp_game_legal_mask(g, legal, ACTIONS), SP_OK);
    double top = -INFINITY, sum = 0.0;
    for (int a = 0; a < ACTIONS; a++)
        if (legal[a] && logits[a] > top)
            top = logits[a];
    for (int a = 0; a < ACTIONS; a++)
        sum += out[a] = legal[a] ? exp(logits[a] - top) : 0.0;
    for (int a = 0; a < ACTIONS; a++)
        out[a] /= sum;
}

static double max_prior_diff(sp_search *s, const double *want)
{
    float priors[ACTIONS];
    ck_assert_int_eq(sp_search_root_stats(s, NULL, priors, NULL, NULL, ACTIONS), SP_OK);
    double worst = 0.0;
    for (int a = 0; a < ACTIONS; a++)
        worst = fmax(worst, fabs(priors[a] - want[a]));
    return worst;
}

START_TEST(root_priors_read_the_callbacks_neighbours)
{
    sp_model *m = tiny_model(N);
    sp_game *root = opening();
    float *planes = malloc(NB_FLOATS * sizeof *planes);
    planes_of(root, planes);
    double with[ACTIONS], without[ACTIONS];
    expected_priors(m, root, planes, with);
    expected_priors(m, root, NULL, without);
    double apart = 0.0;
    for (int a = 0; a < ACTIONS; a++)
        apart = fmax(apart, fabs(with[a] - without[a]));
    ck_assert_msg(apart > 1e-4, "the neighbours change no prior (%g): the test could not tell", apart);

    for (int mode = SP_MODEL_SEARCH_LEARNED; mode <= SP_MODEL_SEARCH_RULES; mode++) {
        for (int zeros = 0; zeros <= 1; zeros++) {
            neighbours_log log = { .lock = PTHREAD_MUTEX_INITIALIZER, .zeros = zeros };
            sp_search *s = search_of(m, mode, &log, 8);
            int32_t action;
            ck_assert_msg(sp_search_run(s, root, NULL, &action) == SP_OK, "%s", sp_last_error());
            double diff = max_prior_diff(s, zeros ? without : with);
            ck_assert_msg(diff < 1e-5, "mode %d zeros %d: root priors differ by %g", mode, zeros, diff);
            ck_assert_uint_eq(log.hashes[0], sp_game_hash(root));
            sp_search_free(s);
        }
    }
    free(planes);
    sp_game_free(root);
    sp_model_free(m);
}
END_TEST

/* Whether `hash` is the position after one of root's legal moves, or root itself. */
static int one_move_from(const sp_game *root, uint64_t hash)
{
    if (hash == sp_game_hash(root))
        return 1;
    for (int move = -1; move < AREA; move++) {
        int mv = move < 0 ? SP_PASS : move;
        if (!sp_game_is_legal(root, sp_game_to_play(root), mv))
            continue;
        sp_game *g = NULL;
        ck_assert_int_eq(sp_game_clone(&g, root), SP_OK);
        ck_assert_int_eq(sp_game_play(g, mv), SP_OK);
        int same = sp_game_hash(g) == hash;
        sp_game_free(g);
        if (same)
            return 1;
    }
    return 0;
}

START_TEST(rules_mode_asks_for_every_position_learned_mode_for_the_root)
{
    sp_model *m = tiny_model(N);
    sp_game *root = opening();
    /* Rules mode: one position per simulation that expands a node, plus
     * the root; with 1 simulation only the root's children at depth 1. */
    neighbours_log log = { .lock = PTHREAD_MUTEX_INITIALIZER };
    sp_search *s = search_of(m, SP_MODEL_SEARCH_RULES, &log, 1);
    int32_t action, sims = 0;
    float value;
    ck_assert_msg(sp_search_run(s, root, NULL, &action) == SP_OK, "%s", sp_last_error());
    ck_assert_int_eq(sp_search_root_value(s, &value, &sims), SP_OK);
    ck_assert_uint_ge(log.seen, 2);
    ck_assert_uint_le(log.seen, (size_t)sims + 4); /* a batch may evaluate a few leaves past the count */
    ck_assert_uint_eq(log.hashes[0], sp_game_hash(root));
    for (size_t i = 1; i < log.seen; i++)
        ck_assert_msg(one_move_from(root, log.hashes[i]), "position %zu is not a child of the root", i);
    sp_search_free(s);

    /* 64 simulations: the tree grows deeper, each real position once per expansion. */
    neighbours_log deep = { .lock = PTHREAD_MUTEX_INITIALIZER };
    s = search_of(m, SP_MODEL_SEARCH_RULES, &deep, 64);
    ck_assert_msg(sp_search_run(s, root, NULL, &action) == SP_OK, "%s", sp_last_error());
    ck_assert_int_eq(sp_search_root_value(s, &value, &sims), SP_OK);
    ck_assert_uint_ge(deep.seen, (size_t)sims / 2);
    ck_assert_uint_le(deep.seen, (size_t)sims + 4);
    sp_search_free(s);

    /* Learned mode: below the root the dynamics run on hidden states; only
     * the root and the positions its passes reach are real. */
    neighbours_log learned = { .lock = PTHREAD_MUTEX_INITIALIZER };
    s = search_of(m, SP_MODEL_SEARCH_LEARNED, &learned, 64);
    ck_assert_msg(sp_search_run(s, root, NULL, &action) == SP_OK, "%s", sp_last_error());
    ck_assert_uint_ge(learned.seen, 1);
    ck_assert_uint_le(learned.seen, 3);
    sp_game *passed = NULL;
    ck_assert_int_eq(sp_game_clone(&passed, root), SP_OK);
    for (size_t i = 0; i < learned.seen; i++) {
        ck_assert_uint_eq(learned.hashes[i], sp_game_hash(passed));
        ck_assert_int_eq(sp_game_play(passed, SP_PASS), SP_OK);
    }
    sp_game_free(passed);
    sp_search_free(s);
    sp_game_free(root);
    sp_model_free(m);
}
END_TEST

START_TEST(a_failing_callback_stops_the_search_with_its_reason)
{
    sp_model *m = tiny_model(N);
    sp_game *root = opening();
    neighbours_log log = { .lock = PTHREAD_MUTEX_INITIALIZER, .fail = 1 };
    sp_search *s = search_of(m, SP_MODEL_SEARCH_RULES, &log, 8);
    int32_t action;
    ck_assert_int_eq(sp_search_run(s, root, NULL, &action), SP_ERR_IO);
    ck_assert_msg(strstr(sp_last_error(), "the index is unreadable"), "%s", sp_last_error());
    sp_search_free(s);
    sp_game_free(root);
    sp_model_free(m);
}
END_TEST

START_TEST(options_a_model_cannot_use_are_refused)
{
    sp_model *retrieval = tiny_model(N), *plain = tiny_model(0);
    neighbours_log log = { .lock = PTHREAD_MUTEX_INITIALIZER };
    sp_model_search_options o;
    sp_search_model sm;
    ck_assert_int_eq(sp_model_search_options_init(&o, SP_MODEL_SEARCH_OPTIONS_VERSION), SP_OK);
    ck_assert_ptr_null(o.neighbours);
    ck_assert_int_eq(sp_model_search_model(retrieval, &o, &sm), SP_ERR_UNSUPPORTED);
    ck_assert_msg(strstr(sp_last_error(), "neighbours callback"), "%s", sp_last_error());
    o.neighbours = give_neighbours;
    o.neighbours_payload = &log;
    ck_assert_int_eq(sp_model_search_model(plain, &o, &sm), SP_ERR_INVALID_ARG);
    ck_assert_msg(strstr(sp_last_error(), "reads no neighbours"), "%s", sp_last_error());
    ck_assert_int_eq(sp_model_search_model(retrieval, &o, &sm), SP_OK);
    /* A caller built against version 1 has no callback to give. */
    o.version = 1;
    ck_assert_int_eq(sp_model_search_model(retrieval, &o, &sm), SP_ERR_UNSUPPORTED);
    ck_assert_int_eq(sp_model_search_model(plain, &o, &sm), SP_OK);
    /* Version 1's init writes nothing past its fields. */
    sp_model_search_options filled;
    memset(&filled, 0xab, sizeof filled);
    ck_assert_int_eq(sp_model_search_options_init(&filled, 1), SP_OK);
    const unsigned char *tail = (const unsigned char *)&filled.neighbours;
    for (size_t i = 0; i < sizeof filled.neighbours; i++)
        ck_assert_uint_eq(tail[i], 0xab);
    sp_model_free(retrieval);
    sp_model_free(plain);
}
END_TEST

Suite *model_search_neighbours_suite(void);
Suite *model_search_neighbours_suite(void)
{
    Suite *s = suite_create("model_search_neighbours");
    TCase *tc = tcase_create("search");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, root_priors_read_the_callbacks_neighbours);
    tcase_add_test(tc, rules_mode_asks_for_every_position_learned_mode_for_the_root);
    tcase_add_test(tc, a_failing_callback_stops_the_search_with_its_reason);
    tcase_add_test(tc, options_a_model_cannot_use_are_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(model_search_neighbours_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
