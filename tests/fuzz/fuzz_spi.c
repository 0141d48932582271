/* Fuzz the retrieval loaders (.spi index, .spp PCA, .spn neighbours): any
 * bytes are refused cleanly or give a handle every reader can use. Built
 * with FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION the .spi loader skips the
 * checksums of its own sections (never those of the FAISS index sections,
 * which FAISS parses) to reach the structural checks behind them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "semiparam/embed.h"
#include "semiparam/retriever.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fd = -1;
static char path[64];

static void use_retriever(sp_retriever *r)
{
    uint32_t dim = sp_retriever_dim(r);
    if (dim > 4096)
        abort();
    float *q = calloc(2 * (size_t)dim, sizeof *q);
    uint64_t ids[2 * 5];
    float d[2 * 5];
    uint32_t games[2 * 5] = { 0 }, qgames[2] = { 1, 2 };
    sp_retriever_query query = SP_RETRIEVER_QUERY_INIT;
    query.embedder_id = sp_retriever_embedder_id(r);
    query.game_ids = qgames;
    for (uint32_t exclude = 0; q && exclude < 4; exclude++) {
        query.exclude = exclude;
        int rc = sp_retriever_search(r, q, 2, dim, 5, &query, ids, d, games);
        for (int i = 0; rc == SP_OK && i < 10; i++)
            if (ids[i] == SP_RETRIEVER_NO_ID && games[i] != UINT32_MAX)
                abort();
    }
    free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fd < 0) {
        fd = memfd_create("fuzz_spi", 0);
        if (fd < 0)
            abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
        abort();
    for (uint32_t flags = 0; flags <= SP_RETRIEVER_LOAD_MMAP; flags++) {
        sp_retriever *r;
        if (sp_retriever_load(&r, path, flags, NULL) == SP_OK) {
            use_retriever(r);
            sp_retriever_free(r);
        }
    }
    sp_pca *pca;
    if (sp_pca_load(&pca, path) == SP_OK) {
        float *x = calloc(sp_pca_dim_in(pca) + sp_pca_dim_out(pca), sizeof *x);
        if (x && sp_pca_apply(pca, x, 1, sp_pca_dim_in(pca), x + sp_pca_dim_in(pca)) != SP_OK)
            abort();
        free(x);
        sp_pca_free(pca);
    }
    sp_neighbours *nb;
    if (sp_neighbours_open(&nb, path) == SP_OK) {
        uint64_t pid;
        for (uint64_t row = 0; row < sp_neighbours_count(nb) && row < 8; row++)
            if (sp_neighbours_row(nb, row, &pid, NULL, NULL) != SP_OK)
                abort();
        sp_neighbours_free(nb);
    }
    return 0;
}
