/* embed.h in a build without FAISS (meson -Dretrieval=disabled): every
 * fallible call fails with SP_ERR_UNSUPPORTED, handles come back NULL and
 * queries of a handle answer as for NULL. */
#include <stddef.h>

#include "core/disabled.h"
#include "semiparam/embed.h"

#define UNSUPPORTED SP__DISABLED("retrieval")

int sp_pca_train(sp_pca **out, const float *samples, uint64_t count, uint32_t dim_in, uint32_t dim_out,
                 uint32_t threads)
{
    if (out)
        *out = NULL;
    return UNSUPPORTED;
}

void sp_pca_free(sp_pca *pca) {}

int sp_pca_apply(const sp_pca *pca, const float *in, uint64_t count, uint32_t dim_in, float *out)
{
    return UNSUPPORTED;
}

uint32_t sp_pca_dim_in(const sp_pca *pca) { return 0; }

uint32_t sp_pca_dim_out(const sp_pca *pca) { return 0; }

uint64_t sp_pca_id(const sp_pca *pca) { return 0; }

int sp_pca_save(const sp_pca *pca, const char *path) { return UNSUPPORTED; }

int sp_pca_load(sp_pca **out, const char *path)
{
    if (out)
        *out = NULL;
    return UNSUPPORTED;
}

int sp_pca_position_planes(const sp_dataset *ds, const uint64_t *positions, uint64_t count, int history, float *out,
                           size_t capacity, uint32_t *out_game_ids)
{
    return UNSUPPORTED;
}

int sp_pca_position_keys(const sp_pca *pca, const sp_dataset *ds, const uint64_t *positions, uint64_t count,
                         int history, float *out_keys, uint32_t *out_game_ids)
{
    return UNSUPPORTED;
}

int sp_pca_components(const sp_pca *pca, float *mean, float *matrix) { return UNSUPPORTED; }

int sp_embedder_options_init(sp_embedder_options *opts, uint32_t version) { return UNSUPPORTED; }

int sp_embedder_fit(sp_embedder **out, sp_model *model, const sp_dataset *ds, const sp_embedder_options *opts)
{
    if (out)
        *out = NULL;
    return UNSUPPORTED;
}

int sp_embedder_from_pca(sp_embedder **out, const sp_pca *pca, int32_t board_size, int32_t history)
{
    if (out)
        *out = NULL;
    return UNSUPPORTED;
}

void sp_embedder_free(sp_embedder *e) {}

uint64_t sp_embedder_id(const sp_embedder *e) { return 0; }

uint32_t sp_embedder_dim(const sp_embedder *e) { return 0; }

const sp_pca *sp_embedder_pca(const sp_embedder *e) { return NULL; }

int sp_embedder_describe(const sp_embedder *e, sp_embedder_info *out) { return UNSUPPORTED; }

int sp_embedder_embed_planes(const sp_embedder *e, const float *planes, uint64_t n, float *keys)
{
    return UNSUPPORTED;
}

int sp_embedder_embed_games(const sp_embedder *e, const sp_game *const *games, uint64_t n, float *keys)
{
    return UNSUPPORTED;
}

int sp_embedder_embed_positions(const sp_embedder *e, const sp_dataset *ds, const uint64_t *positions,
                                uint64_t count, float *keys, uint32_t *out_game_ids)
{
    return UNSUPPORTED;
}

int sp_embedder_save(const sp_embedder *e, const char *path) { return UNSUPPORTED; }

int sp_embedder_load(sp_embedder **out, const char *path, sp_model *model)
{
    if (out)
        *out = NULL;
    return UNSUPPORTED;
}
