/* The sharded retriever: build (route, train once on rank 0, broadcast the
 * trained empty index), online add (route to owners) and search (broadcast
 * the batch, search every shard, gather and merge on the root). */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core_internal.h"
#include "core/file.h"
#include "dist_internal.h"
#include "retrieval/retrieval_internal.h"

static const sp_dist_retriever_options options_defaults = SP_DIST_RETRIEVER_OPTIONS_INIT;
static const sp__options_type options_type = { "sp_dist_retriever_options", SP_DIST_RETRIEVER_OPTIONS_VERSION,
                                               sizeof(sp_dist_retriever_options), &options_defaults, { 0 } };

#define DEFAULT_TRAIN_SIZE 65536u

int sp_dist_retriever_options_init(sp_dist_retriever_options *opts, uint32_t version)
{
    return sp__options_init(opts, version, &options_type, "sp_dist_retriever_options_init");
}

uint32_t sp_dist_game_rank(uint32_t game_id, uint32_t size)
{
    /* Bit 0 of the hash is the game's half (sp_retriever_game_half): leave it
     * out so that every shard holds games of both halves. */
    return size ? (uint32_t)((sp__mix64(game_id) >> 1) % size) : 0;
}

static int check_keys(const float *keys, const uint64_t *position_ids, const uint32_t *game_ids, uint64_t count,
                      const char *fn)
{
    if (count > 0 && (!keys || !position_ids || !game_ids))
        return sp__error(SP_ERR_INVALID_ARG, "%s: NULL keys, position ids or game ids for %llu keys", fn,
                         (unsigned long long)count);
    for (uint64_t i = 0; i < count; i++)
        if (position_ids[i] == SP_RETRIEVER_NO_ID || game_ids[i] == UINT32_MAX)
            return sp__error(SP_ERR_INVALID_ARG, "%s: key %llu has a reserved id (the no-neighbour marker)", fn,
                             (unsigned long long)i);
    return SP_OK;
}

/* Keys per rank and exchange round: keeps every MPI count (floats of all
 * ranks' keys) below INT_MAX. */
static uint64_t round_keys(uint32_t dim, int size)
{
    uint64_t n = (uint64_t)(INT_MAX / 2) / ((uint64_t)dim * (uint64_t)size);
    return n < 65536 ? (n ? n : 1) : 65536;
}

struct id_at {
    uint64_t id, at;
};

static int by_id(const void *a, const void *b)
{
    const struct id_at *x = a, *y = b;
    return x->id != y->id ? (x->id > y->id) - (x->id < y->id) : (x->at > y->at) - (x->at < y->at);
}

/* Add keys routed to this rank to the shards of their games, in position id
 * order: a shard then holds its keys in the order of one index built over
 * the same keys in id order, and FAISS, which keeps the first it meets of
 * equal distances at the k-th place, keeps the same keys in both (so
 * sp_dist_retriever_precompute writes one process's file). */
static int add_held(sp_dist_retriever *d, const float *keys, const uint64_t *ids, const uint32_t *games,
                    uint64_t n, const char *fn)
{
    if (n == 0)
        return SP_OK;
    float *k = malloc(n * d->dim * sizeof *k);
    uint64_t *i_ = malloc(n * sizeof *i_);
    uint32_t *g = malloc(n * sizeof *g);
    struct id_at *order = malloc(n * sizeof *order);
    int rc = k && i_ && g && order ? SP_OK : sp__error(SP_ERR_NOMEM, "%s: %llu keys", fn, (unsigned long long)n);
    for (uint64_t j = 0; j < n && rc == SP_OK; j++)
        order[j] = (struct id_at){ ids[j], j };
    if (rc == SP_OK)
        qsort(order, n, sizeof *order, by_id);
    /* Several shards here (a load by fewer ranks than saved): one pass per shard. */
    for (int s = 0; s < d->held && rc == SP_OK; s++) {
        uint64_t m = 0;
        for (uint64_t o = 0; o < n; o++) {
            uint64_t j = order[o].at;
            if (d->held > 1 && (int)(sp_dist_game_rank(games[j], (uint32_t)d->shards) / (uint32_t)d->size) != s)
                continue;
            memcpy(k + m * d->dim, keys + j * d->dim, d->dim * sizeof *k);
            i_[m] = ids[j];
            g[m++] = games[j];
        }
        if (m)
            rc = sp_retriever_add(d->shard[s], k, i_, g, m, d->dim);
    }
    free(k);
    free(i_);
    free(g);
    free(order);
    return rc;
}

/* Route this rank's keys to their owners in rounds and add them to the local
 * shard; refresh the global count. */
static int add_routed(sp_dist_retriever *d, const float *keys, const uint64_t *position_ids,
                      const uint32_t *game_ids, uint64_t count, const char *fn)
{
    uint64_t per_round = round_keys(d->dim, d->size);
    uint64_t rounds = (count + per_round - 1) / per_round, max_rounds = 0;
    int err = MPI_Allreduce(&rounds, &max_rounds, 1, MPI_UINT64_T, MPI_MAX, d->comm);
    if (err != MPI_SUCCESS)
        return sp__dist_mpi_error(err, fn, "MPI_Allreduce");
    int rc = SP_OK;
    for (uint64_t round = 0; round < max_rounds && rc == SP_OK; round++) {
        uint64_t from = round * per_round < count ? round * per_round : count;
        uint64_t n = count - from < per_round ? count - from : per_round;
        float *mine = NULL;
        uint64_t *ids = NULL, got = 0;
        uint32_t *games = NULL;
        rc = sp__dist_route(d->comm, d->size, d->shards, keys ? keys + from * d->dim : NULL,
                            position_ids ? position_ids + from : NULL, game_ids ? game_ids + from : NULL, n,
                            d->dim, &mine, &ids, &games, &got, fn);
        if (rc == SP_OK)
            rc = sp__dist_agree(d->comm, add_held(d, mine, ids, games, got, fn), fn);
        free(mine);
        free(ids);
        free(games);
    }
    uint64_t local = 0;
    for (int i = 0; i < d->held; i++)
        local += sp_retriever_count(d->shard[i]);
    if ((err = MPI_Allreduce(&local, &d->global_count, 1, MPI_UINT64_T, MPI_SUM, d->comm)) != MPI_SUCCESS &&
        rc == SP_OK)
        rc = sp__dist_mpi_error(err, fn, "MPI_Allreduce");
    return rc;
}

/* The trained empty index as the bytes of its `.spi` file: sp_retriever_save
 * writes a path, so the bytes go through a temporary file. */
static int temporary_file(char *path, size_t capacity, int *fd, const char *fn)
{
    const char *dir = getenv("TMPDIR");
    dir = dir && *dir ? dir : "/tmp";
    if ((size_t)snprintf(path, capacity, "%s/sp-dist-XXXXXX", dir) >= capacity)
        return sp__error(SP_ERR_IO, "%s: TMPDIR %s is too long", fn, dir);
    *fd = mkstemp(path);
    return *fd < 0 ? sp__error(SP_ERR_IO, "%s: cannot make a temporary file in %s", fn, dir) : SP_OK;
}

static int index_to_bytes(const sp_retriever *r, void **bytes, uint64_t *len, const char *fn)
{
    char path[4096];
    int fd = -1;
    if (temporary_file(path, sizeof path, &fd, fn) != SP_OK)
        return SP_ERR_IO;
    close(fd);
    int rc = sp_retriever_save(r, path);
    char *data = NULL;
    size_t length = 0;
    if (rc == SP_OK)
        rc = sp__file_read(path, &data, &length);
    *bytes = data;
    *len = length;
    unlink(path);
    return rc;
}

static int index_from_bytes(sp_retriever **out, const void *bytes, uint64_t len,
                            const sp_retriever_options *ropts, const char *fn)
{
    char path[4096];
    int fd = -1;
    if (temporary_file(path, sizeof path, &fd, fn) != SP_OK)
        return SP_ERR_IO;
    FILE *f = fdopen(fd, "wb");
    int rc = SP_OK;
    if (!f) {
        close(fd);
        rc = sp__error(SP_ERR_IO, "%s: cannot write %s", fn, path);
    } else {
        int bad = fwrite(bytes, 1, (size_t)len, f) != (size_t)len;
        bad |= fclose(f) != 0;
        rc = bad ? sp__error(SP_ERR_IO, "%s: cannot write %s", fn, path) : sp_retriever_load(out, path, 0, ropts);
    }
    unlink(path);
    return rc;
}

/* Rank 0 trains on up to train_size keys, taken evenly from every rank's
 * input; every rank ends with the same trained, empty index. */
static int train_shared(sp_dist_retriever *d, const float *keys, uint64_t count, uint64_t train_size,
                        const sp_retriever_options *ropts, const char *fn)
{
    uint64_t quota = (train_size + (uint64_t)d->size - 1) / (uint64_t)d->size;
    uint64_t take = count < quota ? count : quota;
    int mine = (int)(take * d->dim), err;
    int *counts = d->rank == 0 ? calloc((size_t)d->size * 2, sizeof(int)) : NULL;
    float *sample = malloc((take ? take : 1) * d->dim * sizeof *sample);
    float *all = NULL;
    int rc = (d->rank == 0 && !counts) || !sample ? sp__error(SP_ERR_NOMEM, "%s: training sample", fn) : SP_OK;
    rc = sp__dist_agree(d->comm, rc, fn);
    if (rc != SP_OK)
        goto done;
    /* Evenly spaced rows, so a rank whose keys are sorted (by game, by time)
     * still contributes its whole range. */
    for (uint64_t i = 0; i < take; i++)
        memcpy(sample + i * d->dim, keys + (i * count / take) * d->dim, d->dim * sizeof *keys);
    if ((err = MPI_Gather(&mine, 1, MPI_INT, counts, 1, MPI_INT, 0, d->comm)) != MPI_SUCCESS) {
        rc = sp__dist_mpi_error(err, fn, "MPI_Gather");
        goto done;
    }
    uint64_t total = 0;
    if (d->rank == 0) {
        for (int r = 0; r < d->size; r++) {
            counts[d->size + r] = (int)total;
            total += (uint64_t)counts[r];
        }
        all = malloc((total ? total : 1) * sizeof *all);
        if (!all)
            rc = sp__error(SP_ERR_NOMEM, "%s: %llu training floats", fn, (unsigned long long)total);
    }
    rc = sp__dist_agree(d->comm, rc, fn);
    if (rc != SP_OK)
        goto done;
    if ((err = MPI_Gatherv(sample, mine, MPI_FLOAT, all, counts, counts ? counts + d->size : NULL, MPI_FLOAT, 0,
                           d->comm)) != MPI_SUCCESS) {
        rc = sp__dist_mpi_error(err, fn, "MPI_Gatherv");
        goto done;
    }
    void *bytes = NULL;
    uint64_t len = 0;
    if (d->rank == 0) {
        rc = sp_retriever_create(&d->local, d->dim, d->global_count, ropts);
        if (rc == SP_OK)
            rc = sp_retriever_train(d->local, all, total / d->dim, d->dim);
        if (rc == SP_OK)
            rc = index_to_bytes(d->local, &bytes, &len, fn);
    }
    rc = sp__dist_agree(d->comm, rc, fn);
    if (rc == SP_OK)
        rc = sp__dist_bcast_bytes(d->comm, 0, &bytes, &len, fn);
    if (rc == SP_OK && d->rank != 0)
        rc = index_from_bytes(&d->local, bytes, len, ropts, fn);
    rc = sp__dist_agree(d->comm, rc, fn);
    free(bytes);
done:
    free(counts);
    free(sample);
    free(all);
    return rc;
}

int sp__dist_open(sp_dist_retriever **handle, sp_dist_retriever **out, MPI_Comm comm, const char *fn)
{
    if (!out)
        return sp__error(SP_ERR_INVALID_ARG, "%s: out is NULL", fn);
    *out = NULL;
    sp_dist_retriever *d = calloc(1, sizeof *d);
    if (!d)
        return sp__error(SP_ERR_NOMEM, "%s: handle", fn);
    int rc = sp__dist_comm_dup(comm, &d->comm, &d->rank, &d->size, fn);
    if (rc != SP_OK) {
        free(d);
        return rc;
    }
    d->shards = d->size;
    d->held = 1;
    d->shard = &d->local;
    *handle = d;
    return SP_OK;
}

int sp_dist_retriever_build(sp_dist_retriever **out, MPI_Comm comm, const float *keys,
                            const uint64_t *position_ids, const uint32_t *game_ids, uint64_t count, uint32_t dim,
                            const sp_dist_retriever_options *opts)
{
    static const char fn[] = "sp_dist_retriever_build";
    sp_dist_retriever *d = NULL;
    int rc = sp__dist_open(&d, out, comm, fn), err;
    if (rc != SP_OK)
        return rc;
    d->dim = dim;

    sp_dist_retriever_options o;
    rc = sp__options_read(&o, opts, &options_type, fn);
    if (rc == SP_OK && (dim == 0 || dim > 65536))
        rc = sp__error(SP_ERR_INVALID_ARG, "%s: dim %u out of range (1..65536)", fn, dim);
    if (rc == SP_OK)
        rc = check_keys(keys, position_ids, game_ids, count, fn);
    rc = sp__dist_agree(d->comm, rc, fn);
    uint32_t dims[2] = { dim, (uint32_t)-dim }, agreed[2];
    if (rc == SP_OK && (err = MPI_Allreduce(dims, agreed, 2, MPI_UINT32_T, MPI_MAX, d->comm)) != MPI_SUCCESS)
        rc = sp__dist_mpi_error(err, fn, "MPI_Allreduce");
    if (rc == SP_OK && agreed[0] != (uint32_t)-agreed[1])
        rc = sp__error(SP_ERR_INVALID_ARG, "%s: the ranks pass different key dimensions (%u on this rank)", fn,
                       dim);
    if (rc == SP_OK && (err = MPI_Allreduce(&count, &d->global_count, 1, MPI_UINT64_T, MPI_SUM, d->comm)) !=
                           MPI_SUCCESS)
        rc = sp__dist_mpi_error(err, fn, "MPI_Allreduce");
    if (rc == SP_OK && d->global_count == 0)
        rc = sp__error(SP_ERR_INVALID_ARG, "%s: no rank passes any key to train on", fn);
    if (rc == SP_OK)
        rc = train_shared(d, keys, count, o.train_size ? o.train_size : DEFAULT_TRAIN_SIZE, o.retriever, fn);
    if (rc == SP_OK)
        rc = add_routed(d, keys, position_ids, game_ids, count, fn);
    if (rc != SP_OK) {
        sp_dist_retriever_free(d);
        return rc;
    }
    *out = d;
    return SP_OK;
}

void sp_dist_retriever_free(sp_dist_retriever *d)
{
    if (!d)
        return;
    for (int i = 0; i < d->held; i++)
        sp_retriever_free(d->shard[i]);
    if (d->shard != &d->local)
        free(d->shard);
    MPI_Comm_free(&d->comm);
    free(d);
}

int sp_dist_retriever_add(sp_dist_retriever *d, const float *keys, const uint64_t *position_ids,
                          const uint32_t *game_ids, uint64_t count, uint32_t dim)
{
    static const char fn[] = "sp_dist_retriever_add";
    if (!d)
        return sp__error(SP_ERR_INVALID_ARG, "%s: retriever is NULL", fn);
    int rc = dim != d->dim ? sp__error(SP_ERR_INVALID_ARG, "%s: keys have dimension %u, the index %u", fn, dim,
                                       d->dim)
                           : check_keys(keys, position_ids, game_ids, count, fn);
    rc = sp__dist_agree(d->comm, rc, fn);
    return rc == SP_OK ? add_routed(d, keys, position_ids, game_ids, count, fn) : rc;
}

/* Payload of one sp__dist_agree (MPI_2INT), for the search's byte count. */
#define AGREE_BYTES (2 * sizeof(int))

/* Search settings as the root holds them, sent to every rank. */
struct wire_query {
    uint64_t count, embedder_id;
    uint32_t dim, k, nprobe, rerank, exclude, threads, max_codes, root;
};

/* This rank's k candidates per query from the shards it holds: its one
 * shard's answer, none (no id, infinite distance), or the merge of its
 * shards' answers, which is what their ranks would have sent. */
static int search_held(const sp_dist_retriever *d, const float *queries, uint64_t nq, const struct wire_query *w,
                       const sp_retriever_query *q, uint64_t *ids, float *dist, uint32_t *games, const char *fn)
{
    size_t n = (size_t)nq * w->k;
    if (d->held == 1)
        return sp_retriever_search(d->local, queries, nq, w->dim, w->k, q, ids, dist, games);
    if (d->held == 0) {
        for (size_t i = 0; i < n; i++) {
            ids[i] = SP_RETRIEVER_NO_ID;
            dist[i] = INFINITY;
            games[i] = UINT32_MAX;
        }
        return SP_OK;
    }
    size_t all = n * (size_t)d->held;
    uint64_t *each_ids = malloc(all * sizeof *each_ids);
    float *each_dist = malloc(all * sizeof *each_dist);
    uint32_t *each_games = malloc(all * sizeof *each_games);
    int rc = each_ids && each_dist && each_games ? SP_OK : sp__error(SP_ERR_NOMEM, "%s: shard results", fn);
    for (int s = 0; s < d->held && rc == SP_OK; s++)
        rc = sp_retriever_search(d->shard[s], queries, nq, w->dim, w->k, q, each_ids + s * n, each_dist + s * n,
                                 each_games + s * n);
    if (rc == SP_OK)
        rc = sp__dist_merge(each_ids, each_dist, each_games, d->held, nq, w->k, ids, dist, games, fn);
    free(each_ids);
    free(each_dist);
    free(each_games);
    return rc;
}

/* One round of queries: every shard searches them, the root gathers and merges. */
static int search_round(const sp_dist_retriever *d, int root, const float *queries, uint64_t nq,
                        const struct wire_query *w, const sp_retriever_query *q, uint64_t *out_ids,
                        float *out_distances, uint32_t *out_games, uint64_t *sent, const char *fn)
{
    size_t n = (size_t)nq * w->k, all = d->rank == root ? n * (size_t)d->size : 0;
    uint64_t *ids = malloc(n * sizeof *ids), *all_ids = malloc((all ? all : 1) * sizeof *all_ids);
    float *dist = malloc(n * sizeof *dist), *all_dist = malloc((all ? all : 1) * sizeof *all_dist);
    uint32_t *games = malloc(n * sizeof *games), *all_games = malloc((all ? all : 1) * sizeof *all_games);
    float *merged_dist = out_distances ? out_distances : malloc(n * sizeof *merged_dist);
    uint32_t *merged_games = out_games ? out_games : malloc(n * sizeof *merged_games);
    int rc = SP_OK, err = MPI_SUCCESS;
    if (!ids || !all_ids || !dist || !all_dist || !games || !all_games || !merged_dist || !merged_games)
        rc = sp__error(SP_ERR_NOMEM, "%s: results of %llu queries", fn, (unsigned long long)nq);
    if (rc == SP_OK)
        rc = search_held(d, queries, nq, w, q, ids, dist, games, fn);
    rc = sp__dist_agree(d->comm, rc, fn);
    if (rc == SP_OK &&
        ((err = MPI_Gather(ids, (int)n, MPI_UINT64_T, all_ids, (int)n, MPI_UINT64_T, root, d->comm)) !=
             MPI_SUCCESS ||
         (err = MPI_Gather(dist, (int)n, MPI_FLOAT, all_dist, (int)n, MPI_FLOAT, root, d->comm)) != MPI_SUCCESS ||
         (err = MPI_Gather(games, (int)n, MPI_UINT32_T, all_games, (int)n, MPI_UINT32_T, root, d->comm)) !=
             MPI_SUCCESS))
        rc = sp__dist_mpi_error(err, fn, "MPI_Gather");
    if (rc == SP_OK && d->rank == root)
        rc = sp__dist_merge(all_ids, all_dist, all_games, d->size, nq, w->k, out_ids, merged_dist, merged_games, fn);
    rc = sp__dist_agree(d->comm, rc, fn);
    /* Two agreements and this rank's k candidates per query (id 8, distance 4, game 4 bytes). */
    *sent += 2 * AGREE_BYTES + (uint64_t)n * (sizeof *ids + sizeof *dist + sizeof *games);
    free(ids);
    free(all_ids);
    free(dist);
    free(all_dist);
    free(games);
    free(all_games);
    if (merged_dist != out_distances)
        free(merged_dist);
    if (merged_games != out_games)
        free(merged_games);
    return rc;
}

int sp_dist_retriever_search(const sp_dist_retriever *d, int root, const float *queries, uint64_t count,
                             uint32_t dim, uint32_t k, const sp_retriever_query *query, uint64_t *out_ids,
                             float *out_distances, uint32_t *out_games)
{
    static const char fn[] = "sp_dist_retriever_search";
    if (!d)
        return sp__error(SP_ERR_INVALID_ARG, "%s: retriever is NULL", fn);
    /* The one field a search writes: its byte count, a figure for
     * sp_dist_retriever_search_bytes() and the benchmarks. */
    uint64_t *sent = &((sp_dist_retriever *)d)->search_bytes;
    *sent = sizeof(int[2]) + AGREE_BYTES; /* the roots' allreduce and its agreement */
    int rc = SP_OK, err;
    sp_retriever_query q;
    int roots[2] = { root, -root }, agreed[2];
    if ((err = MPI_Allreduce(roots, agreed, 2, MPI_INT, MPI_MAX, d->comm)) != MPI_SUCCESS)
        return sp__dist_mpi_error(err, fn, "MPI_Allreduce");
    if (agreed[0] != -agreed[1])
        rc = sp__error(SP_ERR_INVALID_ARG, "%s: the ranks pass different roots (%d on this rank)", fn, root);
    else if (root < 0 || root >= d->size)
        rc = sp__error(SP_ERR_INVALID_ARG, "%s: root %d is not a rank (0..%d)", fn, root, d->size - 1);
    rc = sp__dist_agree(d->comm, rc, fn);
    if (rc != SP_OK)
        return rc;
    struct wire_query w = { 0 };
    if (d->rank == root) {
        rc = sp__retriever_query_read(&q, query, fn);
        if (rc == SP_OK && count > 0 && (!queries || !out_ids))
            rc = sp__error(SP_ERR_INVALID_ARG, "%s: NULL queries or out_ids on the root", fn);
        else if (rc == SP_OK && k == 0)
            rc = sp__error(SP_ERR_INVALID_ARG, "%s: k is 0", fn);
        else if (rc == SP_OK && dim != d->dim)
            rc = sp__error(SP_ERR_INVALID_ARG, "%s: queries have dimension %u, the index %u", fn, dim, d->dim);
        else if (rc == SP_OK && count > 0 && q.exclude != SP_RETRIEVER_EXCLUDE_NONE && !q.game_ids)
            rc = sp__error(SP_ERR_INVALID_ARG, "%s: an exclusion needs query->game_ids", fn);
        else if (rc == SP_OK && (uint64_t)k * (uint64_t)d->size > INT_MAX / 8)
            rc = sp__error(SP_ERR_INVALID_ARG, "%s: k %u too large for %d ranks", fn, k, d->size);
        w = (struct wire_query){ count, q.embedder_id, dim, k, q.nprobe, q.rerank, q.exclude, q.threads,
                                 q.max_codes, (uint32_t)root };
    }
    rc = sp__dist_agree(d->comm, rc, fn);
    if (rc == SP_OK && (err = MPI_Bcast(&w, (int)sizeof w, MPI_BYTE, root, d->comm)) != MPI_SUCCESS)
        rc = sp__dist_mpi_error(err, fn, "MPI_Bcast");
    *sent += AGREE_BYTES + (d->rank == root ? sizeof w : 0);
    if (rc != SP_OK || w.count == 0)
        return rc;
    q = (sp_retriever_query){ SP_RETRIEVER_QUERY_VERSION, w.nprobe, w.rerank, w.exclude, NULL, w.embedder_id,
                              w.threads, w.max_codes };
    /* Rounds of queries small enough for int counts of every gather. */
    uint64_t per_round = (uint64_t)(INT_MAX / 8) / ((uint64_t)w.k * (uint64_t)d->size + w.dim);
    per_round = per_round < 4096 ? (per_round ? per_round : 1) : 4096;
    float *batch = d->rank == root ? NULL : malloc(per_round * w.dim * sizeof *batch);
    uint32_t *games = w.exclude != SP_RETRIEVER_EXCLUDE_NONE && d->rank != root
                          ? malloc(per_round * sizeof *games) : NULL;
    if (d->rank != root && (!batch || (w.exclude != SP_RETRIEVER_EXCLUDE_NONE && !games)))
        rc = sp__error(SP_ERR_NOMEM, "%s: a round of %llu queries", fn, (unsigned long long)per_round);
    rc = sp__dist_agree(d->comm, rc, fn);
    *sent += AGREE_BYTES;
    for (uint64_t from = 0; from < w.count && rc == SP_OK; from += per_round) {
        uint64_t nq = w.count - from < per_round ? w.count - from : per_round;
        const float *rows = d->rank == root ? queries + from * w.dim : batch;
        const uint32_t *row_games = d->rank == root && w.exclude != SP_RETRIEVER_EXCLUDE_NONE
                                        ? query->game_ids + from : games;
        if ((err = MPI_Bcast((void *)rows, (int)(nq * w.dim), MPI_FLOAT, root, d->comm)) != MPI_SUCCESS ||
            (w.exclude != SP_RETRIEVER_EXCLUDE_NONE &&
             (err = MPI_Bcast((void *)row_games, (int)nq, MPI_UINT32_T, root, d->comm)) != MPI_SUCCESS)) {
            rc = sp__dist_mpi_error(err, fn, "MPI_Bcast");
            break;
        }
        /* The root sends the batch (and its game ids) to every rank. */
        if (d->rank == root)
            *sent += nq * w.dim * sizeof *rows + (w.exclude != SP_RETRIEVER_EXCLUDE_NONE ? nq * sizeof *row_games : 0);
        q.game_ids = row_games;
        rc = search_round(d, root, rows, nq, &w, &q, d->rank == root ? out_ids + from * w.k : NULL,
                          d->rank == root && out_distances ? out_distances + from * w.k : NULL,
                          d->rank == root && out_games ? out_games + from * w.k : NULL, sent, fn);
    }
    free(batch);
    free(games);
    return rc;
}

const sp_retriever *sp_dist_retriever_local(const sp_dist_retriever *d) { return sp_dist_retriever_shard(d, 0); }

const sp_retriever *sp_dist_retriever_shard(const sp_dist_retriever *d, int i)
{
    return d && i >= 0 && i < d->held ? d->shard[i] : NULL;
}

uint64_t sp_dist_retriever_count(const sp_dist_retriever *d) { return d ? d->global_count : 0; }

int sp_dist_retriever_rank(const sp_dist_retriever *d) { return d ? d->rank : -1; }

int sp_dist_retriever_size(const sp_dist_retriever *d) { return d ? d->size : 0; }

uint64_t sp_dist_retriever_search_bytes(const sp_dist_retriever *d) { return d ? d->search_bytes : 0; }
