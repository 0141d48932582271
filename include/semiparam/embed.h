/**
 * @file embed.h
 * @brief Keys and queries for retrieval: the embedder that turns a Go
 *        position into a d-dimensional key, either a PCA of its raw
 *        observation planes or a PCA of one layer of a trained model's
 *        activations (paper §2.1.1, Algorithm 1 lines 2-3), and the PCA
 *        itself.
 *
 * The retriever (retriever.h) only knows keys and ids; this module knows
 * positions, games, datasets and models, and makes the keys. Every embedder
 * has an id, a 64-bit hash of what it computes; a retriever records the id of
 * the embedder that made its keys and refuses queries presenting another.
 *
 * Thread rule: an embedder is immutable once fitted or loaded; any number of
 * threads may embed with it at once (a learned embedder borrows its model's
 * per-call workspaces, model.h). Fitting, loading, saving and freeing need it
 * to themselves, and the model must outlive the embedder.
 */
#ifndef SEMIPARAM_EMBED_H
#define SEMIPARAM_EMBED_H

#include "semiparam/core.h"
#include "semiparam/dataset.h"
#include "semiparam/go.h"
#include "semiparam/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* PCA                                                                      */
/* ------------------------------------------------------------------------ */

/**
 * A PCA projection (FAISS PCAMatrix) from feature vectors (observation planes,
 * a layer's activations) to keys: y = A (x - mean), with A the d_out
 * leading principal directions as rows.
 * Thread rule: immutable once trained; sp_pca_apply() may run concurrently.
 * @since 0.1
 */
typedef struct sp_pca sp_pca;

/**
 * Train a PCA from @p count samples of @p dim_in floats to @p dim_out
 * dimensions (<= dim_in). @p threads: OpenMP threads (0: default).
 * @return SP_OK, SP_ERR_INVALID_ARG, SP_ERR_NOMEM or SP_ERR_INTERNAL.
 * @since 0.1
 */
SP_API int sp_pca_train(sp_pca **out, const float *samples, uint64_t count, uint32_t dim_in,
                        uint32_t dim_out, uint32_t threads);

/** Release a PCA; NULL is a no-op. @since 0.1 */
SP_API void sp_pca_free(sp_pca *pca);

/**
 * Project @p count vectors of dim_in floats into @p out (count x dim_out floats).
 * @return SP_OK, SP_ERR_INVALID_ARG (NULL, dim_in differs) or SP_ERR_INTERNAL.
 * @since 0.1
 */
SP_API int sp_pca_apply(const sp_pca *pca, const float *in, uint64_t count, uint32_t dim_in, float *out);

/** Input dimension; 0 for NULL. @since 0.1 */
SP_API uint32_t sp_pca_dim_in(const sp_pca *pca);

/** Output (key) dimension; 0 for NULL. @since 0.1 */
SP_API uint32_t sp_pca_dim_out(const sp_pca *pca);

/**
 * The projection's matrix A (dim_out x dim_in floats, row-major, orthonormal
 * rows) and a centre m (dim_in floats) with sp_pca_apply(x) = A (x - m) for
 * every x: m is the training mean's part in A's row space (the part A sees),
 * not the whole mean. Either pointer may be NULL to skip it.
 * @return SP_OK, SP_ERR_INVALID_ARG or SP_ERR_INTERNAL.
 * @since 0.1
 */
SP_API int sp_pca_components(const sp_pca *pca, float *mean, float *matrix);

/**
 * Id of this PCA: a 64-bit hash of its serialised matrix, never 0; 0 for
 * NULL. It is also the id of the raw-plane embedder made from it. A learned
 * embedder's PCA (sp_embedder_pca()) is in a compact form (A and m only)
 * whose serialisation starts with a tag of its own, so its id is never a
 * FAISS PCA's.
 * @since 0.1
 */
SP_API uint64_t sp_pca_id(const sp_pca *pca);

/**
 * Save as a `.spp` file (magic, version, CRC; atomic). A learned embedder's
 * compact PCA has no `.spp` form: SP_ERR_UNSUPPORTED (save its embedder).
 * @since 0.1
 */
SP_API int sp_pca_save(const sp_pca *pca, const char *path);

/**
 * Load a `.spp` file; truncated or corrupted files give SP_ERR_FORMAT.
 * @since 0.1
 */
SP_API int sp_pca_load(sp_pca **out, const char *path);

/**
 * Raw observation planes (sp_game_planes() with @p history) of dataset
 * positions, replaying each game once and walking it forward, so sorted
 * position lists cost one move per position.
 * @param ds            the dataset (borrowed)
 * @param positions     @p count position ids (any order; sorted is fastest)
 * @param count         number of positions
 * @param history       past positions in the planes (1..16)
 * @param out           count x planes x size x size floats
 * @param capacity      floats at @p out
 * @param out_game_ids  receives each position's game id; may be NULL
 * @return SP_OK, SP_ERR_INVALID_ARG, SP_ERR_BUFFER_TOO_SMALL, SP_ERR_FORMAT
 *         (a stored move is illegal), SP_ERR_NOMEM. Thread-safe on a shared dataset.
 * @since 0.1
 */
SP_API int sp_pca_position_planes(const sp_dataset *ds, const uint64_t *positions, uint64_t count, int history,
                                  float *out, size_t capacity, uint32_t *out_game_ids);

/**
 * PCA keys of dataset positions: their raw planes (as
 * sp_pca_position_planes()) projected by @p pca, in chunks of 4,096 with
 * progress task "pca-keys". The PCA's input dimension must be
 * sp_go_plane_count(history) x size x size. A raw-plane ::sp_embedder does
 * the same through sp_embedder_embed_positions().
 * @return as sp_pca_position_planes(), plus SP_ERR_CANCELLED.
 * @since 0.1
 */
SP_API int sp_pca_position_keys(const sp_pca *pca, const sp_dataset *ds, const uint64_t *positions, uint64_t count,
                                int history, float *out_keys, uint32_t *out_game_ids);

/* ------------------------------------------------------------------------ */
/* Embedders                                                                */
/* ------------------------------------------------------------------------ */

/**
 * The key (and query) function g(o) of the paper: position -> d floats.
 * @since 0.1
 */
typedef struct sp_embedder sp_embedder;

/** What an embedder reads. @since 0.1 */
typedef enum sp_embedder_kind {
    SP_EMBEDDER_RAW = 0,     /**< the observation planes themselves, then a PCA */
    SP_EMBEDDER_LEARNED = 1  /**< one layer of a trained model's activations, then a PCA */
} sp_embedder_kind;

/** Version of ::sp_embedder_options this header describes. @since 0.1 */
#define SP_EMBEDDER_OPTIONS_VERSION 1

/**
 * How to fit an embedder. Initialise with ::SP_EMBEDDER_OPTIONS_INIT or
 * sp_embedder_options_init(); fields are only ever appended.
 * @since 0.1
 */
typedef struct sp_embedder_options {
    uint32_t version;     /**< ::SP_EMBEDDER_OPTIONS_VERSION */
    int32_t kind;         /**< ::sp_embedder_kind; default ::SP_EMBEDDER_LEARNED */
    const char *layer;    /**< learned: the model layer read (model.h); NULL: "repr", the representation's
                               output; spatial layers are flattened (channels x height x width) */
    uint32_t dim;         /**< key dimension d; default 64 */
    int32_t history;      /**< raw: past positions in the planes, default 8 (learned: the model's) */
    uint64_t sample;      /**< positions sampled from the dataset to fit the PCA; default 50,000 */
    int32_t batch;        /**< positions per network call; default 256 */
    uint32_t threads;     /**< threads embedding (and fitting the PCA); 0: the OpenMP default */
    uint64_t seed;        /**< seed of the fitting sample; default 1 */
} sp_embedder_options;

/** Static initialiser of ::sp_embedder_options (all defaults). @since 0.1 */
#define SP_EMBEDDER_OPTIONS_INIT { SP_EMBEDDER_OPTIONS_VERSION, SP_EMBEDDER_LEARNED, NULL, 64, 8, 50000, 256, 0, 1 }

/**
 * Fill @p opts with the defaults of the fields that @p version has and set
 * its version; nothing past those fields is written. Pass ::SP_EMBEDDER_OPTIONS_VERSION.
 * @return SP_OK; SP_ERR_INVALID_ARG (opts NULL or version 0); SP_ERR_VERSION.
 * @since 0.1
 */
SP_API int sp_embedder_options_init(sp_embedder_options *opts, uint32_t version);

/**
 * Fit an embedder on positions of @p ds: sample opts->sample positions of
 * its training split (sp_dataset_game_part() not test; all of them if fewer),
 * compute what the embedder reads for each (raw planes, or the layer's
 * activations through @p model) and train the PCA to opts->dim dimensions.
 * Progress: task "embed-fit" over the sampled positions.
 * @param out    receives the embedder (NULL on failure); free with sp_embedder_free()
 * @param model  the trained model of a learned embedder (borrowed: it must outlive the
 *               embedder); NULL for a raw one
 * @param ds     positions to fit on; its board size must be the model's
 * @param opts   NULL for defaults (a learned embedder, which then needs @p model)
 * @return SP_OK; SP_ERR_INVALID_ARG (NULL, unknown layer, dim 0 or above what the layer
 *         gives, board sizes differ, model missing or given for a raw embedder);
 *         SP_ERR_VERSION; SP_ERR_UNSUPPORTED (built without FAISS, or a learned embedder
 *         built without nn); SP_ERR_CANCELLED; SP_ERR_NOMEM; SP_ERR_INTERNAL.
 * @since 0.1
 */
SP_API int sp_embedder_fit(sp_embedder **out, sp_model *model, const sp_dataset *ds,
                           const sp_embedder_options *opts);

/**
 * Make a raw-plane embedder from an existing PCA (copied) whose input is
 * sp_go_plane_count(@p history) x @p board_size^2 planes: the embedder of
 * the `.spi` indexes built before embedders existed. Its id is sp_pca_id().
 * The PCA must be a FAISS one (sp_pca_train(), sp_pca_load()), not a
 * learned embedder's compact PCA.
 * @return SP_OK, SP_ERR_INVALID_ARG (shapes differ, a compact PCA), SP_ERR_NOMEM, SP_ERR_UNSUPPORTED.
 * @since 0.1
 */
SP_API int sp_embedder_from_pca(sp_embedder **out, const sp_pca *pca, int32_t board_size, int32_t history);

/** Release an embedder (not its model); NULL is a no-op. @since 0.1 */
SP_API void sp_embedder_free(sp_embedder *e);

/**
 * Id of the embedder: a 64-bit hash, never 0, of what it computes (for a
 * learned one: the model's content hash, the layer and the PCA; for a raw one:
 * sp_pca_id() of its PCA). Equal ids mean equal keys. Give it as embedder_id
 * to the retriever of its keys and to every query. 0 for NULL.
 * @since 0.1
 */
SP_API uint64_t sp_embedder_id(const sp_embedder *e);

/** Key dimension d; 0 for NULL. @since 0.1 */
SP_API uint32_t sp_embedder_dim(const sp_embedder *e);

/**
 * The embedder's PCA, borrowed (valid while @p e lives): with
 * sp_pca_components() a caller can recompute keys by hand. NULL for NULL.
 * @since 0.1
 */
SP_API const sp_pca *sp_embedder_pca(const sp_embedder *e);

/**
 * What an embedder is. Set `version` (::SP_EMBEDDER_INFO_INIT) before
 * sp_embedder_describe(); fields are only ever appended.
 * @since 0.1
 */
typedef struct sp_embedder_info {
    uint32_t version;                    /**< ::SP_EMBEDDER_INFO_VERSION */
    int32_t kind;                        /**< ::sp_embedder_kind */
    uint32_t dim;                        /**< key dimension d */
    uint32_t input_dim;                  /**< floats the PCA reads per position */
    int32_t board_size;                  /**< board size of the positions it embeds */
    int32_t history;                     /**< history of the observation planes */
    char layer[SP_MODEL_LAYER_NAME_MAX]; /**< the model layer read; "" for a raw embedder */
    uint64_t model_hash;                 /**< content hash (sp_model_info) of its model; 0 for raw */
    uint64_t id;                         /**< sp_embedder_id() */
    double explained_variance;           /**< share of the fitting sample's variance the d keys keep, in [0, 1];
                                              0 when unknown (sp_embedder_from_pca()) */
} sp_embedder_info;

/** Version of sp_embedder_info this header describes. */
#define SP_EMBEDDER_INFO_VERSION 1
/** An sp_embedder_info ready for sp_embedder_describe(). */
#define SP_EMBEDDER_INFO_INIT { SP_EMBEDDER_INFO_VERSION, 0, 0, 0, 0, 0, { 0 }, 0, 0, 0.0 }

/**
 * Describe @p e into @p out (as far as `out->version` goes).
 * @return SP_OK, SP_ERR_INVALID_ARG or SP_ERR_VERSION.
 * @since 0.1
 */
SP_API int sp_embedder_describe(const sp_embedder *e, sp_embedder_info *out);

/**
 * Keys of @p n observations given as planes (n x sp_go_plane_count(history)
 * x size x size floats, what sp_game_planes() writes) into @p keys (n x d).
 * @return SP_OK; SP_ERR_INVALID_ARG (NULL; n 0 or above 2^31); SP_ERR_MISUSE (a trainer
 *         holds the model); SP_ERR_NOMEM; SP_ERR_INTERNAL.
 * Threads: any number of calls at once.
 * @since 0.1
 */
SP_API int sp_embedder_embed_planes(const sp_embedder *e, const float *planes, uint64_t n, float *keys);

/**
 * Keys of the current positions of @p n games (each of the embedder's board
 * size), e.g. the position an agent must move in.
 * @return as sp_embedder_embed_planes(); SP_ERR_INVALID_ARG also for a game of another size.
 * @since 0.1
 */
SP_API int sp_embedder_embed_games(const sp_embedder *e, const sp_game *const *games, uint64_t n, float *keys);

/**
 * Keys of dataset positions (any order; sorted is fastest: each game is
 * replayed once), on opts->threads threads in batches, with progress task
 * "embed" (and cancellation through the progress callback).
 * @param e             the embedder
 * @param ds            the dataset; its board size must be the embedder's
 * @param positions     @p count position ids
 * @param count         number of positions
 * @param keys          count x d floats
 * @param out_game_ids  receives each position's game id; may be NULL
 * @return as sp_embedder_embed_planes(), plus SP_ERR_FORMAT (a stored move is illegal)
 *         and SP_ERR_CANCELLED.
 * @since 0.1
 */
SP_API int sp_embedder_embed_positions(const sp_embedder *e, const sp_dataset *ds, const uint64_t *positions,
                                       uint64_t count, float *keys, uint32_t *out_game_ids);

/**
 * Save as a `.spe` file (docs/file-formats.md): kind, shapes, layer, the
 * model's content hash and the PCA (a raw embedder's as FAISS serialises it;
 * a learned one's compact: A and m, about 4 (d + 1) input_dim bytes), with a CRC; written under a temporary name
 * and renamed, so @p path never holds a partial file. The model is not in it.
 * @return SP_OK, SP_ERR_INVALID_ARG, SP_ERR_IO, SP_ERR_NOMEM.
 * @since 0.1
 */
SP_API int sp_embedder_save(const sp_embedder *e, const char *path);

/**
 * Load a `.spe` file. A learned embedder needs the model it was made from
 * (borrowed; it must outlive the embedder): its content hash must equal the
 * recorded one. A raw one takes no model.
 * @return SP_OK; SP_ERR_IO; SP_ERR_FORMAT (truncated, corrupted or foreign, with the
 *         reason); SP_ERR_VERSION; SP_ERR_MISUSE (model missing, another model, or a model
 *         given for a raw embedder: says which); SP_ERR_NOMEM; SP_ERR_UNSUPPORTED.
 * @since 0.1
 */
SP_API int sp_embedder_load(sp_embedder **out, const char *path, sp_model *model);

#ifdef __cplusplus
}
#endif

#endif /* SEMIPARAM_EMBED_H */
