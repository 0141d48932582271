/* sp-bench embed: the embedders (embed.h). Keys per second per core at batch
 * 256 for the learned embedder (f32, bf16) against the model's own initial
 * inference timed in the same rounds, and for the raw-plane one; then the
 * time and peak memory of embedding N training positions and indexing their
 * learned keys, and the recall@10 of that index against exact search over
 * the same keys. Public API only, as an application would use it. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <semiparam.h>

#include "bench.h"
#include "index/index_util.h"

#define MAX_RUNS 100
#define BATCH 256

typedef struct embed_bench_options {
    const char *spd, *model, *learned, *raw; /* embedder files instead of fitting */
    uint64_t positions, queries, sample;
    double fraction, seconds;
    uint32_t threads, runs;
} embed_bench_options;

static int embed_usage(FILE *out)
{
    fprintf(out,
            "usage: sp-bench embed --spd D.spd [--model M.spm] [--learned L.spe] [--raw R.spe]\n"
            "                      [--positions N | --fraction F] [--queries N] [--sample N] [--runs N]\n"
            "                      [--seconds S] [--threads T]\n"
            "  --spd D.spd      the dataset (its training split is embedded and indexed, its test split queried)\n"
            "  --model M.spm    the learned embedder's model (default models/baseline.spm)\n"
            "  --learned L.spe  the learned embedder (of that model) instead of fitting one (sp-index embedder)\n"
            "  --raw R.spe      the raw-plane embedder instead of fitting one\n"
            "  --positions N    training positions embedded and indexed (default 100000), spread over the split\n"
            "  --fraction F     instead: that fraction of the training positions (the paper keeps 0.15)\n"
            "  --queries N      test positions for recall@10 against exact search (default 1000)\n"
            "  --sample N       positions each embedder's PCA is fitted on (default 10000)\n"
            "  --runs N         rounds of the keys/s figures; medians and ranges over rounds (default 3)\n"
            "  --seconds S      minimum length of each timed figure (default 1)\n"
            "  --threads T      the embedders' workers and FAISS's threads for embedding and indexing the\n"
            "                   positions (default 1); keys/s at batch 256 are always on one thread: per core\n");
    return out == stdout ? 0 : 2;
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "sp-bench embed: %s: %s (%s)\n", what, sp_last_error(), sp_status_str(rc));
    return 1;
}

/* 0, 2 for a bad command line (said on stderr), -1 after --help. */
static int parse(embed_bench_options *o, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            return embed_usage(stdout) - 1;
        if (i + 1 >= argc) {
            fprintf(stderr, "sp-bench embed: %s needs a value\n", a);
            return embed_usage(stderr);
        }
        const char *v = argv[++i];
        char *end;
        double x = strtod(v, &end);
        int bad = end == v || *end || !(x >= 0);
        if (!strcmp(a, "--spd")) {
            o->spd = v;
            bad = 0;
        } else if (!strcmp(a, "--model") || !strcmp(a, "--learned") || !strcmp(a, "--raw")) {
            *(a[2] == 'm' ? &o->model : a[2] == 'l' ? &o->learned : &o->raw) = v;
            bad = 0;
        } else if (!strcmp(a, "--fraction")) {
            o->fraction = x;
            bad |= !(x > 0 && x <= 1);
        } else if (!strcmp(a, "--seconds")) {
            o->seconds = x;
            bad |= !(x > 0 && x <= 3600);
        } else if (!strcmp(a, "--positions") || !strcmp(a, "--queries") || !strcmp(a, "--sample")) {
            bad |= x < 1 || x > 1e12 || x != floor(x);
            *(a[2] == 'p' ? &o->positions : a[2] == 'q' ? &o->queries : &o->sample) = (uint64_t)x;
        } else if (!strcmp(a, "--runs") || !strcmp(a, "--threads")) {
            bad |= x < 1 || x > (a[2] == 'r' ? MAX_RUNS : 1024) || x != floor(x);
            *(a[2] == 'r' ? &o->runs : &o->threads) = (uint32_t)x;
        } else {
            fprintf(stderr, "sp-bench embed: unknown option %s\n", a);
            return embed_usage(stderr);
        }
        if (bad) {
            fprintf(stderr, "sp-bench embed: %s %s: out of range (see --help)\n", a, v);
            return 2;
        }
    }
    if (!o->spd) {
        fprintf(stderr, "sp-bench embed: --spd is needed\n");
        return embed_usage(stderr);
    }
    return 0;
}

/* Resident and peak memory in MiB (/proc/self/status). */
static void memory_mib(double *rss, double *peak)
{
    *rss = *peak = 0;
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
        if (!strncmp(line, "VmRSS:", 6))
            *rss = strtod(line + 6, NULL) / 1024;
        else if (!strncmp(line, "VmHWM:", 6))
            *peak = strtod(line + 6, NULL) / 1024;
    }
    if (f)
        fclose(f);
}

/* Peak memory of one phase: the kernel's high-water mark is reset to the
 * current resident set ("5" to clear_refs, Linux 4.0) so that each phase's
 * own peak shows; where that fails the delta of the process peak is given,
 * which undercounts a phase that stays below an earlier peak. */
typedef struct phase {
    double start, rss0, peak0;
    int reset;
} phase;

static phase phase_begin(void)
{
    phase p;
    FILE *f = fopen("/proc/self/clear_refs", "w");
    p.reset = f && fputs("5", f) >= 0;
    if (f)
        p.reset &= fclose(f) == 0;
    memory_mib(&p.rss0, &p.peak0);
    p.start = bench_now();
    return p;
}

/* Seconds since phase_begin; *extra: MiB the phase's peak rose above its start. */
static double phase_end(const phase *p, double *extra)
{
    double t = bench_now() - p->start, rss, peak;
    memory_mib(&rss, &peak);
    *extra = peak - (p->reset ? p->rss0 : p->peak0);
    *extra = *extra > 0 ? *extra : 0; /* the reset's mark may sit a page below the RSS read after it */
    return t;
}

/* Everything a run holds, so that one function releases it. */
typedef struct embed_bench {
    sp_dataset *ds;
    sp_model *model[2]; /* f32, bf16 (NULL when this CPU lacks it) */
    sp_embedder *learned[2], *raw;
    char unsupported[256];
    float *planes, *out;
    uint64_t *pos, *qpos, n, nq;
    float *keys, *qkeys, *exact_d;
    uint64_t *ids;
    sp_retriever *index, *exact;
    char tmp[64];
} embed_bench;

static void close_bench(embed_bench *b)
{
    sp_retriever_free(b->index);
    sp_retriever_free(b->exact);
    for (int p = 0; p < 2; p++) {
        sp_embedder_free(b->learned[p]);
        sp_model_free(b->model[p]);
    }
    sp_embedder_free(b->raw);
    sp_dataset_free(b->ds);
    free(b->planes);
    free(b->out);
    free(b->pos);
    free(b->qpos);
    free(b->keys);
    free(b->qkeys);
    free(b->exact_d);
    free(b->ids);
    if (b->tmp[0])
        unlink(b->tmp);
}

/* The learned embedder over the f32 model, fitted; its bf16 twin loaded
 * from its file over the bf16 model; the raw one fitted alike. */
static int open_embedders(embed_bench *b, const embed_bench_options *o)
{
    for (int p = 0; p < 2; p++) {
        sp_nn_options nn;
        sp_nn_options_init(&nn, SP_NN_OPTIONS_VERSION);
        nn.backend = SP_BACKEND_CPU;
        /* One OpenMP thread: the keys/s are per core, and the embedder's
         * --threads workers each call the model on their own thread (more
         * would oversubscribe the machine threads-fold). */
        nn.threads = 1;
        nn.precision = p ? SP_PRECISION_BF16 : SP_PRECISION_F32;
        int rc = sp_model_load(&b->model[p], o->model, &nn);
        if (rc == SP_ERR_UNSUPPORTED && p == 1)
            snprintf(b->unsupported, sizeof b->unsupported, "%s", sp_last_error());
        else if (rc != SP_OK)
            return fail(o->model, rc);
    }
    sp_embedder_options eo;
    sp_embedder_options_init(&eo, SP_EMBEDDER_OPTIONS_VERSION);
    eo.sample = o->sample;
    eo.threads = o->threads;
    double t = bench_now();
    int rc = o->learned ? sp_embedder_load(&b->learned[0], o->learned, b->model[0])
                        : sp_embedder_fit(&b->learned[0], b->model[0], b->ds, &eo);
    if (rc != SP_OK)
        return fail(o->learned ? o->learned : "fitting the learned embedder", rc);
    double fit_learned = bench_now() - t;
    eo.kind = SP_EMBEDDER_RAW;
    t = bench_now();
    rc = o->raw ? sp_embedder_load(&b->raw, o->raw, NULL) : sp_embedder_fit(&b->raw, NULL, b->ds, &eo);
    if (rc != SP_OK)
        return fail(o->raw ? o->raw : "fitting the raw embedder", rc);
    double fit_raw = bench_now() - t;
    if (b->model[1]) {
        int fd;
        snprintf(b->tmp, sizeof b->tmp, "/tmp/sp-bench-embed-XXXXXX");
        if ((fd = mkstemp(b->tmp)) < 0) {
            b->tmp[0] = '\0';
            fprintf(stderr, "sp-bench embed: no temporary file for the bf16 embedder\n");
            return 1;
        }
        close(fd);
        if ((rc = sp_embedder_save(b->learned[0], b->tmp)) != SP_OK ||
            (rc = sp_embedder_load(&b->learned[1], b->tmp, b->model[1])) != SP_OK)
            return fail("the bf16 embedder", rc);
    }
    sp_embedder_info li = SP_EMBEDDER_INFO_INIT, ri = SP_EMBEDDER_INFO_INIT;
    sp_embedder_describe(b->learned[0], &li);
    sp_embedder_describe(b->raw, &ri);
    printf("embedders (fitted by %u worker%s):\n", o->threads, o->threads > 1 ? "s" : "");
    printf("  learned  layer %s, %u -> %u floats, explained variance %.3f; %s %.1f s\n", li.layer, li.input_dim,
           li.dim, li.explained_variance, o->learned ? o->learned : "fitted on the sample in", fit_learned);
    printf("  raw      planes of history %d, %u -> %u floats, explained variance %.3f; %s %.1f s\n", ri.history,
           ri.input_dim, ri.dim, ri.explained_variance, o->raw ? o->raw : "fitted on the sample in", fit_raw);
    if (!o->learned || !o->raw)
        printf("  (fitting sample: %llu training positions)\n", (unsigned long long)o->sample);
    return 0;
}

/* The planes of BATCH test positions spread over the split: real boards. */
static int batch_planes(embed_bench *b)
{
    size_t count = 0;
    int rc = sp_dataset_positions(b->ds, SP_PART_TEST, NULL, NULL, 0, &count);
    if (rc != SP_OK && rc != SP_ERR_BUFFER_TOO_SMALL)
        return fail("test positions", rc);
    uint64_t *all = malloc((count ? count : 1) * sizeof *all), pos[BATCH];
    sp_embedder_info info = SP_EMBEDDER_INFO_INIT;
    sp_embedder_describe(b->learned[0], &info);
    size_t per = (size_t)sp_go_plane_count(info.history) * (size_t)(info.board_size * info.board_size);
    b->planes = malloc(BATCH * per * sizeof *b->planes);
    b->out = malloc(BATCH * per * sizeof *b->out); /* room for any layer up to the planes' size */
    if (!all || !b->planes || !b->out) {
        free(all);
        return fail("planes", SP_ERR_NOMEM);
    }
    if ((rc = sp_dataset_positions(b->ds, SP_PART_TEST, NULL, all, count, &count)) != SP_OK || count == 0) {
        free(all);
        return fail("test positions", rc ? rc : SP_ERR_INVALID_ARG);
    }
    for (int i = 0; i < BATCH; i++)
        pos[i] = all[(uint64_t)i * count / BATCH];
    free(all);
    if ((rc = sp_pca_position_planes(b->ds, pos, BATCH, info.history, b->planes, BATCH * per, NULL)) != SP_OK)
        return fail("planes", rc);
    return 0;
}

/* The timed calls: the model's initial inference (the reference) and each embedder on one batch. */
typedef struct call {
    embed_bench *b;
    int what; /* 0 the model's initial inference, 1 learned f32, 2 learned bf16, 3 raw */
} call;

static int call_step(void *p)
{
    call *c = p;
    embed_bench *b = c->b;
    switch (c->what) {
    case 0:
        return sp_model_initial(b->model[0], b->planes, BATCH, NULL, b->out, NULL);
    case 3:
        return sp_embedder_embed_planes(b->raw, b->planes, BATCH, b->out);
    default:
        return sp_embedder_embed_planes(b->learned[c->what - 1], b->planes, BATCH, b->out);
    }
}

static double median_range(const double *v, uint32_t n, double *lo, double *hi)
{
    double copy[MAX_RUNS];
    memcpy(copy, v, n * sizeof *copy);
    double m = bench_median(copy, n); /* sorts the copy */
    *lo = copy[0];
    *hi = copy[n - 1];
    return m;
}

/* Keys/s of each embedder at batch BATCH, `runs` rounds, each timing the
 * model's initial inference right before the embedders so that a ratio
 * compares rates under the same load. */
static int keys_per_second(embed_bench *b, const embed_bench_options *o)
{
    double rate[4][MAX_RUNS], ratio[4][MAX_RUNS];
    for (int w = 0; w < 4; w++) { /* warm-up: primitives and workspaces */
        call c = { b, w };
        if ((w != 2 || b->learned[1]) && call_step(&c))
            return fail("warm-up", SP_ERR_INTERNAL);
    }
    for (uint32_t r = 0; r < o->runs; r++)
        for (int w = 0; w < 4; w++) {
            call c = { b, w };
            if (w == 2 && !b->learned[1])
                continue;
            double t = bench_time_per_call(o->seconds, call_step, &c);
            if (t < 0)
                return fail("embedding", SP_ERR_INTERNAL);
            rate[w][r] = BATCH / t;
            ratio[w][r] = rate[w][r] / rate[0][r];
        }
    static const char *const name[4] = { "model initial inference f32 (reference)", "learned embedder f32",
                                          "learned embedder bf16", "raw-plane embedder" };
    /* The PCA's projection is a BLAS sgemm, on the BLAS's own threads: set
     * OPENBLAS_NUM_THREADS=1 (or the BLAS's equivalent) for a per-core raw figure. */
    const char *blas = getenv("OPENBLAS_NUM_THREADS");
    printf("\nkeys per second per core: batches of %d test positions' planes (sp_embedder_embed_planes), the\n"
           "network on one thread, the PCA's BLAS on OPENBLAS_NUM_THREADS=%s; medians (ranges) of %u rounds of\n"
           ">= %.1f s:\n",
           BATCH, blas ? blas : "(unset: its default)", o->runs, o->seconds);
    printf("  %-42s %12s  %s\n", "", "keys/s", "x model initial inference (range)");
    for (int w = 0; w < 4; w++) {
        if (w == 2 && !b->learned[1]) {
            printf("  %-42s unsupported on this CPU (%s)\n", name[w], b->unsupported);
            continue;
        }
        double lo, hi, m = median_range(rate[w], o->runs, &lo, &hi), rlo, rhi;
        double rm = median_range(ratio[w], o->runs, &rlo, &rhi);
        printf("  %-42s %12.0f  %.2fx (%.2f-%.2f); keys/s %.0f-%.0f\n", name[w], m, rm, rlo, rhi, lo, hi);
    }
    return 0;
}

static int compare_ids(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, c = *(const uint64_t *)y;
    return (a > c) - (a < c);
}

/* The positions embedded: --fraction of the training split's positions
 * (sub-sampled by the split's keep_fraction, as sp-index embed samples), or
 * --positions of them spread the same way; queries: test positions spread evenly. */
static int choose_positions(embed_bench *b, const embed_bench_options *o)
{
    sp_split_options so;
    sp_split_options_init(&so, SP_SPLIT_OPTIONS_VERSION);
    size_t train = 0, count = 0, tests = 0;
    int rc = sp_dataset_positions(b->ds, SP_PART_TRAIN, &so, NULL, 0, &train);
    if (rc == SP_OK || rc == SP_ERR_BUFFER_TOO_SMALL)
        rc = sp_dataset_positions(b->ds, SP_PART_TEST, &so, NULL, 0, &tests);
    if ((rc != SP_OK && rc != SP_ERR_BUFFER_TOO_SMALL) || train == 0 || tests == 0)
        return fail("positions", rc ? rc : SP_ERR_INVALID_ARG);
    so.keep_fraction = o->fraction > 0 ? (float)o->fraction
                     : o->positions >= train ? 1.0f : (float)((double)o->positions / (double)train * 1.02);
    if (so.keep_fraction > 1.0f)
        so.keep_fraction = 1.0f;
    rc = sp_dataset_positions(b->ds, SP_PART_TRAIN, &so, NULL, 0, &count);
    b->pos = malloc((count ? count : 1) * sizeof *b->pos);
    uint64_t *all = malloc(tests * sizeof *all);
    if (!b->pos || !all) {
        free(all);
        return fail("positions", SP_ERR_NOMEM);
    }
    if ((rc = sp_dataset_positions(b->ds, SP_PART_TRAIN, &so, b->pos, count, &count)) != SP_OK ||
        (rc = sp_dataset_positions(b->ds, SP_PART_TEST, NULL, all, tests, &tests)) != SP_OK) {
        free(all);
        return fail("positions", rc);
    }
    b->n = o->fraction > 0 || o->positions > count ? count : o->positions;
    b->nq = o->queries < tests ? o->queries : tests;
    b->qpos = malloc(b->nq * sizeof *b->qpos);
    if (!b->qpos) {
        free(all);
        return fail("positions", SP_ERR_NOMEM);
    }
    for (uint64_t i = 0; i < b->nq; i++)
        b->qpos[i] = all[i * tests / b->nq];
    free(all);
    printf("\n%llu of the %llu training positions (keep fraction %.4f), %llu test positions as queries\n",
           (unsigned long long)b->n, (unsigned long long)train, so.keep_fraction, (unsigned long long)b->nq);
    return 0;
}

/* Keys of positions by row of the sorted position list, for index_recall. */
typedef struct key_rows {
    const uint64_t *pos;
    const float *keys;
    uint64_t n;
    uint32_t dim;
} key_rows;

static int rows_keys(void *ctx, const uint64_t *ids, uint64_t n, float *out)
{
    const key_rows *t = ctx;
    for (uint64_t i = 0; i < n; i++) {
        const uint64_t *at = bsearch(&ids[i], t->pos, t->n, sizeof *t->pos, compare_ids);
        if (!at)
            return -1;
        memcpy(out + i * t->dim, t->keys + (uint64_t)(at - t->pos) * t->dim, t->dim * sizeof *out);
    }
    return 0;
}

/* Time and peak memory of embedding the positions (learned; raw as its
 * reference) and of indexing the learned keys; recall@10 against Flat. */
static int embed_and_index(embed_bench *b, const embed_bench_options *o)
{
    const uint32_t dim = sp_embedder_dim(b->learned[0]), raw_dim = sp_embedder_dim(b->raw), k = 10;
    uint32_t *games = malloc((b->n ? b->n : 1) * sizeof *games);
    b->keys = malloc((b->n ? b->n : 1) * (dim > raw_dim ? dim : raw_dim) * sizeof *b->keys);
    b->qkeys = malloc(b->nq * dim * sizeof *b->qkeys);
    b->exact_d = malloc(b->nq * k * sizeof *b->exact_d);
    b->ids = malloc(b->nq * k * sizeof *b->ids);
    int rc = games && b->keys && b->qkeys && b->exact_d && b->ids ? SP_OK : SP_ERR_NOMEM;
    double raw_mib = 0, learned_mib = 0, index_mib = 0, raw_s = 0, learned_s = 0, index_s = 0;
    if (rc == SP_OK) { /* the raw keys first, into the same array, overwritten by the learned ones */
        phase p = phase_begin();
        rc = sp_embedder_embed_positions(b->raw, b->ds, b->pos, b->n, b->keys, games);
        raw_s = phase_end(&p, &raw_mib);
    }
    if (rc == SP_OK) {
        phase p = phase_begin();
        rc = sp_embedder_embed_positions(b->learned[0], b->ds, b->pos, b->n, b->keys, games);
        learned_s = phase_end(&p, &learned_mib);
    }
    if (rc == SP_OK)
        rc = sp_embedder_embed_positions(b->learned[0], b->ds, b->qpos, b->nq, b->qkeys, NULL);
    char factory[128] = "";
    sp_retriever_options ro;
    sp_retriever_options_init(&ro, SP_RETRIEVER_OPTIONS_VERSION);
    ro.threads = o->threads;
    ro.embedder_id = sp_embedder_id(b->learned[0]);
    if (rc == SP_OK && (rc = sp_retriever_default_factory(dim, b->n, factory, sizeof factory)) == SP_OK) {
        ro.factory = factory;
        phase p = phase_begin();
        rc = sp_retriever_build(&b->index, b->keys, b->pos, games, b->n, dim, &ro);
        index_s = phase_end(&p, &index_mib);
    }
    sp_retriever_query q;
    sp_retriever_query_init(&q, SP_RETRIEVER_QUERY_VERSION);
    q.embedder_id = ro.embedder_id;
    q.threads = o->threads;
    ro.factory = "Flat";
    if (rc == SP_OK && (rc = sp_retriever_build(&b->exact, b->keys, b->pos, games, b->n, dim, &ro)) == SP_OK)
        rc = sp_retriever_search(b->exact, b->qkeys, b->nq, dim, k, &q, b->ids, b->exact_d, NULL);
    double qt = bench_now();
    if (rc == SP_OK)
        rc = sp_retriever_search(b->index, b->qkeys, b->nq, dim, k, &q, b->ids, NULL, NULL);
    qt = bench_now() - qt;
    free(games);
    if (rc != SP_OK)
        return fail("embedding and indexing", rc);
    key_rows rows = { b->pos, b->keys, b->n, dim };
    double recall = index_recall(b->qkeys, b->nq, dim, k, b->exact_d, b->ids, rows_keys, &rows);
    double rss, peak;
    memory_mib(&rss, &peak);
    printf("  %u worker%s / FAISS thread%s:\n", o->threads, o->threads > 1 ? "s" : "", o->threads > 1 ? "s" : "");
    printf("  %-44s %10s %12s %16s\n", "", "seconds", "positions/s", "peak MiB above start");
    printf("  %-44s %10.1f %12.0f %16.0f\n", "embed, raw-plane keys (reference)", raw_s, b->n / raw_s, raw_mib);
    printf("  %-44s %10.1f %12.0f %16.0f  (%.2fx raw's time)\n", "embed, learned keys", learned_s,
           b->n / learned_s, learned_mib, learned_s / raw_s);
    printf("  %-44s %10.1f %12.0f %16.0f\n", "index the learned keys", index_s, b->n / index_s, index_mib);
    printf("  index %s (default nprobe): recall@10 %.4f against exact search (Flat) over the same learned keys,\n"
           "  %llu test queries, %.0f queries/s; %.1f bytes/key; keys in memory %.0f MiB; process peak %.0f MiB\n",
           factory, recall, (unsigned long long)b->nq, b->nq / qt, sp_retriever_bytes_per_key(b->index),
           (double)b->n * dim * 4 / 1048576.0, peak);
    printf("  (a phase's peak counts the memory it touches first: the keys' array is the raw phase's)\n");
    if (raw_mib == 0 && learned_mib == 0)
        printf("  (peak memory per phase unavailable: /proc/self/clear_refs could not be written)\n");
    return 0;
}

static void load_average(char *out, size_t size)
{
    FILE *f = fopen("/proc/loadavg", "r");
    char line[128];
    snprintf(out, size, "unknown");
    if (f && fgets(line, sizeof line, f)) {
        char *third = line;
        for (int fields = 0; *third && fields < 3; third++)
            fields += *third == ' ';
        snprintf(out, size, "%.*s", (int)(third - line - (third > line)), line);
    }
    if (f)
        fclose(f);
}

int bench_embed(int argc, char **argv)
{
    embed_bench_options o = { .model = "models/baseline.spm", .positions = 100000, .queries = 1000, .sample = 10000,
                              .seconds = 1.0, .threads = 1, .runs = 3 };
    int rc = parse(&o, argc, argv);
    if (rc)
        return rc < 0 ? 0 : rc;
    sp_set_progress_callback(index_progress, NULL);
    char load_start[64], load_end[64];
    load_average(load_start, sizeof load_start);
    embed_bench b;
    memset(&b, 0, sizeof b);
    double t0 = bench_now();
    if ((rc = sp_dataset_load(&b.ds, o.spd)) != SP_OK) {
        rc = fail(o.spd, rc);
    } else {
        printf("dataset %s: %llu games, %llu positions; model %s\n", o.spd,
               (unsigned long long)sp_dataset_game_count(b.ds), (unsigned long long)sp_dataset_position_count(b.ds),
               o.model);
        rc = open_embedders(&b, &o) || batch_planes(&b) || keys_per_second(&b, &o) || choose_positions(&b, &o) ||
             embed_and_index(&b, &o);
    }
    load_average(load_end, sizeof load_end);
    printf("\nload average %s at the start, %s at the end; %.0f s in all\n", load_start, load_end,
           bench_now() - t0);
    close_bench(&b);
    return rc ? 1 : 0;
}
