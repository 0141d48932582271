/* sp-match: a match between two GTP engines, refereed by the library's
 * rules; engine A and B swap colours every game. Reports every game and the
 * win rate of A with its 95% Wilson interval. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "match/match.h"

typedef struct options {
    const char *black, *white, *sgf_dir;
    int games, size, show;
    float komi, a_gives;
    double timeout;
} options;

static int usage(FILE *out)
{
    fprintf(out,
            "usage: sp-match --black CMD --white CMD [options]\n"
            "\n"
            "Plays GTP engine A (--black, Black in odd games) against engine B (--white),\n"
            "swapping colours every game. Each CMD is run with /bin/sh -c.\n"
            "\n"
            "  --games N          games to play (default 1)\n"
            "  --size N           board size, 2..19 (default 9)\n"
            "  --komi K           komi (default 7)\n"
            "  --a-gives P        handicap engine A by P points of komi: komi K+P when A is Black,\n"
            "                     K-P when A is White (default 0)\n"
            "  --timeout SECONDS  longest wait for any answer; a slower engine loses (default 60)\n"
            "  --sgf-dir DIR      write each game to DIR/game-NNNN.sgf\n"
            "  --show             print the board after every move\n");
    return out == stdout ? 0 : 2;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

static int parse_options(int argc, char **argv, options *o)
{
    *o = (options){.games = 1, .size = 9, .komi = 7.0f, .timeout = 60.0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            exit(usage(stdout));
        if (strcmp(a, "--show") == 0) {
            o->show = 1;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "sp-match: '%s' needs a value (or is unknown)\n", a);
            return -1;
        }
        const char *v = argv[++i];
        double value;
        int bad = 0;
        if (strcmp(a, "--black") == 0)
            o->black = v;
        else if (strcmp(a, "--white") == 0)
            o->white = v;
        else if (strcmp(a, "--sgf-dir") == 0)
            o->sgf_dir = v;
        else if (strcmp(a, "--games") == 0)
            bad = parse_int(v, 1, 1000000, &o->games);
        else if (strcmp(a, "--size") == 0)
            bad = parse_int(v, SP_GO_MIN_SIZE, SP_GO_MAX_SIZE, &o->size);
        else if (strcmp(a, "--komi") == 0) {
            bad = parse_double(v, -1000, 1000, &value);
            o->komi = (float)value;
        } else if (strcmp(a, "--a-gives") == 0) {
            bad = parse_double(v, -1000, 1000, &value);
            o->a_gives = (float)value;
        } else if (strcmp(a, "--timeout") == 0)
            bad = parse_double(v, 0.001, 1e6, &o->timeout);
        else {
            fprintf(stderr, "sp-match: unknown option '%s'\n", a);
            return -1;
        }
        if (bad) {
            fprintf(stderr, "sp-match: bad value '%s' for %s\n", v, a);
            return -1;
        }
    }
    if (!o->black || !o->white) {
        fprintf(stderr, "sp-match: both --black and --white are needed\n");
        return -1;
    }
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void progress(int done, int total, double started)
{
    double elapsed = now_s() - started;
    double per_game = done ? elapsed / done : 0;
    double eta = per_game * (total - done);
    fprintf(stderr, "\r\033[Kgames %d/%d, %.2f games/min, ETA %dm%02ds", done, total,
            elapsed > 0 ? done * 60.0 / elapsed : 0.0, (int)eta / 60, (int)eta % 60);
    if (done == total)
        fprintf(stderr, "\n");
    fflush(stderr);
}

static const char *end_name(enum match_end end)
{
    switch (end) {
    case MATCH_END_SCORE: return "score";
    case MATCH_END_RESIGN: return "resign";
    case MATCH_END_MOVE_LIMIT: return "move-limit";
    case MATCH_END_FAULT: return "fault";
    }
    return "?";
}

static int save_sgf(const options *o, int index, sp_game *game, const match_engine *black,
                    const match_engine *white, const match_result *res)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/game-%04d.sgf", o->sgf_dir, index + 1);
    sp_game_set_info(game, "PB", black->name[0] ? black->name : black->command);
    sp_game_set_info(game, "PW", white->name[0] ? white->name : white->command);
    sp_game_set_info(game, "RE", res->re);
    sp_game_set_info(game, "GC", res->reason);
    char date[16];
    time_t t = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d", gmtime(&t));
    sp_game_set_info(game, "DT", date);
    if (sp_sgf_save(game, path) != SP_OK) {
        fprintf(stderr, "sp-match: cannot write %s: %s\n", path, sp_last_error());
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    options o;
    if (parse_options(argc, argv, &o) < 0)
        return usage(stderr);
    if (o.sgf_dir && mkdir(o.sgf_dir, 0777) < 0 && errno != EEXIST) {
        fprintf(stderr, "sp-match: cannot create %s: %s\n", o.sgf_dir, strerror(errno));
        return 1;
    }
    match_engine a = {.command = o.black, .label = "A"}, b = {.command = o.white, .label = "B"};
    char why[256];
    int timeout_ms = (int)(o.timeout * 1000 + 0.5);
    /* Engines that do not start at all make the match meaningless: stop here. */
    if (match_engine_start(&a, timeout_ms, why, sizeof why) < 0 ||
        match_engine_start(&b, timeout_ms, why, sizeof why) < 0) {
        fprintf(stderr, "sp-match: %s\n", why);
        match_engine_stop(&a);
        return 1;
    }
    printf("engine A: %s  [%s]\nengine B: %s  [%s]\n", a.name, a.command, b.name, b.command);
    if (o.a_gives != 0)
        printf("engine A gives %g points: komi %g when A is Black, %g when A is White\n", (double)o.a_gives,
               (double)(o.komi + o.a_gives), (double)(o.komi - o.a_gives));

    sp_game_options gopts = SP_GAME_OPTIONS_INIT;
    gopts.board_size = o.size;
    gopts.komi = o.komi;
    sp_game *game;
    if (sp_game_create(&game, &gopts) != SP_OK) {
        fprintf(stderr, "sp-match: %s\n", sp_last_error());
        return 1;
    }
    match_settings s = {.size = o.size, .komi = o.komi, .timeout_ms = timeout_ms,
                        .max_moves = 10 * o.size * o.size, .show = o.show, .out = stdout};
    int tty = isatty(2), a_wins = 0, b_wins = 0, draws = 0, faults = 0, io_errors = 0;
    double started = now_s();
    for (int i = 0; i < o.games; i++) {
        match_engine *black = i % 2 == 0 ? &a : &b, *white = i % 2 == 0 ? &b : &a;
        match_result res;
        /* A's handicap moves the komi toward B whichever colour B has. */
        s.komi = black == &a ? o.komi + o.a_gives : o.komi - o.a_gives;
        sp_game_clear(game);
        match_play_game(black, white, &s, game, &res);
        match_engine *winner = res.winner == SP_BLACK ? black : res.winner == SP_WHITE ? white : NULL;
        if (!winner)
            draws++;
        else if (winner == &a)
            a_wins++;
        else
            b_wins++;
        faults += res.end == MATCH_END_FAULT;
        printf("\ngame %d: black=%s white=%s result=%s end=%s moves=%d winner=%s\n  %s\n", i + 1, black->label,
               white->label, res.re, end_name(res.end), res.moves, winner ? winner->label : "none", res.reason);
        match_print_board(stdout, game);
        fflush(stdout);
        if (o.sgf_dir)
            io_errors += save_sgf(&o, i, game, black, white, &res) < 0;
        if (tty)
            progress(i + 1, o.games, started);
    }
    double low, high, points = a_wins + 0.5 * draws;
    match_wilson95(points, o.games, &low, &high);
    printf("\nA won %d, B won %d, draws %d of %d games (%d decided by a fault)\n", a_wins, b_wins, draws, o.games,
           faults);
    printf("summary: games=%d a_wins=%d b_wins=%d draws=%d faults=%d a_win_rate=%.4f wilson95_low=%.4f "
           "wilson95_high=%.4f\n",
           o.games, a_wins, b_wins, draws, faults, points / o.games, low, high);
    sp_game_free(game);
    match_engine_stop(&a);
    match_engine_stop(&b);
    return io_errors ? 1 : 0;
}
