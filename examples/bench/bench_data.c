/* sp-bench data: import rate of real game collections and the rate of the
 * training batch sampler (planes, K-step targets and a random symmetry per
 * sample). Rates are given per CPU-second of the process as well as per
 * wall-clock second: on a shared machine the first is the per-core figure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <semiparam.h>

#include "bench.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int data_usage(FILE *out)
{
    fprintf(out,
            "usage: sp-bench data [--input PATH] [--games N] [--dataset FILE.spd] [--batches N] [--batch B]\n"
            "  --input PATH     SGF collection to import (default $SP_DATA_DIR/go9/cgos9x9_2016.sgf.xz)\n"
            "  --games N        game trees to import from it (default 20000)\n"
            "  --dataset FILE   sample from this .spd instead of the imported games\n"
            "  --batches N      batches per sampler run (default 40)\n"
            "  --batch B        samples per batch (default 256)\n");
    return out == stdout ? 0 : 2;
}

static int sample(const sp_dataset *ds, int threads, int batches, int size, double *wall_rate, double *cpu_rate)
{
    sp_sampler_options o;
    sp_sampler_options_init(&o, SP_SAMPLER_OPTIONS_VERSION);
    o.threads = threads;
    o.seed = 7;
    sp_sampler *s;
    if (sp_sampler_create(&s, ds, &o))
        return -1;
    const int K = o.unroll, P = sp_go_plane_count(o.history), area = 81;
    sp_batch b = { .version = SP_BATCH_VERSION, .size = size };
    b.planes = malloc((size_t)size * (size_t)P * area * sizeof(float));
    b.actions = malloc((size_t)size * (size_t)K * sizeof(int32_t));
    b.policy = malloc((size_t)size * (size_t)(K + 1) * (area + 1) * sizeof(float));
    b.value = malloc((size_t)size * (size_t)(K + 1) * sizeof(float));
    b.mask = malloc((size_t)size * (size_t)(K + 1));
    sp_sampler_next(s, &b); /* warm up */
    double w0 = bench_now(), c0 = cpu_now();
    int rc = 0;
    for (int i = 0; i < batches && !rc; i++)
        rc = sp_sampler_next(s, &b);
    double wall = bench_now() - w0, cpu = cpu_now() - c0;
    double n = (double)batches * size;
    *wall_rate = n / wall;
    *cpu_rate = n / cpu;
    free(b.planes);
    free(b.actions);
    free(b.policy);
    free(b.value);
    free(b.mask);
    sp_sampler_free(s);
    return rc;
}

/* Import the first `games` game trees of `input` into a new *out and print
 * the rate; `playouts` of the final ownership estimate (0: last board). */
static int time_import(sp_dataset **out, const char *input, unsigned long long games, uint32_t playouts)
{
    if (sp_dataset_create(out, 9))
        return 1;
    sp_import_options io;
    sp_import_options_init(&io, SP_IMPORT_OPTIONS_VERSION);
    io.max_games = games;
    io.ownership_playouts = playouts;
    sp_import_report r = SP_IMPORT_REPORT_INIT;
    double w0 = bench_now(), c0 = cpu_now();
    if (sp_dataset_import(*out, input, &io, &r)) {
        fprintf(stderr, "sp-bench data: %s\n", sp_last_error());
        return 1;
    }
    double wall = bench_now() - w0, cpu = cpu_now() - c0;
    printf("import %s: %llu games read, %llu added, %llu positions\n", input, (unsigned long long)r.games_read,
           (unsigned long long)r.games_added, (unsigned long long)r.positions_added);
    printf("import games/s, ownership playouts %u: %.0f per CPU-second, %.0f wall (%.2f s)\n", playouts,
           (double)r.games_read / cpu, (double)r.games_read / wall, wall);
    return 0;
}

int bench_data(int argc, char **argv)
{
    const char *input = NULL, *dataset = NULL;
    unsigned long long games = 20000;
    int batches = 40, size = 256;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help"))
            return data_usage(stdout);
        if (i + 1 >= argc)
            return data_usage(stderr);
        if (!strcmp(argv[i], "--input")) input = argv[++i];
        else if (!strcmp(argv[i], "--games")) games = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--dataset")) dataset = argv[++i];
        else if (!strcmp(argv[i], "--batches")) batches = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch")) size = atoi(argv[++i]);
        else return data_usage(stderr);
    }
    char path[1024];
    if (!input) {
        const char *dir = getenv("SP_DATA_DIR");
        snprintf(path, sizeof path, "%s/go9/cgos9x9_2016.sgf.xz", dir ? dir : "../shared/data");
        input = path;
    }
    /* The same games twice: final ownership of uncounted games as the last
     * board's area, then as the default Monte-Carlo estimate (issue 15). */
    sp_dataset *area = NULL, *ds = NULL;
    if (time_import(&area, input, games, 0) || time_import(&ds, input, games, SP_IMPORT_DEFAULT_OWNERSHIP_PLAYOUTS)) {
        sp_dataset_free(area);
        return 1;
    }
    sp_dataset_free(area);
    if (dataset) {
        sp_dataset_free(ds);
        if (sp_dataset_load(&ds, dataset)) {
            fprintf(stderr, "sp-bench data: %s\n", sp_last_error());
            return 1;
        }
    }
    printf("sampler over %llu games, %llu positions; batch %d, K=5, 18 planes, random symmetry\n",
           (unsigned long long)sp_dataset_game_count(ds), (unsigned long long)sp_dataset_position_count(ds), size);
    for (int threads = 1; threads <= 2; threads++) {
        double wr, cr;
        if (sample(ds, threads, batches, size, &wr, &cr)) {
            fprintf(stderr, "sp-bench data: %s\n", sp_last_error());
            return 1;
        }
        printf("sampler %d thread%s: %.0f positions per CPU-second, %.0f per wall second\n", threads,
               threads > 1 ? "s" : "", cr, wr);
    }
    /* Neighbour planes x_i of random positions (what retrieval feeds the model, N per sample). */
    enum { NEIGHBOURS = 50000 };
    size_t floats = (size_t)SP_NEIGHBOUR_PLANES * 81;
    float *x = malloc(floats * sizeof *x);
    uint64_t n = sp_dataset_position_count(ds), h = 1;
    double c1 = cpu_now(), w1 = bench_now();
    for (int i = 0; i < NEIGHBOURS; i++) {
        h = h * 6364136223846793005ull + 1442695040888963407ull;
        if (sp_dataset_neighbour_planes(ds, (h >> 11) % n, i & 7, x, floats)) {
            fprintf(stderr, "sp-bench data: %s\n", sp_last_error());
            return 1;
        }
    }
    printf("neighbour planes: %.0f per CPU-second, %.0f per wall second\n", NEIGHBOURS / (cpu_now() - c1),
           NEIGHBOURS / (bench_now() - w1));
    free(x);
    sp_dataset_free(ds);
    return 0;
}
