/* retriever.h in a build without the retrieval module (meson
 * -Dretrieval=disabled): every fallible call fails with SP_ERR_UNSUPPORTED,
 * handles come back NULL, queries of a handle answer as for NULL, and the
 * game half, which needs no index, is the data module's as in every build. */
#include <stddef.h>

#include "core/disabled.h"
#include "data/data_internal.h"
#include "semiparam/retriever.h"

#define UNSUPPORTED SP__DISABLED("retrieval")

int sp_retriever_options_init(sp_retriever_options *opts, uint32_t version) { return UNSUPPORTED; }

int sp_retriever_default_factory(uint32_t dim, uint64_t count, char *buf, size_t capacity)
{
    if (buf && capacity > 0)
        buf[0] = '\0';
    return UNSUPPORTED;
}

int sp_retriever_create(sp_retriever **out, uint32_t dim, uint64_t expected_count, const sp_retriever_options *opts)
{
    if (out)
        *out = NULL;
    return UNSUPPORTED;
}

void sp_retriever_free(sp_retriever *retriever) {}

int sp_retriever_train(sp_retriever *retriever, const float *keys, uint64_t count, uint32_t dim)
{
    return UNSUPPORTED;
}

int sp_retriever_add(sp_retriever *retriever, const float *keys, const uint64_t *position_ids,
                     const uint32_t *game_ids, uint64_t count, uint32_t dim)
{
    return UNSUPPORTED;
}

int sp_retriever_build(sp_retriever **out, const float *keys, const uint64_t *position_ids, const uint32_t *game_ids,
                       uint64_t count, uint32_t dim, const sp_retriever_options *opts)
{
    if (out)
        *out = NULL;
    return UNSUPPORTED;
}

uint32_t sp_retriever_dim(const sp_retriever *retriever) { return 0; }

uint64_t sp_retriever_count(const sp_retriever *retriever) { return 0; }

uint64_t sp_retriever_half_count(const sp_retriever *retriever, uint32_t half) { return 0; }

uint32_t sp_retriever_halves(const sp_retriever *retriever) { return 0; }

uint64_t sp_retriever_embedder_id(const sp_retriever *retriever) { return 0; }

const char *sp_retriever_factory(const sp_retriever *retriever) { return ""; }

double sp_retriever_bytes_per_key(const sp_retriever *retriever) { return 0.0; }

uint32_t sp_retriever_game_half(uint32_t game_id) { return sp__game_half(game_id); }

int sp_retriever_query_init(sp_retriever_query *query, uint32_t version) { return UNSUPPORTED; }

int sp_retriever_search(const sp_retriever *retriever, const float *queries, uint64_t count, uint32_t dim,
                        uint32_t k, const sp_retriever_query *query, uint64_t *out_ids, float *out_distances,
                        uint32_t *out_games)
{
    return UNSUPPORTED;
}

int sp_retriever_save(const sp_retriever *retriever, const char *path) { return UNSUPPORTED; }

int sp_retriever_load(sp_retriever **out, const char *path, uint32_t flags, const sp_retriever_options *opts)
{
    if (out)
        *out = NULL;
    return UNSUPPORTED;
}

int sp_retriever_ids(const sp_retriever *retriever, uint32_t half, uint64_t *out_position_ids,
                     uint32_t *out_game_ids, size_t capacity, size_t *out_count)
{
    if (out_count)
        *out_count = 0;
    return UNSUPPORTED;
}

int sp_retriever_precompute(const sp_retriever *retriever, const float *keys, const uint64_t *position_ids,
                            const uint32_t *game_ids, uint64_t count, uint32_t dim, uint32_t k,
                            const sp_retriever_query *query, const char *path)
{
    return UNSUPPORTED;
}

int sp_neighbours_open(sp_neighbours **out, const char *path)
{
    if (out)
        *out = NULL;
    return UNSUPPORTED;
}

void sp_neighbours_free(sp_neighbours *neighbours) {}

uint64_t sp_neighbours_count(const sp_neighbours *neighbours) { return 0; }

uint32_t sp_neighbours_k(const sp_neighbours *neighbours) { return 0; }

uint64_t sp_neighbours_embedder_id(const sp_neighbours *neighbours) { return 0; }

int sp_neighbours_row(const sp_neighbours *neighbours, uint64_t row, uint64_t *out_position_id, uint64_t *out_ids,
                      float *out_distances)
{
    return UNSUPPORTED;
}
