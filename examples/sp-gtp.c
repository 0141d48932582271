/* sp-gtp: a Go engine speaking GTP version 2 on stdin/stdout. Until a
 * searcher exists it plays uniformly random moves that keep its own eyes. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gtp/gtp_engine.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sp-gtp [--seed N] [--size N] [--komi X] | --help | --version\n"
            "Speak GTP version 2 on standard input and output.\n"
            "  --seed N   seed of the random player (default: from the clock and process id)\n"
            "  --size N   initial board size, 2..19 (default 9)\n"
            "  --komi X   initial komi (default 7)\n"
            "  --help     show this help\n"
            "  --version  print the library version\n");
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
        { "version", no_argument, NULL, 'v' },    { NULL, 0, NULL, 0 },
    };
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
