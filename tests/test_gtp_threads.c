/* Whole games of sp-gtp searching with two threads, at small and odd
 * simulation counts, against itself and against GNU Go, refereed by
 * sp-match's referee: every move must be legal, every command answered in
 * time (a hang loses on time), and each engine must leave cleanly on `quit`.
 * Threaded searches at these sizes once corrupted the heap or hung (issue 12). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "semiparam.h"
#include "match/match.h"

#define GNUGO "/usr/games/gnugo --mode gtp --level 1 --chinese-rules --positional-superko"
#define REPLY_MS 30000

typedef struct pairing {
    int simulations, size, seed;
    const char *a_extra; /* more sp-gtp arguments of engine A */
    const char *b;       /* engine B: "self" (sp-gtp with b_extra) or GNU Go */
    const char *b_extra;
} pairing;

/* The 9x9 ones at 50 and 200 with the default batch are the issue's
 * commands, with seeds on which they crashed or hung before the fix. */
static const pairing pairings[] = {
    { 50, 9, 1, "", "self", "" },
    { 200, 9, 2, "", "self", "--search gumbel" },
    { 1, 9, 3, "", "self", "--search gumbel" },
    { 2, 5, 4, "--batch 3", "self", "--search gumbel --batch 1" },
    { 7, 9, 5, "--batch 5", "self", "--fpu zero" },
    { 50, 7, 6, "--search gumbel --batch 3", "self", "--batch 16" },
    { 7, 9, 7, "--search gumbel", "gnugo", "" },
    { 50, 9, 8, "", "gnugo", "" },
};

/* Quit the engine if it is still running; it must exit by itself with status 0. */
static void expect_clean_exit(match_engine *e)
{
    if (!e->gtp)
        return;
    int status = gtp_client_stop(e->gtp, 20000);
    e->gtp = NULL;
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "'%s' did not exit cleanly (wait status %#x)",
                  e->command, status);
}

START_TEST(threaded_games_finish)
{
    const pairing *p = &pairings[_i];
    const char *sp_gtp = getenv("SP_GTP");
    ck_assert_msg(sp_gtp != NULL, "SP_GTP is not set");
    char cmd_a[512], cmd_b[512];
    snprintf(cmd_a, sizeof cmd_a, "%s --player playouts --threads 2 --simulations %d --seed %d %s", sp_gtp,
             p->simulations, p->seed, p->a_extra);
    if (p->b[0] == 's')
        snprintf(cmd_b, sizeof cmd_b, "%s --player playouts --threads 2 --simulations %d --seed %d %s", sp_gtp,
                 p->simulations, p->seed + 100, p->b_extra);
    else
        snprintf(cmd_b, sizeof cmd_b, "%s", GNUGO);
    match_engine a = { .command = cmd_a, .label = "A" }, b = { .command = cmd_b, .label = "B" };
    match_settings settings = { .size = p->size, .komi = 7.0f, .timeout_ms = REPLY_MS, .max_moves = 600 };
    sp_game_options go = SP_GAME_OPTIONS_INIT;
    sp_game *game;
    ck_assert_int_eq(sp_game_create(&game, &go), SP_OK);
    /* Both colours for A, so that each engine searches for Black and White. */
    for (int round = 0; round < 2; round++) {
        match_result r;
        match_play_game(round ? &b : &a, round ? &a : &b, &settings, game, &r);
        ck_assert_msg(r.end == MATCH_END_SCORE || r.end == MATCH_END_RESIGN,
                      "%d simulations, %dx%d, A '%s' vs B '%s', game %d: %s after %d moves", p->simulations, p->size,
                      p->size, cmd_a, cmd_b, round + 1, r.reason, r.moves);
        ck_assert_int_gt(r.moves, 0);
    }
    expect_clean_exit(&a);
    expect_clean_exit(&b);
    sp_game_free(game);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gtp_threads");
    TCase *tc = tcase_create("games");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, threaded_games_finish, 0, (int)(sizeof pairings / sizeof pairings[0]));
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
