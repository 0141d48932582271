/* sp-bench model, search part: simulations/s of the searcher over the
 * model's learned dynamics, and the share of the wall time during which no
 * network call is in flight. That share is the searcher's own work
 * (selection, expansion, backup, gathering a batch, releasing a tree) that
 * the network waits for. The callbacks of the model's public
 * sp_search_model are wrapped in timers: nothing inside the library is
 * instrumented, so "the network" is the whole callback, which also turns
 * logits into priors and copies hidden states. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "bench_model.h"

struct bench_model_search {
    sp_search_model inner; /* the model's own callbacks */
    sp_search *search;
    pthread_mutex_t lock;  /* the counters below; held for a few instructions per call */
    int active;            /* network calls in flight (one per search worker at most) */
    double busy_since;     /* when `active` last rose from 0 */
    double busy;           /* seconds with at least one call in flight */
    long calls, rows;
};

/* The busy time is the union of the calls' intervals, not their sum: with
 * two workers, two calls at once are one stretch of network time. */
static double call_enter(bench_model_search *b)
{
    double now = bench_now();
    pthread_mutex_lock(&b->lock);
    if (b->active++ == 0)
        b->busy_since = now;
    pthread_mutex_unlock(&b->lock);
    return now;
}

static void call_leave(bench_model_search *b, size_t n)
{
    double now = bench_now();
    pthread_mutex_lock(&b->lock);
    if (--b->active == 0)
        b->busy += now - b->busy_since;
    b->calls++;
    b->rows += (long)n;
    pthread_mutex_unlock(&b->lock);
}

static int timed_initial(int worker, size_t n, void *const *inputs, void **out_states, float *out_priors,
                         float *out_values, uint8_t *masks, int32_t *terminal, void *payload)
{
    bench_model_search *b = payload;
    call_enter(b);
    int rc = b->inner.initial(worker, n, inputs, out_states, out_priors, out_values, masks, terminal,
                              b->inner.payload);
    call_leave(b, n);
    return rc;
}

static int timed_recurrent(int worker, size_t n, void *const *states, const int32_t *actions, void **out_states,
                           float *out_rewards, float *out_priors, float *out_values, uint8_t *masks,
                           int32_t *terminal, void *payload)
{
    bench_model_search *b = payload;
    call_enter(b);
    int rc = b->inner.recurrent(worker, n, states, actions, out_states, out_rewards, out_priors, out_values, masks,
                                terminal, b->inner.payload);
    call_leave(b, n);
    return rc;
}

/* Giving states back is the tree's bookkeeping: counted outside the network. */
static void forward_release(void *state, void *payload)
{
    bench_model_search *b = payload;
    b->inner.release(state, b->inner.payload);
}

int bench_model_search_open(bench_model_search **out, sp_model *m, int threads, int batch, int simulations, int fpu)
{
    *out = NULL;
    bench_model_search *b = calloc(1, sizeof *b);
    if (!b) {
        fprintf(stderr, "sp-bench model: out of memory\n");
        return -1;
    }
    pthread_mutex_init(&b->lock, NULL);
    sp_search_model timed;
    sp_search_options so = SP_SEARCH_OPTIONS_INIT;
    so.simulations = simulations;
    so.threads = threads;
    so.batch_size = batch;
    so.fpu = fpu;
    if (sp_model_search_model(m, NULL, &b->inner)) {
        fprintf(stderr, "sp-bench model: the searcher model: %s\n", sp_last_error());
        bench_model_search_close(b);
        return -1;
    }
    timed = b->inner;
    timed.initial = timed_initial;
    timed.recurrent = timed_recurrent;
    timed.release = b->inner.release ? forward_release : NULL;
    timed.payload = b;
    if (sp_search_create(&b->search, &timed, &so)) {
        fprintf(stderr, "sp-bench model: search with %d threads, batch %d: %s\n", threads, batch, sp_last_error());
        bench_model_search_close(b);
        return -1;
    }
    *out = b;
    return 0;
}

int bench_model_search_time(bench_model_search *b, const sp_game *root, int searches, bench_search_figure *out)
{
    pthread_mutex_lock(&b->lock);
    b->busy = 0.0;
    b->calls = b->rows = 0;
    pthread_mutex_unlock(&b->lock);
    long simulations = 0;
    double start = bench_now();
    for (int i = 0; i < searches; i++) {
        int32_t done = 0;
        /* The search does not write through its root input: the cast only
         * meets sp_search_run()'s generic `void *`. */
        if (sp_search_reset(b->search) || sp_search_run(b->search, (void *)root, NULL, NULL) ||
            sp_search_root_value(b->search, NULL, &done)) {
            fprintf(stderr, "sp-bench model: search: %s\n", sp_last_error());
            return -1;
        }
        simulations += done;
    }
    double wall = bench_now() - start;
    pthread_mutex_lock(&b->lock);
    out->rate = (double)simulations / wall;
    out->outside = 1.0 - b->busy / wall;
    out->rows = b->calls ? (double)b->rows / (double)b->calls : 0.0;
    pthread_mutex_unlock(&b->lock);
    return 0;
}

void bench_model_search_close(bench_model_search *b)
{
    if (!b)
        return;
    sp_search_free(b->search);
    pthread_mutex_destroy(&b->lock);
    free(b);
}
