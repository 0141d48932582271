/* Keys: observation planes through the model layer (learned) and the PCA,
 * in batches; dataset positions on several workers, each replaying the games
 * of the chunks it claims with its own walker. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/omp_threads.h"
#include "embed/embed_internal.h"

/* Positions a worker claims at once: whole network batches, and enough that
 * replaying a chunk's first game from its start costs little. A raw
 * embedder projects a whole chunk in one FAISS call, in chunks of
 * sp_pca_position_keys()'s 4,096, so its keys are bit for bit that
 * function's (BLAS rounds a row differently in calls of other sizes). */
#define CHUNK_BATCHES 4
#define RAW_CHUNK 4096
/* Positions between progress reports. */
#define PROGRESS_EVERY 4096

static size_t planes_per_position(const sp_embedder *e)
{
    return (size_t)sp_go_plane_count(e->history) * (size_t)e->board_size * (size_t)e->board_size;
}

/* Positions per step of embed_rows(): one network batch, or a raw chunk. */
static uint64_t step_of(const sp_embedder *e)
{
    return e->kind == SP_EMBEDDER_RAW ? RAW_CHUNK : (uint64_t)e->batch;
}

/* n observations' planes into keys (n x dim), or, while fitting a learned
 * embedder (no PCA yet), into its layer's activations (n x input_dim).
 * `work` holds batch x input_dim floats for a learned embedder's
 * activations (NULL otherwise). Steps start at multiples of step_of() in
 * the input, so planes, games and positions give the same bits. */
static int embed_rows(const sp_embedder *e, const float *planes, uint64_t n, float *out, float *work)
{
    const size_t per = planes_per_position(e), din = e->input_dim;
    const uint64_t step = step_of(e);
    int rc = SP_OK;
    for (uint64_t done = 0; done < n && rc == SP_OK;) {
        uint64_t b = n - done < step ? n - done : step;
        const float *x = planes + done * per;
        if (e->kind == SP_EMBEDDER_LEARNED) {
            float *act = e->pca ? work : out + done * din;
            rc = sp_model_activations(e->model, e->layer, x, (int32_t)b, act, b * din);
            x = act;
        }
        if (rc == SP_OK && e->pca)
            rc = sp_pca_apply(e->pca, x, b, e->input_dim, out + done * e->dim);
        done += b;
    }
    return rc;
}

static float *alloc_work(const sp_embedder *e)
{
    if (e->kind != SP_EMBEDDER_LEARNED || !e->pca)
        return NULL;
    return malloc((size_t)e->batch * e->input_dim * sizeof(float));
}

int sp_embedder_embed_planes(const sp_embedder *e, const float *planes, uint64_t n, float *keys)
{
    if (!e || !planes || !keys)
        return sp__error(SP_ERR_INVALID_ARG, "sp_embedder_embed_planes: a pointer is NULL");
    if (n == 0 || n > (1ull << 31))
        return sp__error(SP_ERR_INVALID_ARG, "sp_embedder_embed_planes: n %llu out of range (1..2^31)",
                         (unsigned long long)n);
    float *work = alloc_work(e);
    if (e->kind == SP_EMBEDDER_LEARNED && !work)
        return sp__error(SP_ERR_NOMEM, "sp_embedder_embed_planes: out of memory");
    int rc = embed_rows(e, planes, n, keys, work);
    free(work);
    return rc;
}

int sp_embedder_embed_games(const sp_embedder *e, const sp_game *const *games, uint64_t n, float *keys)
{
    if (!e || !games || !keys)
        return sp__error(SP_ERR_INVALID_ARG, "sp_embedder_embed_games: a pointer is NULL");
    if (n == 0 || n > (1ull << 31))
        return sp__error(SP_ERR_INVALID_ARG, "sp_embedder_embed_games: n %llu out of range (1..2^31)",
                         (unsigned long long)n);
    for (uint64_t i = 0; i < n; i++)
        if (sp_game_size(games[i]) != e->board_size)
            return sp__error(SP_ERR_INVALID_ARG, "sp_embedder_embed_games: game %llu is %s, the embedder's board %dx%d",
                             (unsigned long long)i, games[i] ? "of another size" : "NULL", (int)e->board_size,
                             (int)e->board_size);
    const size_t per = planes_per_position(e);
    const uint64_t batch = step_of(e);
    float *planes = malloc((size_t)(n < batch ? n : batch) * per * sizeof *planes);
    float *work = alloc_work(e);
    int rc = planes && (work || e->kind != SP_EMBEDDER_LEARNED)
                 ? SP_OK
                 : sp__error(SP_ERR_NOMEM, "sp_embedder_embed_games: out of memory");
    /* A few games (an agent's queries, made from its search's workers)
     * take one OpenMP thread: a team would cost more than the PCA of a
     * handful of rows saves, and compete with the caller's own threads. */
    const int saved = sp__omp_enter(n <= batch ? 1 : 0);
    for (uint64_t done = 0; done < n && rc == SP_OK;) {
        uint64_t b = n - done < batch ? n - done : batch;
        for (uint64_t i = 0; i < b && rc == SP_OK; i++)
            rc = sp_game_planes(games[done + i], e->history, planes + i * per, per);
        if (rc == SP_OK)
            rc = embed_rows(e, planes, b, keys + done * e->dim, work);
        done += b;
    }
    sp__omp_leave(saved);
    free(planes);
    free(work);
    return rc;
}

/* The work shared by the workers of one sp__embedder_run(). */
typedef struct run {
    const sp_embedder *e;
    const sp_dataset *ds;
    const uint64_t *positions;
    uint64_t count;
    float *out;
    uint32_t *game_ids;
    const char *task;
    uint64_t chunk;
    size_t width;          /* floats per position in out */
    pthread_mutex_t lock;  /* guards what follows */
    uint64_t next;         /* first position not yet claimed */
    uint64_t done;
    uint64_t reported;
    int rc;                /* the first failure stops every worker */
    char error[512];       /* its message, raised again on the calling thread */
} run;

/* Record a finished chunk (or its failure) and report progress, under the lock. */
static void finish_chunk(run *r, uint64_t n, int rc)
{
    pthread_mutex_lock(&r->lock);
    if (rc == SP_OK && r->rc == SP_OK) {
        r->done += n;
        if ((r->done - r->reported >= PROGRESS_EVERY || r->done == r->count)) {
            r->reported = r->done;
            if (sp__progress(r->task, r->done, r->count) != 0)
                rc = sp__error(SP_ERR_CANCELLED, "%s: cancelled by the progress callback",
                               strcmp(r->task, "embed") ? "sp_embedder_fit" : "sp_embedder_embed_positions");
        }
    }
    if (rc != SP_OK && r->rc == SP_OK) {
        r->rc = rc;
        snprintf(r->error, sizeof r->error, "%s", sp_last_error());
    }
    pthread_mutex_unlock(&r->lock);
}

static void *worker(void *arg)
{
    run *r = arg;
    const sp_embedder *e = r->e;
    const size_t per = planes_per_position(e);
    /* Fitting a raw embedder: the planes are what the PCA reads, written in place. */
    const int direct = e->kind == SP_EMBEDDER_RAW && !e->pca;
    float *planes = direct ? NULL : malloc(r->chunk * per * sizeof *planes);
    float *work = alloc_work(e);
    if ((!direct && !planes) || (e->kind == SP_EMBEDDER_LEARNED && e->pca && !work))
        finish_chunk(r, 0, sp__error(SP_ERR_NOMEM, "sp_embedder_embed_positions: out of memory"));
    for (;;) {
        pthread_mutex_lock(&r->lock);
        uint64_t first = r->next, n = r->count - first < r->chunk ? r->count - first : r->chunk;
        int stop = r->rc != SP_OK || first >= r->count;
        r->next += stop ? 0 : n;
        pthread_mutex_unlock(&r->lock);
        if (stop)
            break;
        float *dst = direct ? r->out + first * r->width : planes;
        int rc = sp_pca_position_planes(r->ds, r->positions + first, n, e->history, dst, n * per,
                                        r->game_ids ? r->game_ids + first : NULL);
        if (rc == SP_OK && !direct)
            rc = embed_rows(e, planes, n, r->out + first * r->width, work);
        finish_chunk(r, n, rc);
    }
    free(planes);
    free(work);
    return NULL;
}

/* The other workers run one OpenMP thread each (their model and FAISS
 * calls would otherwise each start a team the size of the machine). */
static void *helper(void *arg)
{
    int saved = sp__omp_enter(1);
    worker(arg);
    sp__omp_leave(saved);
    return NULL;
}

int sp__embedder_run(const sp_embedder *e, const sp_dataset *ds, const uint64_t *positions, uint64_t count,
                     float *out, uint32_t *out_game_ids, const char *task)
{
    run r = { .e = e, .ds = ds, .positions = positions, .count = count, .out = out, .game_ids = out_game_ids,
              .task = task, .chunk = e->kind == SP_EMBEDDER_RAW ? RAW_CHUNK : (uint64_t)e->batch * CHUNK_BATCHES,
              .width = e->pca ? e->dim : e->input_dim };
    uint64_t chunks = (count + r.chunk - 1) / r.chunk;
    uint64_t threads = e->threads ? e->threads : (uint64_t)omp_get_max_threads();
    if (threads > chunks)
        threads = chunks ? chunks : 1;
    pthread_t *tid = threads > 1 ? malloc((threads - 1) * sizeof *tid) : NULL;
    if (threads > 1 && !tid)
        threads = 1; /* no room to track helpers: the calling thread does it all */
    pthread_mutex_init(&r.lock, NULL);
    uint64_t helpers = 0;
    while (helpers + 1 < threads && pthread_create(&tid[helpers], NULL, helper, &r) == 0)
        helpers++;
    /* The calling thread works too; with helpers it runs one OpenMP thread
     * as they do, alone it keeps its own setting. */
    int saved = helpers ? sp__omp_enter(1) : 0;
    worker(&r);
    if (helpers)
        sp__omp_leave(saved);
    for (uint64_t i = 0; i < helpers; i++)
        pthread_join(tid[i], NULL);
    free(tid);
    pthread_mutex_destroy(&r.lock);
    if (r.rc != SP_OK)
        return sp__error(r.rc, "%s", r.error);
    return SP_OK;
}

int sp_embedder_embed_positions(const sp_embedder *e, const sp_dataset *ds, const uint64_t *positions, uint64_t count,
                                float *keys, uint32_t *out_game_ids)
{
    if (!e || !ds || !positions || !keys)
        return sp__error(SP_ERR_INVALID_ARG, "sp_embedder_embed_positions: a pointer is NULL");
    if (count == 0 || count > (1ull << 40))
        return sp__error(SP_ERR_INVALID_ARG, "sp_embedder_embed_positions: count %llu out of range",
                         (unsigned long long)count);
    if (sp_dataset_board_size(ds) != e->board_size)
        return sp__error(SP_ERR_INVALID_ARG, "sp_embedder_embed_positions: the dataset is %dx%d, the embedder %dx%d",
                         sp_dataset_board_size(ds), sp_dataset_board_size(ds), (int)e->board_size, (int)e->board_size);
    uint64_t total = sp_dataset_position_count(ds);
    for (uint64_t i = 0; i < count; i++)
        if (positions[i] >= total)
            return sp__error(SP_ERR_INVALID_ARG, "sp_embedder_embed_positions: position %llu (entry %llu) is past the "
                             "dataset's %llu", (unsigned long long)positions[i], (unsigned long long)i,
                             (unsigned long long)total);
    return sp__embedder_run(e, ds, positions, count, keys, out_game_ids, "embed");
}
