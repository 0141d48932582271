/* Search: per-query nprobe/rerank/max_codes under a reader-writer lock, half
 * exclusion (query the other half) and game exclusion (over-fetch, filter,
 * widen until k keys qualify or the half is exhausted). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <faiss/c_api/IndexIVF_c.h>

#include "core/core_internal.h"
#include "retrieval_internal.h"

/* FAISS's max_codes for half h: the query's budget, or by default
 * SP__DEFAULT_BUDGET_LISTS times the codes of nprobe average lists (0: none). */
static uint64_t half_max_codes(const sp_retriever *r, uint32_t h, uint32_t nprobe, uint32_t max_codes)
{
    if (max_codes == SP_RETRIEVER_ALL_CODES || !r->has_max_codes)
        return 0;
    if (max_codes > 0)
        return max_codes;
    if (r->nlist == 0)
        return 0;
    uint64_t average = (r->half[h].count + r->nlist - 1) / r->nlist;
    return SP__DEFAULT_BUDGET_LISTS * (uint64_t)nprobe * (average > 0 ? average : 1);
}

/* Take the lock with the index set to (nprobe, rerank, max_codes): a read
 * lock when it already is, else the write lock (held through the search). */
static void params_acquire(sp_retriever *r, uint32_t nprobe, uint32_t rerank, uint32_t max_codes)
{
    pthread_rwlock_rdlock(&r->lock);
    int same = (!r->has_nprobe || r->current_nprobe == nprobe) && (!r->has_rerank || r->current_rerank == rerank);
    for (uint32_t h = 0; h < r->halves; h++)
        same = same && r->current_max_codes[h] == half_max_codes(r, h, nprobe, max_codes);
    if (same)
        return;
    pthread_rwlock_unlock(&r->lock);
    pthread_rwlock_wrlock(&r->lock);
    for (uint32_t h = 0; h < r->halves; h++) {
        if (r->has_nprobe)
            faiss_ParameterSpace_set_index_parameter(r->params, r->half[h].index, "nprobe", nprobe);
        if (r->has_rerank)
            faiss_ParameterSpace_set_index_parameter(r->params, r->half[h].index, r->rerank_param, rerank);
        /* The budget follows the half's size, which sp_retriever_add() grows. */
        r->current_max_codes[h] = half_max_codes(r, h, nprobe, max_codes);
        if (r->has_max_codes)
            faiss_ParameterSpace_set_index_parameter(r->params, r->half[h].index, "max_codes",
                                                     (double)r->current_max_codes[h]);
    }
    r->current_nprobe = nprobe;
    r->current_rerank = rerank;
}

/* Halves a query searches, as a bit mask. */
static unsigned query_mask(const sp_retriever *r, const sp_retriever_query *q, uint64_t i)
{
    if (r->halves == 1)
        return 1;
    if (q->exclude & SP_RETRIEVER_EXCLUDE_OWN_HALF)
        return 1u << (1 - sp_retriever_game_half(q->game_ids[i]));
    return 3;
}

typedef struct search_job {
    sp_retriever *r;
    const float *queries;
    const sp_retriever_query *q;
    uint32_t k;
    uint64_t *out_ids;
    float *out_distances;
    uint32_t *out_games;
} search_job;

/* Search rows[0..n) (all with halves `mask`) fetching kk candidates per
 * half; writes the merged, filtered results and returns in *n_retry (rows
 * compacted to the front of `rows`) those that need a wider fetch. */
static int search_rows(search_job *job, uint64_t *rows, uint64_t n, unsigned mask, uint64_t kk, uint64_t *n_retry)
{
    sp_retriever *r = job->r;
    uint32_t dim = r->dim, k = job->k;
    int exclude_game = (job->q->exclude & SP_RETRIEVER_EXCLUDE_GAME) != 0;
    float *x = malloc(n * dim * sizeof *x);
    float *dist[2] = { NULL, NULL };
    idx_t *label[2] = { NULL, NULL };
    int rc = SP_OK;
    if (!x)
        return sp__error(SP_ERR_NOMEM, "sp_retriever_search: out of memory");
    for (uint64_t i = 0; i < n; i++)
        memcpy(x + i * dim, job->queries + rows[i] * dim, dim * sizeof *x);
    for (uint32_t h = 0; h < r->halves && rc == SP_OK; h++) {
        if (!(mask & (1u << h)))
            continue;
        dist[h] = malloc(n * kk * sizeof *dist[h]);
        label[h] = malloc(n * kk * sizeof *label[h]);
        if (!dist[h] || !label[h])
            rc = sp__error(SP_ERR_NOMEM, "sp_retriever_search: out of memory");
        else if (faiss_Index_search(r->half[h].index, (idx_t)n, x, (idx_t)kk, dist[h], label[h]) != 0)
            rc = sp__faiss_error("sp_retriever_search");
    }
    uint64_t retry = 0;
    for (uint64_t i = 0; i < n && rc == SP_OK; i++) {
        uint64_t row = rows[i];
        uint32_t own_game = exclude_game ? job->q->game_ids[row] : 0;
        uint64_t pos[2] = { 0, 0 };
        uint32_t found = 0;
        int exhausted = 1;  /* no searched half can give more candidates */
        for (uint32_t h = 0; h < r->halves; h++)
            if (label[h] && kk < r->half[h].count && label[h][i * kk + kk - 1] >= 0)
                exhausted = 0;
        while (found < k) {
            /* Next candidate: the nearer head of the two lists (half 0 on ties). */
            int best = -1;
            for (int h = 0; h < 2; h++) {
                if (!label[h] || pos[h] >= kk || label[h][i * kk + pos[h]] < 0)
                    continue;
                if (best < 0 || dist[h][i * kk + pos[h]] < dist[best][i * kk + pos[best]])
                    best = h;
            }
            if (best < 0)
                break;
            idx_t local = label[best][i * kk + pos[best]];
            float d = dist[best][i * kk + pos[best]];
            pos[best]++;
            const struct sp__half *half = &r->half[best];
            if ((uint64_t)local >= half->count)
                continue;  /* defensive: FAISS never returns ids beyond the metadata */
            uint32_t game = half->game_ids[local];
            if (exclude_game && game == own_game)
                continue;
            job->out_ids[row * k + found] = half->position_ids[local];
            if (job->out_distances)
                job->out_distances[row * k + found] = d;
            if (job->out_games)
                job->out_games[row * k + found] = game;
            found++;
        }
        if (found < k && exclude_game && !exhausted) {
            rows[retry++] = row;
            continue;
        }
        for (uint32_t j = found; j < k; j++) {
            job->out_ids[row * k + j] = SP_RETRIEVER_NO_ID;
            if (job->out_distances)
                job->out_distances[row * k + j] = INFINITY;
            if (job->out_games)
                job->out_games[row * k + j] = UINT32_MAX;
        }
    }
    for (int h = 0; h < 2; h++) {
        free(dist[h]);
        free(label[h]);
    }
    free(x);
    *n_retry = retry;
    return rc;
}

/* All rows with one mask; game exclusion widens the fetch until done. */
static int search_group(search_job *job, uint64_t *rows, uint64_t n, unsigned mask)
{
    const sp_retriever *r = job->r;
    uint64_t most = 0;
    for (uint32_t h = 0; h < r->halves; h++)
        if ((mask & (1u << h)) && r->half[h].count > most)
            most = r->half[h].count;
    uint64_t kk = job->k;
    if (job->q->exclude & SP_RETRIEVER_EXCLUDE_GAME)
        kk = 2 * (uint64_t)job->k + 32;
    while (n > 0) {
        if (kk > most && most >= job->k)
            kk = most;
        if (kk < job->k)
            kk = job->k;
        uint64_t retry = 0;
        int rc = search_rows(job, rows, n, mask, kk, &retry);
        if (rc != SP_OK)
            return rc;
        if (retry > 0 && kk >= most)  /* cannot happen: a full fetch is exhaustive */
            return sp__error(SP_ERR_INTERNAL, "sp_retriever_search: exclusion did not converge");
        n = retry;
        kk *= 4;
    }
    return SP_OK;
}

uint64_t sp__ivf_codes_scanned_take(void)
{
    FaissIndexIVFStats *stats = faiss_get_indexIVF_stats();
    uint64_t n = stats->ndis;
    faiss_IndexIVFStats_reset(stats);
    return n;
}

int sp_retriever_search(const sp_retriever *retriever, const float *queries, uint64_t count, uint32_t dim,
                        uint32_t k, const sp_retriever_query *query, uint64_t *out_ids, float *out_distances,
                        uint32_t *out_games)
{
    sp_retriever_query q;
    int rc = sp__retriever_query_read(&q, query, "sp_retriever_search");
    if (rc != SP_OK)
        return rc;
    if (!retriever || (count > 0 && (!queries || !out_ids)))
        return sp__error(SP_ERR_INVALID_ARG, "sp_retriever_search: NULL argument");
    sp_retriever *r = (sp_retriever *)retriever;  /* the lock and parameters change; the keys do not */
    if (dim != r->dim)
        return sp__error(SP_ERR_INVALID_ARG, "sp_retriever_search: queries have dimension %u, the index %u", dim,
                         r->dim);
    if (k == 0)
        return sp__error(SP_ERR_INVALID_ARG, "sp_retriever_search: k is 0");
    if (q.nprobe > SP_RETRIEVER_MAX_NPROBE)
        return sp__error(SP_ERR_INVALID_ARG, "sp_retriever_search: nprobe %u is above %u", q.nprobe,
                         SP_RETRIEVER_MAX_NPROBE);
    if (q.rerank > SP_RETRIEVER_MAX_RERANK)
        return sp__error(SP_ERR_INVALID_ARG, "sp_retriever_search: rerank %u is above %u", q.rerank,
                         SP_RETRIEVER_MAX_RERANK);
    if (q.embedder_id != r->embedder_id)
        return sp__error(SP_ERR_MISUSE, "sp_retriever_search: query embedder %016llx, index built with embedder %016llx",
                         (unsigned long long)q.embedder_id, (unsigned long long)r->embedder_id);
    if (q.exclude & ~(uint32_t)(SP_RETRIEVER_EXCLUDE_OWN_HALF | SP_RETRIEVER_EXCLUDE_GAME))
        return sp__error(SP_ERR_INVALID_ARG, "sp_retriever_search: unknown exclusion flags %#x", q.exclude);
    if (q.exclude && count > 0 && !q.game_ids)
        return sp__error(SP_ERR_INVALID_ARG, "sp_retriever_search: exclusion needs the queries' game ids");
    if ((q.exclude & SP_RETRIEVER_EXCLUDE_OWN_HALF) && r->halves < 2)
        return sp__error(SP_ERR_MISUSE, "sp_retriever_search: own-half exclusion needs a two-half index");
    if (!r->trained)
        return sp__error(SP_ERR_MISUSE, "sp_retriever_search: the index is not trained");
    if (count == 0)
        return SP_OK;

    uint64_t *rows = malloc(count * sizeof *rows);
    if (!rows)
        return sp__error(SP_ERR_NOMEM, "sp_retriever_search: out of memory");
    search_job job = { r, queries, &q, k, out_ids, out_distances, out_games };
    uint32_t nprobe = q.nprobe ? q.nprobe : r->default_nprobe;
    uint32_t rerank = q.rerank ? q.rerank : SP__DEFAULT_RERANK;
    int previous = sp__omp_enter(q.threads ? q.threads : r->threads);
    params_acquire(r, nprobe, rerank, q.max_codes);
    for (unsigned mask = 1; mask <= 3 && rc == SP_OK; mask++) {
        uint64_t n = 0;
        for (uint64_t i = 0; i < count; i++)
            if (query_mask(r, &q, i) == mask)
                rows[n++] = i;
        if (n > 0)
            rc = search_group(&job, rows, n, mask);
    }
    pthread_rwlock_unlock(&r->lock);
    sp__omp_leave(previous);
    free(rows);
    return rc;
}
