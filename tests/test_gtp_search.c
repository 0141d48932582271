/* sp-gtp's searching player: the time budget, genmove through the search
 * (a capture-or-lose position), the clock, and the sp-top-moves command. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gtp/gtp_engine.h"
#include "gtp/gtp_search.h"

static gtp_engine *engine;

static void attach(int simulations)
{
    gtp_engine_options opts = GTP_ENGINE_OPTIONS_INIT;
    ck_assert_int_eq(gtp_engine_create(&engine, &opts), 0);
    gtp_search_options so = GTP_SEARCH_OPTIONS_INIT;
    so.simulations = simulations;
    so.seed = 5;
    ck_assert_int_eq(gtp_search_attach(engine, &so), 0);
}

static const char *send(const char *line)
{
    const char *response;
    gtp_engine_handle(engine, line, strlen(line), &response);
    return response;
}

START_TEST(budget_follows_the_clock)
{
    gtp_clock none = { 0, 0, 0, -1, 0 };
    ck_assert(gtp_search_budget(&none, 81) == 0.0);
    gtp_clock no_limit = { 0, 10, 0, -1, 0 }; /* byo-yomi without stones: no limit in GTP */
    ck_assert(gtp_search_budget(&no_limit, 81) == 0.0);
    gtp_clock main_time = { 60, 0, 0, -1, 0 }; /* 81 empty points: 27 moves to go */
    ck_assert_double_eq_tol(gtp_search_budget(&main_time, 81), 0.9 * 60.0 / 27.0 - 0.05, 1e-9);
    main_time.time_left = 15; /* late: at least 15 moves are assumed */
    ck_assert_double_eq_tol(gtp_search_budget(&main_time, 20), 0.9 * 1.0 - 0.05, 1e-9);
    gtp_clock byo_yomi = { 0, 10, 5, 10, 5 };
    ck_assert_double_eq_tol(gtp_search_budget(&byo_yomi, 81), 0.9 * 2.0 - 0.05, 1e-9);
    gtp_clock expiring = { 60, 0, 0, 0, 0 };
    ck_assert_double_eq_tol(gtp_search_budget(&expiring, 81), 0.01, 1e-12);
}
END_TEST

START_TEST(genmove_finds_the_capture)
{
    attach(1000);
    /* The capture-or-lose position of tests/test_search.c, set up by play. */
    ck_assert_str_eq(send("boardsize 5"), "=\n\n");
    ck_assert_str_eq(send("komi 0.5"), "=\n\n");
    static const char *const stones[] = { "b A5", "w B5", "b C5", "w B4", "b C4", "b E4", "w A3", "w C3",
                                          "b D3", "w B2", "w D2", "b E2", "b D1", "w A1" };
    for (size_t i = 0; i < sizeof stones / sizeof stones[0]; i++) {
        char line[32];
        snprintf(line, sizeof line, "play %s", stones[i]);
        ck_assert_str_eq(send(line), "=\n\n");
    }
    ck_assert_str_eq(send("genmove b"), "= C2\n\n");
    const char *top = send("sp-top-moves 2");
    ck_assert_msg(strncmp(top, "= simulations 1000 ", 19) == 0, "%s", top);
    ck_assert_ptr_nonnull(strstr(top, "\nC2    visits "));
    ck_assert_ptr_nonnull(strstr(top, "\npv C2"));
    gtp_engine_free(engine);
}
END_TEST

START_TEST(top_moves_command)
{
    attach(200);
    ck_assert_ptr_nonnull(strstr(send("list_commands"), "sp-top-moves\n"));
    ck_assert_str_eq(send("sp-top-moves"), "? no search yet: genmove first\n\n");
    const char *move = send("genmove b");
    ck_assert(move[0] == '=');
    const char *top = send("sp-top-moves 3");
    int lines = 0;
    for (const char *c = top; *c; c++)
        lines += *c == '\n';
    ck_assert_int_eq(lines, 1 + 3 + 1 + 1); /* header, three moves, pv, blank */
    ck_assert_str_eq(send("sp-top-moves 0"), "? syntax error\n\n");
    ck_assert_str_eq(send("sp-top-moves 1 2"), "? syntax error\n\n");
    /* Black again, out of turn: the search must not read that as White
     * having passed, or a pass would end the game won (one stone owns the board). */
    ck_assert_str_eq(send("boardsize 5"), "=\n\n");
    ck_assert_str_eq(send("play b C3"), "=\n\n");
    ck_assert_str_ne(send("genmove b"), "= pass\n\n");
    ck_assert_str_eq(send("boardsize 9"), "=\n\n");
    /* The tree follows the game: a reply, our move, an undo, a new size. */
    ck_assert_str_eq(send("clear_board"), "=\n\n");
    ck_assert(send("play w E5")[0] == '=');
    ck_assert(send("genmove b")[0] == '=');
    ck_assert(send("undo")[0] == '=');
    ck_assert(send("genmove b")[0] == '=');
    ck_assert(send("boardsize 7")[0] == '=');
    ck_assert(send("genmove w")[0] == '=');
    ck_assert_ptr_nonnull(strstr(send("sp-top-moves 1"), "simulations 200 "));
    gtp_engine_free(engine);
}
END_TEST

/* The simulations of the latest search, read off sp-top-moves. */
static long last_simulations(void)
{
    const char *top = send("sp-top-moves 1");
    long sims = -1;
    ck_assert_msg(sscanf(top, "= simulations %ld ", &sims) == 1, "%s", top);
    return sims;
}

START_TEST(clock_limits_the_search)
{
    /* One second per move in byo-yomi: the clock ends the search, long before
     * its ten million simulations (minutes of work and a tree at its size
     * limit). No elapsed time is compared: a loaded machine only runs fewer
     * simulations in the same second. */
    attach(10000000);
    ck_assert_str_eq(send("time_settings 0 1 1"), "=\n\n");
    ck_assert(send("genmove b")[0] == '=');
    long sims = last_simulations();
    ck_assert_int_ge(sims, 1);
    ck_assert_int_lt(sims, 10000000);
    /* A clock about to expire still gets a move out of at least one batch. */
    ck_assert_str_eq(send("time_settings 60 0 0"), "=\n\n");
    ck_assert_str_eq(send("time_left w 0 0"), "=\n\n");
    ck_assert(send("genmove w")[0] == '=');
    sims = last_simulations();
    ck_assert_int_ge(sims, 1);
    ck_assert_int_lt(sims, 10000000);
    gtp_engine_free(engine);

    /* Without a clock the simulation count alone ends the search, exactly. */
    attach(300);
    ck_assert_str_eq(send("time_settings 0 0 0"), "=\n\n");
    ck_assert(send("genmove b")[0] == '=');
    ck_assert_int_eq(last_simulations(), 300);
    ck_assert(send("genmove w")[0] == '=');
    ck_assert_int_eq(last_simulations(), 300);
    gtp_engine_free(engine);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gtp_search");
    TCase *tc = tcase_create("player");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, budget_follows_the_clock);
    tcase_add_test(tc, genmove_finds_the_capture);
    tcase_add_test(tc, top_moves_command);
    tcase_add_test(tc, clock_limits_the_search);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
