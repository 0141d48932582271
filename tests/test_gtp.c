/* GTP engine: command scripts with exact responses, rules through GTP, and
 * one full game of the sp-gtp binary against GNU Go relayed through pipes. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/core_internal.h"
#include "gtp/gtp_engine.h"

static gtp_engine *engine;
static int quit_seen;

static void setup(void)
{
    gtp_engine_options opts = GTP_ENGINE_OPTIONS_INIT;
    opts.seed = 7;
    ck_assert_int_eq(gtp_engine_create(&engine, &opts), 0);
    quit_seen = 0;
}

static void teardown(void)
{
    gtp_engine_free(engine);
    engine = NULL;
}

static const char *send_n(const char *line, size_t length)
{
    const char *response = NULL;
    quit_seen = gtp_engine_handle(engine, line, length, &response);
    ck_assert_ptr_nonnull(response);
    return response;
}

static const char *send(const char *line) { return send_n(line, strlen(line)); }

#define EXPECT(line, response) ck_assert_str_eq(send(line), response)

/* Send a script of commands that must all succeed with an empty result. */
static void script(const char *const *lines)
{
    for (; *lines; lines++) {
        const char *r = send(*lines);
        if (strcmp(r, "=\n\n") != 0)
            ck_abort_msg("\"%s\" answered \"%s\"", *lines, r);
    }
}

START_TEST(ids_and_basic_commands)
{
    EXPECT("protocol_version", "= 2\n\n");
    EXPECT("12 protocol_version", "=12 2\n\n");
    EXPECT("name", "= libsemiparam\n\n");
    EXPECT("5 frobnicate", "?5 unknown command\n\n");
    EXPECT("frobnicate 1 2", "? unknown command\n\n");
    EXPECT("known_command genmove", "= true\n\n");
    EXPECT("3 known_command frobnicate", "=3 false\n\n");
    EXPECT("known_command", "? syntax error\n\n");
    EXPECT("42", "?42 missing command\n\n");
    EXPECT("PROTOCOL_VERSION", "? unknown command\n\n"); /* command names are case-sensitive */
    char commands[4096];
    snprintf(commands, sizeof commands, "\n%s", send("list_commands") + 2); /* every name on a line of its own */
    static const char *required[] = { "protocol_version", "name", "version", "known_command", "list_commands",
                                      "boardsize", "clear_board", "komi", "play", "genmove", "undo", "showboard",
                                      "final_score", "quit", "time_settings", "time_left", "loadsgf", "printsgf" };
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        char line[64];
        snprintf(line, sizeof line, "\n%s\n", required[i]);
        ck_assert_msg(strstr(commands, line), "list_commands lacks %s", required[i]);
        snprintf(line, sizeof line, "known_command %s", required[i]);
        EXPECT(line, "= true\n\n");
    }
    char version[64];
    snprintf(version, sizeof version, "= %s (random player)\n\n", sp_version_string());
    EXPECT("version", version);
}
END_TEST

START_TEST(preprocessing)
{
    EXPECT("", "");
    EXPECT("   \t  ", "");
    EXPECT("# a comment", "");
    EXPECT("   # indented comment", "");
    EXPECT("name # trailing comment", "= libsemiparam\n\n");
    EXPECT("\tname\t", "= libsemiparam\n\n");
    EXPECT("name\r", "= libsemiparam\n\n");
    EXPECT("na\x01m\x7f" "e", "= libsemiparam\n\n");
    EXPECT("7\tknown_command\tplay", "=7 true\n\n");
    EXPECT("name\nprotocol_version", "= libsemiparam\n\n"); /* a command ends at the newline */
    ck_assert_str_eq(send_n("na\0me", 5), "= libsemiparam\n\n");
    ck_assert_str_eq(send_n("\0\0\0", 3), "");
    ck_assert_str_eq(send_n("9 \0 name", 8), "=9 libsemiparam\n\n");
}
END_TEST

START_TEST(overlong_lines_and_garbage)
{
    size_t n = GTP_MAX_LINE + 100;
    char *line = malloc(n);
    memset(line, 'a', n);
    memcpy(line, "7 name ", 7);
    ck_assert_str_eq(send_n(line, n), "?7 line too long\n\n");
    ck_assert_str_eq(send_n(line, GTP_MAX_LINE), "?7 syntax error\n\n");
    /* A long comment is no reason to refuse the line. */
    memcpy(line, "name #", 6);
    ck_assert_str_eq(send_n(line, GTP_MAX_LINE), "= libsemiparam\n\n");
    free(line);
    EXPECT("play b d4 d5 d6 d7 d8 d9 d1 d2 d3 e1 e2 e3 e4 e5 e6 e7 e8 e9 f1 f2 f3 f4 f5 f6 f7 f8 f9 g1 g2 g3 g4",
           "? too many arguments\n\n");

    /* Random bytes: every response is one well-formed GTP response. */
    sp_rng *rng;
    ck_assert_int_eq(sp_rng_create(&rng, 99), SP_OK);
    static const char *prefixes[] = { "", "play ", "genmove ", "boardsize ", "komi ", "undo ", "time_left ", "1 " };
    for (int i = 0; i < 5000; i++) {
        char buf[64];
        size_t p = strlen(prefixes[i % 8]);
        memcpy(buf, prefixes[i % 8], p);
        size_t len = p + sp_rng_below(rng, 20);
        for (size_t k = p; k < len; k++)
            buf[k] = (char)sp_rng_below(rng, 256);
        const char *r = send_n(buf, len);
        size_t rl = strlen(r);
        if (rl == 0)
            continue;
        ck_assert(r[0] == '=' || r[0] == '?');
        ck_assert(rl >= 3 && strcmp(r + rl - 2, "\n\n") == 0);
        ck_assert_ptr_eq(strstr(r, "\n\n"), r + rl - 2);
        for (size_t k = 0; k < rl; k++)
            ck_assert((unsigned char)r[k] >= 32 || r[k] == '\n');
    }
    sp_rng_free(rng);
}
END_TEST

START_TEST(setup_commands_and_argument_errors)
{
    EXPECT("boardsize", "? syntax error\n\n");
    EXPECT("boardsize 9 9", "? syntax error\n\n");
    EXPECT("boardsize nine", "? syntax error\n\n");
    EXPECT("boardsize 1", "? unacceptable size\n\n");
    EXPECT("boardsize 20", "? unacceptable size\n\n");
    EXPECT("boardsize -3", "? unacceptable size\n\n");
    EXPECT("boardsize 99999999999999999999", "? syntax error\n\n");
    EXPECT("4 boardsize 13", "=4\n\n");
    ck_assert_int_eq(sp_game_size(gtp_engine_game(engine)), 13);
    EXPECT("play b n13", "=\n\n");
    EXPECT("boardsize 19", "=\n\n");
    ck_assert_int_eq(sp_game_move_count(gtp_engine_game(engine)), 0);
    EXPECT("komi 6.5", "=\n\n");
    ck_assert(sp_game_komi(gtp_engine_game(engine)) == 6.5f);
    EXPECT("komi -3", "=\n\n");
    EXPECT("komi", "? syntax error\n\n");
    EXPECT("komi 6.5x", "? syntax error\n\n");
    EXPECT("komi nan", "? syntax error\n\n");
    EXPECT("komi inf", "? syntax error\n\n");
    EXPECT("komi 1e9", "? syntax error\n\n");
    EXPECT("komi 1 2", "? syntax error\n\n");
    ck_assert(sp_game_komi(gtp_engine_game(engine)) == -3.0f);
    EXPECT("clear_board extra", "? syntax error\n\n");
    EXPECT("play", "? syntax error\n\n");
    EXPECT("play b", "? syntax error\n\n");
    EXPECT("play b d4 d5", "? syntax error\n\n");
    EXPECT("play x d4", "? syntax error\n\n");
    EXPECT("play b z9", "? syntax error\n\n");
    EXPECT("play b i5", "? syntax error\n\n"); /* GTP has no I column */
    EXPECT("play b d0", "? syntax error\n\n");
    EXPECT("play b d20", "? syntax error\n\n");
    EXPECT("play b resign", "? syntax error\n\n");
    EXPECT("genmove", "? syntax error\n\n");
    EXPECT("genmove b w", "? syntax error\n\n");
    EXPECT("genmove red", "? syntax error\n\n");
    EXPECT("undo 1", "? syntax error\n\n");
    EXPECT("final_score now", "? syntax error\n\n");
    EXPECT("showboard please", "? syntax error\n\n");
    EXPECT("protocol_version 2", "? syntax error\n\n");
    EXPECT("time_settings 300 30", "? syntax error\n\n");
    EXPECT("time_settings 300 30 five", "? syntax error\n\n");
    EXPECT("time_settings -1 30 5", "? syntax error\n\n");
    EXPECT("time_left b 30", "? syntax error\n\n");
    EXPECT("time_left g 30 0", "? syntax error\n\n");
    EXPECT("loadsgf", "? syntax error\n\n");
    EXPECT("loadsgf a.sgf 0", "? syntax error\n\n");
    EXPECT("printsgf a", "? syntax error\n\n"); /* no command writes files */
    /* Colours and vertices in any case. */
    EXPECT("clear_board", "=\n\n");
    EXPECT("play B D4", "=\n\n");
    EXPECT("play white e5", "=\n\n");
    EXPECT("play BLACK pAsS", "=\n\n");
    EXPECT("play W t19", "=\n\n");
    sp_game *g = gtp_engine_game(engine);
    ck_assert_int_eq(sp_game_move_count(g), 4);
    ck_assert_int_eq(sp_game_color_at(g, sp_point(19, 15, 3)), SP_BLACK);
    ck_assert_int_eq(sp_game_color_at(g, sp_point(19, 14, 4)), SP_WHITE);
    ck_assert_int_eq(sp_game_color_at(g, sp_point(19, 0, 18)), SP_WHITE);
}
END_TEST

START_TEST(illegal_moves)
{
    /* Occupied, suicide (A1 inside two white stones), then a ko in the centre. */
    static const char *const moves[] = { "play b d4", "play w a2", "play w b1", NULL };
    script(moves);
    EXPECT("play w d4", "? illegal move\n\n");
    EXPECT("play b d4", "? illegal move\n\n");
    EXPECT("play b a1", "? illegal move\n\n");
    EXPECT("clear_board", "=\n\n");
    static const char *const ko[] = { "play b d5", "play w e5", "play b c4", "play w d4", "play b d3",
                                      "play w e3", "play b a9", "play w f4", NULL };
    script(ko);
    EXPECT("play b e4", "=\n\n"); /* takes D4 */
    ck_assert_int_eq(sp_game_captures(gtp_engine_game(engine), SP_WHITE), 1);
    EXPECT("play w d4", "? illegal move\n\n"); /* retaking at once */
    static const char *const threats[] = { "play w j1", "play b j2", NULL };
    script(threats);
    EXPECT("play w d4", "=\n\n"); /* after an exchange elsewhere the ko may be retaken */
    ck_assert_int_eq(sp_game_captures(gtp_engine_game(engine), SP_BLACK), 1);
    EXPECT("play b e4", "? illegal move\n\n");
}
END_TEST

START_TEST(undo_and_passes)
{
    EXPECT("undo", "? cannot undo\n\n");
    EXPECT("3 undo", "?3 cannot undo\n\n");
    EXPECT("play b c3", "=\n\n");
    EXPECT("undo", "=\n\n");
    ck_assert_int_eq(sp_game_color_at(gtp_engine_game(engine), sp_point(9, 6, 2)), SP_EMPTY);
    EXPECT("undo", "? cannot undo\n\n");
    /* Two passes end the game: no more moves, genmove passes, undo reopens it. */
    EXPECT("play b pass", "=\n\n");
    EXPECT("play w pass", "=\n\n");
    ck_assert(sp_game_is_over(gtp_engine_game(engine)));
    EXPECT("play b d4", "? illegal move\n\n");
    EXPECT("genmove b", "= pass\n\n");
    EXPECT("genmove w", "= pass\n\n");
    ck_assert_int_eq(sp_game_move_count(gtp_engine_game(engine)), 2);
    EXPECT("undo", "=\n\n");
    EXPECT("play w d4", "=\n\n");
}
END_TEST

START_TEST(final_score_of_a_built_position)
{
    /* 5x5: Black owns columns A-C (wall on C), White D-E (wall on D). */
    static const char *const walls[] = { "boardsize 5", "play b c1", "play b c2", "play b c3", "play b c4",
                                         "play b c5", "play w d1", "play w d2", "play w d3", "play w d4",
                                         "play w d5", "komi 0.5", NULL };
    script(walls);
    EXPECT("final_score", "= B+4.5\n\n");
    EXPECT("komi 7.5", "=\n\n");
    EXPECT("final_score", "= W+2.5\n\n");
    EXPECT("komi 5", "=\n\n");
    EXPECT("8 final_score", "=8 0\n\n");
    /* A white stone in Black's area makes that region nobody's. */
    EXPECT("play w a3", "=\n\n");
    EXPECT("final_score", "= W+11\n\n"); /* Black 5, White 10 + 1, komi 5 */
}
END_TEST

START_TEST(showboard_diagram)
{
    static const char *const moves[] = { "boardsize 5", "play b c3", "play w d4", NULL };
    script(moves);
    EXPECT("showboard", "=\n"
                        "   A B C D E\n"
                        " 5 . . . . . 5\n"
                        " 4 . . . O . 4\n"
                        " 3 . . X . . 3\n"
                        " 2 . . . . . 2\n"
                        " 1 . . . . . 1\n"
                        "   A B C D E\n"
                        "black to play; captured by black (X): 0, by white (O): 0; komi 7\n\n");
    EXPECT("boardsize 19", "=\n\n");
    const char *r = send("1 showboard");
    static const char top[] = "=1\n   A B C D E F G H J K L M N O P Q R S T\n19 . ";
    ck_assert(strncmp(r, top, strlen(top)) == 0);
    ck_assert(strstr(r, "\n 1 . . . . . . . . . . . . . . . . . . . 1\n"));
}
END_TEST

START_TEST(genmove_plays_legal_random_games)
{
    for (int game = 0; game < 5; game++) {
        EXPECT("clear_board", "=\n\n");
        sp_game *shadow;
        ck_assert_int_eq(sp_game_create(&shadow, NULL), SP_OK);
        int passes = 0, moves = 0;
        while (passes < 2) {
            int color = moves % 2 ? SP_WHITE : SP_BLACK;
            const char *r = send(color == SP_BLACK ? "genmove b" : "genmove w");
            ck_assert_msg(r[0] == '=' && r[1] == ' ', "genmove answered %s", r);
            char vertex[8] = { 0 };
            ck_assert_uint_lt(strlen(r + 2), sizeof vertex + 2);
            memcpy(vertex, r + 2, strlen(r + 2) - 2);
            int move;
            ck_assert_int_eq(sp_move_from_gtp(9, vertex, &move), SP_OK);
            ck_assert_int_ne(move, SP_RESIGN);
            ck_assert_msg(sp_game_is_legal(shadow, color, move), "illegal %s at move %d", vertex, moves);
            if (move >= 0)
                ck_assert(!sp_game_is_eye(shadow, move, color));
            if (move == SP_PASS) {
                /* A pass only when no other choice remains. */
                for (int p = 0; p < 81; p++)
                    ck_assert(!sp_game_is_legal(shadow, color, p) || sp_game_is_eye(shadow, p, color));
            }
            ck_assert_int_eq(sp_game_play(shadow, move), SP_OK);
            passes = move == SP_PASS ? passes + 1 : 0;
            ck_assert_int_lt(++moves, 2000);
        }
        ck_assert(sp_game_is_over(gtp_engine_game(engine)));
        ck_assert_uint_eq(sp_game_hash(shadow), sp_game_hash(gtp_engine_game(engine)));
        sp_game_free(shadow);
    }
    /* Out of turn: White to move twice still gets a legal point. */
    EXPECT("clear_board", "=\n\n");
    EXPECT("play w e5", "=\n\n");
    const char *r = send("genmove w");
    ck_assert(r[0] == '=' && strcmp(r, "= pass\n\n") != 0);
    ck_assert_int_eq(sp_game_move_count(gtp_engine_game(engine)), 2);
    int color, move;
    sp_game_move_at(gtp_engine_game(engine), 1, &color, &move);
    ck_assert_int_eq(color, SP_WHITE);
    ck_assert_int_ge(move, 0);
}
END_TEST

static void write_file(const char *path, const char *text, size_t length)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(text, 1, length, f), length);
    fclose(f);
}

START_TEST(sgf_load_and_print)
{
    static const char *const moves[] = { "komi 6.5", "play b e5", "play w c3", "play b d4", "play w pass", NULL };
    script(moves);
    char sgf[4096];
    snprintf(sgf, sizeof sgf, "%s", send("printsgf"));
    size_t n = strlen(sgf);
    ck_assert_msg(strncmp(sgf, "= (;", 4) == 0 && strcmp(sgf + n - 3, ")\n\n") == 0, "printsgf gave %s", sgf);
    ck_assert(strstr(sgf, "SZ[9]") && strstr(sgf, "KM[6.5]") && strstr(sgf, ";B[ee];W[cg];B[df];W[])"));
    char board[4096];
    snprintf(board, sizeof board, "%s", send("showboard"));

    char path[] = "/tmp/test_gtp_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    write_file(path, sgf + 2, n - 4);
    char command[128];
    static const char *const reset[] = { "boardsize 13", "komi 0", NULL };
    script(reset);
    snprintf(command, sizeof command, "loadsgf %s", path);
    EXPECT(command, "=\n\n");
    sp_game *g = gtp_engine_game(engine);
    ck_assert_int_eq(sp_game_size(g), 9);
    ck_assert(sp_game_komi(g) == 6.5f);
    ck_assert_int_eq(sp_game_move_count(g), 4);
    EXPECT("showboard", board);
    /* A move number gives the position before that move is played. */
    snprintf(command, sizeof command, "7 loadsgf %s 3", path);
    EXPECT(command, "=7\n\n");
    g = gtp_engine_game(engine);
    ck_assert_int_eq(sp_game_move_count(g), 2);
    ck_assert_int_eq(sp_game_color_at(g, sp_point(9, 5, 3)), SP_EMPTY);
    ck_assert_int_eq(sp_game_to_play(g), SP_BLACK);
    snprintf(command, sizeof command, "loadsgf %s 1", path);
    EXPECT(command, "=\n\n");
    ck_assert_int_eq(sp_game_move_count(gtp_engine_game(engine)), 0);
    snprintf(command, sizeof command, "loadsgf %s 99", path);
    EXPECT(command, "=\n\n");
    ck_assert_int_eq(sp_game_move_count(gtp_engine_game(engine)), 4);

    /* Setup stones and another size; a failed load keeps the game. */
    static const char setup_sgf[] = "(;GM[1]FF[4]SZ[13]KM[0.5]AB[aa][bb]AW[cc];W[dd])";
    write_file(path, setup_sgf, strlen(setup_sgf));
    snprintf(command, sizeof command, "loadsgf %s", path);
    EXPECT(command, "=\n\n");
    g = gtp_engine_game(engine);
    ck_assert_int_eq(sp_game_size(g), 13);
    ck_assert_int_eq(sp_game_color_at(g, sp_point(13, 0, 0)), SP_BLACK);
    ck_assert_int_eq(sp_game_color_at(g, sp_point(13, 2, 2)), SP_WHITE);
    ck_assert_int_eq(sp_game_color_at(g, sp_point(13, 3, 3)), SP_WHITE);
    ck_assert_int_eq(sp_game_to_play(g), SP_BLACK);
    /* A failed load says what is wrong and where, after GTP's own words. */
    char expected[256];
    static const char broken[] = "(;GM[1]SZ[9];B[ee];W[zz";
    write_file(path, broken, strlen(broken));
    snprintf(expected, sizeof expected,
             "? cannot load file: %s: line 1, column 21 (byte 20): value not closed by ']' before the end of the data\n\n",
             path);
    EXPECT(command, expected);
    static const char illegal[] = "(;GM[1]SZ[9]\n;B[ee]\n;W[ee])";
    write_file(path, illegal, strlen(illegal));
    snprintf(expected, sizeof expected, "? cannot load file: %s: line 3, column 3 (byte 22): move 2 W[ee]: ", path);
    const char *answer = send(command);
    ck_assert_msg(strncmp(answer, expected, strlen(expected)) == 0, "loadsgf answered '%s'", answer);
    ck_assert_ptr_nonnull(strstr(answer, "occupied"));
    answer = send("loadsgf /nonexistent/game.sgf");
    ck_assert_msg(strncmp(answer, "? cannot load file: cannot open /nonexistent/game.sgf: ", 55) == 0,
                  "loadsgf answered '%s'", answer);
    ck_assert_int_eq(sp_game_size(gtp_engine_game(engine)), 13);
    ck_assert_int_eq(sp_game_move_count(gtp_engine_game(engine)), 1);
    unlink(path);
}
END_TEST

/* A player that always answers the same move, recording the clock it saw. */
static gtp_clock seen_clock;
static int fixed_move;
static int released;
static int fixed_genmove(void *payload, const sp_game *game, int color, const gtp_clock *clock, int *out_move)
{
    seen_clock = *clock;
    *out_move = fixed_move;
    if (*(int *)payload)
        return sp__error(SP_ERR_NOMEM, "search: the tree would outgrow 64 bytes");
    return 0;
}
static void fixed_release(void *payload) { released++; }

static int cmd_echo_count(gtp_engine *e, int argc, char **args, void *payload)
{
    gtp_printf(e, "%d args, first %s", argc, argc ? args[0] : "none");
    return argc ? 0 : -1;
}

START_TEST(player_interface_clock_and_extensions)
{
    static int ok = 0, error = -1;
    released = 0;
    gtp_player player = { "fixed", fixed_genmove, fixed_release, &ok };
    gtp_engine_set_player(engine, &player);
    static const char *const clock[] = { "time_settings 300 30 5", "time_left w 123 4", NULL };
    script(clock);
    fixed_move = sp_point(9, 4, 4);
    EXPECT("genmove w", "= E5\n\n");
    ck_assert_int_eq(seen_clock.main_time, 300);
    ck_assert_int_eq(seen_clock.byo_yomi_time, 30);
    ck_assert_int_eq(seen_clock.byo_yomi_stones, 5);
    ck_assert_int_eq(seen_clock.time_left, 123);
    ck_assert_int_eq(seen_clock.stones_left, 4);
    EXPECT("genmove b", "? the player chose E5: illegal move: the point is occupied\n\n");
    fixed_move = SP_RESIGN;
    EXPECT("genmove b", "= resign\n\n");
    EXPECT("final_score", "= W+R\n\n");
    EXPECT("undo", "=\n\n");
    player.payload = &error;
    gtp_engine_set_player(engine, &player);
    ck_assert_int_eq(released, 1);
    EXPECT("genmove b", "? the player failed to choose a move: search: the tree would outgrow 64 bytes\n\n");
    gtp_engine_set_player(engine, NULL);
    ck_assert_int_eq(released, 2);
    EXPECT("version", "= 0.1.0 (random player)\n\n");

    ck_assert_int_eq(gtp_engine_register(engine, "sp-echo", cmd_echo_count, NULL), 0);
    ck_assert_int_eq(gtp_engine_register(engine, "bad name", cmd_echo_count, NULL), -1);
    ck_assert_int_eq(gtp_engine_register(engine, "", cmd_echo_count, NULL), -1);
    EXPECT("known_command sp-echo", "= true\n\n");
    EXPECT("2 sp-echo a b", "=2 2 args, first a\n\n");
    EXPECT("sp-echo", "? 0 args, first none\n\n");
    ck_assert(strstr(send("list_commands"), "\nsp-echo\n\n"));
}
END_TEST

/* The end of a game: dead stones by Monte-Carlo ownership (one per side on
 * a 5x5 board split by two walls, the status GNU Go 3.8 gives too), the
 * clean-up move that captures instead of passing, KGS's time settings. */
START_TEST(status_cleanup_and_kgs_time)
{
    static int ok = 0;
    static const char *const walls[] = { "boardsize 5", "play b C1", "play w B1", "play b C2", "play w B2",
                                         "play b C3", "play w B3", "play b C4", "play w B4", "play b C5",
                                         "play w B5", "play b A3", "play w E3", NULL };
    script(walls);
    EXPECT("final_status_list dead", "= A3\nE3\n\n");
    EXPECT("final_status_list alive", "= B5 B4 B3 B2 B1\nC5 C4 C3 C2 C1\n\n");
    EXPECT("final_status_list seki", "=\n\n");
    EXPECT("final_status_list", "? syntax error\n\n");
    EXPECT("final_status_list dying", "? syntax error\n\n");
    /* A player that passes: the clean-up plays next to White's dead stone instead. */
    gtp_player player = { "fixed", fixed_genmove, fixed_release, &ok };
    gtp_engine_set_player(engine, &player);
    fixed_move = SP_PASS;
    const char *r = send("kgs-genmove_cleanup b");
    ck_assert_msg(!strcmp(r, "= E4\n\n") || !strcmp(r, "= E2\n\n") || !strcmp(r, "= D3\n\n"), "%s", r);
    EXPECT("kgs-genmove_cleanup", "? syntax error\n\n");
    /* White's only dead stone gone, Black passes as its player says. */
    static const char *const capture[] = { "undo", "play b E4", "play w pass", "play b E2", "play w pass",
                                           "play b D3", NULL };
    script(capture);
    EXPECT("final_status_list dead", "= A3\n\n");
    /* White's pass becomes a move next to A3 (its first free neighbour, from the top). */
    EXPECT("kgs-genmove_cleanup w", "= A4\n\n");
    EXPECT("kgs-time_settings byoyomi 60 10 5", "=\n\n");
    EXPECT("genmove b", "= pass\n\n");
    ck_assert_int_eq(seen_clock.main_time, 60);
    ck_assert_int_eq(seen_clock.byo_yomi_time, 10);
    ck_assert_int_eq(seen_clock.byo_yomi_stones, 1);
    EXPECT("kgs-time_settings canadian 0 300 25", "=\n\n");
    EXPECT("genmove w", "= pass\n\n");
    ck_assert_int_eq(seen_clock.main_time, 0);
    ck_assert_int_eq(seen_clock.byo_yomi_time, 300);
    ck_assert_int_eq(seen_clock.byo_yomi_stones, 25);
    EXPECT("kgs-time_settings absolute 900", "=\n\n");
    EXPECT("kgs-time_settings none", "=\n\n");
    EXPECT("kgs-time_settings byoyomi 60 10", "? syntax error\n\n");
    EXPECT("kgs-time_settings fischer 60 10", "? syntax error\n\n");
    gtp_engine_set_player(engine, NULL);
}
END_TEST

START_TEST(quit_ends_the_session)
{
    ck_assert_str_eq(send("name"), "= libsemiparam\n\n");
    ck_assert_int_eq(quit_seen, 0);
    EXPECT("9 quit", "=9\n\n");
    ck_assert_int_eq(quit_seen, 1);
    gtp_engine_free(NULL);
    ck_assert_int_eq(gtp_engine_create(NULL, NULL), -1);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* sp-gtp against GNU Go                                                    */
/* ------------------------------------------------------------------------ */

typedef struct peer {
    pid_t pid;
    FILE *to, *from;
} peer;

static void peer_start(peer *p, char *const argv[])
{
    int in[2], out[2];
    ck_assert_int_eq(pipe(in), 0);
    ck_assert_int_eq(pipe(out), 0);
    p->pid = fork();
    ck_assert_int_ge(p->pid, 0);
    if (p->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    p->to = fdopen(in[1], "w");
    p->from = fdopen(out[0], "r");
}

/* Send a command and return the success text (after "= "), failing on errors. */
static const char *ask(peer *p, const char *command)
{
    static char text[8192];
    fprintf(p->to, "%s\n", command);
    fflush(p->to);
    char line[1024];
    size_t n = 0;
    int first = 1, ok = 0;
    text[0] = '\0';
    while (fgets(line, sizeof line, p->from)) {
        if (strcmp(line, "\n") == 0)
            break;
        const char *body = line;
        if (first) {
            ok = line[0] == '=';
            body = line + 1 + strspn(line + 1, " ");
            first = 0;
        }
        size_t len = strlen(body);
        if (n + len < sizeof text) {
            memcpy(text + n, body, len + 1);
            n += len;
        }
    }
    ck_assert_msg(!first && ok, "\"%s\" failed: %s", command, text);
    if (n && text[n - 1] == '\n')
        text[n - 1] = '\0';
    return text;
}

static void peer_stop(peer *p)
{
    fprintf(p->to, "quit\n");
    fclose(p->to);
    fclose(p->from);
    int status;
    waitpid(p->pid, &status, 0);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* The set of points of @p color as a sorted 0/1 string over the 9x9 board. */
static void stones_from_list(const char *list, char *out)
{
    memset(out, '0', 81);
    out[81] = '\0';
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", list);
    for (char *w = strtok(copy, " \n"); w; w = strtok(NULL, " \n")) {
        int move;
        ck_assert_int_eq(sp_move_from_gtp(9, w, &move), SP_OK);
        out[move] = '1';
    }
}

static void stones_from_board(const char *board, char mark, char *out)
{
    memset(out, '0', 81);
    out[81] = '\0';
    char copy[2048];
    snprintf(copy, sizeof copy, "%s", board);
    int row = 0;
    for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n")) {
        int label;
        if (sscanf(line, "%d", &label) != 1)
            continue;
        ck_assert_int_eq(label, 9 - row);
        for (int col = 0; col < 9; col++)
            if (line[3 + 2 * col] == mark)
                out[row * 9 + col] = '1';
        row++;
    }
    ck_assert_int_eq(row, 9);
}

START_TEST(full_game_against_gnugo)
{
    static char gnugo_path[] = "/usr/games/gnugo";
    if (access(gnugo_path, X_OK) != 0) {
        fprintf(stderr, "GNU Go is not installed: game against it not played\n");
        return;
    }
    const char *sp_gtp = getenv("SP_GTP");
    ck_assert_msg(sp_gtp != NULL, "SP_GTP is not set");
    signal(SIGPIPE, SIG_IGN);
    /* Two games, sp-gtp Black in the first and White in the second. */
    char seed[16];
    snprintf(seed, sizeof seed, "%d", 11 + _i);
    char *ours_argv[] = { (char *)sp_gtp, "--player", "playouts", "--seed", seed, NULL };
    char *gnugo_argv[] = { gnugo_path,        "--mode", "gtp", "--level", "1", "--seed", "1", "--chinese-rules",
                           "--positional-superko", NULL };
    peer players[2]; /* indexed by the colour to move: 0 Black, 1 White */
    const int ours = _i % 2, theirs = 1 - ours;
    peer_start(&players[ours], ours_argv);
    peer_start(&players[theirs], gnugo_argv);
    for (int i = 0; i < 2; i++) {
        ask(&players[i], "boardsize 9");
        ask(&players[i], "clear_board");
        ask(&players[i], "komi 7");
    }
    int passes = 0, moves = 0;
    for (; passes < 2 && moves < 400; moves++) {
        int mover = moves % 2;
        char command[64];
        snprintf(command, sizeof command, "genmove %s", mover ? "white" : "black");
        char vertex[32];
        snprintf(vertex, sizeof vertex, "%s", ask(&players[mover], command));
        if (strcmp(vertex, "resign") == 0 || strcmp(vertex, "RESIGN") == 0)
            break;
        snprintf(command, sizeof command, "play %s %s", mover ? "white" : "black", vertex);
        ask(&players[1 - mover], command);
        passes = strcasecmp(vertex, "pass") == 0 ? passes + 1 : 0;
    }
    char gnugo_black[82], gnugo_white[82], our_black[82], our_white[82];
    stones_from_list(ask(&players[theirs], "list_stones black"), gnugo_black);
    stones_from_list(ask(&players[theirs], "list_stones white"), gnugo_white);
    const char *board = ask(&players[ours], "showboard");
    stones_from_board(board, 'X', our_black);
    stones_from_board(board, 'O', our_white);
    ck_assert_str_eq(our_black, gnugo_black);
    ck_assert_str_eq(our_white, gnugo_white);
    ck_assert_int_gt(moves, 20);
    fprintf(stderr, "game against GNU Go, sp-gtp %s: %d moves, %s, final score (ours) %s\n",
            ours ? "White" : "Black", moves, passes == 2 ? "two passes" : "no two passes",
            ask(&players[ours], "final_score"));
    peer_stop(&players[0]);
    peer_stop(&players[1]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gtp");
    TCase *tc = tcase_create("engine");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, ids_and_basic_commands);
    tcase_add_test(tc, preprocessing);
    tcase_add_test(tc, overlong_lines_and_garbage);
    tcase_add_test(tc, setup_commands_and_argument_errors);
    tcase_add_test(tc, illegal_moves);
    tcase_add_test(tc, undo_and_passes);
    tcase_add_test(tc, final_score_of_a_built_position);
    tcase_add_test(tc, showboard_diagram);
    tcase_add_test(tc, genmove_plays_legal_random_games);
    tcase_add_test(tc, sgf_load_and_print);
    tcase_add_test(tc, player_interface_clock_and_extensions);
    tcase_add_test(tc, quit_ends_the_session);
    tcase_add_test(tc, status_cleanup_and_kgs_time);
    suite_add_tcase(s, tc);
    TCase *match = tcase_create("gnugo");
    tcase_set_timeout(match, 120);
    tcase_add_loop_test(match, full_game_against_gnugo, 0, 2);
    suite_add_tcase(s, match);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
