/* The searcher under every shape of run it must survive, on the real playout
 * evaluator: a grid of simulation counts, threads, batch sizes and both kinds,
 * with trees kept across moves, time limits, a tree-size limit and several
 * trees stepped together. Two batches in flight once wrote past the edge
 * arena at some of these sizes only (issue 12), so the grid is dense where
 * a batch is small next to the budget; every run checks the counts it must
 * keep, and the arena's own check turns an overrun into a failed run. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "semiparam.h"
#include "search/search_internal.h"

static const int32_t grid_simulations[] = { 1, 2, 7, 50, 100, 200, 300 };
static const int grid_batches[] = { 0, 1, 5, 16 }; /* 0: one leaf per thread */
static const int grid_kinds[] = { SP_SEARCH_PUCT, SP_SEARCH_GUMBEL };

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define MAX_ACTIONS (9 * 9 + 1)

/* A search, its evaluator and the game it plays, from the empty board. */
typedef struct player {
    sp_go_evaluator *ev;
    sp_search *search;
    sp_game *game;
    int32_t kept; /* root visits a kept subtree brings to the next run */
    int size;
    char what[96]; /* the configuration, for failure messages */
} player;

static sp_game *new_game(int size)
{
    sp_game_options o = SP_GAME_OPTIONS_INIT;
    o.board_size = size;
    sp_game *g;
    ck_assert_int_eq(sp_game_create(&g, &o), SP_OK);
    return g;
}

static void player_create(player *p, int kind, int threads, int batch, int32_t simulations, int size, uint64_t seed)
{
    sp_go_evaluator_options eo = SP_GO_EVALUATOR_OPTIONS_INIT;
    eo.board_size = size;
    eo.threads = threads;
    eo.seed = seed;
    ck_assert_int_eq(sp_go_evaluator_create(&p->ev, &eo), SP_OK);
    sp_search_model m;
    ck_assert_int_eq(sp_go_evaluator_model(p->ev, &m), SP_OK);
    sp_search_options so = SP_SEARCH_OPTIONS_INIT;
    so.kind = kind;
    so.simulations = simulations;
    so.threads = threads;
    so.batch_size = batch;
    so.seed = seed;
    /* Both first-play values: MuZero's grows deep lines, the parent's wide trees. */
    so.fpu = batch % 2 ? SP_SEARCH_FPU_PARENT : SP_SEARCH_FPU_ZERO;
    ck_assert_int_eq(sp_search_create(&p->search, &m, &so), SP_OK);
    p->size = size;
    p->game = new_game(size);
    p->kept = 0;
    snprintf(p->what, sizeof p->what, "%s, %d sims, %d threads, batch %d, %dx%d",
             kind == SP_SEARCH_PUCT ? "puct" : "gumbel", simulations, threads, batch, size, size);
}

static void player_free(player *p)
{
    sp_game_free(p->game);
    sp_search_free(p->search);
    sp_go_evaluator_free(p->ev);
}

static int32_t root_visit_sum(const player *p, int32_t action, int32_t *out_action_visits)
{
    int32_t visits[MAX_ACTIONS];
    const int A = p->size * p->size + 1;
    ck_assert_int_eq(sp_search_root_stats(p->search, visits, NULL, NULL, NULL, MAX_ACTIONS), SP_OK);
    int32_t sum = 0;
    for (int a = 0; a < A; a++)
        sum += visits[a];
    *out_action_visits = action >= 0 ? visits[action] : 0;
    return sum;
}

/* Play one searched move, checking the run's counts: exactly `expected`
 * simulations when it is given (>= 0), else at most the budget and at least
 * one unless a kept subtree already gives an answer (a limit may leave it no
 * room to grow); every simulation is a root visit, on top of those of a kept
 * subtree. Returns 0 when the game is over. */
static int play_move(player *p, int32_t budget, int32_t expected)
{
    sp_game *game = p->game;
    if (sp_game_is_over(game))
        return 0;
    int32_t action, done;
    float value;
    int rc = sp_search_run(p->search, game, NULL, &action);
    ck_assert_msg(rc == SP_OK, "%s: run failed: %s", p->what, sp_last_error());
    ck_assert_int_eq(sp_search_root_value(p->search, &value, &done), SP_OK);
    ck_assert_msg(value >= -1.0f && value <= 1.0f, "%s: root value %g", p->what, value);
    if (expected >= 0)
        ck_assert_msg(done == expected, "%s: %d simulations, not %d", p->what, done, expected);
    else
        ck_assert_msg(done >= (p->kept > 0 ? 0 : 1) && done <= budget, "%s: %d simulations of %d", p->what,
                      done, budget);
    int32_t action_visits;
    const int32_t sum = root_visit_sum(p, action, &action_visits);
    ck_assert_msg(sum == done + p->kept, "%s: root visits %d, simulations %d, kept %d", p->what, sum, done,
                  p->kept);
    int move;
    ck_assert_msg(sp_action_to_move(p->size, action, &move) == SP_OK, "%s: action %d", p->what, action);
    ck_assert_msg(sp_game_is_legal(game, sp_game_to_play(game), move) == 1, "%s: illegal move %d", p->what, move);
    ck_assert_int_eq(sp_game_play(game, move), SP_OK);
    ck_assert_int_eq(sp_search_advance(p->search, action), SP_OK);
    /* The chosen child's visits stay below the new root (pUCT keeps the
     * subtree, Gumbel starts afresh); its own first visit was its expansion. */
    p->kept = p->search->tree.n_nodes > 0 ? action_visits - 1 : 0;
    return 1;
}

/* Up to `moves` moves by play_move(); returns how many were played. */
static int play_moves(player *p, int moves, int32_t budget, int32_t expected)
{
    int played = 0;
    while (played < moves && play_move(p, budget, expected))
        played++;
    return played;
}

START_TEST(grid_of_runs_keeps_its_counts)
{
    /* _i: the thread count, 1..3. Three moves per configuration, so that a
     * kept tree is searched again, on 9x9 and, for odd batches, 5x5. */
    const int threads = _i;
    for (int k = 0; k < N_OF(grid_kinds); k++)
        for (int bi = 0; bi < N_OF(grid_batches); bi++)
            for (int si = 0; si < N_OF(grid_simulations); si++) {
                const int32_t sims = grid_simulations[si];
                const int batch = grid_batches[bi];
                player p;
                player_create(&p, grid_kinds[k], threads, batch, sims, batch % 2 ? 5 : 9,
                              (uint64_t)(100 * si + 10 * bi + k + 1));
                play_moves(&p, 3, sims, sims);
                player_free(&p);
            }
}
END_TEST

START_TEST(whole_small_games_end)
{
    /* 3x3 games to the end: terminal leaves, passes and kept trees whose
     * root has few legal moves. */
    const int threads = _i;
    for (int k = 0; k < N_OF(grid_kinds); k++)
        for (int si = 0; si < N_OF(grid_simulations); si++) {
            const int32_t sims = grid_simulations[si];
            player p;
            player_create(&p, grid_kinds[k], threads, 3, sims, 3, (uint64_t)si + 7);
            const int moves = play_moves(&p, 200, sims, sims);
            ck_assert_msg(sp_game_is_over(p.game), "%s: not over after %d moves", p.what, moves);
            player_free(&p);
        }
}
END_TEST

START_TEST(time_limits_end_runs)
{
    /* A budget far beyond what a few milliseconds allow: the clock ends each
     * run (with batches in flight) and the counts still add up. */
    const int threads = _i;
    for (int k = 0; k < N_OF(grid_kinds); k++) {
        player p;
        const int32_t budget = 1 << 24;
        player_create(&p, grid_kinds[k], threads, 4, budget, 9, 3);
        ck_assert_int_eq(sp_search_set_limits(p.search, budget, 0.005), SP_OK);
        play_moves(&p, 3, budget, -1);
        /* A limit that is not reached takes nothing from the count. */
        ck_assert_int_eq(sp_search_set_limits(p.search, 50, 600.0), SP_OK);
        play_moves(&p, 2, 50, 50);
        player_free(&p);
    }
}
END_TEST

START_TEST(tree_limit_ends_threaded_runs)
{
    /* The arena reaching its byte limit while the other batch is in flight. */
    const int threads = _i;
    for (int k = 0; k < N_OF(grid_kinds); k++) {
        player p;
        const int32_t budget = 100000;
        player_create(&p, grid_kinds[k], threads, 8, budget, 9, 11);
        p.search->max_tree_bytes = 200000;
        play_moves(&p, 3, budget, -1);
        player_free(&p);
    }
}
END_TEST

START_TEST(many_trees_with_threads)
{
    enum { TREES = 3 };
    const int threads = _i;
    for (int k = 0; k < N_OF(grid_kinds); k++)
        for (int si = 0; si < N_OF(grid_simulations); si++) {
            const int32_t sims = grid_simulations[si];
            sp_go_evaluator_options eo = SP_GO_EVALUATOR_OPTIONS_INIT;
            eo.threads = threads;
            sp_go_evaluator *ev;
            ck_assert_int_eq(sp_go_evaluator_create(&ev, &eo), SP_OK);
            sp_search_model m;
            ck_assert_int_eq(sp_go_evaluator_model(ev, &m), SP_OK);
            sp_search *s[TREES];
            sp_game *games[TREES];
            void *inputs[TREES];
            int32_t actions[TREES];
            for (int i = 0; i < TREES; i++) {
                sp_search_options so = SP_SEARCH_OPTIONS_INIT;
                so.kind = grid_kinds[k];
                so.simulations = sims + i; /* the trees finish at different batches */
                so.threads = threads;
                so.batch_size = 2 + i;
                so.seed = (uint64_t)i + 1;
                ck_assert_int_eq(sp_search_create(&s[i], &m, &so), SP_OK);
                games[i] = new_game(9);
                inputs[i] = games[i];
            }
            for (int round = 0; round < 2; round++) {
                int rc = sp_search_run_many(s, TREES, inputs, NULL, actions);
                ck_assert_msg(rc == SP_OK, "%d sims, %d threads: %s", sims, threads, sp_last_error());
                for (int i = 0; i < TREES; i++) {
                    int32_t done;
                    ck_assert_int_eq(sp_search_root_value(s[i], NULL, &done), SP_OK);
                    ck_assert_int_eq(done, sims + i);
                    int move;
                    ck_assert_int_eq(sp_action_to_move(9, actions[i], &move), SP_OK);
                    ck_assert_int_eq(sp_game_play(games[i], move), SP_OK);
                    ck_assert_int_eq(sp_search_advance(s[i], actions[i]), SP_OK);
                }
            }
            for (int i = 0; i < TREES; i++) {
                sp_search_free(s[i]);
                sp_game_free(games[i]);
            }
            sp_go_evaluator_free(ev);
        }
}
END_TEST

START_TEST(arena_check_refuses_to_overrun)
{
    /* A short reservation must fail the expansion or the new node, not
     * write past the arrays (ASan would see a write). */
    player p;
    player_create(&p, SP_SEARCH_PUCT, 1, 1, 10, 9, 1);
    sp__tree *t = &p.search->tree;
    const int A = p.search->model.num_actions;
    float prior[MAX_ACTIONS];
    uint8_t mask[MAX_ACTIONS];
    for (int a = 0; a < A; a++) {
        prior[a] = 1.0f;
        mask[a] = 1;
    }
    ck_assert_int_eq(sp__tree_reserve(t, 1, A), SP_OK);
    ck_assert_int_ge(sp__tree_new_node(t), 0);
    t->n_edges = t->cap_edges - A + 1;
    ck_assert_int_eq(sp__tree_expand(p.search, 0, prior, mask), SP_ERR_INTERNAL);
    ck_assert_int_eq(t->n_edges, t->cap_edges - A + 1);
    t->n_edges = t->cap_edges - A;
    ck_assert_int_eq(sp__tree_expand(p.search, 0, prior, mask), SP_OK);
    ck_assert_int_eq(t->n_edges, t->cap_edges);
    const int32_t nodes = t->n_nodes;
    t->n_nodes = t->cap_nodes;
    ck_assert_int_eq(sp__tree_new_node(t), -1);
    ck_assert_int_eq(t->n_nodes, t->cap_nodes);
    t->n_nodes = nodes;
    player_free(&p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("search_stress");
    TCase *tc = tcase_create("stress");
    /* Seconds normally; the sanitizer builds are several times slower. */
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, grid_of_runs_keeps_its_counts, 1, 4);
    tcase_add_loop_test(tc, whole_small_games_end, 1, 4);
    tcase_add_loop_test(tc, time_limits_end_runs, 1, 4);
    tcase_add_loop_test(tc, tree_limit_ends_threaded_runs, 1, 4);
    tcase_add_loop_test(tc, many_trees_with_threads, 1, 4);
    tcase_add_test(tc, arena_check_refuses_to_overrun);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
