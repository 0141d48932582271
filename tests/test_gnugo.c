/* Independent check of the Go rules against GNU Go 3.8 (Chinese rules,
   positional superko): random games played through both engines must agree
   on the legality of every point, on the stones after every move, and on
   the final area score wherever GNU Go calls no stone dead. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "semiparam.h"
#include "client/gtp_client.h"

#define GNUGO "/usr/games/gnugo"
#define SIZE 9
#define KOMI 7.0f
#define REPLY_MS 60000
#define SEED_BASE 20261125u

struct tally {
    int games, scored, set_aside, moves, legality_checks;
    int ko_refusals, superko_refusals; /* how often the rarer rules were exercised */
};

static gtp_client *start_gnugo(void)
{
    char *argv[] = {GNUGO, "--mode", "gtp", "--chinese-rules", "--positional-superko",
                    "--boardsize", "9", "--komi", "7", NULL};
    gtp_client *e = gtp_client_start(argv, -1);
    ck_assert_msg(e != NULL, "cannot start %s", GNUGO);
    const char *text;
    ck_assert_msg(gtp_client_command(e, "protocol_version", REPLY_MS, &text) == GTP_REPLY_OK,
                  "%s does not answer GTP (is the gnugo package installed?)", GNUGO);
    ck_assert_str_eq(text, "2");
    return e;
}

static const char *ask(gtp_client *e, const char *command)
{
    const char *text;
    enum gtp_reply r = gtp_client_command(e, command, REPLY_MS, &text);
    ck_assert_msg(r == GTP_REPLY_OK, "gnugo: '%s' -> %s '%s'", command, gtp_reply_name(r), text);
    return text;
}

/* The moves so far in GTP notation, so that a failure can be replayed by hand. */
static const char *record(const sp_game *game)
{
    static char buf[8192];
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < sp_game_move_count(game) && used + 16 < sizeof buf; i++) {
        int color, move;
        char v[8];
        sp_game_move_at(game, i, &color, &move);
        sp_move_to_gtp(SIZE, move, v, sizeof v);
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%c %s", i ? ", " : "",
                                 color == SP_BLACK ? 'B' : 'W', v);
    }
    return buf;
}

static const char *color_name(int color)
{
    return color == SP_BLACK ? "black" : "white";
}

/* One command per point, all queued before the first reply is read: the
   round trips would otherwise dominate the run time. */
static void check_legality(gtp_client *e, const sp_game *game, int game_no, struct tally *t)
{
    int color = sp_game_to_play(game);
    char cmd[64], v[8];
    for (int p = 0; p < SIZE * SIZE; p++) {
        sp_move_to_gtp(SIZE, p, v, sizeof v);
        snprintf(cmd, sizeof cmd, "is_legal %s %s", color_name(color), v);
        ck_assert_int_eq(gtp_client_send(e, cmd), 0);
    }
    for (int p = 0; p < SIZE * SIZE; p++) {
        const char *text;
        enum gtp_reply r = gtp_client_receive(e, REPLY_MS, &text);
        ck_assert_msg(r == GTP_REPLY_OK, "gnugo is_legal: %s", gtp_reply_name(r));
        int theirs = strcmp(text, "1") == 0;
        ck_assert_msg(theirs || strcmp(text, "0") == 0, "gnugo is_legal answered '%s'", text);
        int ours = sp_game_is_legal(game, color, p);
        if (!ours && strstr(sp_last_error(), "superko"))
            t->superko_refusals++;
        else if (!ours && strstr(sp_last_error(), "ko"))
            t->ko_refusals++;
        sp_move_to_gtp(SIZE, p, v, sizeof v);
        ck_assert_msg(ours == theirs, "game %d move %d: %s %s is %s for us, %s for GNU Go; moves: %s",
                      game_no, sp_game_move_count(game) + 1, color_name(color), v,
                      ours ? "legal" : "illegal", theirs ? "legal" : "illegal", record(game));
        t->legality_checks++;
    }
}

static void check_stones(gtp_client *e, const sp_game *game, int game_no)
{
    for (int color = SP_BLACK; color <= SP_WHITE; color++) {
        char cmd[32];
        snprintf(cmd, sizeof cmd, "list_stones %s", color_name(color));
        char theirs[SIZE * SIZE];
        memset(theirs, 0, sizeof theirs);
        char *list = strdup(ask(e, cmd));
        ck_assert_ptr_nonnull(list);
        for (char *tok = strtok(list, " \t\n"); tok; tok = strtok(NULL, " \t\n")) {
            int p;
            ck_assert_msg(sp_move_from_gtp(SIZE, tok, &p) == SP_OK && p >= 0, "gnugo listed '%s'", tok);
            theirs[p] = 1;
        }
        free(list);
        for (int p = 0; p < SIZE * SIZE; p++) {
            int ours = sp_game_color_at(game, p) == color;
            char v[8];
            sp_move_to_gtp(SIZE, p, v, sizeof v);
            ck_assert_msg(ours == theirs[p], "game %d after move %d: %s stone at %s: ours %d, GNU Go %d; moves: %s",
                          game_no, sp_game_move_count(game), color_name(color), v, ours, theirs[p],
                          record(game));
        }
    }
}

/* GNU Go writes "B+3.0", "W+7.0" or "0". */
static float parse_score(const char *text)
{
    if (strcmp(text, "0") == 0)
        return 0.0f;
    ck_assert_msg((text[0] == 'B' || text[0] == 'W') && text[1] == '+', "final_score '%s'", text);
    float margin = strtof(text + 2, NULL);
    return text[0] == 'B' ? margin : -margin;
}

static void play_game(gtp_client *e, int game_no, struct tally *t)
{
    sp_game *game;
    sp_game_options opts = SP_GAME_OPTIONS_INIT;
    opts.board_size = SIZE;
    opts.komi = KOMI;
    ck_assert_int_eq(sp_game_create(&game, &opts), SP_OK);
    sp_rng *rng;
    ck_assert_int_eq(sp_rng_create(&rng, SEED_BASE + (uint64_t)game_no), SP_OK);
    ask(e, "clear_board");

    while (!sp_game_is_over(game)) {
        check_legality(e, game, game_no, t);
        int color = sp_game_to_play(game), move;
        ck_assert_int_eq(sp_game_random_move(game, rng, &move), SP_OK);
        char v[8], cmd[64];
        sp_move_to_gtp(SIZE, move, v, sizeof v);
        snprintf(cmd, sizeof cmd, "play %s %s", color_name(color), v);
        const char *text;
        enum gtp_reply r = gtp_client_command(e, cmd, REPLY_MS, &text);
        ck_assert_msg(r == GTP_REPLY_OK, "game %d: GNU Go refused our move '%s' (%s: %s); moves: %s", game_no,
                      cmd, gtp_reply_name(r), text, record(game));
        ck_assert_int_eq(sp_game_play(game, move), SP_OK);
        t->moves++;
        check_stones(e, game, game_no);
        ck_assert_msg(sp_game_move_count(game) < 1000, "game %d does not end", game_no);
    }

    t->games++;
    const char *dead = ask(e, "final_status_list dead");
    if (dead[0] != '\0') {
        t->set_aside++;
    } else {
        float theirs = parse_score(ask(e, "final_score")), ours;
        ck_assert_int_eq(sp_game_score(game, &ours), SP_OK);
        ck_assert_msg(ours == theirs, "game %d: score %.1f for us, %.1f for GNU Go; moves: %s", game_no, ours,
                      theirs, record(game));
        t->scored++;
    }
    sp_rng_free(rng);
    sp_game_free(game);
}

START_TEST(random_games_agree_with_gnugo)
{
    const char *long_tests = getenv("SP_LONG_TESTS");
    int games = long_tests && strcmp(long_tests, "1") == 0 ? 1000 : 20;
    const char *override = getenv("SP_GNUGO_GAMES");
    if (override && atoi(override) > 0)
        games = atoi(override);
    gtp_client *e = start_gnugo();
    struct tally t = {0};
    for (int i = 0; i < games; i++)
        play_game(e, i, &t);
    gtp_client_stop(e, 2000);
    printf("gnugo: %d games, %d moves, %d legality checks (%d refused by simple ko, %d by superko only); "
           "final score compared in %d, %d set aside because GNU Go marks stones dead\n",
           t.games, t.moves, t.legality_checks, t.ko_refusals, t.superko_refusals, t.scored, t.set_aside);
    fflush(stdout);
    ck_assert_int_eq(t.games, games);
    ck_assert_int_eq(t.scored + t.set_aside, games);
    /* The check must not quietly turn into a no-op. */
    ck_assert_msg(t.scored * 2 > games, "only %d of %d games could be scored", t.scored, games);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gnugo");
    TCase *tc = tcase_create("gnugo");
    tcase_set_timeout(tc, 3600);
    tcase_add_test(tc, random_games_agree_with_gnugo);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
