/* The neighbour planes of a training batch (neighbour_batch.h): a `.spn`
 * file indexed by query position, each sample's first N neighbours as
 * neighbour planes under its symmetry, and the §2.3 regularisations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core_internal.h"
#include "core/workers.h"
#include "neighbour_batch.h"

/* A randomised slot draws at most this many rows before it gives up and
 * stays zero (a file whose rows are nearly all of the query's game). */
#define RANDOMISE_DRAWS 64

typedef struct entry {
    uint64_t position; /* the row's query id */
    uint64_t row;
} entry;

struct sp__neighbour_batch {
    const sp_dataset *ds;
    const sp_neighbours *file;
    sp__neighbour_options o;
    uint64_t rows, positions; /* of the file, of the dataset */
    uint32_t k;
    size_t plane_floats;      /* one neighbour: SP_NEIGHBOUR_PLANES x size x size */
    entry *index;             /* by position, increasing */
};

void sp__neighbour_rng_seed(sp__neighbour_rng *rng, uint64_t seed)
{
    rng->seed = seed;
    rng->batch = 0;
}

void sp__neighbour_rng_advance(sp__neighbour_rng *rng) { rng->batch++; }

/* The stream of one slot of one sample of one batch. */
static void slot_stream(struct sp_rng *out, const sp__neighbour_rng *rng, uint64_t row, uint64_t slot)
{
    uint64_t h = sp__mix64(rng->seed);
    h = sp__mix64(h ^ rng->batch);
    h = sp__mix64(h ^ row);
    sp__rng_seed(out, sp__mix64(h ^ slot));
}

/* Uniform in [0, 1) with 24 bits: a rate of 1 always hits, 0 never. */
static float uniform(struct sp_rng *r) { return (float)(sp__rng_next(r) >> 40) * 0x1.0p-24f; }

static int compare_entries(const void *a, const void *b)
{
    uint64_t x = ((const entry *)a)->position, y = ((const entry *)b)->position;
    return x < y ? -1 : x > y;
}

static int check_options(const sp__neighbour_options *o, uint32_t k)
{
    const char *bad = NULL;
    if (o->neighbours < 1)
        bad = "neighbours (at least 1)";
    else if (!(o->dropout >= 0.0f && o->dropout <= 1.0f))
        bad = "dropout (0..1)";
    else if (!(o->randomise >= 0.0f && o->randomise <= 1.0f))
        bad = "randomise (0..1)";
    else if (o->zero_neighbours != 0 && o->zero_neighbours != 1)
        bad = "zero_neighbours (0 or 1)";
    else if (o->threads < 1 || o->threads > SP__WORKERS_MAX)
        bad = "threads (1..256)";
    if (bad)
        return sp__error(SP_ERR_INVALID_ARG, "sp__neighbour_batch_create: option %s out of range", bad);
    if ((uint32_t)o->neighbours > k)
        return sp__error(SP_ERR_INVALID_ARG,
                         "sp__neighbour_batch_create: %d neighbours asked, the file holds %u per position",
                         (int)o->neighbours, (unsigned)k);
    return SP_OK;
}

int sp__neighbour_batch_create(sp__neighbour_batch **out, const sp_dataset *ds, const sp_neighbours *file,
                               const sp__neighbour_options *opts)
{
    if (!out)
        return sp__error(SP_ERR_INVALID_ARG, "sp__neighbour_batch_create: out is NULL");
    *out = NULL;
    if (!ds || !file)
        return sp__error(SP_ERR_INVALID_ARG, "sp__neighbour_batch_create: dataset or file is NULL");
    const sp__neighbour_options defaults = SP__NEIGHBOUR_OPTIONS_INIT;
    const sp__neighbour_options *o = opts ? opts : &defaults;
    uint32_t k = sp_neighbours_k(file);
    int rc = check_options(o, k);
    if (rc)
        return rc;
    uint64_t rows = sp_neighbours_count(file);
    sp__neighbour_batch *nb = calloc(1, sizeof *nb);
    entry *index = rows <= SIZE_MAX / sizeof *index ? malloc(rows ? rows * sizeof *index : 1) : NULL;
    if (!nb || !index) {
        free(nb);
        free(index);
        return sp__error(SP_ERR_NOMEM, "sp__neighbour_batch_create: out of memory for %llu rows",
                         (unsigned long long)rows);
    }
    int size = sp_dataset_board_size(ds);
    *nb = (sp__neighbour_batch){ .ds = ds, .file = file, .o = *o, .rows = rows,
                                 .positions = sp_dataset_position_count(ds), .k = k,
                                 .plane_floats = (size_t)SP_NEIGHBOUR_PLANES * (size_t)(size * size),
                                 .index = index };
    for (uint64_t r = 0; r < rows && !rc; r++) {
        index[r].row = r;
        rc = sp_neighbours_row(file, r, &index[r].position, NULL, NULL);
        if (!rc && index[r].position >= nb->positions)
            rc = sp__error(SP_ERR_FORMAT, "sp__neighbour_batch_create: row %llu: query position %llu is not "
                           "in the dataset (%llu positions)", (unsigned long long)r,
                           (unsigned long long)index[r].position, (unsigned long long)nb->positions);
    }
    if (!rc)
        qsort(index, rows, sizeof *index, compare_entries);
    for (uint64_t r = 1; r < rows && !rc; r++)
        if (index[r].position == index[r - 1].position)
            rc = sp__error(SP_ERR_FORMAT, "sp__neighbour_batch_create: rows %llu and %llu both hold position %llu",
                           (unsigned long long)(index[r - 1].row < index[r].row ? index[r - 1].row : index[r].row),
                           (unsigned long long)(index[r - 1].row < index[r].row ? index[r].row : index[r - 1].row),
                           (unsigned long long)index[r].position);
    if (rc) {
        sp__neighbour_batch_free(nb);
        return rc;
    }
    *out = nb;
    return SP_OK;
}

void sp__neighbour_batch_free(sp__neighbour_batch *nb)
{
    if (!nb)
        return;
    free(nb->index);
    free(nb);
}

size_t sp__neighbour_batch_sample_floats(const sp__neighbour_batch *nb)
{
    return nb ? (size_t)nb->o.neighbours * nb->plane_floats : 0;
}

int sp__neighbour_batch_row(const sp__neighbour_batch *nb, uint64_t position, uint64_t *out_row)
{
    if (!nb || !out_row)
        return sp__error(SP_ERR_INVALID_ARG, "sp__neighbour_batch_row: a pointer is NULL");
    uint64_t lo = 0, hi = nb->rows;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (nb->index[mid].position < position)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == nb->rows || nb->index[lo].position != position)
        return sp__error(SP_ERR_INVALID_ARG, "position %llu has no row in the neighbour file",
                         (unsigned long long)position);
    *out_row = nb->index[lo].row;
    return SP_OK;
}

/* The game of a position known to be in range. */
static uint64_t game_of(const sp__neighbour_batch *nb, uint64_t position)
{
    uint64_t game = UINT64_MAX;
    sp_dataset_position_locate(nb->ds, position, &game, NULL);
    return game;
}

/* Neighbour @p id of row @p row (whose query is of game @p game) is one the
 * dataset has, of another game, or the "no such key" marker. */
static int check_neighbour(const sp__neighbour_batch *nb, uint64_t row, uint64_t game, uint64_t id)
{
    if (id == SP_RETRIEVER_NO_ID)
        return SP_OK;
    if (id >= nb->positions)
        return sp__error(SP_ERR_FORMAT, "neighbour file row %llu: neighbour %llu is not in the dataset "
                         "(%llu positions)", (unsigned long long)row, (unsigned long long)id,
                         (unsigned long long)nb->positions);
    if (game_of(nb, id) == game)
        return sp__error(SP_ERR_FORMAT, "neighbour file row %llu: neighbour %llu is of the query's own game %llu",
                         (unsigned long long)row, (unsigned long long)id, (unsigned long long)game);
    return SP_OK;
}

/* Slot @p slot of a query of game @p game, randomised: the same-index
 * neighbour of another row, neither that row nor the neighbour of @p game. */
static int randomised(const sp__neighbour_batch *nb, struct sp_rng *r, uint64_t game, uint32_t slot,
                      uint64_t *ids, uint64_t *out_id)
{
    *out_id = SP_RETRIEVER_NO_ID;
    for (int draw = 0; draw < RANDOMISE_DRAWS; draw++) {
        uint64_t other = nb->rows <= UINT32_MAX ? sp__rng_below(r, (uint32_t)nb->rows) : sp__rng_next(r) % nb->rows;
        uint64_t query;
        int rc = sp_neighbours_row(nb->file, other, &query, ids, NULL);
        if (rc)
            return rc;
        uint64_t other_game = game_of(nb, query);
        if (other_game == game)
            continue;
        uint64_t id = ids[slot];
        if ((rc = check_neighbour(nb, other, other_game, id)) != SP_OK)
            return rc;
        if (id != SP_RETRIEVER_NO_ID && game_of(nb, id) == game)
            continue;
        *out_id = id;
        return SP_OK;
    }
    return SP_OK;
}

/* One sample: its N x planes at @p out (zeroed here). @p ids and @p other
 * hold k ids each. */
static int fill_sample(const sp__neighbour_batch *nb, const sp__neighbour_rng *rng, uint64_t position,
                       int symmetry, uint64_t global_row, float *out, uint64_t *ids, uint64_t *other)
{
    const uint32_t N = (uint32_t)nb->o.neighbours;
    memset(out, 0, N * nb->plane_floats * sizeof *out);
    if (symmetry < 0 || symmetry >= SP_SYMMETRY_COUNT)
        return sp__error(SP_ERR_INVALID_ARG, "symmetry %d of position %llu out of 0..7", symmetry,
                         (unsigned long long)position);
    uint64_t row = 0;
    int rc = sp__neighbour_batch_row(nb, position, &row);
    if (rc || nb->o.zero_neighbours)
        return rc;
    if ((rc = sp_neighbours_row(nb->file, row, NULL, ids, NULL)) != SP_OK)
        return rc;
    uint64_t game = game_of(nb, position);
    /* Every slot of the row is checked, whatever the dice say: a bad file
     * fails on the same sample in every run. */
    for (uint32_t j = 0; j < N && !rc; j++)
        rc = check_neighbour(nb, row, game, ids[j]);
    for (uint32_t j = 0; j < N && !rc; j++) {
        struct sp_rng r;
        slot_stream(&r, rng, global_row, j);
        float drop = uniform(&r), swap = uniform(&r);
        if (drop < nb->o.dropout)
            continue;
        uint64_t id = ids[j];
        if (swap < nb->o.randomise)
            rc = randomised(nb, &r, game, j, other, &id);
        if (!rc && id != SP_RETRIEVER_NO_ID)
            rc = sp_dataset_neighbour_planes(nb->ds, id, symmetry, out + j * nb->plane_floats, nb->plane_floats);
    }
    return rc;
}

typedef struct job {
    const sp__neighbour_batch *nb;
    const sp__neighbour_rng *rng;
    const uint64_t *positions;
    const int32_t *symmetry;
    int32_t n;
    int64_t first_row;
    float *out;
    int worker, stride;
    int failed_at; /* the first sample that failed, or n */
    int rc;
    char error[512];
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    j->failed_at = j->n;
    uint64_t *ids = malloc(2 * (size_t)j->nb->k * sizeof *ids);
    if (!ids) {
        j->rc = sp__error(SP_ERR_NOMEM, "out of memory");
        j->failed_at = j->worker;
    }
    size_t floats = sp__neighbour_batch_sample_floats(j->nb);
    for (int i = j->worker; i < j->n && !j->rc; i += j->stride) {
        j->rc = fill_sample(j->nb, j->rng, j->positions[i], j->symmetry ? j->symmetry[i] : 0,
                            (uint64_t)j->first_row + (uint64_t)i, j->out + (size_t)i * floats, ids,
                            ids + j->nb->k);
        if (j->rc)
            j->failed_at = i;
    }
    if (j->rc)
        snprintf(j->error, sizeof j->error, "%s", sp_last_error());
    free(ids);
    return NULL;
}

int sp__neighbour_batch_fill(const sp__neighbour_batch *nb, const sp__neighbour_rng *rng,
                             const uint64_t *positions, const int32_t *symmetry, int32_t n, int64_t first_row,
                             float *out, size_t capacity)
{
    if (!nb || !rng || (n > 0 && (!positions || !out)) || n < 0 || first_row < 0)
        return sp__error(SP_ERR_INVALID_ARG, "sp__neighbour_batch_fill: %s",
                         n < 0 || first_row < 0 ? "n or first_row negative" : "a pointer is NULL");
    size_t floats = sp__neighbour_batch_sample_floats(nb);
    if ((size_t)n > capacity / floats)
        return sp__error(SP_ERR_BUFFER_TOO_SMALL, "sp__neighbour_batch_fill: needs %zu floats for %d samples",
                         (size_t)n * floats, (int)n);
    int threads = nb->o.threads < n ? nb->o.threads : (n ? n : 1);
    job jobs[SP__WORKERS_MAX];
    for (int i = 0; i < threads; i++)
        jobs[i] = (job){ .nb = nb, .rng = rng, .positions = positions, .symmetry = symmetry, .n = n,
                         .first_row = first_row, .out = out, .worker = i, .stride = threads };
    sp__run_workers(jobs, sizeof *jobs, threads, run_job);
    /* Each worker stops at its first failure, so the lowest of those is the
     * batch's first failing sample: the same error for every thread count. */
    const job *first = NULL;
    for (int i = 0; i < threads; i++)
        if (jobs[i].rc && (!first || jobs[i].failed_at < first->failed_at))
            first = &jobs[i];
    if (first)
        return sp__error(first->rc, "sp__neighbour_batch_fill: sample %d: %s", first->failed_at, first->error);
    return SP_OK;
}
