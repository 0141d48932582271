/* sp-bench go: uniform random playouts (no filling of one's own eyes, to two
 * passes) on an empty board, on one core. Wall-clock rate is the median of
 * several runs; the instruction count per playout under callgrind is the
 * figure that does not drift with the load of a shared machine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <semiparam.h>

#include "bench.h"

typedef struct go_options {
    int size;
    int runs;
    double seconds;
    long playouts;   /* fixed count (for callgrind), or -1 for timed runs */
    int callgrind;
} go_options;

static int go_usage(FILE *out)
{
    fprintf(out,
            "usage: sp-bench go [--size N] [--runs N] [--seconds S] [--callgrind] [--playouts N]\n"
            "  --size N       board size (default 9)\n"
            "  --runs N       timed runs; the median is reported (default 5)\n"
            "  --seconds S    length of each timed run (default 2)\n"
            "  --callgrind    also count instructions per playout under valgrind\n"
            "  --playouts N   run exactly N playouts and print nothing else (used under valgrind)\n");
    return out == stdout ? 0 : 2;
}

/* Run `count` playouts (or, when count < 0, as many as fit in `seconds`);
 * returns the number done. */
static long run_playouts(const go_options *o, uint64_t seed, long count, double seconds, double *score_out)
{
    sp_game_options gopts = SP_GAME_OPTIONS_INIT;
    gopts.board_size = o->size;
    sp_game *game;
    sp_rng *rng;
    if (sp_game_create(&game, &gopts) || sp_rng_create(&rng, seed)) {
        fprintf(stderr, "sp-bench go: %s\n", sp_last_error());
        exit(1);
    }
    long done = 0;
    double score_sum = 0.0, start = bench_now();
    for (;;) {
        if (count >= 0 ? done >= count : (done % 256 == 0 && bench_now() - start >= seconds))
            break;
        float score;
        sp_game_playout(game, rng, 0, &score, NULL, 0);
        score_sum += score;
        done++;
    }
    if (score_out)
        *score_out = done ? score_sum / (double)done : 0.0;
    sp_rng_free(rng);
    sp_game_free(game);
    return done;
}

/* Instructions callgrind counts for `sp-bench go --playouts n`. */
static double callgrind_instructions(const go_options *o, long n)
{
    char args[128];
    snprintf(args, sizeof args, "go --size %d --playouts %ld", o->size, n);
    return bench_callgrind(args);
}

int bench_go(int argc, char **argv)
{
    go_options o = { 9, 5, 2.0, -1, 0 };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (strcmp(a, "--help") == 0)
            return go_usage(stdout);
        else if (strcmp(a, "--size") == 0 && more)
            o.size = atoi(argv[++i]);
        else if (strcmp(a, "--runs") == 0 && more)
            o.runs = atoi(argv[++i]);
        else if (strcmp(a, "--seconds") == 0 && more)
            o.seconds = atof(argv[++i]);
        else if (strcmp(a, "--playouts") == 0 && more)
            o.playouts = atol(argv[++i]);
        else if (strcmp(a, "--callgrind") == 0)
            o.callgrind = 1;
        else
            return go_usage(stderr);
    }
    if (o.size < SP_GO_MIN_SIZE || o.size > SP_GO_MAX_SIZE || o.runs < 1 || o.runs > 1000 || o.seconds <= 0 ||
        o.playouts < -1)
        return go_usage(stderr);
    if (o.playouts >= 0) {
        run_playouts(&o, 1, o.playouts, 0.0, NULL);
        return 0;
    }

    double rates[1000];
    double mean_score = 0.0;
    for (int r = 0; r < o.runs; r++) {
        double start = bench_now();
        long n = run_playouts(&o, (uint64_t)r + 1, -1, o.seconds, &mean_score);
        rates[r] = (double)n / (bench_now() - start);
    }
    double median = bench_median(rates, (size_t)o.runs);
    printf("go: %dx%d random playouts, one core, %d runs of %.1f s\n", o.size, o.size, o.runs, o.seconds);
    printf("  playouts/s (median)      %.0f  (min %.0f, max %.0f)\n", median, rates[0], rates[o.runs - 1]);
    printf("  mean final score         %+.2f (Black minus White minus komi 7)\n", mean_score);
    if (o.callgrind) {
        const long n = 2000;
        double base = callgrind_instructions(&o, 0), with = callgrind_instructions(&o, n);
        if (base < 0 || with < 0) {
            fprintf(stderr, "sp-bench go: valgrind --tool=callgrind failed (is valgrind installed?)\n");
            return 1;
        }
        printf("  instructions/playout     %.0f  (callgrind, %ld playouts minus an empty run)\n",
               (with - base) / (double)n, n);
    }
    return 0;
}
