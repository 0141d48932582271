/* Retriever life cycle: options, creation from a FAISS factory string,
 * training with a shared quantizer for both halves, and adding keys in
 * batches (also online, after a load). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <faiss/c_api/error_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <faiss/c_api/index_io_c.h>

#include "core/core_internal.h"
#include "data/data_internal.h"
#include "retrieval_internal.h"

int sp__faiss_error(const char *what)
{
    const char *msg = faiss_get_last_error();
    return sp__error(SP_ERR_INTERNAL, "%s: FAISS: %s", what, msg ? msg : "unknown error");
}

static const sp_retriever_options options_defaults = SP_RETRIEVER_OPTIONS_INIT;
static const sp__options_type options_type = { "sp_retriever_options", SP_RETRIEVER_OPTIONS_VERSION,
                                               sizeof(sp_retriever_options), &options_defaults, { 0 } };
static const sp_retriever_query query_defaults = SP_RETRIEVER_QUERY_INIT;
/* Version 1 ended at threads; max_codes (2) took what was its tail padding. */
static const sp__options_type query_type = { "sp_retriever_query", SP_RETRIEVER_QUERY_VERSION,
                                             sizeof(sp_retriever_query), &query_defaults,
                                             { offsetof(sp_retriever_query, max_codes) } };

int sp_retriever_options_init(sp_retriever_options *opts, uint32_t version)
{
    return sp__options_init(opts, version, &options_type, "sp_retriever_options_init");
}

int sp_retriever_query_init(sp_retriever_query *query, uint32_t version)
{
    return sp__options_init(query, version, &query_type, "sp_retriever_query_init");
}

int sp__retriever_options_read(sp_retriever_options *out, const sp_retriever_options *opts, const char *who)
{
    return sp__options_read(out, opts, &options_type, who);
}

int sp__retriever_query_read(sp_retriever_query *out, const sp_retriever_query *query, const char *who)
{
    return sp__options_read(out, query, &query_type, who);
}

int sp_retriever_default_factory(uint32_t dim, uint64_t count, char *buf, size_t capacity)
{
    if (dim == 0 || !buf)
        return sp__error(SP_ERR_INVALID_ARG, "sp_retriever_default_factory: dim is 0 or buf is NULL");
    int n;
    if (count < 4096) {
        n = snprintf(buf, capacity, "Flat");
    } else {
        /* nlist ~ 4 sqrt(n), rounded to a power of two in log scale. */
        double want = 4.0 * sqrt((double)count);
        uint64_t nlist = 16;
        while ((double)nlist * 1.41421356 < want)
            nlist *= 2;
        /* 8-bit sub-quantizers of 4 dimensions each (16 bytes at d = 64)
         * find the candidates, an 8-bit scalar code per dimension re-ranks
         * them: recall@10 0.90 at 10M CGOS keys (docs/benchmarks.md), where
         * PQ codes alone cap it and 2-dimension sub-quantizers train slowly. */
        uint32_t m = dim % 4 == 0 ? dim / 4 : dim % 2 == 0 ? dim / 2 : dim;
        n = snprintf(buf, capacity, "IVF%llu,PQ%unp,Refine(SQ8)", (unsigned long long)nlist, m);
    }
    if (n < 0 || (size_t)n >= capacity)
        return sp__error(SP_ERR_BUFFER_TOO_SMALL, "sp_retriever_default_factory: buffer too small");
    return SP_OK;
}

int sp__retriever_alloc(sp_retriever **out, uint32_t dim, uint32_t halves, const sp_retriever_options *opts)
{
    *out = NULL;
    /* Checked here, where every creation and load passes, so that no handle
     * (and no file it saves) carries a default FAISS cannot search with. */
    if (opts->default_nprobe > SP_RETRIEVER_MAX_NPROBE)
        return sp__error(SP_ERR_INVALID_ARG, "retriever options: default_nprobe %u is above %u",
                         opts->default_nprobe, SP_RETRIEVER_MAX_NPROBE);
    sp_retriever *r = calloc(1, sizeof *r);
    if (!r)
        return sp__error(SP_ERR_NOMEM, "retriever: out of memory");
    r->dim = dim;
    r->halves = halves;
    r->embedder_id = opts->embedder_id;
    r->train_size = opts->train_size;
    r->batch_size = opts->batch_size ? opts->batch_size : 65536;
    r->seed = opts->seed;
    r->threads = opts->threads;
    r->default_nprobe = opts->default_nprobe ? opts->default_nprobe : SP__DEFAULT_NPROBE;
    if (pthread_rwlock_init(&r->lock, NULL) != 0) {
        free(r);
        return sp__error(SP_ERR_NOMEM, "retriever: cannot create lock");
    }
    if (faiss_ParameterSpace_new(&r->params) != 0) {
        pthread_rwlock_destroy(&r->lock);
        free(r);
        return sp__faiss_error("retriever");
    }
    *out = r;
    return SP_OK;
}

/* IVF list count in a FAISS factory string ("...,IVF4096,..." or "IVF4096_HNSW32"); 0 if none. */
static uint64_t factory_nlist(const char *factory)
{
    for (const char *p = factory; p && *p; p++) {
        int starts_component = p == factory || p[-1] == ',';
        if (starts_component && !strncmp(p, "IVF", 3) && p[3] >= '1' && p[3] <= '9')
            return strtoull(p + 3, NULL, 10);
    }
    return 0;
}

void sp__retriever_probe_params(sp_retriever *r)
{
    r->has_nprobe = faiss_ParameterSpace_set_index_parameter(r->params, r->half[0].index, "nprobe",
                                                             r->default_nprobe) == 0;
    /* IndexRefine calls its factor "k_factor_rf", IndexIVFPQR "k_factor". */
    r->rerank_param = "k_factor_rf";
    r->has_rerank = faiss_ParameterSpace_set_index_parameter(r->params, r->half[0].index, r->rerank_param,
                                                             SP__DEFAULT_RERANK) == 0;
    if (!r->has_rerank) {
        r->rerank_param = "k_factor";
        r->has_rerank = faiss_ParameterSpace_set_index_parameter(r->params, r->half[0].index, r->rerank_param,
                                                                 SP__DEFAULT_RERANK) == 0;
    }
    r->has_max_codes = faiss_ParameterSpace_set_index_parameter(r->params, r->half[0].index, "max_codes", 0) == 0;
    r->nlist = factory_nlist(r->factory);
    for (uint32_t h = 1; h < r->halves; h++) {
        if (!r->half[h].index)
            continue;
        if (r->has_max_codes)
            faiss_ParameterSpace_set_index_parameter(r->params, r->half[h].index, "max_codes", 0);
        if (r->has_nprobe)
            faiss_ParameterSpace_set_index_parameter(r->params, r->half[h].index, "nprobe", r->default_nprobe);
        if (r->has_rerank)
            faiss_ParameterSpace_set_index_parameter(r->params, r->half[h].index, r->rerank_param, SP__DEFAULT_RERANK);
    }
    r->current_nprobe = r->default_nprobe;
    r->current_rerank = SP__DEFAULT_RERANK;
    r->current_max_codes[0] = r->current_max_codes[1] = 0;
    sp_clear_error();
}

/* A trained (or training-free) index is copied so both halves share its
 * quantizer. Through serialisation, since FAISS cannot clone every index
 * type (IndexRefine among them). */
static int make_second_half(sp_retriever *r)
{
    if (r->halves < 2 || r->half[1].index)
        return SP_OK;
    char *buf = NULL;
    size_t size = 0;
    FILE *fp = open_memstream(&buf, &size);
    if (!fp)
        return sp__error(SP_ERR_NOMEM, "retriever: cannot open a memory stream");
    int failed = faiss_write_index(r->half[0].index, fp) != 0;
    fclose(fp);
    if (!failed) {
        fp = fmemopen(buf, size, "rb");
        failed = !fp || faiss_read_index(fp, 0, &r->half[1].index) != 0;
        if (fp)
            fclose(fp);
    }
    free(buf);
    if (failed)
        return sp__faiss_error("retriever: copying the trained index for the second half");
    return SP_OK;
}

int sp_retriever_create(sp_retriever **out, uint32_t dim, uint64_t expected_count,
                        const sp_retriever_options *opts)
{
    if (!out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_retriever_create: out is NULL");
    *out = NULL;
    sp_retriever_options o;
    int rc = sp__retriever_options_read(&o, opts, "sp_retriever_create");
    if (rc != SP_OK)
        return rc;
    if (dim == 0 || dim > 65536)
        return sp__error(SP_ERR_INVALID_ARG, "sp_retriever_create: dimension %u out of range", dim);
    if (o.halves == 0)
        o.halves = 1;
    if (o.halves > 2)
        return sp__error(SP_ERR_INVALID_ARG, "sp_retriever_create: halves must be 1 or 2, not %u", o.halves);
    char factory[256];
    if (o.factory) {
        if (strlen(o.factory) >= sizeof factory)
            return sp__error(SP_ERR_INVALID_ARG, "sp_retriever_create: factory string too long");
        strcpy(factory, o.factory);
    } else if ((rc = sp_retriever_default_factory(dim, expected_count, factory, sizeof factory)) != SP_OK) {
        return rc;
    }
    sp_retriever *r;
    if ((rc = sp__retriever_alloc(&r, dim, o.halves, &o)) != SP_OK)
        return rc;
    r->factory = strdup(factory);
    if (!r->factory) {
        sp_retriever_free(r);
        return sp__error(SP_ERR_NOMEM, "sp_retriever_create: out of memory");
    }
    if (faiss_index_factory(&r->half[0].index, (int)dim, factory, METRIC_L2) != 0) {
        const char *msg = faiss_get_last_error();
        sp_retriever_free(r);
        return sp__error(SP_ERR_INVALID_ARG, "sp_retriever_create: FAISS refused factory \"%s\": %s", factory,
                         msg ? msg : "unknown error");
    }
    r->trained = faiss_Index_is_trained(r->half[0].index);
    if (r->trained && (rc = make_second_half(r)) != SP_OK) {
        sp_retriever_free(r);
        return rc;
    }
    sp__retriever_probe_params(r);
    *out = r;
    return SP_OK;
}

void sp_retriever_free(sp_retriever *r)
{
    if (!r)
        return;
    for (int h = 0; h < 2; h++) {
        if (r->half[h].index)
            faiss_Index_free(r->half[h].index);
        free(r->half[h].position_ids);
        free(r->half[h].game_ids);
    }
    if (r->params)
        faiss_ParameterSpace_free(r->params);
    pthread_rwlock_destroy(&r->lock);
    free(r->factory);
    free(r);
}

int sp_retriever_train(sp_retriever *r, const float *keys, uint64_t count, uint32_t dim)
{
    if (!r || !keys)
        return sp__error(SP_ERR_INVALID_ARG, "sp_retriever_train: NULL argument");
    if (dim != r->dim)
        return sp__error(SP_ERR_INVALID_ARG, "sp_retriever_train: keys have dimension %u, the index %u", dim,
                         r->dim);
    if (sp_retriever_count(r) > 0)
        return sp__error(SP_ERR_MISUSE, "sp_retriever_train: keys were already added");
    if (count == 0)
        return sp__error(SP_ERR_INVALID_ARG, "sp_retriever_train: no sample keys");
    if (r->halves > 1 && r->half[1].index) {
        faiss_Index_free(r->half[1].index);
        r->half[1].index = NULL;
    }
    sp__log(SP_LOG_INFO, "retriever: training %s on %llu keys of dimension %u", r->factory,
            (unsigned long long)count, dim);
    int previous = sp__omp_enter(r->threads);
    int failed = faiss_Index_train(r->half[0].index, (idx_t)count, keys) != 0;
    sp__omp_leave(previous);
    if (failed)
        return sp__faiss_error("sp_retriever_train");
    r->trained = 1;
    int rc = make_second_half(r);
    if (rc == SP_OK)
        sp__retriever_probe_params(r);
    return rc;
}

int sp__half_reserve(struct sp__half *h, uint64_t extra)
{
    if (h->count + extra <= h->capacity)
        return SP_OK;
    uint64_t capacity = h->capacity ? h->capacity : 1024;
    while (capacity < h->count + extra)
        capacity *= 2;
    uint64_t *pos = realloc(h->position_ids, capacity * sizeof *pos);
    if (!pos)
        return sp__error(SP_ERR_NOMEM, "retriever: out of memory for %llu ids", (unsigned long long)capacity);
    h->position_ids = pos;
    uint32_t *games = realloc(h->game_ids, capacity * sizeof *games);
    if (!games)
        return sp__error(SP_ERR_NOMEM, "retriever: out of memory for %llu ids", (unsigned long long)capacity);
    h->game_ids = games;
    h->capacity = capacity;
    return SP_OK;
}

uint32_t sp_retriever_game_half(uint32_t game_id) { return sp__game_half(game_id); }

/* Add one batch to half h (caller holds the write lock). */
static int add_to_half(sp_retriever *r, uint32_t h, const float *keys, const uint64_t *pos,
                       const uint32_t *games, uint64_t n)
{
    struct sp__half *half = &r->half[h];
    int rc = sp__half_reserve(half, n);
    if (rc != SP_OK)
        return rc;
    if (faiss_Index_add(half->index, (idx_t)n, keys) != 0)
        return sp__faiss_error("sp_retriever_add");
    memcpy(half->position_ids + half->count, pos, n * sizeof *pos);
    memcpy(half->game_ids + half->count, games, n * sizeof *games);
    half->count += n;
    if ((uint64_t)faiss_Index_ntotal(half->index) != half->count)
        return sp__error(SP_ERR_INTERNAL, "sp_retriever_add: FAISS holds %lld keys, the metadata %llu",
                         (long long)faiss_Index_ntotal(half->index), (unsigned long long)half->count);
    return SP_OK;
}

/* One batch, split by half into scratch buffers when there are two halves. */
static int add_batch(sp_retriever *r, const float *keys, const uint64_t *pos, const uint32_t *games,
                     uint64_t n, float *scratch_keys, uint64_t *scratch_pos, uint32_t *scratch_games)
{
    if (r->halves == 1)
        return add_to_half(r, 0, keys, pos, games, n);
    for (uint32_t h = 0; h < 2; h++) {
        uint64_t m = 0;
        for (uint64_t i = 0; i < n; i++) {
            if (sp_retriever_game_half(games[i]) != h)
                continue;
            memcpy(scratch_keys + m * r->dim, keys + i * r->dim, r->dim * sizeof(float));
            scratch_pos[m] = pos[i];
            scratch_games[m] = games[i];
            m++;
        }
        if (m > 0) {
            int rc = add_to_half(r, h, scratch_keys, scratch_pos, scratch_games, m);
            if (rc != SP_OK)
                return rc;
        }
    }
    return SP_OK;
}

int sp_retriever_add(sp_retriever *r, const float *keys, const uint64_t *position_ids,
                     const uint32_t *game_ids, uint64_t count, uint32_t dim)
{
    if (!r || (count > 0 && (!keys || !position_ids || !game_ids)))
        return sp__error(SP_ERR_INVALID_ARG, "sp_retriever_add: NULL argument");
    if (dim != r->dim)
        return sp__error(SP_ERR_INVALID_ARG, "sp_retriever_add: keys have dimension %u, the index %u", dim, r->dim);
    if (!r->trained)
        return sp__error(SP_ERR_MISUSE, "sp_retriever_add: the index is not trained");
    if (r->mmapped)
        return sp__error(SP_ERR_MISUSE, "sp_retriever_add: the index was loaded with SP_RETRIEVER_LOAD_MMAP (read-only)");
    /* The markers of "no neighbour" in search results cannot be ids. */
    for (uint64_t i = 0; i < count; i++)
        if (position_ids[i] == SP_RETRIEVER_NO_ID || game_ids[i] == UINT32_MAX)
            return sp__error(SP_ERR_INVALID_ARG, "sp_retriever_add: key %llu has a reserved id (position %llu, game %u)",
                             (unsigned long long)i, (unsigned long long)position_ids[i], game_ids[i]);
    uint64_t batch = r->batch_size;
    float *scratch_keys = NULL;
    uint64_t *scratch_pos = NULL;
    uint32_t *scratch_games = NULL;
    if (r->halves > 1) {
        uint64_t cap = count < batch ? count : batch;
        scratch_keys = malloc((cap ? cap : 1) * r->dim * sizeof *scratch_keys);
        scratch_pos = malloc((cap ? cap : 1) * sizeof *scratch_pos);
        scratch_games = malloc((cap ? cap : 1) * sizeof *scratch_games);
        if (!scratch_keys || !scratch_pos || !scratch_games) {
            free(scratch_keys);
            free(scratch_pos);
            free(scratch_games);
            return sp__error(SP_ERR_NOMEM, "sp_retriever_add: out of memory");
        }
    }
    int rc = SP_OK;
    sp__log(SP_LOG_INFO, "retriever: adding %llu keys in batches of %llu to %s", (unsigned long long)count,
            (unsigned long long)batch, r->factory);
    int previous = sp__omp_enter(r->threads);
    for (uint64_t done = 0; done < count && rc == SP_OK;) {
        uint64_t n = count - done < batch ? count - done : batch;
        pthread_rwlock_wrlock(&r->lock);
        rc = add_batch(r, keys + done * r->dim, position_ids + done, game_ids + done, n, scratch_keys,
                       scratch_pos, scratch_games);
        pthread_rwlock_unlock(&r->lock);
        done += n;
        if (rc == SP_OK && sp__progress("index-add", done, count) != 0)
            rc = sp__error(SP_ERR_CANCELLED, "sp_retriever_add: cancelled after %llu keys", (unsigned long long)done);
    }
    sp__omp_leave(previous);
    free(scratch_keys);
    free(scratch_pos);
    free(scratch_games);
    if (rc == SP_OK)
        sp__log(SP_LOG_INFO, "retriever: %llu keys held (half 0: %llu, half 1: %llu)",
                (unsigned long long)sp_retriever_count(r), (unsigned long long)r->half[0].count,
                (unsigned long long)r->half[1].count);
    else
        sp__log(SP_LOG_ERROR, "retriever: adding keys failed: %s", sp_last_error());
    return rc;
}

/* Random sample without replacement (partial Fisher-Yates over indices). */
static float *training_sample(const float *keys, uint64_t count, uint32_t dim, uint64_t want, uint64_t seed)
{
    float *sample = malloc(want * dim * sizeof *sample);
    if (!sample)
        return NULL;
    if (want == count) {
        memcpy(sample, keys, count * dim * sizeof *sample);
        return sample;
    }
    uint64_t *order = malloc(count * sizeof *order);
    if (!order) {
        free(sample);
        return NULL;
    }
    for (uint64_t i = 0; i < count; i++)
        order[i] = i;
    struct sp_rng rng;
    sp__rng_seed(&rng, seed);
    for (uint64_t i = 0; i < want; i++) {
        uint64_t j = i + sp__rng_next(&rng) % (count - i);
        uint64_t t = order[i];
        order[i] = order[j];
        order[j] = t;
        memcpy(sample + i * dim, keys + order[i] * dim, dim * sizeof *sample);
    }
    free(order);
    return sample;
}

int sp_retriever_build(sp_retriever **out, const float *keys, const uint64_t *position_ids,
                       const uint32_t *game_ids, uint64_t count, uint32_t dim, const sp_retriever_options *opts)
{
    if (!out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_retriever_build: out is NULL");
    *out = NULL;
    if (!keys || !position_ids || !game_ids || count == 0)
        return sp__error(SP_ERR_INVALID_ARG, "sp_retriever_build: NULL argument or no keys");
    sp_retriever *r;
    int rc = sp_retriever_create(&r, dim, count, opts);
    if (rc != SP_OK)
        return rc;
    sp__log(SP_LOG_INFO, "retriever: building %s over %llu keys of dimension %u in %u half(s)", r->factory,
            (unsigned long long)count, dim, r->halves);
    if (!r->trained) {
        uint64_t want = r->train_size;
        if (want == 0) {
            want = 64 * r->nlist;
            if (want < 65536)
                want = 65536;
        }
        if (want > count)
            want = count;
        float *sample = training_sample(keys, count, dim, want, r->seed);
        if (!sample) {
            sp_retriever_free(r);
            return sp__error(SP_ERR_NOMEM, "sp_retriever_build: out of memory for the training sample");
        }
        sp__progress("index-train", 0, 1);
        rc = sp_retriever_train(r, sample, want, dim);
        free(sample);
        if (rc == SP_OK && sp__progress("index-train", 1, 1) != 0)
            rc = sp__error(SP_ERR_CANCELLED, "sp_retriever_build: cancelled after training");
    }
    if (rc == SP_OK)
        rc = sp_retriever_add(r, keys, position_ids, game_ids, count, dim);
    if (rc != SP_OK) {
        sp_retriever_free(r);
        return rc;
    }
    *out = r;
    return SP_OK;
}

uint32_t sp_retriever_dim(const sp_retriever *r) { return r ? r->dim : 0; }

uint64_t sp_retriever_count(const sp_retriever *r)
{
    return r ? r->half[0].count + r->half[1].count : 0;
}

uint64_t sp_retriever_half_count(const sp_retriever *r, uint32_t half)
{
    return r && half < r->halves ? r->half[half].count : 0;
}

uint32_t sp_retriever_halves(const sp_retriever *r) { return r ? r->halves : 0; }

uint64_t sp_retriever_embedder_id(const sp_retriever *r) { return r ? r->embedder_id : 0; }

const char *sp_retriever_factory(const sp_retriever *r) { return r && r->factory ? r->factory : ""; }

double sp_retriever_bytes_per_key(const sp_retriever *r)
{
    if (!r || !r->half[0].index)
        return 0;
    size_t code = 0;
    if (faiss_Index_sa_code_size(r->half[0].index, &code) != 0) {
        sp_clear_error();
        return 0;
    }
    /* IVF lists keep an 8-byte id beside each code. */
    return (double)code + (r->has_nprobe ? 8.0 : 0.0);
}
