/* sp-bench model: the learned model (model.h, train.h) against oneDNN's
 * sgemm measured in the same rounds: training positions/s with K-step
 * unrolls and its FLOP rate, initial and recurrent inference at batch 1 (the
 * latency) and 8, 32, 256 (the throughput) in f32 and bf16; and the search
 * over the model (bench_model_search.c); the retrieval model's training and
 * initial inference as ratios to these (bench_model_retrieval.c). Only the
 * public API is used, as an application would. */
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <semiparam.h>

#include "bench.h"
#include "bench_model.h"

#define MAX_RUNS 100

typedef struct model_bench_options {
    int32_t runs;
    double seconds;
    int32_t threads;
    const char *model;   /* a .spm to bench instead of a fresh model of `arch` */
    sp_model_options arch;
    const char *dataset; /* a .spd to train on instead of imported games */
    const char *input;
    int32_t games;
    int32_t batch, unroll;
    int32_t simulations, searches;
    int fpu;
    int32_t neighbours; /* N of the retrieval model's rows, 0 for none */
} model_bench_options;

static int model_usage(FILE *out)
{
    fprintf(out,
            "usage: sp-bench model [--runs N] [--seconds S] [--threads T] [--model M.spm | --channels C\n"
            "                      --repr-blocks B --dyn-blocks B] [--dataset D.spd | --input SGF --games N]\n"
            "                      [--batch B] [--unroll K] [--simulations N] [--searches N] [--fpu parent|zero]\n"
            "                      [--neighbours N]\n"
            "  --runs N         rounds; each times the sgemm then every figure; medians over rounds (default 3;\n"
            "                   --rounds is the same)\n"
            "  --seconds S      minimum length of each timed figure (default 0.5; a training step may be longer)\n"
            "  --threads T      the network's and the sgemm's OpenMP threads (default: OpenMP's default); the\n"
            "                   search runs the network on 1 thread per search worker, as sp-gtp does\n"
            "  --model M.spm    bench this model's architecture and weights (default: a fresh model)\n"
            "  --channels C, --repr-blocks B, --dyn-blocks B\n"
            "                   architecture of the fresh model (default 64, 6, 2: the baseline's)\n"
            "  --dataset D.spd  train on this dataset\n"
            "  --input SGF      else import games from this collection (default\n"
            "                   $SP_DATA_DIR/go9/cgos9x9_2016.sgf.xz, SP_DATA_DIR defaulting to ../shared/data)\n"
            "  --games N        game trees to import (default 4000)\n"
            "  --batch B        training positions per step (default 256)\n"
            "  --unroll K       training unroll steps (default 5)\n"
            "  --simulations N  simulations per search (default 200)\n"
            "  --searches N     searches per timed row and round (default 5)\n"
            "  --fpu KIND       value of unvisited actions: parent (default, as sp-gtp) or zero (MuZero)\n"
            "  --neighbours N   rows of the retrieval model reading N neighbours (default 10; 0: none), as ratios\n"
            "                   to the model without: training on a .spn pre-computed from the dataset and with\n"
            "                   every neighbour zero, initial inference over random neighbour planes\n");
    return out == stdout ? 0 : 2;
}

static int fail(const char *what)
{
    fprintf(stderr, "sp-bench model: %s: %s\n", what, sp_last_error());
    return 1;
}

/* An integer option: the whole value, within lo..hi. */
static int parse_int(const char *option, const char *value, long lo, long hi, int32_t *out)
{
    char *end;
    long v = strtol(value, &end, 10);
    if (end == value || *end || v < lo || v > hi) {
        fprintf(stderr, "sp-bench model: %s %s: expected an integer in %ld..%ld\n", option, value, lo, hi);
        return 2;
    }
    *out = (int32_t)v;
    return 0;
}

/* 0, 2 for a bad command line (said on stderr), -1 after --help. */
static int parse(model_bench_options *o, int argc, char **argv)
{
    /* The architecture's ranges are sp_model_create()'s to check and name. */
    const struct {
        const char *name;
        int32_t *field;
        long lo, hi;
    } ints[] = {
        { "--runs", &o->runs, 1, MAX_RUNS },
        { "--rounds", &o->runs, 1, MAX_RUNS },
        { "--threads", &o->threads, 0, 1024 },
        { "--channels", &o->arch.channels, INT32_MIN, INT32_MAX },
        { "--repr-blocks", &o->arch.repr_blocks, INT32_MIN, INT32_MAX },
        { "--dyn-blocks", &o->arch.dyn_blocks, INT32_MIN, INT32_MAX },
        { "--games", &o->games, 1, INT32_MAX },
        { "--batch", &o->batch, 1, 65536 },
        { "--unroll", &o->unroll, 0, SP_TRAIN_MAX_UNROLL },
        { "--simulations", &o->simulations, 1, 1000000 },
        { "--searches", &o->searches, 1, 1000000 },
        { "--neighbours", &o->neighbours, 0, 64 },
    };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help"))
            return model_usage(stdout) - 1;
        if (i + 1 >= argc) {
            fprintf(stderr, "sp-bench model: %s needs a value\n", a);
            return model_usage(stderr);
        }
        const char *v = argv[++i];
        size_t k = 0;
        while (k < sizeof ints / sizeof ints[0] && strcmp(a, ints[k].name))
            k++;
        if (k < sizeof ints / sizeof ints[0]) {
            if (parse_int(a, v, ints[k].lo, ints[k].hi, ints[k].field))
                return 2;
        } else if (!strcmp(a, "--seconds")) {
            char *end;
            o->seconds = strtod(v, &end);
            if (end == v || *end || !(o->seconds > 0.0 && o->seconds <= 3600.0)) {
                fprintf(stderr, "sp-bench model: --seconds %s: expected a number of seconds in (0, 3600]\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--fpu")) {
            if (strcmp(v, "parent") && strcmp(v, "zero")) {
                fprintf(stderr, "sp-bench model: --fpu takes parent or zero, not %s\n", v);
                return 2;
            }
            o->fpu = strcmp(v, "zero") ? SP_SEARCH_FPU_PARENT : SP_SEARCH_FPU_ZERO;
        } else if (!strcmp(a, "--model")) {
            o->model = v;
        } else if (!strcmp(a, "--dataset")) {
            o->dataset = v;
        } else if (!strcmp(a, "--input")) {
            o->input = v;
        } else {
            fprintf(stderr, "sp-bench model: unknown option %s\n", a);
            return model_usage(stderr);
        }
    }
    return 0;
}

int bench_model_open(sp_model **out, const char *path, const sp_model_options *arch, int threads, int precision)
{
    sp_nn_options nn;
    sp_nn_options_init(&nn, SP_NN_OPTIONS_VERSION);
    nn.backend = SP_BACKEND_CPU;
    nn.threads = threads;
    nn.precision = precision;
    int rc = path ? sp_model_load(out, path, &nn) : sp_model_create(out, arch, &nn);
    if (rc && rc != SP_ERR_UNSUPPORTED)
        fail(path ? path : "creating the model");
    return rc;
}

static sp_dataset *open_dataset(const model_bench_options *o, int board_size)
{
    sp_dataset *ds = NULL;
    if (o->dataset) {
        if (sp_dataset_load(&ds, o->dataset))
            fail(o->dataset);
        return ds;
    }
    char path[1024];
    const char *input = o->input;
    if (!input) {
        const char *dir = getenv("SP_DATA_DIR");
        snprintf(path, sizeof path, "%s/go9/cgos9x9_2016.sgf.xz", dir ? dir : "../shared/data");
        input = path;
    }
    sp_import_options io;
    sp_import_options_init(&io, SP_IMPORT_OPTIONS_VERSION);
    io.max_games = o->games;
    sp_import_report r = SP_IMPORT_REPORT_INIT;
    if (sp_dataset_create(&ds, board_size) || sp_dataset_import(ds, input, &io, &r)) {
        fail(input);
        sp_dataset_free(ds);
        return NULL;
    }
    /* The importer skips games of another size: say so rather than let the
     * trainer find an empty training part. */
    if (sp_dataset_position_count(ds) == 0) {
        fprintf(stderr, "sp-bench model: %s: no position of a %dx%d game in its first %d games\n", input, board_size,
                board_size, (int)o->games);
        sp_dataset_free(ds);
        return NULL;
    }
    return ds;
}

/* One timed call of each kind. */
typedef struct infer_ctx {
    sp_model *m;
    int recurrent;
    int32_t n;
    const float *planes, *states;
    const int32_t *actions;
    float *next, *logits, *value;
} infer_ctx;

static int infer_step(void *p)
{
    infer_ctx *c = p;
    return c->recurrent ? sp_model_recurrent(c->m, c->states, c->actions, c->n, c->next, c->logits, c->value)
                        : sp_model_initial(c->m, c->planes, c->n, c->next, c->logits, c->value);
}

static int train_step(void *p)
{
    return sp_trainer_run(p, 1, NULL);
}

/* Inference figures: precision x kind x batch, in the order printed. */
enum { BATCHES = 4, KINDS = 2, PRECISIONS = BENCH_MODEL_PRECISIONS, INFER = PRECISIONS * KINDS * BATCHES };
static const int32_t batch_of[BATCHES] = { 1, 8, 32, 256 };
static const char *const kind_name[KINDS] = { "initial", "recurrent" };
static const char *const precision_name[PRECISIONS] = { "f32", "bf16" };

/* Search rows: sp-gtp --model uses batch 4 per thread. */
enum { SEARCH_ROWS = 4 };
static const struct {
    int threads, batch;
    const char *note;
} search_row[SEARCH_ROWS] = { { 1, 1, "" }, { 1, 4, " (sp-gtp --model)" }, { 2, 2, "" },
                              { 2, 8, " (sp-gtp --model --threads 2)" } };

/* Everything a run holds, so that one function can release it. */
typedef struct model_bench {
    sp_model *infer[PRECISIONS]; /* NULL for a precision this CPU lacks */
    sp_model *train_model, *search_model;
    sp_dataset *ds;
    sp_trainer *trainer;
    sp_game *root;
    bench_model_search *search[SEARCH_ROWS];
    bench_retrieval_model *retrieval; /* NULL without its rows */
    bench_sgemm sgemm;
    float *planes, *states, *next, *logits, *value;
    int32_t *actions;
    char unsupported[256]; /* why bf16 is missing */
} model_bench;

static void close_bench(model_bench *b)
{
    for (int r = 0; r < SEARCH_ROWS; r++)
        bench_model_search_close(b->search[r]);
    bench_retrieval_model_close(b->retrieval);
    sp_game_free(b->root);
    sp_trainer_free(b->trainer);
    sp_model_free(b->train_model);
    sp_model_free(b->search_model);
    for (int p = 0; p < PRECISIONS; p++)
        sp_model_free(b->infer[p]);
    sp_dataset_free(b->ds);
    bench_sgemm_close(&b->sgemm);
    free(b->planes);
    free(b->states);
    free(b->next);
    free(b->logits);
    free(b->value);
    free(b->actions);
}

/* Inputs for the largest batch: observation planes of random stones, the
 * hidden states initial inference makes of them, random actions. */
static int make_inputs(model_bench *b, const sp_model_info *info)
{
    const size_t n = (size_t)batch_of[BATCHES - 1], area = (size_t)info->num_actions - 1;
    const size_t planes = n * (size_t)info->input_planes * area, states = n * (size_t)info->state_size;
    b->planes = malloc(planes * sizeof(float));
    b->states = malloc(states * sizeof(float));
    b->next = malloc(states * sizeof(float));
    b->logits = malloc(n * (size_t)info->num_actions * sizeof(float));
    b->value = malloc(n * sizeof(float));
    b->actions = malloc(n * sizeof(int32_t));
    if (!b->planes || !b->states || !b->next || !b->logits || !b->value || !b->actions) {
        fprintf(stderr, "sp-bench model: out of memory\n");
        return 1;
    }
    uint64_t h = 88172645463325252ull;
    for (size_t i = 0; i < planes; i++) {
        h ^= h << 13, h ^= h >> 7, h ^= h << 17;
        b->planes[i] = (float)(h >> 63);
    }
    for (size_t i = 0; i < n; i++) {
        h ^= h << 13, h ^= h >> 7, h ^= h << 17;
        b->actions[i] = (int32_t)(h % (uint64_t)info->num_actions);
    }
    if (sp_model_initial(b->infer[0], b->planes, (int32_t)n, b->states, NULL, NULL))
        return fail("initial inference");
    return 0;
}

static int open_bench(model_bench *b, const model_bench_options *o, sp_model_info *info)
{
    memset(b, 0, sizeof *b);
    if (bench_sgemm_open(&b->sgemm, 2048)) {
        fprintf(stderr, "sp-bench model: out of memory for the sgemm\n");
        return 1;
    }
    if (bench_model_open(&b->infer[0], o->model, &o->arch, o->threads, SP_PRECISION_F32) ||
        bench_model_open(&b->train_model, o->model, &o->arch, o->threads, SP_PRECISION_F32) ||
        bench_model_open(&b->search_model, o->model, &o->arch, 1, SP_PRECISION_F32))
        return 1;
    int rc = bench_model_open(&b->infer[1], o->model, &o->arch, o->threads, SP_PRECISION_BF16);
    if (rc == SP_ERR_UNSUPPORTED)
        snprintf(b->unsupported, sizeof b->unsupported, "%s", sp_last_error());
    else if (rc)
        return 1;
    sp_model_options arch;
    sp_model_options_init(&arch, SP_MODEL_OPTIONS_VERSION);
    if (sp_model_describe(b->infer[0], info) || sp_model_get_options(b->infer[0], &arch))
        return fail("describing the model");

    if (!(b->ds = open_dataset(o, arch.board_size)))
        return 1;
    sp_trainer_options to;
    sp_trainer_options_init(&to, SP_TRAINER_OPTIONS_VERSION);
    to.batch_size = o->batch;
    to.unroll = o->unroll;
    if (sp_trainer_create(&b->trainer, b->train_model, b->ds, &to))
        return fail("creating the trainer");
    if (o->neighbours > 0) {
        bench_retrieval_setup rs = { &arch, o->neighbours, o->threads, b->ds, o->batch, o->unroll,
                                     batch_of[BATCHES - 1] };
        if (bench_retrieval_model_open(&b->retrieval, &rs))
            return 1;
    }

    sp_game_options go;
    sp_game_options_init(&go, SP_GAME_OPTIONS_VERSION);
    go.board_size = arch.board_size;
    if (sp_game_create(&b->root, &go))
        return fail("the root position");
    for (int r = 0; r < SEARCH_ROWS; r++)
        if (bench_model_search_open(&b->search[r], b->search_model, search_row[r].threads, search_row[r].batch,
                                    o->simulations, o->fpu))
            return 1;
    return make_inputs(b, info);
}

static infer_ctx infer_figure(model_bench *b, int f)
{
    infer_ctx c = { b->infer[f / (KINDS * BATCHES)], f / BATCHES % KINDS, batch_of[f % BATCHES], b->planes,
                    b->states, b->actions, b->next, b->logits, b->value };
    return c;
}

/* Per round, per figure: seconds per call (training: per step) and the
 * FLOP rate as a ratio to that round's sgemm. */
typedef struct model_figures {
    double peak[MAX_RUNS];
    double train_secs[MAX_RUNS], train_ratio[MAX_RUNS];
    double secs[INFER][MAX_RUNS], ratio[INFER][MAX_RUNS];
    /* The retrieval model: training with the file's and with zero
     * neighbours; initial inference per precision and batch. */
    double retrieval_train_secs[2][MAX_RUNS];
    double retrieval_initial_secs[PRECISIONS][BATCHES][MAX_RUNS];
    bench_search_figure search[SEARCH_ROWS][MAX_RUNS];
} model_figures;

/* Primitives for every batch size, workspaces, the trainer's first step and
 * the search threads' first calls all happen before the rounds. */
static int warm_up(model_bench *b)
{
    if (bench_sgemm_rate(&b->sgemm, 0.0) < 0.0 || sp_trainer_run(b->trainer, 1, NULL))
        return fail("warm-up");
    for (int f = 0; f < INFER; f++) {
        infer_ctx c = infer_figure(b, f);
        if (c.m && (infer_step(&c) || infer_step(&c)))
            return fail("warm-up");
        if (b->retrieval && !c.recurrent)
            for (int twice = 0; twice < 2; twice++)
                if (bench_retrieval_model_initial(b->retrieval, f / (KINDS * BATCHES), b->planes, c.n, 0.0) < 0.0)
                    return 1;
    }
    for (int z = 0; b->retrieval && z < 2; z++)
        if (bench_retrieval_model_train(b->retrieval, z, 0.0) < 0.0)
            return 1;
    bench_search_figure unused;
    for (int r = 0; r < SEARCH_ROWS; r++)
        if (bench_model_search_time(b->search[r], b->root, 1, &unused))
            return 1;
    return 0;
}

static int run_round(model_bench *b, const model_bench_options *o, const sp_model_info *info, int r,
                     model_figures *fig)
{
    if ((fig->peak[r] = bench_sgemm_rate(&b->sgemm, o->seconds)) <= 0.0) {
        fprintf(stderr, "sp-bench model: oneDNN's sgemm failed\n");
        return 1;
    }
    /* Forward, then two GEMMs backward (input and weight gradients) per
     * layer: 3x the forward FLOPs of the unrolled model per position. */
    const double train_flops = 3.0 * ((double)info->flops_initial + o->unroll * (double)info->flops_recurrent);
    if ((fig->train_secs[r] = bench_time_per_call(o->seconds, train_step, b->trainer)) < 0.0)
        return fail("training step");
    fig->train_ratio[r] = train_flops * o->batch / fig->train_secs[r] / fig->peak[r];
    /* Each retrieval row right after the row it is a ratio to. */
    for (int z = 0; b->retrieval && z < 2; z++)
        if ((fig->retrieval_train_secs[z][r] = bench_retrieval_model_train(b->retrieval, z, o->seconds)) < 0.0)
            return 1;
    for (int f = 0; f < INFER; f++) {
        infer_ctx c = infer_figure(b, f);
        if (!c.m)
            continue;
        if ((fig->secs[f][r] = bench_time_per_call(o->seconds, infer_step, &c)) < 0.0)
            return fail("inference");
        double *rs = &fig->retrieval_initial_secs[f / (KINDS * BATCHES)][f % BATCHES][r];
        if (b->retrieval && !c.recurrent &&
            (*rs = bench_retrieval_model_initial(b->retrieval, f / (KINDS * BATCHES), b->planes, c.n, o->seconds)) <
                0.0)
            return 1;
        double flops = (double)(c.recurrent ? info->flops_recurrent : info->flops_initial) * c.n;
        fig->ratio[f][r] = flops / fig->secs[f][r] / fig->peak[r];
    }
    for (int s = 0; s < SEARCH_ROWS; s++)
        if (bench_model_search_time(b->search[s], b->root, o->searches, &fig->search[s][r]))
            return 1;
    return 0;
}

static void load_average(char *out, size_t size)
{
    FILE *f = fopen("/proc/loadavg", "r");
    double a = 0, b = 0, c = 0;
    if (!f || fscanf(f, "%lf %lf %lf", &a, &b, &c) != 3)
        snprintf(out, size, "unknown");
    else
        snprintf(out, size, "%.2f %.2f %.2f", a, b, c);
    if (f)
        fclose(f);
}

/* Median of n values (left in place), and their range when lo and hi are
 * given: on a shared machine the spread over rounds says how far to trust it. */
static double median_of(const double *values, int n, double *lo, double *hi)
{
    double copy[MAX_RUNS];
    memcpy(copy, values, (size_t)n * sizeof *copy);
    double m = bench_median(copy, (size_t)n); /* sorts the copy */
    if (lo && hi) {
        *lo = copy[0];
        *hi = copy[n - 1];
    }
    return m;
}

/* "0.81x sgemm (0.75-0.84)": a ratio's median and range over rounds. */
static void print_ratio(const double *ratio, int n)
{
    double lo, hi, m = median_of(ratio, n, &lo, &hi);
    printf("  %5.2fx sgemm (%.2f-%.2f)\n", m, lo, hi);
}

static void print_network(const model_bench *b, const model_bench_options *o, const sp_model_info *info,
                          const model_figures *fig)
{
    const int n = o->runs;
    printf("  sgemm 2048x2048x2048 (peak reference)        %9.1f GFLOP/s\n",
           median_of(fig->peak, n, NULL, NULL) * 1e-9);
    double step = median_of(fig->train_secs, n, NULL, NULL);
    printf("  training, batch %d, K = %d: %.1f MFLOP/position (3 x (initial + %d x recurrent))\n", o->batch,
           o->unroll, 3.0 * ((double)info->flops_initial + o->unroll * (double)info->flops_recurrent) * 1e-6,
           o->unroll);
    printf("  %-28s %9.1f ms  %9.0f pos/s", "training step", step * 1e3, o->batch / step);
    print_ratio(fig->train_ratio, n);
    for (int f = 0; f < INFER; f++) {
        const int p = f / (KINDS * BATCHES), k = f / BATCHES % KINDS, batch = batch_of[f % BATCHES];
        char name[64];
        snprintf(name, sizeof name, "%s %s, batch %d", kind_name[k], precision_name[p], batch);
        if (!b->infer[p]) {
            if (f % BATCHES == 0)
                printf("  %s %-*s unsupported on this CPU (%s)\n", kind_name[k], 27 - (int)strlen(kind_name[k]),
                       precision_name[p], b->unsupported);
            continue;
        }
        double t = median_of(fig->secs[f], n, NULL, NULL);
        printf("  %-28s %9.3f ms  %9.0f pos/s", name, t * 1e3, batch / t);
        print_ratio(fig->ratio[f], n);
    }
}

/* Per round, base / other: above 1 when `other` takes less time. */
static double rate_ratio(const double *base, const double *other, int n, double *lo, double *hi)
{
    double ratio[MAX_RUNS];
    for (int r = 0; r < n; r++)
        ratio[r] = base[r] / other[r];
    return median_of(ratio, n, lo, hi);
}

static void print_retrieval(const model_bench *b, const model_bench_options *o, const sp_model_info *base,
                            const model_figures *fig)
{
    const int n = o->runs;
    const sp_model *m = bench_retrieval_model_handle(b->retrieval, 0);
    sp_model_options arch;
    sp_model_options_init(&arch, SP_MODEL_OPTIONS_VERSION);
    sp_model_info info = SP_MODEL_INFO_INIT;
    sp_model_get_options(m, &arch);
    sp_model_describe(m, &info);
    printf("retrieval model, N = %d: the same architecture; of its %d channels, %d from the representation, %d from a %d-block"
           " neighbour network; %llu parameters, %.2f MFLOP initial per position (%.2f without neighbours).\n"
           "  Ratios per round to the model without neighbours (N = 0) timed just before, medians over rounds"
           " (range)\n",
           (int)arch.neighbours, (int)arch.channels, (int)(arch.channels - arch.neighbour_channels),
           (int)arch.neighbour_channels, (int)arch.neighbour_blocks, (unsigned long long)info.parameters,
           (double)info.flops_initial * 1e-6, (double)base->flops_initial * 1e-6);
    const char *why = bench_retrieval_model_untrained(b->retrieval);
    if (why) {
        printf("  training: no rows (%s)\n", why);
    } else {
        printf("  training, batch %d, K = %d, over the %llu training positions of a .spn pre-computed at the start"
               " (k = %d: random keys, a two-half Flat retriever)\n",
               o->batch, o->unroll, (unsigned long long)bench_retrieval_model_spn_rows(b->retrieval),
               (int)arch.neighbours);
        static const char *const row[2] = { "training step, neighbours", "training step, x_i = 0" };
        for (int z = 0; z < 2; z++) {
            double lo, hi, step = median_of(fig->retrieval_train_secs[z], n, NULL, NULL);
            double v = rate_ratio(fig->train_secs, fig->retrieval_train_secs[z], n, &lo, &hi);
            printf("  %-28s %9.1f ms  %9.0f pos/s  %.2fx N = 0's pos/s (%.2f-%.2f)", row[z], step * 1e3,
                   o->batch / step, v, lo, hi);
            if (z == 0) {
                v = rate_ratio(fig->retrieval_train_secs[1], fig->retrieval_train_secs[0], n, &lo, &hi);
                printf(", %.2fx x_i = 0's (%.2f-%.2f)", v, lo, hi);
                v = rate_ratio(fig->retrieval_train_secs[0], fig->train_secs, n, &lo, &hi);
                printf("; a step costs %.2fx N = 0's (%.2f-%.2f)", v, lo, hi);
            }
            printf("\n");
        }
    }
    for (int p = 0; p < PRECISIONS; p++) {
        if (!bench_retrieval_model_handle(b->retrieval, p)) {
            printf("  initial %-20s unsupported on this CPU%s%s%s\n", precision_name[p],
                   b->unsupported[0] ? " (" : "", b->unsupported, b->unsupported[0] ? ")" : "");
            continue;
        }
        for (int k = 0; k < BATCHES; k++) {
            const double *own = fig->retrieval_initial_secs[p][k], *base_secs = fig->secs[p * KINDS * BATCHES + k];
            char name[64];
            snprintf(name, sizeof name, "initial %s, batch %d", precision_name[p], batch_of[k]);
            double lo, hi, t = median_of(own, n, NULL, NULL);
            /* Batch 1 is a latency: its cost; the others throughputs. */
            double v = k ? rate_ratio(base_secs, own, n, &lo, &hi) : rate_ratio(own, base_secs, n, &lo, &hi);
            printf("  %-28s %9.3f ms  %9.0f pos/s  %s %.2fx N = 0's (%.2f-%.2f)\n", name, t * 1e3, batch_of[k] / t,
                   k ? "throughput" : "latency", v, lo, hi);
        }
    }
}

static void print_search(const model_bench_options *o, const model_figures *fig)
{
    printf("search: pUCT (fpu %s), %d simulations per search from the empty board over the learned dynamics, the\n"
           "  network on 1 OpenMP thread per search worker; %d searches per row and round (medians over rounds)\n",
           o->fpu == SP_SEARCH_FPU_ZERO ? "zero" : "parent", o->simulations, o->searches);
    printf("  %-48s %14s %14s %10s  %s\n", "", "simulations/s", "us/simulation", "rows/call",
           "outside the network (range)");
    for (int s = 0; s < SEARCH_ROWS; s++) {
        double rate[MAX_RUNS], outside[MAX_RUNS], rows[MAX_RUNS];
        for (int r = 0; r < o->runs; r++) {
            rate[r] = fig->search[s][r].rate;
            outside[r] = fig->search[s][r].outside;
            rows[r] = fig->search[s][r].rows;
        }
        char name[64];
        snprintf(name, sizeof name, "%d thread%s, batch %d%s", search_row[s].threads,
                 search_row[s].threads > 1 ? "s" : "", search_row[s].batch, search_row[s].note);
        double v = median_of(rate, o->runs, NULL, NULL), lo, hi, out = median_of(outside, o->runs, &lo, &hi);
        printf("  %-48s %14.0f %14.1f %10.2f %9.1f%% (%.1f-%.1f%%)\n", name, v, 1e6 / v,
               median_of(rows, o->runs, NULL, NULL), 100.0 * out, 100.0 * lo, 100.0 * hi);
    }
}

int bench_model(int argc, char **argv)
{
    model_bench_options o = { 3, 0.5, 0, NULL, SP_MODEL_OPTIONS_INIT, NULL, NULL, 4000, 256, 5, 200, 5,
                              SP_SEARCH_FPU_PARENT, 10 };
    int rc = parse(&o, argc, argv);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (o.threads > 0)
        omp_set_num_threads(o.threads);
    char load_start[64], load_end[64];
    load_average(load_start, sizeof load_start);

    model_bench b;
    sp_model_info info = SP_MODEL_INFO_INIT;
    model_figures *fig = calloc(1, sizeof *fig);
    rc = !fig || open_bench(&b, &o, &info) || warm_up(&b);
    for (int r = 0; !rc && r < o.runs; r++)
        rc = run_round(&b, &o, &info, r, fig);
    if (!rc) {
        sp_model_options arch;
        sp_model_options_init(&arch, SP_MODEL_OPTIONS_VERSION);
        sp_model_get_options(b.infer[0], &arch);
        load_average(load_end, sizeof load_end);
        printf("model: %s%d channels, %d representation and %d dynamics blocks, %dx%d, %llu parameters;"
               " %.2f MFLOP initial, %.2f MFLOP recurrent per position\n",
               o.model ? "" : "fresh, ", arch.channels, arch.repr_blocks, arch.dyn_blocks, arch.board_size,
               arch.board_size, (unsigned long long)info.parameters, (double)info.flops_initial * 1e-6,
               (double)info.flops_recurrent * 1e-6);
        printf("  network and sgemm on %d OpenMP thread%s, %d rounds of >= %.2f s per figure (medians over rounds);"
               " load average %s at the start, %s at the end\n",
               omp_get_max_threads(), omp_get_max_threads() > 1 ? "s" : "", o.runs, o.seconds, load_start, load_end);
        print_network(&b, &o, &info, fig);
        if (b.retrieval)
            print_retrieval(&b, &o, &info, fig);
        print_search(&o, fig);
    }
    if (fig)
        close_bench(&b);
    free(fig);
    return rc ? 1 : 0;
}
