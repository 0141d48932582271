/* sp-bench nn: oneDNN's sgemm on 2048x2048 (the machine's practical peak)
 * against the residual tower (3x3 stem from 18 planes, 6 blocks x 64
 * channels on 9x9): inference throughput at batch 256 in f32 and bf16,
 * training forward+backward at 256, and inference latency at small batches.
 * Uses the library's internal network toolkit (the networks' public API is
 * built on it). */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "nn/tower.h"

typedef struct nn_options {
    int runs;
    int threads;
    double seconds;
    int blocks, channels, planes;
} nn_options;

static int nn_usage(FILE *out)
{
    fprintf(out,
            "usage: sp-bench nn [--runs N] [--seconds S] [--threads T] [--blocks B] [--channels C]\n"
            "  --runs N       timed runs per figure; the median is reported (default 5)\n"
            "  --seconds S    minimum length of each timed run (default 0.5)\n"
            "  --threads T    OpenMP threads (default: OpenMP's default)\n"
            "  --blocks B     residual blocks (default 6)\n"
            "  --channels C   channels (default 64)\n");
    return out == stdout ? 0 : 2;
}

static void die(const char *what)
{
    fprintf(stderr, "sp-bench nn: %s: %s\n", what, sp_last_error());
    exit(1);
}

static double time_per_call(double seconds, bench_step_fn fn, void *ctx)
{
    double t = bench_time_per_call(seconds, fn, ctx);
    if (t < 0.0)
        die("timed call");
    return t;
}

typedef struct tower_ctx {
    sp__tower tower;
    sp__params params;
    sp__nn *nn;
    sp__tensor in, out, dout;
} tower_ctx;

static int infer_step(void *p)
{
    tower_ctx *t = p;
    return sp__tower_infer(&t->tower, &t->in, &t->out);
}

static int train_step(void *p)
{
    tower_ctx *t = p;
    int rc = sp__tower_forward(&t->tower, &t->in, 1);
    return rc ? rc : sp__tower_backward(&t->tower, &t->dout, 0);
}

static void tower_open(tower_ctx *t, const nn_options *o, int precision)
{
    memset(t, 0, sizeof *t);
    sp_nn_options no = SP_NN_OPTIONS_INIT;
    no.backend = SP_BACKEND_CPU;
    no.threads = o->threads;
    no.precision = precision;
    if (sp__nn_create(&t->nn, &no))
        die("engine");
    sp__params_setup(&t->params, t->nn);
    if (sp__tower_setup(&t->tower, &t->params, "tower", o->planes, o->channels, o->blocks) ||
        sp__params_initialise(&t->params, 1))
        die("tower");
}

static void tower_batch(tower_ctx *t, const nn_options *o, int64_t n)
{
    if (sp__tensor_ensure(&t->in, t->nn, n, o->planes, 9, 9) ||
        sp__tensor_ensure(&t->dout, t->nn, n, o->channels, 9, 9))
        die("tensors");
    size_t count = sp__tensor_count(&t->in), dcount = sp__tensor_count(&t->dout);
    float *v = malloc((count > dcount ? count : dcount) * sizeof *v);
    for (size_t i = 0; i < count; i++)
        v[i] = (float)((i * 2654435761u >> 7) % 2);
    sp__tensor_write(&t->in, v);
    for (size_t i = 0; i < dcount; i++)
        v[i] = (float)((double)((i * 2654435761u >> 5) % 1000) / 1000.0 - 0.5) * 1e-3f;
    sp__tensor_write(&t->dout, v);
    free(v);
}

static void tower_close(tower_ctx *t)
{
    sp__tensor_release(&t->in);
    sp__tensor_release(&t->out);
    sp__tensor_release(&t->dout);
    sp__tower_release(&t->tower);
    sp__params_release(&t->params);
    sp__nn_free(t->nn);
}

/* The figures, in the order they are printed. */
enum { F_F32_256, F_TRAIN_256, F_F32_1, F_F32_8, F_F32_32, F_BF16_256, F_BF16_1, FIGURES };
static const char *const figure_name[FIGURES] = {
    "forward f32, batch 256", "forward+backward, batch 256", "forward f32, batch 1", "forward f32, batch 8",
    "forward f32, batch 32",  "forward bf16, batch 256",     "forward bf16, batch 1",
};
static const int64_t figure_batch[FIGURES] = { 256, 256, 1, 8, 32, 256, 1 };

int bench_nn(int argc, char **argv)
{
    nn_options o = { 5, 0, 0.5, 6, 64, 18 };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (strcmp(a, "--help") == 0)
            return nn_usage(stdout);
        else if (strcmp(a, "--runs") == 0 && more)
            o.runs = atoi(argv[++i]);
        else if (strcmp(a, "--seconds") == 0 && more)
            o.seconds = atof(argv[++i]);
        else if (strcmp(a, "--threads") == 0 && more)
            o.threads = atoi(argv[++i]);
        else if (strcmp(a, "--blocks") == 0 && more)
            o.blocks = atoi(argv[++i]);
        else if (strcmp(a, "--channels") == 0 && more)
            o.channels = atoi(argv[++i]);
        else
            return nn_usage(stderr);
    }
    if (o.runs < 1 || o.runs > 1000 || o.seconds <= 0 || o.threads < 0 || o.blocks < 0 || o.channels < 1)
        return nn_usage(stderr);
    if (o.threads > 0)
        omp_set_num_threads(o.threads);

    bench_sgemm s;
    if (bench_sgemm_open(&s, 2048))
        die("sgemm matrices");
    /* 2*81*Cin*Cout*9 FLOPs per 3x3 convolution per position; backward 2x forward. */
    double fwd = 2.0 * 81 * 9 * ((double)o.planes * o.channels + 2.0 * o.blocks * o.channels * o.channels);

    tower_ctx f32, bf16;
    tower_open(&f32, &o, SP_PRECISION_F32);
    tower_open(&bf16, &o, SP_PRECISION_BF16);
    /* Warm-up: primitives for every batch size, blocked weights, folding.
     * A CPU without bf16 (AVX2 only) has no bf16 convolution: its rows say
     * so instead of ending the run. */
    char no_bf16[256] = "";
    bench_sgemm_rate(&s, 0.0);
    for (int f = 0; f < FIGURES && !(f >= F_BF16_256 && no_bf16[0]); f++) {
        tower_ctx *t = f >= F_BF16_256 ? &bf16 : &f32;
        tower_batch(t, &o, figure_batch[f]);
        for (int w = 0, rc; w < 2 && !no_bf16[0]; w++)
            if ((rc = f == F_TRAIN_256 ? train_step(t) : infer_step(t)) == SP_ERR_UNSUPPORTED && t == &bf16)
                snprintf(no_bf16, sizeof no_bf16, "%s", sp_last_error());
            else if (rc)
                die("warm-up");
    }
    const int figures = no_bf16[0] ? F_BF16_256 : FIGURES;
    /* Each round measures the sgemm and every figure back to back, so that a
     * ratio compares numbers taken under the same load; medians over rounds. */
    double *peak = calloc((size_t)o.runs, sizeof *peak), *secs[FIGURES], *ratio[FIGURES];
    for (int f = 0; f < FIGURES; f++) {
        secs[f] = calloc((size_t)o.runs, sizeof(double));
        ratio[f] = calloc((size_t)o.runs, sizeof(double));
    }
    for (int r = 0; r < o.runs; r++) {
        if ((peak[r] = bench_sgemm_rate(&s, o.seconds)) <= 0.0)
            die("sgemm");
        for (int f = 0; f < figures; f++) {
            tower_ctx *t = f >= F_BF16_256 ? &bf16 : &f32;
            tower_batch(t, &o, figure_batch[f]);
            secs[f][r] = time_per_call(o.seconds, f == F_TRAIN_256 ? train_step : infer_step, t);
            double flops = (f == F_TRAIN_256 ? 3.0 : 1.0) * fwd * (double)figure_batch[f];
            ratio[f][r] = flops / secs[f][r] / peak[r];
        }
    }
    double bf16_gain[1000];
    for (int r = 0; r < o.runs && !no_bf16[0]; r++)
        bf16_gain[r] = secs[F_F32_256][r] / secs[F_BF16_256][r];

    printf("nn: %d threads, %d rounds of >= %.2f s per figure (medians over rounds)\n", omp_get_max_threads(),
           o.runs, o.seconds);
    printf("  sgemm 2048x2048x2048 (peak reference)        %9.1f GFLOP/s\n", bench_median(peak, (size_t)o.runs) * 1e-9);
    printf("  tower: 3x3 stem %d->%d, %d blocks x %d channels, 9x9; %.2f MFLOP/position forward\n", o.planes,
           o.channels, o.blocks, o.channels, fwd * 1e-6);
    for (int f = 0; f < figures; f++) {
        double t = bench_median(secs[f], (size_t)o.runs);
        printf("  %-28s %9.3f ms  %9.0f pos/s  %5.2fx sgemm\n", figure_name[f], t * 1e3,
               (double)figure_batch[f] / t, bench_median(ratio[f], (size_t)o.runs));
    }
    if (no_bf16[0])
        printf("  forward bf16: unsupported on this CPU (%s)\n", no_bf16);
    else
        printf("  bf16 / f32 forward throughput at batch 256: %.2fx\n", bench_median(bf16_gain, (size_t)o.runs));
    printf("  convolution kernels: f32 %s, bf16 %s\n", sp__tower_infer_impl(&f32.tower),
           no_bf16[0] ? "none" : sp__tower_infer_impl(&bf16.tower));
    for (int f = 0; f < FIGURES; f++) {
        free(secs[f]);
        free(ratio[f]);
    }
    free(peak);
    bench_sgemm_close(&s);
    tower_close(&f32);
    tower_close(&bf16);
    return 0;
}
