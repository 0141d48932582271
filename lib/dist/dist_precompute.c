/* Neighbour pre-computation over a sharded retriever: the rows of
 * sp_retriever_precompute(), the positions of every rank in rank order,
 * searched through the merged top-k of all shards and written by rank 0 with
 * libsemiparam's own `.spn` writer, so the file is the one a single process
 * writes over the same keys (byte for byte with a Flat index). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/core_internal.h"
#include "dist_internal.h"
#include "retrieval/retrieval_internal.h"

/* Rank 0's buffers for one batch of SP__SPN_BATCH positions. */
struct batch {
    float *keys;
    uint64_t *positions, *ids;
    uint32_t *games;
    float *dist;
    int *counts, *displs; /* per rank, in elements of the gather at hand */
};

static int batch_alloc(struct batch *b, uint32_t dim, uint32_t k, int size, const char *fn)
{
    size_t n = SP__SPN_BATCH;
    b->keys = malloc(n * dim * sizeof *b->keys);
    b->positions = malloc(n * sizeof *b->positions);
    b->games = malloc(n * sizeof *b->games);
    b->ids = malloc(n * k * sizeof *b->ids);
    b->dist = malloc(n * k * sizeof *b->dist);
    b->counts = malloc((size_t)size * sizeof *b->counts);
    b->displs = malloc((size_t)size * sizeof *b->displs);
    if (!b->keys || !b->positions || !b->games || !b->ids || !b->dist || !b->counts || !b->displs)
        return sp__error(SP_ERR_NOMEM, "%s: a batch of %u positions", fn, SP__SPN_BATCH);
    return SP_OK;
}

static void batch_free(struct batch *b)
{
    free(b->keys), free(b->positions), free(b->games), free(b->ids), free(b->dist), free(b->counts),
        free(b->displs);
}

/* The part of rows [from, from + n) of the whole list that rank r holds,
 * whose rows are [offset[r], offset[r] + count[r]): its first row there
 * (*first, relative to the rank's own list) and how many. */
static uint64_t share(uint64_t from, uint64_t n, uint64_t offset, uint64_t count, uint64_t *first)
{
    uint64_t lo = from > offset ? from : offset, hi = from + n < offset + count ? from + n : offset + count;
    *first = lo - offset;
    return hi > lo ? hi - lo : 0;
}

/* Gather every rank's share of the batch [from, from + n) to rank 0:
 * keys, position ids and game ids, in rank order. */
static int gather_batch(const sp_dist_retriever *d, const uint64_t *offsets, const uint64_t *counts,
                        const float *keys, const uint64_t *positions, const uint32_t *games, uint64_t from,
                        uint64_t n, struct batch *b, const char *fn)
{
    uint64_t first = 0, mine = share(from, n, offsets[d->rank], counts[d->rank], &first);
    const float *k = mine ? keys + first * d->dim : NULL;
    const uint64_t *p = mine ? positions + first : NULL;
    const uint32_t *g = mine ? games + first : NULL;
    int err = MPI_SUCCESS;
    /* Three gathers of one layout, in elements of d->dim floats, then of 1. */
    for (int pass = 0; pass < 3 && err == MPI_SUCCESS; pass++) {
        int scale = pass == 0 ? (int)d->dim : 1, at = 0;
        for (int r = 0; d->rank == 0 && r < d->size; r++) {
            uint64_t ignored;
            b->counts[r] = (int)share(from, n, offsets[r], counts[r], &ignored) * scale;
            b->displs[r] = at;
            at += b->counts[r];
        }
        if (pass == 0)
            err = MPI_Gatherv(k, (int)mine * scale, MPI_FLOAT, b->keys, b->counts, b->displs, MPI_FLOAT, 0,
                              d->comm);
        else if (pass == 1)
            err = MPI_Gatherv(p, (int)mine, MPI_UINT64_T, b->positions, b->counts, b->displs, MPI_UINT64_T, 0,
                              d->comm);
        else
            err = MPI_Gatherv(g, (int)mine, MPI_UINT32_T, b->games, b->counts, b->displs, MPI_UINT32_T, 0,
                              d->comm);
    }
    return err == MPI_SUCCESS ? SP_OK : sp__dist_mpi_error(err, fn, "MPI_Gatherv");
}

/* Every rank's argument checks, then k the same everywhere. */
static int check_args(const sp_dist_retriever *d, const float *keys, const uint64_t *position_ids,
                      const uint32_t *game_ids, uint64_t count, uint32_t dim, uint32_t k,
                      const sp_retriever_query *query, const char *path, sp_retriever_query *q, const char *fn)
{
    int rc = sp__retriever_query_read(q, query, fn), err;
    if (rc == SP_OK && (!path || !*path))
        rc = sp__error(SP_ERR_INVALID_ARG, "%s: path is NULL or empty", fn);
    else if (rc == SP_OK && count > 0 && (!keys || !position_ids || !game_ids))
        rc = sp__error(SP_ERR_INVALID_ARG, "%s: NULL keys, position ids or game ids for %llu positions", fn,
                       (unsigned long long)count);
    else if (rc == SP_OK && k == 0)
        rc = sp__error(SP_ERR_INVALID_ARG, "%s: k is 0", fn);
    else if (rc == SP_OK && dim != d->dim)
        rc = sp__error(SP_ERR_INVALID_ARG, "%s: keys have dimension %u, the index %u", fn, dim, d->dim);
    rc = sp__dist_agree(d->comm, rc, fn);
    uint32_t ks[2] = { k, (uint32_t)-k }, agreed[2];
    if (rc == SP_OK && (err = MPI_Allreduce(ks, agreed, 2, MPI_UINT32_T, MPI_MAX, d->comm)) != MPI_SUCCESS)
        return sp__dist_mpi_error(err, fn, "MPI_Allreduce");
    if (rc == SP_OK && agreed[0] != (uint32_t)-agreed[1])
        rc = sp__error(SP_ERR_INVALID_ARG, "%s: the ranks pass different k (%u on this rank)", fn, k);
    return sp__dist_agree(d->comm, rc, fn);
}

int sp_dist_retriever_precompute(const sp_dist_retriever *d, const float *keys, const uint64_t *position_ids,
                                 const uint32_t *game_ids, uint64_t count, uint32_t dim, uint32_t k,
                                 const sp_retriever_query *query, const char *path)
{
    static const char fn[] = "sp_dist_retriever_precompute";
    if (!d)
        return sp__error(SP_ERR_INVALID_ARG, "%s: retriever is NULL", fn);
    sp_retriever_query q;
    int rc = check_args(d, keys, position_ids, game_ids, count, dim, k, query, path, &q, fn), err;
    if (rc != SP_OK)
        return rc;
    uint64_t *counts = malloc((size_t)d->size * 2 * sizeof *counts), total = 0;
    struct batch b = { 0 };
    sp__spn_writer *w = NULL;
    rc = counts ? SP_OK : sp__error(SP_ERR_NOMEM, "%s: %d counts", fn, d->size);
    if (rc == SP_OK && d->rank == 0) {
        /* Rank 0 holds shard 0 whatever the rank count: its settings are
         * every shard's (one trained index broadcast, or one save). */
        const sp_retriever *r = d->shard[0];
        q.exclude = sp_retriever_halves(r) > 1 ? SP_RETRIEVER_EXCLUDE_OWN_HALF : SP_RETRIEVER_EXCLUDE_GAME;
        rc = batch_alloc(&b, dim, k, d->size, fn);
        if (rc == SP_OK)
            rc = sp__spn_open(&w, path, k, fn);
    }
    rc = sp__dist_agree(d->comm, rc, fn);
    if (rc == SP_OK && (err = MPI_Allgather(&count, 1, MPI_UINT64_T, counts, 1, MPI_UINT64_T, d->comm)) !=
                           MPI_SUCCESS)
        rc = sp__dist_mpi_error(err, fn, "MPI_Allgather");
    uint64_t *offsets = counts ? counts + d->size : NULL;
    for (int r = 0; rc == SP_OK && r < d->size; r++) {
        offsets[r] = total;
        total += counts[r];
    }
    /* The batches of one process over the whole list (rank 0's positions,
     * then rank 1's, ...), so FAISS sees the same query batches. */
    for (uint64_t from = 0; from < total && rc == SP_OK; from += SP__SPN_BATCH) {
        uint64_t n = total - from < SP__SPN_BATCH ? total - from : SP__SPN_BATCH;
        rc = sp__dist_agree(d->comm, gather_batch(d, offsets, counts, keys, position_ids, game_ids, from, n, &b, fn),
                            fn);
        q.game_ids = b.games;
        if (rc == SP_OK)
            rc = sp_dist_retriever_search(d, 0, b.keys, d->rank == 0 ? n : 0, dim, k, d->rank == 0 ? &q : NULL,
                                          b.ids, b.dist, NULL);
        if (rc == SP_OK && d->rank == 0)
            rc = sp__spn_append(w, b.positions, b.ids, b.dist, n, total);
        rc = sp__dist_agree(d->comm, rc, fn);
    }
    if (d->rank == 0) {
        if (rc == SP_OK)
            rc = sp__spn_commit(w, sp_retriever_embedder_id(d->shard[0]));
        else
            sp__spn_abort(w);
    }
    rc = sp__dist_agree(d->comm, rc, fn);
    batch_free(&b);
    free(counts);
    return rc;
}
