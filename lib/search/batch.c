/* Model calls: the rows of a batch split into one fixed share per worker
 * index, run by a small pool of threads (the calling thread leads and may
 * run any share nobody has started), each share cut into calls of at most
 * max_batch rows. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "search_internal.h"

int sp__batch_reserve(sp__batch *b, int32_t rows, int32_t num_actions)
{
    if (rows <= b->cap && num_actions == b->num_actions)
        return SP_OK;
    sp__batch_free(b);
    size_t r = (size_t)rows, a = (size_t)num_actions;
    b->in_states = malloc(r * sizeof *b->in_states);
    b->actions = malloc(r * sizeof *b->actions);
    b->out_states = malloc(r * sizeof *b->out_states);
    b->rewards = malloc(r * sizeof *b->rewards);
    b->priors = malloc(r * a * sizeof *b->priors);
    b->values = malloc(r * sizeof *b->values);
    b->masks = malloc(r * a);
    b->terminal = malloc(r * sizeof *b->terminal);
    if (!b->in_states || !b->actions || !b->out_states || !b->rewards || !b->priors || !b->values || !b->masks ||
        !b->terminal) {
        sp__batch_free(b);
        return sp__error(SP_ERR_NOMEM, "search: out of memory for a batch of %d", rows);
    }
    b->cap = rows;
    b->num_actions = num_actions;
    return SP_OK;
}

void sp__batch_free(sp__batch *b)
{
    free(b->in_states);
    free(b->actions);
    free(b->out_states);
    free(b->rewards);
    free(b->priors);
    free(b->values);
    free(b->masks);
    free(b->terminal);
    memset(b, 0, sizeof *b);
}

void sp__batch_reset_rows(sp__batch *b, int32_t n)
{
    size_t r = (size_t)n, a = (size_t)b->num_actions;
    b->n = n;
    memset(b->out_states, 0, r * sizeof *b->out_states);
    memset(b->rewards, 0, r * sizeof *b->rewards);
    memset(b->priors, 0, r * a * sizeof *b->priors);
    memset(b->values, 0, r * sizeof *b->values);
    memset(b->masks, 1, r * a);
    memset(b->terminal, 0, r * sizeof *b->terminal);
}

int sp__callback_status(int rc, const char *what)
{
    if (rc < 0 && rc >= SP_ERR_INTERNAL)
        return sp__error(rc, "search: the model's %s inference failed: %s", what, sp_status_str(rc));
    return sp__error(SP_ERR_CANCELLED, "search: the model's %s inference returned %d", what, rc);
}

/* ---------------------------------------------------------------------- */

/* A batch is a few rows of a few microseconds each, about as long as a
 * futex wake-up takes on a VM: so both sides spin briefly on the atomics
 * before they sleep on the condition variables, which are kept for idle
 * pools and for machines where the other core is taken. */
#define SPIN_ROUNDS 4000

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Share w of a batch is rows [w n / W, (w + 1) n / W), always evaluated as
 * worker w: the model sees the same rows in the same order under the same
 * worker index run after run, whichever thread runs them. Whoever claims a
 * share first runs it: its worker, or the leader (the calling thread) once
 * its own share is done, so that a worker that is asleep, descheduled by
 * the host or slow to wake never holds the batch up. A share's claim and
 * done tags hold the generation (batch number) they were last set for. */
struct sp__pool {
    int threads;
    pthread_t *ids;
    pthread_mutex_t lock;
    pthread_cond_t start, done;
    _Atomic uint64_t generation;
    _Atomic uint64_t *claimed; /* per share */
    _Atomic uint64_t *finished;
    atomic_int quit;
    const sp_search_model *model;
    sp__batch *batch;
    int *rc;
};

typedef struct worker_arg {
    sp__pool *pool;
    int index;
} worker_arg;

static int call_rows(const sp_search_model *m, sp__batch *b, int worker, int32_t first, int32_t n)
{
    const size_t A = (size_t)b->num_actions;
    return m->recurrent(worker, (size_t)n, b->in_states + first, b->actions + first, b->out_states + first,
                        b->rewards + first, b->priors + (size_t)first * A, b->values + first,
                        b->masks + (size_t)first * A, b->terminal + first, m->payload);
}

static int run_share(const sp_search_model *m, sp__batch *b, int worker, int workers)
{
    const int32_t lo = (int32_t)((int64_t)b->n * worker / workers);
    const int32_t hi = (int32_t)((int64_t)b->n * (worker + 1) / workers);
    const int32_t step = m->max_batch > 0 ? m->max_batch : (hi - lo > 0 ? hi - lo : 1);
    for (int32_t r = lo; r < hi; r += step) {
        int rc = call_rows(m, b, worker, r, hi - r < step ? hi - r : step);
        if (rc)
            return rc;
    }
    return 0;
}

/* Claim share w of batch `gen` (its claim tag moves from gen - 1 to gen)
 * and run it; returns 0 when someone else had claimed it. */
static int claim_and_run(sp__pool *p, int w, uint64_t gen)
{
    uint64_t expected = gen - 1;
    if (!atomic_compare_exchange_strong_explicit(&p->claimed[w], &expected, gen, memory_order_acq_rel,
                                                 memory_order_relaxed))
        return 0;
    p->rc[w] = run_share(p->model, p->batch, w, p->threads);
    atomic_store_explicit(&p->finished[w], gen, memory_order_release);
    return 1;
}

static void *worker_main(void *arg)
{
    worker_arg *w = arg;
    sp__pool *p = w->pool;
    uint64_t seen = 0;
    for (;;) {
        for (int i = 0; i < SPIN_ROUNDS && atomic_load_explicit(&p->generation, memory_order_acquire) == seen
                        && !atomic_load_explicit(&p->quit, memory_order_relaxed); i++)
            cpu_relax();
        if (atomic_load_explicit(&p->generation, memory_order_acquire) == seen) {
            pthread_mutex_lock(&p->lock);
            while (!atomic_load(&p->quit) && atomic_load(&p->generation) == seen)
                pthread_cond_wait(&p->start, &p->lock);
            pthread_mutex_unlock(&p->lock);
        }
        if (atomic_load(&p->quit))
            break;
        seen = atomic_load_explicit(&p->generation, memory_order_acquire);
        if (claim_and_run(p, w->index, seen)) {
            /* Under the lock, so a leader about to sleep cannot miss it. */
            pthread_mutex_lock(&p->lock);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->lock);
        }
    }
    free(w);
    return NULL;
}

void sp__pool_free(sp__pool *p)
{
    if (!p)
        return;
    if (p->ids) {
        pthread_mutex_lock(&p->lock);
        atomic_store(&p->quit, 1);
        pthread_cond_broadcast(&p->start);
        pthread_mutex_unlock(&p->lock);
        for (int i = 1; i < p->threads; i++)
            if (p->ids[i])
                pthread_join(p->ids[i], NULL);
    }
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->start);
    pthread_cond_destroy(&p->done);
    free(p->ids);
    free(p->rc);
    free((void *)p->claimed);
    free((void *)p->finished);
    free(p);
}

int sp__pool_create(sp__pool **out, int threads)
{
    *out = NULL;
    sp__pool *p = calloc(1, sizeof *p);
    if (!p)
        return sp__error(SP_ERR_NOMEM, "search: out of memory for the thread pool");
    p->threads = threads;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->start, NULL);
    pthread_cond_init(&p->done, NULL);
    p->rc = calloc((size_t)threads, sizeof *p->rc);
    p->ids = calloc((size_t)threads, sizeof *p->ids);
    p->claimed = calloc((size_t)threads, sizeof *p->claimed);
    p->finished = calloc((size_t)threads, sizeof *p->finished);
    if (!p->rc || !p->ids || !p->claimed || !p->finished) {
        sp__pool_free(p);
        return sp__error(SP_ERR_NOMEM, "search: out of memory for the thread pool");
    }
    for (int i = 1; i < threads; i++) {
        worker_arg *w = malloc(sizeof *w);
        if (w) {
            w->pool = p;
            w->index = i;
        }
        if (!w || pthread_create(&p->ids[i], NULL, worker_main, w)) {
            free(w);
            p->ids[i] = 0;
            sp__pool_free(p);
            return sp__error(SP_ERR_INTERNAL, "search: could not start worker thread %d", i);
        }
    }
    *out = p;
    return SP_OK;
}

/* Wait until share w of batch `gen`, claimed by its worker, is done. */
static void wait_finished(sp__pool *p, int w, uint64_t gen)
{
    for (int i = 0; i < SPIN_ROUNDS && atomic_load_explicit(&p->finished[w], memory_order_acquire) != gen; i++)
        cpu_relax();
    if (atomic_load_explicit(&p->finished[w], memory_order_acquire) != gen) {
        pthread_mutex_lock(&p->lock);
        while (atomic_load(&p->finished[w]) != gen)
            pthread_cond_wait(&p->done, &p->lock);
        pthread_mutex_unlock(&p->lock);
    }
}

int sp__batch_recurrent(sp__pool *p, const sp_search_model *m, sp__batch *b)
{
    if (b->n == 0)
        return SP_OK;
    /* Too few rows to share: stay on this thread. */
    if (!p || p->threads < 2 || b->n < 2) {
        int rc = run_share(m, b, 0, 1);
        return rc ? sp__callback_status(rc, "recurrent") : SP_OK;
    }
    const int workers = p->threads;
    p->model = m;
    p->batch = b;
    /* Every shared batch gets all shares 1.. claimed, so their claim tags
     * stand at gen - 1 here. The leader's own share 0 needs no claim. */
    const uint64_t gen = atomic_load_explicit(&p->generation, memory_order_relaxed) + 1;
    atomic_store_explicit(&p->generation, gen, memory_order_release);
    /* Wakes only workers that gave up spinning; cheap when none sleeps. */
    pthread_mutex_lock(&p->lock);
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->lock);
    p->rc[0] = run_share(m, b, 0, workers);
    for (int w = 1; w < workers; w++)
        if (!claim_and_run(p, w, gen))
            wait_finished(p, w, gen);
    for (int i = 0; i < workers; i++)
        if (p->rc[i])
            return sp__callback_status(p->rc[i], "recurrent");
    return SP_OK;
}
