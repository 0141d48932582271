/**
 * @file retriever.h
 * @brief Approximate nearest-neighbour retrieval over tens of millions of keys
 *        (FAISS IVF-PQ), with per-key position and game ids, half-exclusion by
 *        game, online growth, `.spi` persistence and the neighbour
 *        pre-computation file used in training. The keys come from an
 *        embedder (embed.h); this module knows only keys and ids.
 *
 * Keys are float vectors of a fixed dimension; distances are squared L2.
 * Every key carries the id of its position (an index into the dataset the
 * keys were made from) and the id of its game. With two halves, a key lives
 * in the half sp_retriever_game_half() gives for its game; both halves share
 * one trained quantizer, so their distances are comparable.
 */
#ifndef SEMIPARAM_RETRIEVER_H
#define SEMIPARAM_RETRIEVER_H

#include "semiparam/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A key index with metadata. Thread rule: once built (or loaded), any number
 * of threads may call sp_retriever_search() concurrently; sp_retriever_add()
 * may run at the same time (it takes an internal write lock, so searches wait
 * for the batch being added). Searches asking for different nprobe, rerank
 * or max_codes values serialise on that lock; searches with the same values run in
 * parallel. sp_retriever_train(), sp_retriever_save() and sp_retriever_free()
 * need exclusive use of the handle.
 * @since 0.1
 */
typedef struct sp_retriever sp_retriever;

/** "No such key": the id written where fewer than k neighbours exist. @since 0.1 */
#define SP_RETRIEVER_NO_ID UINT64_MAX

/** Current version of ::sp_retriever_options. @since 0.1 */
#define SP_RETRIEVER_OPTIONS_VERSION 1

/**
 * Creation settings of a retriever. Initialise with ::SP_RETRIEVER_OPTIONS_INIT
 * or sp_retriever_options_init(); fields are only ever appended.
 * @since 0.1
 */
typedef struct sp_retriever_options {
    uint32_t version;      /**< ::SP_RETRIEVER_OPTIONS_VERSION */
    uint32_t halves;       /**< 1 (one index) or 2 (split by game for training); default 1 */
    const char *factory;   /**< FAISS index_factory string; NULL: sp_retriever_default_factory() */
    uint64_t embedder_id;  /**< id of the embedder that made the keys; searches must present it */
    uint64_t train_size;   /**< keys sampled to train by sp_retriever_build(); 0: 64 per IVF list, at least 65,536 */
    uint64_t batch_size;   /**< keys per add batch (one progress step each); 0: 65,536 */
    uint32_t threads;      /**< OpenMP threads for this handle's FAISS work; 0: the OpenMP default */
    uint32_t default_nprobe; /**< IVF lists visited when a query gives none; 0: 32; at most ::SP_RETRIEVER_MAX_NPROBE */
    uint64_t seed;         /**< seed of the training sample */
} sp_retriever_options;

/**
 * Largest nprobe the options or a query may ask for: far more lists than any
 * index has (FAISS caps nprobe at the list count), and below the 2^31 where
 * FAISS's own int arithmetic fails. Larger values are SP_ERR_INVALID_ARG, and
 * a `.spi` file storing one is refused with SP_ERR_FORMAT.
 * @since 0.1
 */
#define SP_RETRIEVER_MAX_NPROBE (1u << 20)

/**
 * Largest rerank factor a query may ask for: a search allocates k x rerank
 * candidates per query and half. Larger values are SP_ERR_INVALID_ARG.
 * @since 0.1
 */
#define SP_RETRIEVER_MAX_RERANK 1024u

/** Static initialiser of ::sp_retriever_options (all defaults). @since 0.1 */
#define SP_RETRIEVER_OPTIONS_INIT { SP_RETRIEVER_OPTIONS_VERSION, 1, NULL, 0, 0, 0, 0, 0, 0 }

/**
 * Fill @p opts with the defaults of the fields that @p version has and set its
 * version; nothing past those fields is written. Pass ::SP_RETRIEVER_OPTIONS_VERSION:
 * a program built against an older header passes that header's smaller
 * value and its shorter struct is filled (see docs/architecture.md).
 * @return SP_OK; SP_ERR_INVALID_ARG (opts NULL or version 0);
 *         SP_ERR_VERSION (@p version newer than this library's).
 * @since 0.1
 */
SP_API int sp_retriever_options_init(sp_retriever_options *opts, uint32_t version);

/**
 * The default FAISS factory string for @p count keys of dimension @p dim:
 * `IVF<nlist>,PQ<m>np,Refine(SQ8)` with nlist the power of two nearest
 * 4·sqrt(count) (at least 16) and m = dim/4 sub-quantizers (dim/2 or dim when
 * dim is not a multiple of 4): IVF-PQ candidates re-ranked on 8-bit scalar
 * codes. `Flat` below 4,096 keys. Written with a NUL into @p buf.
 * @return SP_OK, SP_ERR_INVALID_ARG or SP_ERR_BUFFER_TOO_SMALL.
 * @since 0.1
 */
SP_API int sp_retriever_default_factory(uint32_t dim, uint64_t count, char *buf, size_t capacity);

/**
 * Create an empty retriever for keys of dimension @p dim. @p expected_count
 * (keys it will hold) chooses the default factory when opts->factory is NULL.
 * The index must be trained (sp_retriever_train()) before keys are added,
 * unless the factory needs no training ("Flat").
 * @param out             receives the handle (NULL on failure); free with sp_retriever_free()
 * @param dim             key dimension (1..65536)
 * @param expected_count  keys it will hold (only chooses the default factory)
 * @param opts            NULL for defaults; a newer version than this library is refused
 * @return SP_OK; SP_ERR_INVALID_ARG (dim 0, halves not 1 or 2, bad factory
 *         string); SP_ERR_VERSION; SP_ERR_NOMEM. *out is NULL on failure.
 * @since 0.1
 */
SP_API int sp_retriever_create(sp_retriever **out, uint32_t dim, uint64_t expected_count,
                               const sp_retriever_options *opts);

/** Release a retriever; NULL is a no-op. @since 0.1 */
SP_API void sp_retriever_free(sp_retriever *retriever);

/**
 * Train the quantizers on @p count sample keys (row-major, @p dim floats each,
 * borrowed for the call). Both halves share the result.
 * @return SP_OK; SP_ERR_INVALID_ARG (wrong dim, NULL); SP_ERR_MISUSE (keys
 *         already added); SP_ERR_INTERNAL (FAISS failed, its message in
 *         sp_last_error()).
 * @since 0.1
 */
SP_API int sp_retriever_train(sp_retriever *retriever, const float *keys, uint64_t count, uint32_t dim);

/**
 * Add @p count keys with their position and game ids (all borrowed for the
 * call) in batches, reporting progress as task "index-add". Works on a
 * trained retriever at any time, also after loading (online growth, paper
 * §3.4); the new keys are found by the next search and kept by the next save.
 * @return SP_OK; SP_ERR_INVALID_ARG (wrong dim, NULL arrays, a position id
 *         equal to ::SP_RETRIEVER_NO_ID or a game id equal to UINT32_MAX, the
 *         markers of "no neighbour"); SP_ERR_MISUSE (not trained, or loaded with
 *         ::SP_RETRIEVER_LOAD_MMAP); SP_ERR_CANCELLED (progress callback);
 *         SP_ERR_NOMEM; SP_ERR_INTERNAL. Keys of batches added before a
 *         failure stay in the index.
 * @since 0.1
 */
SP_API int sp_retriever_add(sp_retriever *retriever, const float *keys, const uint64_t *position_ids,
                            const uint32_t *game_ids, uint64_t count, uint32_t dim);

/**
 * Create, train on a random sample of opts->train_size keys and add all
 * @p count keys: sp_retriever_create() + sp_retriever_train() +
 * sp_retriever_add(). Progress: "index-train" (0/1, 1/1), then "index-add".
 * @return as those functions. *out is NULL on failure.
 * @since 0.1
 */
SP_API int sp_retriever_build(sp_retriever **out, const float *keys, const uint64_t *position_ids,
                              const uint32_t *game_ids, uint64_t count, uint32_t dim,
                              const sp_retriever_options *opts);

/** Key dimension; 0 for NULL. @since 0.1 */
SP_API uint32_t sp_retriever_dim(const sp_retriever *retriever);

/** Number of keys held (both halves); 0 for NULL. @since 0.1 */
SP_API uint64_t sp_retriever_count(const sp_retriever *retriever);

/** Keys held by half @p half (0 or 1); 0 for NULL or a bad half. @since 0.1 */
SP_API uint64_t sp_retriever_half_count(const sp_retriever *retriever, uint32_t half);

/** Number of halves (1 or 2); 0 for NULL. @since 0.1 */
SP_API uint32_t sp_retriever_halves(const sp_retriever *retriever);

/** Embedder id the keys were made with; 0 for NULL. @since 0.1 */
SP_API uint64_t sp_retriever_embedder_id(const sp_retriever *retriever);

/** FAISS factory string of the index; borrowed from the handle; "" for NULL. @since 0.1 */
SP_API const char *sp_retriever_factory(const sp_retriever *retriever);

/**
 * Bytes per key the index itself holds (codes, ids, refinement codes),
 * measured through FAISS's own encoding size plus 8 bytes of list id per
 * key for IVF indexes; the 12 bytes of position and game id the retriever
 * keeps come on top. 0 for NULL or an unknown layout.
 * @since 0.1
 */
SP_API double sp_retriever_bytes_per_key(const sp_retriever *retriever);

/**
 * Half (0 or 1) that holds the keys of game @p game_id in a two-half
 * retriever: a fixed hash of the id, the same in every build and process,
 * and the half sp_dataset_game_part() gives that game of the dataset when
 * it is not a test game.
 * @since 0.1
 */
SP_API uint32_t sp_retriever_game_half(uint32_t game_id);

/** Exclusion rules of a query (flags, combinable). @since 0.1 */
typedef enum sp_retriever_exclude {
    SP_RETRIEVER_EXCLUDE_NONE = 0,      /**< search every key */
    SP_RETRIEVER_EXCLUDE_OWN_HALF = 1,  /**< search only the half not holding the query's game (two halves only) */
    SP_RETRIEVER_EXCLUDE_GAME = 2       /**< never return keys of the query's own game */
} sp_retriever_exclude;

/** Current version of ::sp_retriever_query (2 added max_codes). @since 0.1 */
#define SP_RETRIEVER_QUERY_VERSION 2

/** ::sp_retriever_query.max_codes: scan the probed lists whole, however long. @since 0.1 */
#define SP_RETRIEVER_ALL_CODES UINT32_MAX

/**
 * Per-call search settings. Initialise with ::SP_RETRIEVER_QUERY_INIT or
 * sp_retriever_query_init(); fields are only ever appended.
 * @since 0.1
 */
typedef struct sp_retriever_query {
    uint32_t version;        /**< ::SP_RETRIEVER_QUERY_VERSION */
    uint32_t nprobe;         /**< IVF lists visited; 0: the retriever's default; at most ::SP_RETRIEVER_MAX_NPROBE */
    uint32_t rerank;         /**< candidates re-ranked per result for refine indexes (FAISS k_factor); 0: 16;
                                  at most ::SP_RETRIEVER_MAX_RERANK */
    uint32_t exclude;        /**< ::sp_retriever_exclude flags */
    const uint32_t *game_ids; /**< per query: its game id; needed when exclude is not NONE (borrowed) */
    uint64_t embedder_id;    /**< must equal the retriever's embedder id */
    uint32_t threads;        /**< OpenMP threads for this call; 0: the retriever's setting */
    /** Codes scanned per query and half, at most (FAISS max_codes, version 2): the
     *  probed lists are visited nearest first and the visit stops after the list
     *  that reaches the budget. Keys of real games crowd into a few long lists
     *  (the positions every game passes through); the budget keeps a query that
     *  lands there from scanning them all. 0: twice the codes @c nprobe
     *  lists of average length hold (unlimited when the factory has no IVF list
     *  count); ::SP_RETRIEVER_ALL_CODES: no budget. */
    uint32_t max_codes;
} sp_retriever_query;

/** Static initialiser of ::sp_retriever_query (all defaults, embedder 0). @since 0.1 */
#define SP_RETRIEVER_QUERY_INIT { SP_RETRIEVER_QUERY_VERSION, 0, 0, 0, NULL, 0, 0, 0 }

/**
 * Fill @p query with the defaults of the fields that @p version has and set its
 * version; nothing past those fields is written. Pass ::SP_RETRIEVER_QUERY_VERSION:
 * a program built against an older header passes that header's smaller
 * value and its shorter struct is filled (see docs/architecture.md).
 * @return SP_OK; SP_ERR_INVALID_ARG (query NULL or version 0);
 *         SP_ERR_VERSION (@p version newer than this library's).
 * @since 0.1
 */
SP_API int sp_retriever_query_init(sp_retriever_query *query, uint32_t version);

/**
 * Find the @p k nearest keys (squared L2) of each of @p count queries.
 * @param retriever     a built or loaded retriever
 * @param queries       count x dim floats, row-major (borrowed)
 * @param count         number of queries (0 is a no-op)
 * @param dim           query dimension; must equal the retriever's
 * @param k             neighbours per query (>= 1)
 * @param query         settings; NULL means ::SP_RETRIEVER_QUERY_INIT (embedder 0)
 * @param out_ids       count x k position ids, nearest first; ::SP_RETRIEVER_NO_ID
 *                      where fewer than k keys qualify
 * @param out_distances count x k squared distances (INFINITY where no id); may be NULL
 * @param out_games     count x k game ids of the neighbours (UINT32_MAX where no id); may be NULL
 * @return SP_OK; SP_ERR_INVALID_ARG (wrong dim, k 0, NULL arrays, game_ids
 *         missing for an exclusion); SP_ERR_MISUSE (embedder id differs from
 *         the retriever's; own-half exclusion on a one-half retriever);
 *         SP_ERR_VERSION; SP_ERR_NOMEM; SP_ERR_INTERNAL.
 * Thread-safe (see ::sp_retriever).
 * @since 0.1
 */
SP_API int sp_retriever_search(const sp_retriever *retriever, const float *queries, uint64_t count,
                               uint32_t dim, uint32_t k, const sp_retriever_query *query,
                               uint64_t *out_ids, float *out_distances, uint32_t *out_games);

/** Flags of sp_retriever_load(). @since 0.1 */
typedef enum sp_retriever_load_flags {
    SP_RETRIEVER_LOAD_MMAP = 1  /**< map the IVF lists from the file instead of reading them (read-only: no add) */
} sp_retriever_load_flags;

/**
 * Save as a `.spi` file (docs/file-formats.md): written under a temporary
 * name and renamed, so @p path never holds a partial file.
 * @return SP_OK, SP_ERR_INVALID_ARG, SP_ERR_IO, SP_ERR_NOMEM or SP_ERR_INTERNAL.
 * @since 0.1
 */
SP_API int sp_retriever_save(const sp_retriever *retriever, const char *path);

/**
 * Load a `.spi` file. Every section's size and CRC-32 is checked before FAISS
 * sees it, so a truncated, corrupted or foreign file is refused.
 * @param out    receives the handle (NULL on failure); free with sp_retriever_free()
 * @param path   the `.spi` file (UTF-8)
 * @param flags  0 or ::SP_RETRIEVER_LOAD_MMAP
 * @param opts   only threads and default_nprobe are used; NULL for defaults
 * @return SP_OK; SP_ERR_IO; SP_ERR_FORMAT (with the reason); SP_ERR_UNSUPPORTED
 *         (written with the other byte order); SP_ERR_VERSION
 *         (a newer format); SP_ERR_NOMEM; SP_ERR_INVALID_ARG. *out is NULL on failure.
 * @since 0.1
 */
SP_API int sp_retriever_load(sp_retriever **out, const char *path, uint32_t flags,
                             const sp_retriever_options *opts);

/**
 * The position and game ids held by half @p half, in index order.
 * @param retriever         the retriever
 * @param half              0, or 1 for a two-half retriever
 * @param out_position_ids  caller array; may be NULL
 * @param out_game_ids      caller array; may be NULL
 * @param capacity          entries available in each array
 * @param out_count         receives the number held (also on SP_ERR_BUFFER_TOO_SMALL); may be NULL
 * @return SP_OK, SP_ERR_INVALID_ARG or SP_ERR_BUFFER_TOO_SMALL.
 * @since 0.1
 */
SP_API int sp_retriever_ids(const sp_retriever *retriever, uint32_t half, uint64_t *out_position_ids,
                            uint32_t *out_game_ids, size_t capacity, size_t *out_count);

/* ------------------------------------------------------------------------ */
/* Neighbour pre-computation for training (paper §2.1.1)                    */
/* ------------------------------------------------------------------------ */

/**
 * For each of @p count positions (keys, position ids, game ids), find its
 * @p k nearest neighbours in the half of @p retriever not holding its game
 * (or, with one half, any key of another game), and write them to @p path as a
 * `.spn` file (docs/file-formats.md): a header, then per position its id
 * followed by k neighbour position ids and k squared distances. Queries run
 * in batches of 1,024 with progress task "index-precompute". Atomic write.
 * @param retriever     the retrieval set (two halves for training use)
 * @param keys          count x dim floats: the positions' keys (borrowed)
 * @param position_ids  count ids written as each row's first field
 * @param game_ids      count game ids: decide the half (or the excluded game)
 * @param count         number of positions
 * @param dim           key dimension; must equal the retriever's
 * @param k             neighbours per position
 * @param query         nprobe/rerank/max_codes/threads/embedder_id; NULL for defaults (exclude and game_ids are set internally)
 * @param path          output file, written atomically
 * @return as sp_retriever_search(), plus SP_ERR_IO and SP_ERR_CANCELLED.
 * @since 0.1
 */
SP_API int sp_retriever_precompute(const sp_retriever *retriever, const float *keys,
                                   const uint64_t *position_ids, const uint32_t *game_ids,
                                   uint64_t count, uint32_t dim, uint32_t k,
                                   const sp_retriever_query *query, const char *path);

/**
 * An opened `.spn` neighbour file (read whole, checked). Thread rule:
 * immutable; any number of threads may read it.
 * @since 0.1
 */
typedef struct sp_neighbours sp_neighbours;

/**
 * Open a `.spn` file. @return SP_OK, SP_ERR_IO, SP_ERR_FORMAT, SP_ERR_NOMEM.
 * @since 0.1
 */
SP_API int sp_neighbours_open(sp_neighbours **out, const char *path);

/** Release; NULL is a no-op. @since 0.1 */
SP_API void sp_neighbours_free(sp_neighbours *neighbours);

/** Number of positions (rows); 0 for NULL. @since 0.1 */
SP_API uint64_t sp_neighbours_count(const sp_neighbours *neighbours);

/** Neighbours per row; 0 for NULL. @since 0.1 */
SP_API uint32_t sp_neighbours_k(const sp_neighbours *neighbours);

/** Id of the embedder whose keys found the neighbours (the retriever's); 0 for NULL. @since 0.1 */
SP_API uint64_t sp_neighbours_embedder_id(const sp_neighbours *neighbours);

/**
 * Row @p row: the query's position id and its k neighbour ids and squared
 * distances (copied into caller arrays of k entries; either may be NULL).
 * @return SP_OK or SP_ERR_INVALID_ARG (NULL, row out of range).
 * @since 0.1
 */
SP_API int sp_neighbours_row(const sp_neighbours *neighbours, uint64_t row, uint64_t *out_position_id,
                             uint64_t *out_ids, float *out_distances);

#ifdef __cplusplus
}
#endif

#endif /* SEMIPARAM_RETRIEVER_H */
