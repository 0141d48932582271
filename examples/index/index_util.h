/* Helpers shared by sp-index and `sp-bench retrieval`: PCA keys of dataset
 * positions, recall against exact search, a terminal progress line. */
#ifndef SP_INDEX_UTIL_H
#define SP_INDEX_UTIL_H

#include "semiparam.h"

/* Keys of `n` position ids into out (n x dim floats); 0 on success. */
typedef int (*index_keys_fn)(void *ctx, const uint64_t *ids, uint64_t n, float *out);

/* Train a PCA to `dim` on the planes of `sample` positions spread evenly over [0, n_positions). */
int index_train_pca(const sp_dataset *ds, uint64_t n_positions, uint64_t sample, int history, uint32_t dim,
                    uint32_t threads, sp_pca **out);

/* History of the planes a PCA reads (its input is planes x size x size). */
int index_pca_history(const sp_pca *pca, int board_size);

/* Recall@k counting ties: a returned id is a hit when its exact distance to
 * the query is at most the exact k-th nearest distance (exact_dist holds
 * the exact search's nq x k distances). Returns -1 when keys_of fails. */
double index_recall(const float *queries, uint64_t nq, uint32_t dim, uint32_t k, const float *exact_dist,
                    const uint64_t *approx_ids, index_keys_fn keys_of, void *ctx);

/* Progress callback printing "\r task done/total rate" on stderr when it is a terminal. */
int index_progress(const char *task, uint64_t done, uint64_t total, void *payload);

/* Monotonic seconds. */
double index_now(void);

#endif
