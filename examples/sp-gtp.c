/* sp-gtp: a Go engine speaking GTP version 2 on stdin/stdout. It plays with
 * MCTS over random playouts (gtp/gtp_search.c), or uniformly random moves
 * that keep its own eyes with --player random. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gtp/gtp_engine.h"
#include "gtp/gtp_search.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sp-gtp [--seed N] [--size N] [--komi X] [--player search|random] [--simulations N]\n"
            "              [--threads N] [--batch N] [--seconds S] [--playouts M] [--search puct|gumbel]\n"
            "              [--fpu parent|zero] [--show-search N] | --help | --version\n"
            "Speak GTP version 2 on standard input and output.\n"
            "  --seed N         seed of the player (default: from the clock and process id)\n"
            "  --size N         initial board size, 2..19 (default 9)\n"
            "  --komi X         initial komi (default 7)\n"
            "  --player P       search (MCTS over random playouts, the default) or random\n"
            "  --simulations N  simulations per move at most (default 1000)\n"
            "  --threads N      search threads (default 1)\n"
            "  --batch N        leaves evaluated together (default 1, or 4 per thread with --threads)\n"
            "  --seconds S      seconds per move at most (default 0: only the GTP clock limits)\n"
            "  --playouts M     random playouts per evaluated position (default 1)\n"
            "  --search K       puct (MuZero, the default) or gumbel (Gumbel MuZero)\n"
            "  --fpu F          value of unvisited moves: parent (the parent's mean, the default) or zero\n"
            "                   (MuZero: the worst value seen)\n"
            "  --show-search N  after each genmove, print the search's top N moves to stderr\n"
            "  --help           show this help\n"
            "  --version        print the library version\n"
            "Extension command: sp-top-moves [N] shows the last search's best N moves\n"
            "(visits, prior, value) and its principal variation.\n");
}

static int parse_number(const char *text, double min, double max, double *out)
{
    char *end;
    double v = strtod(text, &end);
    if (end == text || *end || !isfinite(v) || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Read one line of at most GTP_MAX_LINE + 1 bytes (the rest of a longer one
 * is dropped: the engine rejects it by its length). -1 at end of input. */
static long read_line(FILE *in, char *buf, size_t capacity)
{
    size_t n = 0;
    int c = EOF;
    while ((c = getc(in)) != EOF && c != '\n')
        if (n < capacity)
            buf[n++] = (char)c;
    if (c == EOF && n == 0)
        return -1;
    return (long)n;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        { "seed", required_argument, NULL, 's' }, { "size", required_argument, NULL, 'n' },
        { "komi", required_argument, NULL, 'k' }, { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'v' },    { "player", required_argument, NULL, 'p' },
        { "simulations", required_argument, NULL, 'S' }, { "threads", required_argument, NULL, 't' },
        { "batch", required_argument, NULL, 'b' },  { "seconds", required_argument, NULL, 'c' },
        { "playouts", required_argument, NULL, 'm' }, { "search", required_argument, NULL, 'K' },
        { "show-search", required_argument, NULL, 'T' }, { "fpu", required_argument, NULL, 'F' },
        { NULL, 0, NULL, 0 },
    };
    gtp_search_options search = GTP_SEARCH_OPTIONS_INIT;
    int use_search = 1;
    gtp_engine_options opts = GTP_ENGINE_OPTIONS_INIT;
    opts.seed = (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid();
    double v;
    int c;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case 's': {
            char *end;
            unsigned long long seed = strtoull(optarg, &end, 10);
            if (!*optarg || *end || optarg[0] == '-') {
                fprintf(stderr, "sp-gtp: --seed takes a non-negative integer, not \"%s\"\n", optarg);
                usage(stderr);
                return 2;
            }
            opts.seed = seed;
            break;
        }
        case 'n':
            if (parse_number(optarg, 2, 19, &v) || v != (int)v) {
                fprintf(stderr, "sp-gtp: --size takes an integer in 2..19, not \"%s\"\n", optarg);
                usage(stderr);
                return 2;
            }
            opts.board_size = (int)v;
            break;
        case 'k':
            if (parse_number(optarg, -1000, 1000, &v)) {
                fprintf(stderr, "sp-gtp: --komi takes a number in -1000..1000, not \"%s\"\n", optarg);
                usage(stderr);
                return 2;
            }
            opts.komi = (float)v;
            break;
        case 'p':
            if (strcmp(optarg, "search") && strcmp(optarg, "random")) {
                fprintf(stderr, "sp-gtp: --player takes search or random, not \"%s\"\n", optarg);
                usage(stderr);
                return 2;
            }
            use_search = strcmp(optarg, "search") == 0;
            break;
        case 'F':
            if (strcmp(optarg, "parent") && strcmp(optarg, "zero")) {
                fprintf(stderr, "sp-gtp: --fpu takes parent or zero, not \"%s\"\n", optarg);
                usage(stderr);
                return 2;
            }
            search.fpu = strcmp(optarg, "zero") ? SP_SEARCH_FPU_PARENT : SP_SEARCH_FPU_ZERO;
            break;
        case 'K':
            if (strcmp(optarg, "puct") && strcmp(optarg, "gumbel")) {
                fprintf(stderr, "sp-gtp: --search takes puct or gumbel, not \"%s\"\n", optarg);
                usage(stderr);
                return 2;
            }
            search.kind = strcmp(optarg, "puct") ? SP_SEARCH_GUMBEL : SP_SEARCH_PUCT;
            break;
        case 'S':
        case 't':
        case 'b':
        case 'm':
        case 'T': {
            const char *name = c == 'S' ? "--simulations" : c == 't' ? "--threads" : c == 'b' ? "--batch"
                             : c == 'm' ? "--playouts" : "--show-search";
            const int min = c == 'b' || c == 'T' ? 0 : 1;
            const double max = c == 'S' ? 10000000 : c == 'm' ? 100000 : c == 't' ? 256 : c == 'T' ? 400 : 65536;
            if (parse_number(optarg, min, max, &v) || v != (int)v) {
                fprintf(stderr, "sp-gtp: %s takes an integer in %d..%.0f, not \"%s\"\n", name, min, max, optarg);
                usage(stderr);
                return 2;
            }
            *(c == 'S' ? &search.simulations : c == 't' ? &search.threads : c == 'b' ? &search.batch
                       : c == 'm' ? &search.playouts : &search.show_top) = (int)v;
            break;
        }
        case 'c':
            if (parse_number(optarg, 0, 1e6, &v)) {
                fprintf(stderr, "sp-gtp: --seconds takes a number in 0..1000000, not \"%s\"\n", optarg);
                usage(stderr);
                return 2;
            }
            search.seconds = v;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'v':
            printf("sp-gtp (libsemiparam) %s\n", sp_version_string());
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "sp-gtp: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    gtp_engine *engine;
    if (gtp_engine_create(&engine, &opts)) {
        fprintf(stderr, "sp-gtp: cannot create the engine: %s\n", sp_last_error());
        return 1;
    }
    search.seed = opts.seed;
    if (use_search && gtp_search_attach(engine, &search)) {
        fprintf(stderr, "sp-gtp: cannot create the searching player: %s\n", sp_last_error());
        gtp_engine_free(engine);
        return 1;
    }
    static char line[GTP_MAX_LINE + 1];
    long n;
    int quit = 0;
    while (!quit && (n = read_line(stdin, line, sizeof line)) >= 0) {
        const char *response;
        quit = gtp_engine_handle(engine, line, (size_t)n, &response);
        fputs(response, stdout);
        fflush(stdout);
    }
    gtp_engine_free(engine);
    return 0;
}
