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
