/* sp-bench search: simulations per second of the searcher on 9x9-sized
 * trees (82 actions). With a zero-cost model the figure is the searcher's
 * own overhead (selection, expansion, backup, batching); with the playout
 * evaluator it is what play gets. Each at 1 and 2 threads. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include <semiparam.h>

#include "bench.h"

#define ACTIONS 82

/* States are 64-bit ids packed into the pointer: nothing to allocate. */
static uint64_t mix(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x7fb5d329728ea185ULL;
    x ^= x >> 27;
    return x;
}

static void zero_fill(uint64_t id, float *prior, float *value)
{
    for (int a = 0; a < ACTIONS; a++)
        prior[a] = 1.0f;
    *value = (float)((id >> 11) * 0x1.0p-53) * 2.0f - 1.0f;
}

static int zero_initial(int worker, size_t n, void *const *inputs, void **out_states, float *out_priors,
                        float *out_values, uint8_t *masks, int32_t *terminal, void *payload)
{
    for (size_t i = 0; i < n; i++) {
        out_states[i] = (void *)(uintptr_t)1;
        zero_fill(1, out_priors + i * ACTIONS, &out_values[i]);
    }
    return 0;
}

static int zero_recurrent(int worker, size_t n, void *const *states, const int32_t *actions, void **out_states,
                          float *out_rewards, float *out_priors, float *out_values, uint8_t *masks, int32_t *terminal,
                          void *payload)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t id = mix((uint64_t)(uintptr_t)states[i] * 131 + (uint64_t)actions[i] + 1);
        out_states[i] = (void *)(uintptr_t)id;
        zero_fill(id, out_priors + i * ACTIONS, &out_values[i]);
    }
    return 0;
}

/* A model that waits a fixed time per row and does nothing else: how a
 * latency-bound backend sees the searcher, and how far the worker threads
 * overlap whatever the load of the machine. */
static long wait_ns = 100000;

static int sleep_recurrent(int worker, size_t n, void *const *states, const int32_t *actions, void **out_states,
                           float *out_rewards, float *out_priors, float *out_values, uint8_t *masks,
                           int32_t *terminal, void *payload)
{
    long long total = (long long)wait_ns * (long long)n;
    struct timespec wait = { (time_t)(total / 1000000000LL), (long)(total % 1000000000LL) };
    nanosleep(&wait, NULL);
    return zero_recurrent(worker, n, states, actions, out_states, out_rewards, out_priors, out_values, masks,
                          terminal, payload);
}

typedef struct search_options {
    int runs;
    int simulations;
    int searches;
    int playouts;
    int fpu;
    int callgrind;
    long zero_searches; /* run exactly this many zero-model searches, print nothing (under valgrind) */
} search_options;

static int search_usage(FILE *out)
{
    fprintf(out, "usage: sp-bench search [--runs N] [--simulations N] [--searches N] [--playouts M] [--fpu zero|parent]\n"
                 "                        [--callgrind]\n"
                 "  --runs N         timed repetitions; the median is reported (default 5)\n"
                 "  --simulations N  simulations per search (default 1000)\n"
                 "  --searches N     searches per timed repetition (default 20)\n"
                 "  --playouts M     random playouts per evaluated position (default 1)\n"
                 "  --fpu KIND       value of unvisited actions: parent (default, as sp-gtp) or zero (MuZero)\n"
                 "  --wait-us N      latency per row of the waiting model (default 100, at most 400000)\n"
                 "  --callgrind      also count instructions per tree-only simulation under valgrind\n");
    return out == stdout ? 0 : 2;
}

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Simulations per wall-clock second of `searches` fresh searches, and per
 * CPU-second of the process in *cpu_rate; 0 on failure. */
static double time_searches(const sp_search_model *m, const sp_search_options *so, void *root, int searches,
                            double *cpu_rate)
{
    sp_search *s;
    if (sp_search_create(&s, m, so)) {
        fprintf(stderr, "sp-bench search: %s\n", sp_last_error());
        return 0.0;
    }
    double start = bench_now(), cpu_start = cpu_now();
    long sims = 0;
    for (int i = 0; i < searches; i++) {
        int32_t done;
        if (sp_search_reset(s) || sp_search_run(s, root, NULL, NULL) || sp_search_root_value(s, NULL, &done)) {
            fprintf(stderr, "sp-bench search: %s\n", sp_last_error());
            sp_search_free(s);
            return 0.0;
        }
        sims += done;
    }
    double rate = (double)sims / (bench_now() - start);
    if (cpu_rate)
        *cpu_rate = (double)sims / (cpu_now() - cpu_start);
    sp_search_free(s);
    return rate;
}

/* Instructions callgrind counts for `sp-bench search --zero-searches n`. */
static double callgrind_instructions(const search_options *o, long n)
{
    char args[160];
    snprintf(args, sizeof args, "search --simulations %d --fpu %s --zero-searches %ld", o->simulations,
             o->fpu == SP_SEARCH_FPU_ZERO ? "zero" : "parent", n);
    return bench_callgrind(args);
}

static double median_rate(const search_options *o, const sp_search_model *m, int threads, int batch, void *root,
                          double *cpu_rate)
{
    sp_search_options so = SP_SEARCH_OPTIONS_INIT;
    so.simulations = o->simulations;
    so.threads = threads;
    so.batch_size = batch;
    so.fpu = o->fpu;
    double rates[100], cpu[100];
    for (int r = 0; r < o->runs; r++)
        rates[r] = time_searches(m, &so, root, o->searches, &cpu[r]);
    *cpu_rate = bench_median(cpu, (size_t)o->runs);
    return bench_median(rates, (size_t)o->runs);
}

/* Two 1-thread searches, each on its own thread and model, at the same
 * time: what two cores of this machine give on this work when nothing is
 * shared, the reference for a 2-thread search. */
typedef struct solo_job {
    const search_options *o;
    const sp_search_model *m;
    const sp_search_options *so;
    void *root;
    double rate;
} solo_job;

static void *solo_main(void *arg)
{
    solo_job *j = arg;
    j->rate = time_searches(j->m, j->so, j->root, j->o->searches, NULL);
    return NULL;
}

static double time_two_solo(const search_options *o, const sp_search_model *const m[2], const sp_search_options *so,
                            void *root)
{
    solo_job jobs[2];
    pthread_t other;
    for (int i = 0; i < 2; i++)
        jobs[i] = (solo_job){ o, m[i], so, root, 0.0 };
    if (pthread_create(&other, NULL, solo_main, &jobs[1]))
        return 0.0;
    solo_main(&jobs[0]);
    pthread_join(other, NULL);
    return jobs[0].rate > 0.0 && jobs[1].rate > 0.0 ? jobs[0].rate + jobs[1].rate : 0.0;
}

typedef struct scaling {
    double two, two_lo, two_hi; /* 2-thread search / 1-thread search */
    double solo, solo_lo, solo_hi; /* two 1-thread searches at once / one alone */
} scaling;

/* o->runs rounds of (1 thread, 2 threads, two solo 1-thread searches) at
 * `batch`, timed back to back so that each round sees the same minutes of a
 * noisy machine; medians and ranges of the per-round ratios. m[1] is a
 * second model for the second solo search (models may keep per-worker
 * state, which two searches must not share). */
static int measure_scaling(const search_options *o, const sp_search_model *const m[2], int batch, void *root,
                           scaling *out)
{
    sp_search_options so = SP_SEARCH_OPTIONS_INIT;
    so.simulations = o->simulations;
    so.batch_size = batch;
    so.fpu = o->fpu;
    double two[100], solo[100];
    for (int r = 0; r < o->runs; r++) {
        so.threads = 1;
        double one = time_searches(m[0], &so, root, o->searches, NULL);
        double pair = time_two_solo(o, m, &so, root);
        so.threads = 2;
        double both = time_searches(m[0], &so, root, o->searches, NULL);
        if (one <= 0.0 || both <= 0.0 || pair <= 0.0)
            return 1;
        two[r] = both / one;
        solo[r] = pair / one;
    }
    out->two = bench_median(two, (size_t)o->runs);
    out->two_lo = two[0];
    out->two_hi = two[o->runs - 1];
    out->solo = bench_median(solo, (size_t)o->runs);
    out->solo_lo = solo[0];
    out->solo_hi = solo[o->runs - 1];
    return 0;
}

int bench_search(int argc, char **argv)
{
    search_options o = { 5, 1000, 20, 1, SP_SEARCH_FPU_PARENT, 0, -1 };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (strcmp(a, "--help") == 0)
            return search_usage(stdout);
        else if (strcmp(a, "--runs") == 0 && more)
            o.runs = atoi(argv[++i]);
        else if (strcmp(a, "--simulations") == 0 && more)
            o.simulations = atoi(argv[++i]);
        else if (strcmp(a, "--searches") == 0 && more)
            o.searches = atoi(argv[++i]);
        else if (strcmp(a, "--playouts") == 0 && more)
            o.playouts = atoi(argv[++i]);
        else if (strcmp(a, "--fpu") == 0 && more && (!strcmp(argv[i + 1], "zero") || !strcmp(argv[i + 1], "parent")))
            o.fpu = strcmp(argv[++i], "zero") ? SP_SEARCH_FPU_PARENT : SP_SEARCH_FPU_ZERO;
        else if (strcmp(a, "--wait-us") == 0 && more)
            wait_ns = 1000L * atol(argv[++i]);
        else if (strcmp(a, "--callgrind") == 0)
            o.callgrind = 1;
        else if (strcmp(a, "--zero-searches") == 0 && more)
            o.zero_searches = atol(argv[++i]);
        else
            return search_usage(stderr);
    }
    if (o.runs < 1 || o.runs > 100 || o.simulations < 1 || o.searches < 1 || o.playouts < 1 || wait_ns < 0 ||
        wait_ns > 400000000L)
        return search_usage(stderr);

    sp_search_model zero = SP_SEARCH_MODEL_INIT;
    zero.num_actions = ACTIONS;
    zero.initial = zero_initial;
    zero.recurrent = zero_recurrent;

    if (o.zero_searches >= 0) {
        sp_search_options so = SP_SEARCH_OPTIONS_INIT;
        so.simulations = o.simulations;
        so.fpu = o.fpu;
        return time_searches(&zero, &so, NULL, (int)o.zero_searches, NULL) > 0.0 || o.zero_searches == 0 ? 0 : 1;
    }

    /* Wake the waiting model on time (the default timer slack is 50 us);
     * the search's workers inherit it when they are created. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    sp_search_model sleeping = zero;
    sleeping.recurrent = sleep_recurrent;

    sp_go_evaluator_options eo = SP_GO_EVALUATOR_OPTIONS_INIT;
    eo.threads = 2;
    eo.playouts = o.playouts;
    sp_go_evaluator *ev;
    sp_game *game;
    sp_go_evaluator *ev2; /* for the second of two searches at once */
    sp_search_model playout, playout2;
    if (sp_go_evaluator_create(&ev, &eo) || sp_go_evaluator_create(&ev2, &eo) || sp_game_create(&game, NULL) ||
        sp_go_evaluator_model(ev, &playout) || sp_go_evaluator_model(ev2, &playout2)) {
        fprintf(stderr, "sp-bench search: %s\n", sp_last_error());
        return 1;
    }
    printf("search: pUCT (fpu %s), %d simulations per search from the empty 9x9 board (82 actions),"
           " %d searches per run, median of %d runs; the waiting model waits %ld us per row\n",
           o.fpu == SP_SEARCH_FPU_ZERO ? "zero" : "parent", o.simulations, o.searches, o.runs, wait_ns / 1000);
    printf("  %-40s %14s %14s %16s\n", "", "simulations/s", "us/simulation", "per CPU-second");
    const struct {
        const char *name;
        const sp_search_model *model;
        int threads, batch;
    } rows[] = {
        { "zero-cost model, 1 thread (tree overhead)", &zero, 1, 1 },
        { "zero-cost model, 2 threads, batch 2", &zero, 2, 2 },
        { "zero-cost model, 1 thread, batch 8", &zero, 1, 8 },
        { "playout evaluator, 1 thread", &playout, 1, 1 },
        { "playout evaluator, 2 threads, batch 2", &playout, 2, 2 },
        { "playout evaluator, 2 threads, batch 8", &playout, 2, 8 },
        { "playout evaluator, 1 thread, batch 8", &playout, 1, 8 },
        { "playout evaluator, 2 threads, batch 32", &playout, 2, 32 },
        { "playout evaluator, 1 thread, batch 32", &playout, 1, 32 },
        { "waiting model, 1 thread, batch 2", &sleeping, 1, 2 },
        { "waiting model, 2 threads, batch 2", &sleeping, 2, 2 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        double cpu_rate;
        double rate = median_rate(&o, rows[i].model, rows[i].threads, rows[i].batch, game, &cpu_rate);
        if (rate <= 0.0)
            return 1;
        printf("  %-40s %14.0f %14.2f %16.0f\n", rows[i].name, rate, 1e6 / rate, cpu_rate);
    }
    /* Scaling to 2 threads: 1 and 2 threads at the same batch size (two
     * threads keep two batches in flight, so their search has twice the
     * virtual loss), and the machine's own 2-core figure on the same work in
     * the same rounds. */
    printf("  2 threads against 1 at the same batch, %d rounds (median, min-max),"
           " beside two 1-thread searches at once:\n",
           o.runs);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (rows[i].threads != 2 || rows[i].model == &zero)
            continue;
        const sp_search_model *pair[2] = { rows[i].model, rows[i].model == &playout ? &playout2 : rows[i].model };
        scaling sc;
        if (measure_scaling(&o, pair, rows[i].batch, game, &sc))
            return 1;
        printf("  %-40s  x%.2f (x%.2f-x%.2f); two searches x%.2f (x%.2f-x%.2f); %.0f%% of it\n", rows[i].name, sc.two,
               sc.two_lo, sc.two_hi, sc.solo, sc.solo_lo, sc.solo_hi, 100.0 * sc.two / sc.solo);
    }
    sp_game_free(game);
    sp_go_evaluator_free(ev);
    sp_go_evaluator_free(ev2);
    if (o.callgrind) {
        const long n = 20;
        double base = callgrind_instructions(&o, 0), with = callgrind_instructions(&o, n);
        if (base < 0 || with < 0) {
            fprintf(stderr, "sp-bench search: valgrind --tool=callgrind failed (is valgrind installed?)\n");
            return 1;
        }
        printf("  instructions/simulation, zero-cost model, 1 thread: %.0f (callgrind, %ld searches minus none)\n",
               (with - base) / ((double)n * o.simulations), n);
    }
    return 0;
}
