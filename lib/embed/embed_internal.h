/* Internal state of the embedder shared by its fitting, embedding and file
 * code, and the PCA's byte-level entry points the `.spe` file needs. */
#ifndef SP_EMBED_INTERNAL_H
#define SP_EMBED_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/core_internal.h"
#include "semiparam/embed.h"

struct sp_embedder {
    int32_t kind;               /* sp_embedder_kind */
    uint32_t dim;               /* key dimension (the PCA's output) */
    uint32_t input_dim;         /* floats per position the PCA reads (planes or the layer) */
    int32_t board_size;
    int32_t history;
    char layer[SP_MODEL_LAYER_NAME_MAX]; /* zero-padded; "" for a raw embedder */
    uint64_t model_hash;        /* 0 for a raw embedder */
    uint64_t id;
    double explained_variance;
    sp_pca *pca;                /* NULL only while fitting: the driver then writes what the PCA reads */
    sp_model *model;            /* learned: borrowed */
    int32_t batch;              /* positions per network call */
    uint32_t threads;           /* workers of sp_embedder_embed_positions(); 0: the OpenMP default */
};

/* Positions per network call of an embedder made without options (loaded,
 * or from a PCA): SP_EMBEDDER_OPTIONS_INIT's. */
#define SP__EMBED_DEFAULT_BATCH 256

/* 64-bit FNV-1a of n bytes, never 0 (0 means "no embedder" to the retriever). */
uint64_t sp__embed_hash(const void *data, size_t n);

/* A PCA from its serialised bytes (sp__pca_bytes()), which must project
 * dim_in floats to dim_out: the compact form when they start with its tag,
 * else FAISS write_index bytes (a `.spp` payload); `who` names the caller in
 * messages. SP_ERR_FORMAT if they cannot be read, are of other dimensions,
 * do not fill exactly `size` bytes or (compact) hold a non-finite value. */
int sp__pca_from_bytes(sp_pca **out, const void *bytes, size_t size, uint32_t dim_in, uint32_t dim_out,
                       const char *who);

/* SP_OK if `bytes` are exactly the FAISS form sp_pca_train() writes for
 * dim_in -> dim_out (pca_layout.c lists the fields), else SP_ERR_FORMAT
 * saying which part is not and where: checked before FAISS reads them,
 * because FAISS leaks what it built when a later field throws. */
int sp__pca_check_faiss_layout(const void *bytes, size_t size, uint32_t dim_in, uint32_t dim_out, const char *who);

/* The PCA's serialised form (borrowed): its FAISS index, or the compact
 * form's tag, dim_in, dim_out (u32), A (dim_out x dim_in f32) and m (dim_in
 * f32) in host byte order. */
void sp__pca_bytes(const sp_pca *pca, const void **out_bytes, size_t *out_size);

/* A compact copy of any PCA: A and m from sp_pca_components(), applied as
 * x A^T + b with b = -A m by sgemm; its id is the hash of its bytes (which
 * start with a tag no FAISS payload has). It has no `.spp` form. */
int sp__pca_compact(sp_pca **out, const sp_pca *pca, const char *who);

/* A compact PCA holding copies of A (dim_out x dim_in, row-major,
 * orthonormal rows) and its centre m (dim_in): the constructor behind
 * sp__pca_compact() and sp__pca_fit_compact(). SP_ERR_INTERNAL if a value
 * is not finite, SP_ERR_NOMEM. */
int sp__pca_compact_from(sp_pca **out, const float *matrix, const float *centre, uint32_t dim_in, uint32_t dim_out,
                         const char *who);

/* The top dim_out principal components of n samples of dim_in floats,
 * fitted directly (covariance by ssyrk, the top eigenvectors by LAPACK's
 * ssyevr) instead of FAISS's PCAMatrix, which computes all dim_in
 * eigenvectors: a compact PCA whose rows are in descending eigenvalue order,
 * each signed so its largest-magnitude entry is positive, centred on the
 * sample mean's part in their span. BLAS and LAPACK run on `threads` OpenMP
 * threads (0: the caller's setting). SP_ERR_INVALID_ARG (NULL, n < 2,
 * dim_out 0 or above dim_in, dim_in past LAPACK's int sizes), SP_ERR_NOMEM,
 * SP_ERR_INTERNAL (LAPACK failed); `who` names the caller in messages. */
int sp__pca_fit_compact(sp_pca **out, const float *x, uint64_t n, uint32_t dim_in, uint32_t dim_out,
                        uint32_t threads, const char *who);

/* The mean of n rows of dim floats, accumulated in double (activations
 * are far from zero-mean; float sums of 50,000 rows would drift). */
void sp__embed_mean(const float *x, uint64_t n, size_t dim, double *mean);

/* 1 for the compact form, 0 for the FAISS one. */
int sp__pca_is_compact(const sp_pca *pca);

/* Tie a learned embedder to `model`: board size and history from the model,
 * the layer (NULL: "repr") resolved, its size as input_dim, model_hash set. */
int sp__embedder_bind_model(sp_embedder *e, sp_model *model, const char *layer, const char *fn);

/* The id a learned embedder's fields give (kind, model hash, layer, PCA id). */
uint64_t sp__embedder_learned_id(const sp_embedder *e);

/* Run `count` dataset positions through e on e->threads workers: keys
 * (count x dim) when e has its PCA, else what the PCA reads (count x
 * input_dim, for fitting). Progress under `task`; cancellable. */
int sp__embedder_run(const sp_embedder *e, const sp_dataset *ds, const uint64_t *positions, uint64_t count,
                     float *out, uint32_t *out_game_ids, const char *task);

/* The `.spe` loader on bytes in memory (what sp_embedder_load() reads from
 * its file, and what the fuzz target feeds); `name` names the source in messages. */
int sp__embedder_load_bytes(sp_embedder **out, const void *data, size_t length, sp_model *model,
                            const char *name);

#endif
