/* The position and game ids a retriever half holds, in index order. */
#include <string.h>

#include "core/core_internal.h"
#include "retrieval_internal.h"

int sp_retriever_ids(const sp_retriever *r, uint32_t half, uint64_t *out_position_ids, uint32_t *out_game_ids,
                     size_t capacity, size_t *out_count)
{
    if (!r || half >= r->halves)
        return sp__error(SP_ERR_INVALID_ARG, "sp_retriever_ids: NULL retriever or half out of range");
    sp_retriever *w = (sp_retriever *)r;
    pthread_rwlock_rdlock(&w->lock);
    const struct sp__half *h = &r->half[half];
    size_t n = (size_t)h->count;
    int rc = SP_OK;
    if (out_count)
        *out_count = n;
    if (n > capacity) {
        rc = sp__error(SP_ERR_BUFFER_TOO_SMALL, "sp_retriever_ids: %zu entries needed", n);
    } else {
        if (out_position_ids && n)
            memcpy(out_position_ids, h->position_ids, n * sizeof *out_position_ids);
        if (out_game_ids && n)
            memcpy(out_game_ids, h->game_ids, n * sizeof *out_game_ids);
    }
    pthread_rwlock_unlock(&w->lock);
    return rc;
}
