/* agent: the sp_agent of agent.h over tiny untrained networks, a raw-plane
 * embedder and an exact (Flat) index of random 9x9 games. Agents of every
 * kind (playouts, a baseline model in both search modes, a retrieval
 * model, with one and two threads) play whole games without an illegal
 * move, their root visits summing to the simulations reported; a game
 * added with sp_agent_add_game() is retrieved for its own positions at
 * distance 0, and after a save and reload of the dataset and index; the
 * neighbours' outcomes and next moves against the dataset's games; bad
 * arguments and handles that do not belong together are refused. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "semiparam.h"

#define SIZE 9
#define AREA (SIZE * SIZE)
#define ACTIONS (AREA + 1)
#define HISTORY 2
#define DIM 8
#define N 3
#define GAMES 40

/* The set-up runs before the tests, where libcheck's assertions cannot report. */
#define REQUIRE(x)                                                                                         \
    do {                                                                                                   \
        if (!(x)) {                                                                                        \
            fprintf(stderr, "test_agent: %s:%d: %s failed (%s)\n", __FILE__, __LINE__, #x, sp_last_error()); \
            exit(EXIT_FAILURE);                                                                            \
        }                                                                                                  \
    } while (0)

static char tmpdir[256];

/* A random game of 20..69 moves, with a result. */
static sp_game *random_game(sp_rng *rng, int i)
{
    sp_game *g = NULL;
    REQUIRE(sp_game_create(&g, NULL) == SP_OK);
    for (int m = 0; m < 20 + i % 50 && !sp_game_is_over(g); m++) {
        int move;
        REQUIRE(sp_game_random_move(g, rng, &move) == SP_OK);
        REQUIRE(sp_game_play(g, move) == SP_OK);
    }
    REQUIRE(sp_game_set_info(g, "RE", i % 3 ? "B+R" : "W+R") == SP_OK);
    return g;
}

static sp_dataset *random_dataset(uint64_t seed)
{
    sp_dataset *ds = NULL;
    sp_rng *rng = NULL;
    REQUIRE(sp_dataset_create(&ds, SIZE) == SP_OK);
    REQUIRE(sp_rng_create(&rng, seed) == SP_OK);
    for (int i = 0; i < GAMES; i++) {
        sp_game *g = random_game(rng, i);
        REQUIRE(sp_dataset_add_game(ds, g, "test", 0, NULL) == SP_OK);
        sp_game_free(g);
    }
    sp_rng_free(rng);
    return ds;
}

static sp_model *tiny_model(int neighbours, uint64_t seed)
{
    sp_model_options o = SP_MODEL_OPTIONS_INIT;
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
    nn.seed = seed;
    sp_model *m = NULL;
    REQUIRE(sp_model_create(&m, &o, &nn) == SP_OK);
    return m;
}

/* Every position of the dataset. */
static uint64_t *all_positions(const sp_dataset *ds, uint64_t *count)
{
    *count = sp_dataset_position_count(ds);
    uint64_t *p = malloc(*count * sizeof *p);
    REQUIRE(p != NULL);
    for (uint64_t i = 0; i < *count; i++)
        p[i] = i;
    return p;
}

/* The pieces of a retrieval agent: dataset, raw-plane embedder, exact index, models. */
typedef struct world {
    sp_dataset *ds;
    sp_embedder *embedder;
    sp_retriever *retriever;
    sp_model *retrieval; /* N = 3, trained on the embedder (untrained, in truth) */
    sp_model *baseline;  /* N = 0 */
} world;

static void world_open(world *w, uint64_t seed)
{
    memset(w, 0, sizeof *w);
    w->ds = random_dataset(seed);
    uint64_t count;
    uint64_t *positions = all_positions(w->ds, &count);
    const uint32_t dim_in = (uint32_t)sp_go_plane_count(HISTORY) * AREA;
    float *planes = malloc(count * dim_in * sizeof *planes), *keys = malloc(count * DIM * sizeof *keys);
    uint32_t *games = malloc(count * sizeof *games);
    REQUIRE(planes && keys && games);
    REQUIRE(sp_pca_position_planes(w->ds, positions, count, HISTORY, planes, count * dim_in, games) == SP_OK);
    sp_pca *pca = NULL;
    REQUIRE(sp_pca_train(&pca, planes, count, dim_in, DIM, 1) == SP_OK);
    REQUIRE(sp_embedder_from_pca(&w->embedder, pca, SIZE, HISTORY) == SP_OK);
    sp_pca_free(pca);
    REQUIRE(sp_embedder_embed_positions(w->embedder, w->ds, positions, count, keys, NULL) == SP_OK);
    sp_retriever_options ro;
    REQUIRE(sp_retriever_options_init(&ro, SP_RETRIEVER_OPTIONS_VERSION) == SP_OK);
    ro.factory = "Flat";
    ro.threads = 1;
    ro.embedder_id = sp_embedder_id(w->embedder);
    REQUIRE(sp_retriever_build(&w->retriever, keys, positions, games, count, DIM, &ro) == SP_OK);
    w->retrieval = tiny_model(N, seed + 1);
    REQUIRE(sp_model_set_embedder(w->retrieval, sp_embedder_id(w->embedder)) == SP_OK);
    w->baseline = tiny_model(0, seed + 2);
    free(positions);
    free(planes);
    free(keys);
    free(games);
}

static void world_close(world *w)
{
    sp_retriever_free(w->retriever);
    sp_embedder_free(w->embedder);
    sp_dataset_free(w->ds);
    sp_model_free(w->retrieval);
    sp_model_free(w->baseline);
}

static sp_agent_options options(int simulations, int mode, int threads)
{
    sp_agent_options o;
    ck_assert_int_eq(sp_agent_options_init(&o, SP_AGENT_OPTIONS_VERSION), SP_OK);
    o.simulations = simulations;
    o.mode = mode;
    o.threads = threads;
    return o;
}

/* kind 0: playouts, 1: the baseline model, 2: the retrieval model, 3: the retrieval model with x_i = 0. */
static sp_agent *agent_of(world *w, int kind, const sp_agent_options *o)
{
    sp_agent *a = NULL;
    sp_agent_options zero = *o;
    zero.zero_neighbours = 1;
    int rc = kind == 0   ? sp_agent_create(&a, NULL, NULL, NULL, NULL, o)
             : kind == 1 ? sp_agent_create(&a, w->baseline, NULL, NULL, NULL, o)
             : kind == 2 ? sp_agent_create(&a, w->retrieval, w->embedder, w->retriever, w->ds, o)
                         : sp_agent_create(&a, w->retrieval, NULL, NULL, NULL, &zero);
    ck_assert_msg(rc == SP_OK, "%s", sp_last_error());
    return a;
}

static int visits_sum(const sp_agent *a)
{
    int32_t visits[ACTIONS];
    ck_assert_int_eq(sp_search_root_stats(sp_agent_search(a), visits, NULL, NULL, NULL, ACTIONS), SP_OK);
    int sum = 0;
    for (int i = 0; i < ACTIONS; i++)
        sum += visits[i];
    return sum;
}

/* One agent plays both sides of a game to its end (or 150 moves): every
 * move legal, the root's visits the simulations plus those a kept tree
 * brought (none in learned mode, which starts afresh at every move). */
static void self_play(sp_agent *a, int simulations, int retrieval, int keeps_tree)
{
    int64_t reused = 0;
    int last_sum = 0;
    sp_game *g = NULL;
    ck_assert_int_eq(sp_game_create(&g, NULL), SP_OK);
    for (int ply = 0; ply < 150 && !sp_game_is_over(g); ply++) {
        int32_t move;
        ck_assert_msg(sp_agent_genmove(a, g, 0.0, &move) == SP_OK, "%s", sp_last_error());
        ck_assert_msg(move == SP_PASS || sp_game_is_legal(g, sp_game_to_play(g), move), "ply %d: move %d is illegal",
                      ply, (int)move);
        sp_agent_report r = SP_AGENT_REPORT_INIT;
        ck_assert_int_eq(sp_agent_report_get(a, &r), SP_OK);
        ck_assert_int_eq(r.move, move);
        ck_assert_int_ge(r.simulations, simulations);
        const int sum = visits_sum(a);
        ck_assert_int_eq(sum, r.simulations + r.reused);
        /* A new tree's visits are the run's; a kept one brings at most what the last tree had. */
        if (ply == 0 || !keeps_tree)
            ck_assert_int_eq(r.reused, 0);
        ck_assert_int_ge(r.reused, 0);
        ck_assert_int_le(r.reused, last_sum);
        last_sum = sum;
        reused += r.reused;
        ck_assert(r.value >= -1.0f && r.value <= 1.0f);
        ck_assert(r.seconds >= r.seconds_search);
        ck_assert_int_eq(r.neighbours, retrieval ? N : 0);
        ck_assert_int_eq(r.queries > 0, retrieval);
        ck_assert_int_eq(sp_game_play(g, move), SP_OK);
    }
    ck_assert_int_eq(reused > 0, keeps_tree);
    int32_t move = 0;
    if (sp_game_is_over(g)) {
        ck_assert_int_eq(sp_agent_genmove(a, g, 0.0, &move), SP_OK);
        ck_assert_int_eq(move, SP_PASS);
        /* No search ran: nothing stale to show. */
        int32_t visits[ACTIONS];
        ck_assert_int_eq(sp_search_root_stats(sp_agent_search(a), visits, NULL, NULL, NULL, ACTIONS), SP_ERR_MISUSE);
        sp_agent_report r = SP_AGENT_REPORT_INIT;
        ck_assert_int_eq(sp_agent_report_get(a, &r), SP_OK);
        ck_assert_int_eq(r.simulations, 0);
        ck_assert_int_eq(r.neighbours, 0);
    }
    sp_game_free(g);
}

START_TEST(every_kind_of_agent_plays_legal_moves)
{
    world w;
    world_open(&w, 3);
    const int kind = _i / 4, mode = (_i / 2) % 2, threads = 1 + _i % 2;
    if (kind == 0 && mode == 1) {
        world_close(&w);
        return; /* playouts have one mode */
    }
    sp_agent_options o = options(12, mode == 0 ? SP_MODEL_SEARCH_RULES : SP_MODEL_SEARCH_LEARNED, threads);
    /* Two workers retrieving at once, and one thread with the root's neighbours for all. */
    o.per_node_neighbours = threads == 2;
    sp_agent *a = agent_of(&w, kind, &o);
    ck_assert_int_eq(sp_agent_board_size(a), SIZE);
    ck_assert_int_eq(sp_agent_neighbours(a), kind == 2 ? N : 0);
    self_play(a, 12, kind == 2, kind == 0 || mode == 0);
    sp_agent_free(a);
    world_close(&w);
}
END_TEST

/* The zero-neighbour agent evaluates its root as sp_model_initial() does
 * (every x_i = 0), and the retrieval agent does not. */
START_TEST(zero_neighbours_search_the_baseline_of_equal_capacity)
{
    world w;
    world_open(&w, 10);
    sp_game *g = NULL;
    ck_assert_int_eq(sp_dataset_game_replay(w.ds, 3, 6, &g), SP_OK);
    const size_t P = (size_t)sp_go_plane_count(HISTORY) * AREA;
    float *planes = malloc(P * sizeof *planes), logits[ACTIONS], priors[ACTIONS];
    uint8_t legal[ACTIONS];
    ck_assert_int_eq(sp_game_planes(g, HISTORY, planes, P), SP_OK);
    ck_assert_int_eq(sp_model_initial(w.retrieval, planes, 1, NULL, logits, NULL), SP_OK);
    ck_assert_int_eq(sp_game_legal_mask(g, legal, ACTIONS), SP_OK);
    double top = -INFINITY, sum = 0.0, want[ACTIONS];
    for (int i = 0; i < ACTIONS; i++)
        if (legal[i] && logits[i] > top)
            top = logits[i];
    for (int i = 0; i < ACTIONS; i++)
        sum += want[i] = legal[i] ? exp(logits[i] - top) : 0.0;
    sp_agent_options o = options(8, SP_MODEL_SEARCH_RULES, 1);
    for (int kind = 2; kind <= 3; kind++) {
        sp_agent *a = agent_of(&w, kind, &o);
        int32_t move;
        ck_assert_int_eq(sp_agent_genmove(a, g, 0.0, &move), SP_OK);
        ck_assert_int_eq(sp_search_root_stats(sp_agent_search(a), NULL, priors, NULL, NULL, ACTIONS), SP_OK);
        double worst = 0.0;
        for (int i = 0; i < ACTIONS; i++)
            worst = fmax(worst, fabs(priors[i] - want[i] / sum));
        if (kind == 3)
            ck_assert_msg(worst < 1e-5, "the zero-neighbour root priors differ from the baseline's by %g", worst);
        else
            ck_assert_msg(worst > 1e-5, "the retrieval agent's root priors are the baseline's");
        sp_agent_free(a);
    }
    free(planes);
    sp_game_free(g);
    world_close(&w);
}
END_TEST

/* The planes a callback hands out: the root's neighbours' for the root's
 * side to move, their next positions' for the other. */
typedef struct fixed {
    float *same, *next;
    int to_play;
} fixed;

static int fixed_planes(size_t n, const sp_game *const *games, float *out, void *payload)
{
    const fixed *f = payload;
    const size_t X = (size_t)N * SP_NEIGHBOUR_PLANES * AREA;
    for (size_t i = 0; i < n; i++)
        memcpy(out + i * X, sp_game_to_play(games[i]) == f->to_play ? f->same : f->next, X * sizeof *out);
    return 0;
}

/* By default one retrieval per move, and the search is the one a searcher
 * gets when every position reads the root's neighbours, or for the other
 * side to move their next positions, zeros past a game's end (rebuilt from
 * the reported neighbours through the dataset's games); per_node_neighbours
 * retrieves for the other positions too. Options of version 1 get the
 * default. */
#define SIMULATIONS_DEEP 64 /* a principal variation of two moves or more */

START_TEST(one_retrieval_per_move_unless_per_node)
{
    world w;
    world_open(&w, 12);
    sp_game *g = NULL;
    ck_assert_int_eq(sp_dataset_game_replay(w.ds, 5, 9, &g), SP_OK);
    for (int per_node = 1; per_node >= 0; per_node--) {
        sp_agent_options o = options(SIMULATIONS_DEEP, SP_MODEL_SEARCH_RULES, 1);
        o.per_node_neighbours = per_node;
        sp_agent *a = agent_of(&w, 2, &o);
        int32_t move;
        ck_assert_int_eq(sp_agent_genmove(a, g, 0.0, &move), SP_OK);
        sp_agent_report r = SP_AGENT_REPORT_INIT;
        ck_assert_int_eq(sp_agent_report_get(a, &r), SP_OK);
        if (per_node) {
            ck_assert_int_gt(r.queries, 1);
            sp_agent_free(a);
            continue;
        }
        ck_assert_int_eq(r.queries, 1);
        const size_t one = (size_t)SP_NEIGHBOUR_PLANES * AREA;
        fixed f = { calloc(N * one, sizeof(float)), calloc(N * one, sizeof(float)), sp_game_to_play(g) };
        ck_assert(f.same && f.next);
        int ended = 0;
        for (int j = 0; j < N; j++) {
            sp_agent_neighbour nb = SP_AGENT_NEIGHBOUR_INIT;
            ck_assert_int_eq(sp_agent_neighbour_get(a, j, &nb), SP_OK);
            ck_assert_int_eq(sp_dataset_neighbour_planes(w.ds, nb.position, 0, f.same + j * one, one), SP_OK);
            sp_dataset_game_info info = { .version = SP_DATASET_GAME_INFO_VERSION };
            ck_assert_int_eq(sp_dataset_game_info_get(w.ds, nb.game, &info), SP_OK);
            if ((uint32_t)nb.move_number + 1 < info.moves)
                ck_assert_int_eq(sp_dataset_neighbour_planes(w.ds, nb.position + 1, 0, f.next + j * one, one), SP_OK);
            else
                ended++;
        }
        ck_assert_int_lt(ended, N); /* some next positions are there to read */
        sp_model_search_options mo = SP_MODEL_SEARCH_OPTIONS_INIT;
        mo.mode = SP_MODEL_SEARCH_RULES;
        mo.neighbours = fixed_planes;
        mo.neighbours_payload = &f;
        sp_search_model sm;
        ck_assert_int_eq(sp_model_search_model(w.retrieval, &mo, &sm), SP_OK);
        sp_search_options so = SP_SEARCH_OPTIONS_INIT;
        so.simulations = SIMULATIONS_DEEP;
        so.threads = 1;
        so.batch_size = 4; /* the agent's for a model on one thread */
        so.seed = o.seed;
        sp_search *ref = NULL;
        ck_assert_int_eq(sp_search_create(&ref, &sm, &so), SP_OK);
        int32_t action, want[ACTIONS], got[ACTIONS];
        float want_q[ACTIONS], got_q[ACTIONS];
        ck_assert_int_eq(sp_search_run(ref, g, NULL, &action), SP_OK);
        ck_assert_int_eq(sp_search_root_stats(ref, want, NULL, want_q, NULL, ACTIONS), SP_OK);
        ck_assert_int_eq(sp_search_root_stats(sp_agent_search(a), got, NULL, got_q, NULL, ACTIONS), SP_OK);
        for (int i = 0; i < ACTIONS; i++)
            ck_assert_msg(got[i] == want[i] && fabsf(got_q[i] - want_q[i]) < 1e-6f,
                          "action %d: %d visits, value %g; %d and %g with the reference's planes", i, (int)got[i],
                          (double)got_q[i], (int)want[i], (double)want_q[i]);
        /* The principal variation's second move follows the priors of a
           child, a position of the other side to move (the untrained
           model's values are all 0: its priors are what the planes move). */
        int32_t want_pv[16], got_pv[16];
        size_t want_len, got_len;
        ck_assert_int_eq(sp_search_pv(ref, want_pv, 16, &want_len), SP_OK);
        ck_assert_int_eq(sp_search_pv(sp_agent_search(a), got_pv, 16, &got_len), SP_OK);
        ck_assert_uint_ge(want_len, 2);
        ck_assert_uint_eq(got_len, want_len);
        for (size_t i = 0; i < want_len; i++)
            ck_assert_int_eq(got_pv[i], want_pv[i]);
        int ref_move;
        ck_assert_int_eq(sp_action_to_move(SIZE, action, &ref_move), SP_OK);
        ck_assert_int_eq(move, ref_move);
        sp_search_free(ref);
        free(f.same);
        free(f.next);
        sp_agent_free(a);
    }
    sp_agent_options v1;
    memset(&v1, 0x7f, sizeof v1); /* a version-1 caller's struct ends before per_node_neighbours */
    ck_assert_int_eq(sp_agent_options_init(&v1, 1), SP_OK);
    ck_assert_int_eq(v1.version, 1);
    sp_agent *a = agent_of(&w, 2, &v1);
    int32_t move;
    ck_assert_int_eq(sp_agent_genmove(a, g, 0.0, &move), SP_OK);
    sp_agent_report r = SP_AGENT_REPORT_INIT;
    ck_assert_int_eq(sp_agent_report_get(a, &r), SP_OK);
    ck_assert_int_eq(r.queries, 1);
    sp_agent_free(a);
    sp_game_free(g);
    world_close(&w);
}
END_TEST

/* A temperature draws among the visited moves; T = 0 plays the search's. */
START_TEST(temperature_draws_visited_moves)
{
    world w;
    world_open(&w, 4);
    sp_agent_options o = options(24, SP_MODEL_SEARCH_RULES, 1);
    o.temperature = 1.0f;
    sp_agent *a = agent_of(&w, 1, &o);
    sp_game *g = NULL;
    ck_assert_int_eq(sp_game_create(&g, NULL), SP_OK);
    int distinct = 0, seen[ACTIONS] = { 0 };
    for (int i = 0; i < 30; i++) {
        int32_t move, visits[ACTIONS];
        ck_assert_int_eq(sp_agent_genmove(a, g, 0.0, &move), SP_OK);
        ck_assert_int_eq(sp_search_root_stats(sp_agent_search(a), visits, NULL, NULL, NULL, ACTIONS), SP_OK);
        const int action = move == SP_PASS ? AREA : move;
        ck_assert_int_gt(visits[action], 0);
        distinct += !seen[action]++;
    }
    ck_assert_int_gt(distinct, 1);
    sp_game_free(g);
    sp_agent_free(a);
    world_close(&w);
}
END_TEST

/* With temperature_moves, only the game's first moves are drawn: past them the
 * agent plays as one without a temperature, fed the same calls. */
START_TEST(temperature_moves_draw_only_the_opening)
{
    world w;
    world_open(&w, 4);
    sp_agent_options o = options(24, SP_MODEL_SEARCH_RULES, 1);
    sp_agent *plain = agent_of(&w, 1, &o);
    o.temperature = 1.0f;
    o.temperature_moves = 2;
    sp_agent *drawn = agent_of(&w, 1, &o);
    sp_game *g = NULL;
    ck_assert_int_eq(sp_game_create(&g, NULL), SP_OK);
    ck_assert_int_eq(sp_game_play(g, 0), SP_OK);
    ck_assert_int_eq(sp_game_play(g, SIZE + 2), SP_OK);
    for (int i = 0; i < 30; i++) { /* move 3: the search's move, each time */
        int32_t want, got;
        ck_assert_int_eq(sp_agent_genmove(plain, g, 0.0, &want), SP_OK);
        ck_assert_int_eq(sp_agent_genmove(drawn, g, 0.0, &got), SP_OK);
        ck_assert_int_eq(got, want);
    }
    ck_assert_int_eq(sp_game_undo(g), SP_OK); /* move 2: drawn */
    int distinct = 0, seen[ACTIONS] = { 0 };
    for (int i = 0; i < 30; i++) {
        int32_t move;
        ck_assert_int_eq(sp_agent_genmove(drawn, g, 0.0, &move), SP_OK);
        distinct += !seen[move == SP_PASS ? AREA : move]++;
    }
    ck_assert_int_gt(distinct, 1);
    sp_game_free(g);
    sp_agent_free(drawn);
    sp_agent_free(plain);
    world_close(&w);
}
END_TEST

/* Time limits: the move's and the options' (the smaller one holds) end a
 * search of ten million simulations; no elapsed time is compared but the
 * lower bound the clock itself sets (a loaded machine only runs fewer
 * simulations in the same time). */
START_TEST(time_limits_end_the_search)
{
    world w;
    world_open(&w, 9);
    for (int kind = 0; kind <= 2; kind++) {
        sp_agent_options o = options(10000000, SP_MODEL_SEARCH_RULES, 1);
        o.seconds = 0.2;
        sp_agent *a = agent_of(&w, kind, &o);
        sp_game *g = NULL;
        ck_assert_int_eq(sp_game_create(&g, NULL), SP_OK);
        const double limits[] = { 0.05, 0.0, 5.0 }; /* the move's: below, none, above the options' 0.2 s */
        for (int i = 0; i < 3; i++) {
            int32_t move;
            ck_assert_msg(sp_agent_genmove(a, g, limits[i], &move) == SP_OK, "%s", sp_last_error());
            sp_agent_report r = SP_AGENT_REPORT_INIT;
            ck_assert_int_eq(sp_agent_report_get(a, &r), SP_OK);
            ck_assert_int_ge(r.simulations, 1);
            ck_assert_int_lt(r.simulations, 10000000);
            ck_assert_msg(r.seconds >= (i == 0 ? 0.05 : 0.2), "kind %d: stopped after %g s", kind, r.seconds);
            ck_assert_int_eq(sp_game_play(g, move), SP_OK);
        }
        sp_game_free(g);
        sp_agent_free(a);
    }
    world_close(&w);
}
END_TEST

/* A game of the agent's own, added, is retrieved for each of its positions
 * at distance 0 (the index is exact); a reloaded set does the same. */
START_TEST(an_added_game_is_retrieved_for_its_own_positions)
{
    world w;
    world_open(&w, 5);
    sp_agent_options o = options(4, SP_MODEL_SEARCH_RULES, 1);
    sp_agent *a = agent_of(&w, 2, &o);
    sp_rng *rng = NULL;
    ck_assert_int_eq(sp_rng_create(&rng, 99), SP_OK);
    sp_game *played = random_game(rng, 31);
    sp_rng_free(rng);
    const uint64_t before = sp_retriever_count(w.retriever), first = sp_dataset_position_count(w.ds);
    uint64_t id = 0;
    ck_assert_msg(sp_agent_add_game(a, played, "self-play", &id) == SP_OK, "%s", sp_last_error());
    ck_assert_uint_eq(id, GAMES);
    const int moves = sp_game_move_count(played);
    ck_assert_uint_eq(sp_retriever_count(w.retriever), before + (uint64_t)moves);

    char ds_path[512], index_path[512];
    snprintf(ds_path, sizeof ds_path, "%s/grown.spd", tmpdir);
    snprintf(index_path, sizeof index_path, "%s/grown.spi", tmpdir);
    ck_assert_int_eq(sp_dataset_save(w.ds, ds_path), SP_OK);
    ck_assert_int_eq(sp_retriever_save(w.retriever, index_path), SP_OK);
    sp_dataset *ds2 = NULL;
    sp_retriever *r2 = NULL;
    ck_assert_int_eq(sp_dataset_load(&ds2, ds_path), SP_OK);
    ck_assert_int_eq(sp_retriever_load(&r2, index_path, 0, NULL), SP_OK);
    sp_agent *reloaded = NULL;
    ck_assert_msg(sp_agent_create(&reloaded, w.retrieval, w.embedder, r2, ds2, &o) == SP_OK, "%s", sp_last_error());

    for (int k = 0; k < moves; k += 7) {
        sp_game *at = NULL;
        ck_assert_int_eq(sp_dataset_game_replay(w.ds, id, k, &at), SP_OK);
        sp_agent *both[2] = { a, reloaded };
        for (int j = 0; j < 2; j++) {
            int32_t move;
            ck_assert_msg(sp_agent_genmove(both[j], at, 0.0, &move) == SP_OK, "%s", sp_last_error());
            sp_agent_neighbour n = SP_AGENT_NEIGHBOUR_INIT;
            ck_assert_int_eq(sp_agent_neighbour_get(both[j], 0, &n), SP_OK);
            ck_assert_float_eq_tol(n.distance, 0.0f, 1e-4f);
            /* Random games repeat few positions: the nearest is this one, or one with the same planes. */
            if (n.position != first + (uint64_t)k) {
                sp_agent_neighbour again = SP_AGENT_NEIGHBOUR_INIT;
                ck_assert_int_eq(sp_agent_neighbour_get(both[j], 1, &again), SP_OK);
                ck_assert_float_eq_tol(again.distance, 0.0f, 1e-4f);
            } else {
                ck_assert_uint_eq(n.game, id);
                ck_assert_int_eq(n.move_number, k);
            }
        }
        sp_game_free(at);
    }
    sp_agent_free(reloaded);
    sp_retriever_free(r2);
    sp_dataset_free(ds2);
    sp_game_free(played);
    sp_agent_free(a);
    world_close(&w);
}
END_TEST

/* The neighbours' outcomes and next moves, by replaying their games. */
START_TEST(neighbours_tell_their_outcome_and_next_moves)
{
    world w;
    world_open(&w, 6);
    sp_agent_options o = options(4, SP_MODEL_SEARCH_RULES, 1);
    sp_agent *a = agent_of(&w, 2, &o);
    sp_game *g = NULL;
    ck_assert_int_eq(sp_dataset_game_replay(w.ds, 7, 5, &g), SP_OK);
    int32_t move;
    ck_assert_int_eq(sp_agent_genmove(a, g, 0.0, &move), SP_OK);
    sp_agent_report r = SP_AGENT_REPORT_INIT;
    ck_assert_int_eq(sp_agent_report_get(a, &r), SP_OK);
    ck_assert_int_eq(r.neighbours, N);
    float last = -1.0f;
    for (int i = 0; i < N; i++) {
        sp_agent_neighbour n = SP_AGENT_NEIGHBOUR_INIT;
        ck_assert_int_eq(sp_agent_neighbour_get(a, i, &n), SP_OK);
        ck_assert(n.distance >= last);
        last = n.distance;
        sp_game *full = NULL, *at = NULL;
        ck_assert_int_eq(sp_dataset_game_replay(w.ds, n.game, -1, &full), SP_OK);
        ck_assert_int_eq(sp_dataset_game_replay(w.ds, n.game, n.move_number, &at), SP_OK);
        const int to_play = sp_game_to_play(at);
        const int winner = (int)n.game % 3 ? SP_BLACK : SP_WHITE; /* random_game's results */
        ck_assert_int_eq(n.outcome, winner == to_play ? 1 : -1);
        for (int k = 0; k < SP_NEIGHBOUR_ACTIONS; k++) {
            const int at_move = n.move_number + k;
            int color, want = -2;
            if (at_move < sp_game_move_count(full))
                sp_game_move_at(full, at_move, &color, &want);
            ck_assert_int_eq(n.next_moves[k], want);
        }
        sp_game_free(full);
        sp_game_free(at);
    }
    sp_agent_neighbour n = SP_AGENT_NEIGHBOUR_INIT;
    ck_assert_int_eq(sp_agent_neighbour_get(a, N, &n), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_agent_neighbour_get(a, -1, &n), SP_ERR_INVALID_ARG);
    sp_game_free(g);
    sp_agent_free(a);
    world_close(&w);
}
END_TEST

START_TEST(bad_arguments_and_mismatched_handles_are_refused)
{
    world w;
    world_open(&w, 8);
    sp_agent *a = NULL;
    sp_agent_options o = options(4, SP_MODEL_SEARCH_RULES, 1);
    ck_assert_int_eq(sp_agent_create(NULL, NULL, NULL, NULL, NULL, &o), SP_ERR_INVALID_ARG);
    /* A retrieval model without its handles, a baseline with them. */
    ck_assert_int_eq(sp_agent_create(&a, w.retrieval, NULL, w.retriever, w.ds, &o), SP_ERR_INVALID_ARG);
    ck_assert_msg(strstr(sp_last_error(), "embedder"), "%s", sp_last_error());
    ck_assert_int_eq(sp_agent_create(&a, w.retrieval, w.embedder, NULL, w.ds, &o), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_agent_create(&a, w.retrieval, w.embedder, w.retriever, NULL, &o), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_agent_create(&a, w.baseline, w.embedder, w.retriever, w.ds, &o), SP_ERR_INVALID_ARG);
    ck_assert_msg(strstr(sp_last_error(), "retrieves nothing"), "%s", sp_last_error());
    ck_assert_ptr_null(a);
    /* Another embedder than the model's. */
    sp_model *other = tiny_model(N, 77);
    ck_assert_int_eq(sp_model_set_embedder(other, 0x1234), SP_OK);
    ck_assert_int_eq(sp_agent_create(&a, other, w.embedder, w.retriever, w.ds, &o), SP_ERR_INVALID_ARG);
    sp_model_free(other);
    /* A dataset of another board size. */
    sp_dataset *small = NULL;
    ck_assert_int_eq(sp_dataset_create(&small, 7), SP_OK);
    ck_assert_int_eq(sp_agent_create(&a, w.retrieval, w.embedder, w.retriever, small, &o), SP_ERR_INVALID_ARG);
    sp_dataset_free(small);
    /* The baseline of equal capacity: a retrieval model only, and without the retrieval's handles. */
    sp_agent_options zero = o;
    zero.zero_neighbours = 1;
    ck_assert_int_eq(sp_agent_create(&a, w.baseline, NULL, NULL, NULL, &zero), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_agent_create(&a, NULL, NULL, NULL, NULL, &zero), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_agent_create(&a, w.retrieval, w.embedder, w.retriever, w.ds, &zero), SP_ERR_INVALID_ARG);
    zero.zero_neighbours = 2;
    ck_assert_int_eq(sp_agent_create(&a, w.retrieval, NULL, NULL, NULL, &zero), SP_ERR_INVALID_ARG);
    /* Options. */
    sp_agent_options bad = o;
    bad.simulations = 0;
    ck_assert_int_eq(sp_agent_create(&a, w.baseline, NULL, NULL, NULL, &bad), SP_ERR_INVALID_ARG);
    ck_assert_msg(strstr(sp_last_error(), "simulations"), "%s", sp_last_error());
    bad = o;
    bad.per_node_neighbours = -1;
    ck_assert_int_eq(sp_agent_create(&a, w.retrieval, w.embedder, w.retriever, w.ds, &bad), SP_ERR_INVALID_ARG);
    ck_assert_msg(strstr(sp_last_error(), "per_node_neighbours"), "%s", sp_last_error());
    bad = o;
    bad.temperature_moves = -1;
    ck_assert_int_eq(sp_agent_create(&a, w.baseline, NULL, NULL, NULL, &bad), SP_ERR_INVALID_ARG);
    ck_assert_msg(strstr(sp_last_error(), "temperature_moves"), "%s", sp_last_error());
    bad = o;
    bad.temperature = NAN;
    ck_assert_int_eq(sp_agent_create(&a, w.baseline, NULL, NULL, NULL, &bad), SP_ERR_INVALID_ARG);
    bad = o;
    bad.mode = 7;
    ck_assert_int_eq(sp_agent_create(&a, w.baseline, NULL, NULL, NULL, &bad), SP_ERR_INVALID_ARG);
    bad = o;
    bad.version = SP_AGENT_OPTIONS_VERSION + 1;
    ck_assert_int_eq(sp_agent_create(&a, w.baseline, NULL, NULL, NULL, &bad), SP_ERR_VERSION);

    /* Calls on a working agent. */
    ck_assert_int_eq(sp_agent_create(&a, w.baseline, NULL, NULL, NULL, NULL), SP_OK);
    sp_game_options go = SP_GAME_OPTIONS_INIT;
    go.board_size = 7;
    sp_game *g7 = NULL, *g9 = NULL;
    ck_assert_int_eq(sp_game_create(&g7, &go), SP_OK);
    ck_assert_int_eq(sp_game_create(&g9, NULL), SP_OK);
    int32_t move;
    ck_assert_int_eq(sp_agent_genmove(a, g7, 0.0, &move), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_agent_genmove(a, NULL, 0.0, &move), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_agent_genmove(a, g9, 0.0, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_agent_genmove(a, g9, NAN, &move), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_agent_genmove(NULL, g9, 0.0, &move), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_game_play(g9, 40), SP_OK);
    ck_assert_int_eq(sp_agent_add_game(a, g9, NULL, NULL), SP_ERR_MISUSE);
    /* A search, then a finished game: a pass, and no stale search to show. */
    int32_t visits[ACTIONS];
    ck_assert_int_eq(sp_agent_genmove(a, g9, 0.0, &move), SP_OK);
    ck_assert_int_eq(sp_search_root_stats(sp_agent_search(a), visits, NULL, NULL, NULL, ACTIONS), SP_OK);
    sp_game *over = NULL;
    ck_assert_int_eq(sp_game_clone(&over, g9), SP_OK);
    ck_assert_int_eq(sp_game_play(over, SP_PASS), SP_OK);
    ck_assert_int_eq(sp_game_play(over, SP_PASS), SP_OK);
    ck_assert_int_eq(sp_agent_genmove(a, over, 0.0, &move), SP_OK);
    ck_assert_int_eq(move, SP_PASS);
    ck_assert_int_eq(sp_search_root_stats(sp_agent_search(a), visits, NULL, NULL, NULL, ACTIONS), SP_ERR_MISUSE);
    sp_game_free(over);
    ck_assert_int_eq(sp_agent_add_game(NULL, g9, NULL, NULL), SP_ERR_INVALID_ARG);
    sp_agent_report r;
    ck_assert_int_eq(sp_agent_report_get(a, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_agent_report_init(&r, SP_AGENT_REPORT_VERSION + 1), SP_ERR_VERSION);
    sp_agent_neighbour n = SP_AGENT_NEIGHBOUR_INIT;
    ck_assert_int_eq(sp_agent_neighbour_get(a, 0, &n), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_agent_neighbours(NULL), 0);
    ck_assert_int_eq(sp_agent_board_size(NULL), 0);
    ck_assert_ptr_null(sp_agent_search(NULL));
    sp_agent_free(a);
    sp_agent_free(NULL);

    /* A retrieval agent refuses a game of another size for its memory. */
    ck_assert_int_eq(sp_agent_create(&a, w.retrieval, w.embedder, w.retriever, w.ds, &o), SP_OK);
    ck_assert_int_eq(sp_game_play(g7, 10), SP_OK);
    ck_assert_int_eq(sp_agent_add_game(a, g7, NULL, NULL), SP_ERR_INVALID_ARG);
    sp_agent_free(a);
    sp_game_free(g7);
    sp_game_free(g9);
    world_close(&w);
}
END_TEST

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sp_test_agent.XXXXXX");
    REQUIRE(mkdtemp(tmpdir) != NULL);
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "test_agent: could not remove %s\n", tmpdir);
}

Suite *agent_suite(void);
Suite *agent_suite(void)
{
    Suite *s = suite_create("agent");
    TCase *tc = tcase_create("play");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, every_kind_of_agent_plays_legal_moves, 0, 16);
    tcase_add_test(tc, temperature_draws_visited_moves);
    tcase_add_test(tc, temperature_moves_draw_only_the_opening);
    tcase_add_test(tc, zero_neighbours_search_the_baseline_of_equal_capacity);
    tcase_add_test(tc, one_retrieval_per_move_unless_per_node);
    tcase_add_test(tc, time_limits_end_the_search);
    suite_add_tcase(s, tc);
    tc = tcase_create("retrieval");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, an_added_game_is_retrieved_for_its_own_positions);
    tcase_add_test(tc, neighbours_tell_their_outcome_and_next_moves);
    tcase_add_test(tc, bad_arguments_and_mismatched_handles_are_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    setup();
    SRunner *sr = srunner_create(agent_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    teardown();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
