/* Model calls: the rows of a batch split into one fixed lane per worker
 * index, each lane cut into calls of at most max_batch rows, run by a small
 * pool of threads and the calling thread, with up to two batches in flight. */
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
    /* The callback's own message says what failed (sp__error formats before it writes). */
    if (rc < 0 && rc >= SP_ERR_INTERNAL)
        return sp__error(rc, "search: the model's %s inference failed: %s", what,
                         sp_last_error()[0] ? sp_last_error() : sp_status_str(rc));
    return sp__error(SP_ERR_CANCELLED, "search: the model's %s inference returned %d", what, rc);
}

/* ---------------------------------------------------------------------- */

/* A batch is a few rows of a few microseconds each, about as long as a
 * futex wake-up takes on a VM: so idle threads spin briefly on an atomic
 * before they sleep on the condition variables, which are kept for idle
 * pools and for machines where the other core is taken. */
#define SPIN_ROUNDS 4000

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Lanes: lane w of a batch of n rows is rows [w n / W, (w + 1) n / W),
 * always evaluated as worker w, in calls (chunks) of at most max_batch rows
 * that start at fixed rows and run one at a time and in order, batch after
 * batch, by whichever thread takes them. So the model sees the same calls
 * under the same worker index run after run, however the threads share
 * them out, and any thread can take over a lane whose owner is busy,
 * asleep or descheduled by the host: with two batches in flight a free
 * thread always finds a chunk while the leader selects. */
typedef struct flight_rows {
    sp__batch *b; /* NULL: slot free */
    const sp_search_model *m;
    int32_t *next, *end; /* per lane: first row not handed out, end of the lane */
    int32_t rows_left;   /* rows not finished */
    int rc;
    uint64_t order;      /* launch number: lanes run older batches first */
} flight_rows;

struct sp__pool {
    int threads;
    pthread_t *ids;
    pthread_mutex_t lock; /* guards everything below but the hints */
    pthread_cond_t work, done;
    int sleepers, leader_sleeps, quit;
    flight_rows slot[2];
    uint64_t launched;
    uint8_t *lane_busy;
    atomic_uint work_hint; /* bumped when a chunk may have become free */
    atomic_uint done_hint; /* bumped when a chunk finished */
};

typedef struct chunk {
    flight_rows *f;
    int lane;
    int32_t first, n;
} chunk;

/* Under the lock: the next chunk a free thread should run, preferring the
 * oldest batch (the leader backs batches up in order) and in it the lane
 * with the most rows left. Returns 0 when none can run now. */
static int take_chunk(sp__pool *p, chunk *out)
{
    flight_rows *best = NULL;
    int best_lane = -1;
    for (int w = 0; w < p->threads; w++) {
        if (p->lane_busy[w])
            continue;
        /* The lane's next chunk is in its oldest batch with rows left. */
        flight_rows *f = NULL;
        for (int k = 0; k < 2; k++) {
            flight_rows *c = &p->slot[k];
            if (c->b && c->next[w] < c->end[w] && (!f || c->order < f->order))
                f = c;
        }
        if (!f)
            continue;
        if (!best || f->order < best->order ||
            (f == best && f->end[w] - f->next[w] > best->end[best_lane] - best->next[best_lane])) {
            best = f;
            best_lane = w;
        }
    }
    if (!best)
        return 0;
    const int32_t left = best->end[best_lane] - best->next[best_lane];
    const int32_t step = best->m->max_batch > 0 ? best->m->max_batch : left;
    out->f = best;
    out->lane = best_lane;
    out->first = best->next[best_lane];
    out->n = left < step ? left : step;
    best->next[best_lane] += out->n;
    p->lane_busy[best_lane] = 1;
    return 1;
}

static int call_rows(const sp_search_model *m, sp__batch *b, int worker, int32_t first, int32_t n)
{
    const size_t A = (size_t)b->num_actions;
    return m->recurrent(worker, (size_t)n, b->in_states + first, b->actions + first, b->out_states + first,
                        b->rewards + first, b->priors + (size_t)first * A, b->values + first,
                        b->masks + (size_t)first * A, b->terminal + first, m->payload);
}

/* Run a chunk taken under the lock: unlocks while the model works. */
static void run_chunk(sp__pool *p, const chunk *c)
{
    pthread_mutex_unlock(&p->lock);
    int rc = call_rows(c->f->m, c->f->b, c->lane, c->first, c->n);
    pthread_mutex_lock(&p->lock);
    p->lane_busy[c->lane] = 0;
    c->f->rows_left -= c->n;
    if (rc && !c->f->rc)
        c->f->rc = rc;
    /* The lane's next chunk may now run; a finished batch wakes the leader. */
    atomic_fetch_add_explicit(&p->work_hint, 1, memory_order_release);
    atomic_fetch_add_explicit(&p->done_hint, 1, memory_order_release);
    if (p->sleepers)
        pthread_cond_broadcast(&p->work);
    if (p->leader_sleeps && c->f->rows_left == 0)
        pthread_cond_signal(&p->done);
}

/* Spin until *hint moves from `seen` (or give up): 1 when it moved. */
static int spin_on(const atomic_uint *hint, unsigned seen)
{
    for (int i = 0; i < SPIN_ROUNDS; i++) {
        if (atomic_load_explicit(hint, memory_order_acquire) != seen)
            return 1;
        cpu_relax();
    }
    return 0;
}

/* Under the lock: run a chunk if one can run now; else spin (unlocked)
 * until `hint` moves, and sleep on `cond` if it did not. The caller loops,
 * rechecking what it waits for. */
static void help_or_wait(sp__pool *p, atomic_uint *hint, pthread_cond_t *cond, int *sleeping)
{
    chunk c;
    if (take_chunk(p, &c)) {
        run_chunk(p, &c);
        return;
    }
    const unsigned seen = atomic_load_explicit(hint, memory_order_acquire);
    pthread_mutex_unlock(&p->lock);
    const int moved = spin_on(hint, seen);
    pthread_mutex_lock(&p->lock);
    if (!moved && !p->quit && atomic_load(hint) == seen) {
        (*sleeping)++;
        pthread_cond_wait(cond, &p->lock);
        (*sleeping)--;
    }
}

static void *worker_main(void *arg)
{
    sp__pool *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!p->quit)
        help_or_wait(p, &p->work_hint, &p->work, &p->sleepers);
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

void sp__pool_free(sp__pool *p)
{
    if (!p)
        return;
    if (p->ids) {
        pthread_mutex_lock(&p->lock);
        p->quit = 1;
        atomic_fetch_add(&p->work_hint, 1);
        pthread_cond_broadcast(&p->work);
        pthread_mutex_unlock(&p->lock);
        for (int i = 1; i < p->threads; i++)
            if (p->ids[i])
                pthread_join(p->ids[i], NULL);
    }
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    free(p->ids);
    free(p->lane_busy);
    for (int k = 0; k < 2; k++) {
        free(p->slot[k].next);
        free(p->slot[k].end);
    }
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
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    p->ids = calloc((size_t)threads, sizeof *p->ids);
    p->lane_busy = calloc((size_t)threads, 1);
    int ok = p->ids && p->lane_busy;
    for (int k = 0; k < 2 && ok; k++) {
        p->slot[k].next = calloc((size_t)threads, sizeof *p->slot[k].next);
        p->slot[k].end = calloc((size_t)threads, sizeof *p->slot[k].end);
        ok = p->slot[k].next && p->slot[k].end;
    }
    if (!ok) {
        sp__pool_free(p);
        return sp__error(SP_ERR_NOMEM, "search: out of memory for the thread pool");
    }
    for (int i = 1; i < threads; i++) {
        if (pthread_create(&p->ids[i], NULL, worker_main, p)) {
            p->ids[i] = 0;
            sp__pool_free(p);
            return sp__error(SP_ERR_INTERNAL, "search: could not start worker thread %d", i);
        }
    }
    *out = p;
    return SP_OK;
}

void sp__pool_launch(sp__pool *p, const sp_search_model *m, sp__batch *b)
{
    pthread_mutex_lock(&p->lock);
    flight_rows *f = p->slot[0].b ? &p->slot[1] : &p->slot[0];
    f->b = b;
    f->m = m;
    f->rows_left = b->n;
    f->rc = 0;
    f->order = p->launched++;
    for (int w = 0; w < p->threads; w++) {
        f->next[w] = (int32_t)((int64_t)b->n * w / p->threads);
        f->end[w] = (int32_t)((int64_t)b->n * (w + 1) / p->threads);
    }
    atomic_fetch_add_explicit(&p->work_hint, 1, memory_order_release);
    if (p->sleepers)
        pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
}

int sp__pool_finish(sp__pool *p, sp__batch *b)
{
    pthread_mutex_lock(&p->lock);
    flight_rows *f = p->slot[0].b == b ? &p->slot[0] : &p->slot[1];
    /* Run chunks (of this batch first, else of the next one) until the
     * rest of this one is done by the other threads. */
    while (f->rows_left > 0)
        help_or_wait(p, &p->done_hint, &p->done, &p->leader_sleeps);
    const int rc = f->rc;
    f->b = NULL;
    pthread_mutex_unlock(&p->lock);
    return rc ? sp__callback_status(rc, "recurrent") : SP_OK;
}

int sp__batch_recurrent(const sp_search_model *m, sp__batch *b)
{
    const int32_t step = m->max_batch > 0 ? m->max_batch : b->n;
    for (int32_t r = 0; r < b->n; r += step) {
        int rc = call_rows(m, b, 0, r, b->n - r < step ? b->n - r : step);
        if (rc)
            return sp__callback_status(rc, "recurrent");
    }
    return SP_OK;
}
