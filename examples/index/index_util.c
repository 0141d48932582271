/* Shared helpers of sp-index and sp-bench retrieval (see index_util.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "index_util.h"

double index_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int index_progress(const char *task, uint64_t done, uint64_t total, void *payload)
{
    static double start, last;
    static char current[32];
    double t = index_now();
    if (strncmp(current, task, sizeof current - 1) != 0) {
        snprintf(current, sizeof current, "%s", task);
        start = t;
        last = 0;
    }
    if (!isatty(2) || (t - last < 0.5 && done < total))
        return 0;
    last = t;
    double rate = t > start ? (double)done / (t - start) : 0;
    fprintf(stderr, "\r\033[K%s %llu/%llu (%.0f/s)%s", task, (unsigned long long)done, (unsigned long long)total,
            rate, done >= total ? "\n" : "");
    return 0;
}

int index_train_pca(const sp_dataset *ds, uint64_t n_positions, uint64_t sample, int history, uint32_t dim,
                    uint32_t threads, sp_pca **out)
{
    int size = sp_dataset_board_size(ds);
    uint32_t dim_in = (uint32_t)sp_go_plane_count(history) * (uint32_t)(size * size);
    if (sample > n_positions)
        sample = n_positions;
    uint64_t *pos = malloc(sample * sizeof *pos);
    float *planes = malloc(sample * dim_in * sizeof *planes);
    int rc = pos && planes ? SP_OK : SP_ERR_NOMEM;
    for (uint64_t i = 0; i < sample; i++)
        pos[i] = i * (n_positions / sample);
    if (rc == SP_OK)
        rc = sp_pca_position_planes(ds, pos, sample, history, planes, sample * dim_in, NULL);
    if (rc == SP_OK)
        rc = sp_pca_train(out, planes, sample, dim_in, dim, threads);
    free(pos);
    free(planes);
    return rc;
}

int index_pca_history(const sp_pca *pca, int board_size)
{
    int planes = (int)(sp_pca_dim_in(pca) / (uint32_t)(board_size * board_size));
    return (planes - 2) / 2;
}

double index_recall(const float *queries, uint64_t nq, uint32_t dim, uint32_t k, const float *exact_dist,
                    const uint64_t *approx_ids, index_keys_fn keys_of, void *ctx)
{
    float *keys = malloc((size_t)k * dim * sizeof *keys);
    uint64_t hits = 0;
    for (uint64_t i = 0; keys && i < nq; i++) {
        float kth = exact_dist[i * k + k - 1];
        uint64_t ids[256];
        uint32_t m = 0;
        for (uint32_t j = 0; j < k && j < 256; j++)
            if (approx_ids[i * k + j] != SP_RETRIEVER_NO_ID)
                ids[m++] = approx_ids[i * k + j];
        if (m && keys_of(ctx, ids, m, keys) != 0) {
            free(keys);
            return -1;
        }
        for (uint32_t j = 0; j < m; j++) {
            float d = 0;
            for (uint32_t c = 0; c < dim; c++) {
                float t = queries[i * dim + c] - keys[j * dim + c];
                d += t * t;
            }
            /* Relative slack for float rounding between the two searches. */
            if (d <= kth * 1.0001f + 1e-6f)
                hits++;
        }
    }
    free(keys);
    return nq ? (double)hits / (double)(nq * k) : 0;
}
