/**
 * @file dist.h
 * @brief libsemiparam-mpi: the retriever sharded over an MPI communicator,
 *        and data-parallel training (link with `pkg-config semiparam-mpi`; libsemiparam itself never links MPI).
 *
 * Keys are partitioned by game: every key of game g lives on rank
 * sp_dist_game_rank(g, size) (in a set loaded by another rank count than
 * saved it, in shard sp_dist_game_rank(g, shards) on rank shard mod size:
 * sp_dist_retriever_load()). Rank 0 trains the index once, on a sample
 * gathered from all ranks, and broadcasts the trained empty index, so every
 * shard has the same quantizer and codes and their distances compare. A query
 * batch is searched by every shard and the root merges the shards' top-k by
 * (distance, position id). docs/scaling.md says what crosses the network.
 *
 * Every function taking an ::sp_dist_retriever except the accessors is
 * collective: all ranks of its communicator call it, in the same order. The
 * ranks agree on the outcome, so a bad argument on one rank makes the call
 * fail on all of them (the others with SP_ERR_MISUSE naming the rank) rather
 * than leave them waiting. Errors: the returned ::sp_status and sp_last_error().
 *
 * There is no Python binding of this library: MPI programs are C/C++ programs
 * started by mpirun; Python users of MPI would go through mpi4py, which this
 * library does not depend on.
 */
#ifndef SEMIPARAM_DIST_H
#define SEMIPARAM_DIST_H

#include <mpi.h>

#include "semiparam/core.h"
#include "semiparam/retriever.h"
#include "semiparam/train.h"

/** Marks every declaration exported by libsemiparam-mpi. */
#if defined(__GNUC__)
#define SP_DIST_API __attribute__((visibility("default")))
#else
#define SP_DIST_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A retriever sharded over a communicator: one ::sp_retriever per rank plus a
 * duplicate of the communicator for its own traffic. Thread rule: one thread
 * at a time per handle (MPI collectives are not reentrant), and MPI must stay
 * initialised until sp_dist_retriever_free().
 * @since 0.1
 */
typedef struct sp_dist_retriever sp_dist_retriever;

/** Current version of ::sp_dist_retriever_options. @since 0.1 */
#define SP_DIST_RETRIEVER_OPTIONS_VERSION 1

/**
 * Creation settings. Initialise with ::SP_DIST_RETRIEVER_OPTIONS_INIT or
 * sp_dist_retriever_options_init(); fields are only ever appended. Every rank
 * must pass the same settings.
 * @since 0.1
 */
typedef struct sp_dist_retriever_options {
    uint32_t version;                       /**< ::SP_DIST_RETRIEVER_OPTIONS_VERSION */
    const sp_retriever_options *retriever;  /**< each shard's settings (factory, embedder id, threads,
                                                 nprobe, halves); NULL: defaults, the default factory
                                                 chosen for the keys of all ranks (borrowed for the call) */
    uint64_t train_size;                    /**< keys gathered to rank 0 to train on, taken evenly from
                                                 every rank; 0: 65,536 */
} sp_dist_retriever_options;

/** Static initialiser of ::sp_dist_retriever_options (all defaults). @since 0.1 */
#define SP_DIST_RETRIEVER_OPTIONS_INIT { SP_DIST_RETRIEVER_OPTIONS_VERSION, NULL, 0 }

/**
 * Fill @p opts with the defaults of the fields that @p version has and set its
 * version; nothing past those fields is written. Not collective.
 * @return SP_OK; SP_ERR_INVALID_ARG (opts NULL or version 0); SP_ERR_VERSION.
 * @since 0.1
 */
SP_DIST_API int sp_dist_retriever_options_init(sp_dist_retriever_options *opts, uint32_t version);

/**
 * The rank whose shard holds the keys of game @p game_id among @p size ranks:
 * a fixed hash of the id (libsemiparam's splitmix64, the bits above the one
 * sp_retriever_game_half() uses, so shards hold both halves evenly). 0 when
 * @p size is 0. Not collective; the same in every build and process.
 * @since 0.1
 */
SP_DIST_API uint32_t sp_dist_game_rank(uint32_t game_id, uint32_t size);

/**
 * Build a sharded retriever from the keys every rank holds (any partition:
 * each rank passes its own keys, @p count may be 0 on some ranks). Collective.
 * The keys are sent to their owning ranks, rank 0 trains on a sample of
 * opts->train_size keys gathered from all ranks, broadcasts the trained empty
 * index (the `.spi` bytes of sp_retriever_save()), and each rank adds its keys.
 * @param out           receives the handle (NULL on failure); free with sp_dist_retriever_free()
 * @param comm          the communicator (duplicated: the caller may free its own)
 * @param keys          count x dim floats, row-major (borrowed for the call); may be NULL when count is 0
 * @param position_ids  count position ids (not ::SP_RETRIEVER_NO_ID)
 * @param game_ids      count game ids (not UINT32_MAX); they choose the owning rank
 * @param count         keys this rank passes
 * @param dim           key dimension, the same on every rank
 * @param opts          NULL for defaults
 * @return SP_OK; SP_ERR_INVALID_ARG (NULL arrays, dim differing between ranks,
 *         no keys on any rank, a bad factory); SP_ERR_VERSION; SP_ERR_NOMEM;
 *         SP_ERR_IO (the temporary file of the broadcast); SP_ERR_INTERNAL (MPI
 *         or FAISS failed); SP_ERR_MISUSE (another rank failed: its rank in
 *         sp_last_error()). *out is NULL on failure, on every rank.
 * @since 0.1
 */
SP_DIST_API int sp_dist_retriever_build(sp_dist_retriever **out, MPI_Comm comm, const float *keys,
                                        const uint64_t *position_ids, const uint32_t *game_ids, uint64_t count,
                                        uint32_t dim, const sp_dist_retriever_options *opts);

/** Release the handle and its communicator (MPI_Comm_free: collective); NULL is a no-op. @since 0.1 */
SP_DIST_API void sp_dist_retriever_free(sp_dist_retriever *retriever);

/**
 * Online growth: each rank passes any keys (count may be 0), and every key is
 * added on the rank that owns its game (to the shard of its game). Collective. The new keys are found by
 * the next search.
 * @return SP_OK; SP_ERR_INVALID_ARG (NULL arrays, wrong dim, a reserved id);
 *         SP_ERR_NOMEM; SP_ERR_INTERNAL; SP_ERR_MISUSE (another rank failed).
 *         Keys of rounds added before a failure stay in the shards.
 * @since 0.1
 */
SP_DIST_API int sp_dist_retriever_add(sp_dist_retriever *retriever, const float *keys,
                                      const uint64_t *position_ids, const uint32_t *game_ids, uint64_t count,
                                      uint32_t dim);

/**
 * Search a batch of queries asked by rank @p root against every shard.
 * Collective: every rank passes the same @p root; the other arguments matter
 * only on the root (the others may pass NULL and 0). Each shard returns its
 * k nearest; the root keeps the k smallest by (distance, position id), so
 * ties are broken by the smaller position id, the same on every run.
 * @param retriever     the handle
 * @param root          the rank asking (0..size-1)
 * @param queries       count x dim floats (borrowed)
 * @param count         queries (0 is a no-op)
 * @param dim           must equal the index's
 * @param k             neighbours per query (>= 1)
 * @param query         settings as sp_retriever_search(), NULL for defaults; query->game_ids is read on the root
 * @param out_ids       count x k position ids, nearest first; ::SP_RETRIEVER_NO_ID where fewer than k
 * @param out_distances count x k squared distances (INFINITY where no id); may be NULL
 * @param out_games     count x k game ids (UINT32_MAX where no id); may be NULL
 * @return SP_OK; SP_ERR_INVALID_ARG (root out of range or differing, NULL
 *         arrays on the root, wrong dim, k 0); SP_ERR_VERSION; SP_ERR_NOMEM;
 *         errors of sp_retriever_search() on any shard; SP_ERR_MISUSE (another
 *         rank failed).
 * @since 0.1
 */
SP_DIST_API int sp_dist_retriever_search(const sp_dist_retriever *retriever, int root, const float *queries,
                                         uint64_t count, uint32_t dim, uint32_t k,
                                         const sp_retriever_query *query, uint64_t *out_ids,
                                         float *out_distances, uint32_t *out_games);

/**
 * Neighbour pre-computation for training, as sp_retriever_precompute() over
 * the whole sharded index: each position's @p k nearest neighbours in the
 * half not holding its game (with one half, of another game), found by the
 * merged top-k of all shards, written by rank 0 as ONE `.spn` file. Each
 * rank passes its own share of the positions (any split, @p count may be 0
 * on some ranks); the file's rows are rank 0's positions, then rank 1's,
 * and so on, in each rank's order: the file sp_retriever_precompute() writes
 * in one process over that concatenated list. Rank 0 gathers the positions
 * in the same batches of 1,024 queries and searches them as root of
 * sp_dist_retriever_search(). The file is then that one byte for byte
 * (with any rank count, also another than saved the set) wherever FAISS's
 * distances do not depend on where a key sits in its index: IVF indexes
 * (IVF1,Flat is an exact search so; IVF-PQ with the same trained quantizer
 * and codes, unless the default max_codes budget, which scales with each
 * shard's lists, cuts a scan: SP_RETRIEVER_ALL_CODES avoids it), and Flat
 * below 20 queries. Flat over larger batches computes distances with BLAS
 * as |x|^2 + |y|^2 - 2 x.y, whose rounding depends on a key's place: the
 * same neighbours, distances that may differ in the last bits of
 * |x|^2 + |y|^2 (so two almost equal ones may swap). Ties at the k-th place keep the
 * smallest position ids, as one index whose keys were added in position id
 * order. Progress task "index-precompute" on rank 0. The file is written
 * atomically: nothing at @p path unless every rank succeeded. Collective.
 * @param retriever     the handle
 * @param keys          count x dim floats: this rank's positions' keys (borrowed)
 * @param position_ids  count ids, written as each row's first field
 * @param game_ids      count game ids: decide the half (or the excluded game)
 * @param count         positions this rank passes
 * @param dim           must equal the index's
 * @param k             neighbours per position, the same on every rank (>= 1)
 * @param query         nprobe, rerank, max_codes, threads, embedder_id as
 *                      sp_retriever_search(); rank 0's are used (exclude and
 *                      game_ids are set internally); NULL for defaults
 * @param path          the output file, written by rank 0; every rank passes
 *                      one (rank 0's is used)
 * @return SP_OK; SP_ERR_INVALID_ARG (NULL arrays, NULL or empty path, wrong
 *         dim, k 0 or differing between ranks); SP_ERR_VERSION; SP_ERR_NOMEM;
 *         SP_ERR_IO; SP_ERR_CANCELLED (the progress callback on rank 0);
 *         errors of sp_dist_retriever_search(); SP_ERR_MISUSE (another rank
 *         failed).
 * @since 0.1
 */
SP_DIST_API int sp_dist_retriever_precompute(const sp_dist_retriever *retriever, const float *keys,
                                             const uint64_t *position_ids, const uint32_t *game_ids,
                                             uint64_t count, uint32_t dim, uint32_t k,
                                             const sp_retriever_query *query, const char *path);

/**
 * Save as one `.spi` per shard, `<prefix>.<shard>.spi` (written by the rank
 * holding it, atomically), then `<prefix>.manifest`, a text file rank 0 writes
 * last (atomically) with the shard count (line `ranks`), dimension, total keys
 * and each shard's key count, file size and CRC-32. A handle has as many
 * shards as the ranks that built it; one loaded by another rank count saves
 * the shards it loaded (grown by the additions since). Collective; every rank
 * passes the same @p prefix, on a file system all ranks see alike.
 * @return SP_OK; SP_ERR_INVALID_ARG (NULL, empty or too long prefix);
 *         SP_ERR_IO; SP_ERR_NOMEM; SP_ERR_MISUSE (another rank failed).
 * @since 0.1
 */
SP_DIST_API int sp_dist_retriever_save(const sp_dist_retriever *retriever, const char *prefix);

/**
 * Load what sp_dist_retriever_save() wrote, with any number of ranks: rank r
 * reads the shards s with s mod size == r, `<prefix>.<s>.spi`, each after
 * checking its size and CRC-32 against the manifest, so shards mixed from two
 * saves are refused. With as many ranks as shards each rank holds one; with
 * fewer a rank holds several and searches each (its answer is their merge),
 * with more the ranks from the shard count on hold none. The shards are read
 * as saved, FAISS codes untouched, so every rank count answers exactly as the
 * handle that saved them, whatever the index type. Keys stay in the shard of
 * their game under the saved count (sp_dist_game_rank(game, shards)), and so
 * do later additions: the load does not rebalance (rebuild for that).
 * Collective.
 * @param out     receives the handle (NULL on failure, on every rank)
 * @param comm    the communicator (duplicated), of any size
 * @param prefix  the prefix given to sp_dist_retriever_save()
 * @param opts    each shard's load settings as sp_retriever_load() (threads, default_nprobe); NULL for defaults
 * @return SP_OK; SP_ERR_INVALID_ARG (NULL or empty prefix); SP_ERR_IO;
 *         SP_ERR_FORMAT (a malformed manifest, or a shard that is not the one
 *         it names); SP_ERR_NOMEM; errors of sp_retriever_load();
 *         SP_ERR_MISUSE (another rank failed).
 * @since 0.1
 */
SP_DIST_API int sp_dist_retriever_load(sp_dist_retriever **out, MPI_Comm comm, const char *prefix,
                                       const sp_retriever_options *opts);

/**
 * This rank's shard, borrowed from the handle (searches on it are local): its
 * first one when it holds several (a load by fewer ranks than saved), NULL
 * when it holds none (a load by more) and for NULL.
 * @since 0.1
 */
SP_DIST_API const sp_retriever *sp_dist_retriever_local(const sp_dist_retriever *retriever);

/**
 * The @p i th shard this rank holds, borrowed (searches on it are local):
 * shard rank + i x size of the set. One (i = 0) unless the handle was loaded
 * by another rank count than saved it; NULL past the last, for i < 0 and for
 * NULL. Not collective.
 * @since 0.1
 */
SP_DIST_API const sp_retriever *sp_dist_retriever_shard(const sp_dist_retriever *retriever, int i);

/** Keys on all shards, as of the last collective call; 0 for NULL. Not collective. @since 0.1 */
SP_DIST_API uint64_t sp_dist_retriever_count(const sp_dist_retriever *retriever);

/** This process's rank in the handle's communicator; -1 for NULL. @since 0.1 */
SP_DIST_API int sp_dist_retriever_rank(const sp_dist_retriever *retriever);

/** Ranks in the handle's communicator; 0 for NULL. @since 0.1 */
SP_DIST_API int sp_dist_retriever_size(const sp_dist_retriever *retriever);

/**
 * Bytes this rank passed to MPI as payload (send buffers, its own share of
 * gathers included) during its last sp_dist_retriever_search(): on the root
 * the batch (count x dim x 4, plus count x 4 game ids with an exclusion) and
 * the settings, on every rank its count x k x 16 bytes of candidates and
 * 8 bytes per status agreement. A measurement for docs/scaling.md's
 * formula; 0 for NULL or before any search. Not collective.
 * @since 0.1
 */
SP_DIST_API uint64_t sp_dist_retriever_search_bytes(const sp_dist_retriever *retriever);

/**
 * A data-parallel training run: one ::sp_trainer per rank over its own
 * model, plus a duplicate of the communicator. Rank r of R trains on rows
 * [r B / R, (r + 1) B / R) of every global batch of B = batch_size
 * positions (the batches one rank would draw: the stream does not depend
 * on R), normalises them with their own batch statistics (per-replica
 * batch norm), and every step sums the gradients, the running statistics
 * and the losses of all ranks in ONE fused MPI_Allreduce and divides by
 * R, so every rank takes the same optimizer step and the models stay
 * identical. R ranks compute what one rank with micro_batches R computes
 * (sp_trainer_options). Thread rule as ::sp_trainer, and MPI must stay
 * initialised until sp_dist_trainer_free().
 *
 * Every function except the accessors is collective and the ranks agree on
 * its outcome (a rank that fails makes the others fail with SP_ERR_MISUSE
 * naming it), as for ::sp_dist_retriever.
 * @since 0.1
 */
typedef struct sp_dist_trainer sp_dist_trainer;

/**
 * Create the run: each rank creates its trainer over @p model and @p ds
 * (borrowed, as sp_trainer_create()), and rank 0's parameters and running
 * statistics are broadcast into every rank's model. Collective.
 * @param out    receives the handle (NULL on failure, on every rank)
 * @param comm   the communicator (duplicated)
 * @param model  this rank's model, of the same architecture on every rank
 * @param ds     this rank's dataset: the same games on every rank
 * @param opts   the same options on every rank (NULL: defaults); the
 *               global batch_size must be a multiple of the rank count x
 *               micro_batches. Progress is reported after every step on
 *               every rank, and a callback that asks to stop on any rank
 *               stops all of them after that step.
 * @return SP_OK; errors of sp_trainer_create(); SP_ERR_INVALID_ARG (a batch
 *         that does not split, models or options that differ between ranks);
 *         SP_ERR_MISUSE (MPI not initialised, another rank failed);
 *         SP_ERR_INTERNAL (MPI failed).
 * @since 0.1
 */
SP_DIST_API int sp_dist_trainer_create(sp_dist_trainer **out, MPI_Comm comm, sp_model *model,
                                       const sp_dataset *ds, const sp_trainer_options *opts);

/** Release the handle, its trainer (the model stays) and its communicator (collective); NULL is a no-op. @since 0.1 */
SP_DIST_API void sp_dist_trainer_free(sp_dist_trainer *trainer);

/**
 * Run @p steps optimizer steps (the same on every rank) as sp_trainer_run();
 * @p stats gets the last step's figures, averaged over the ranks (the same
 * on every rank). Collective.
 * @return as sp_trainer_run(), agreed by all ranks; SP_ERR_MISUSE (another
 *         rank failed); SP_ERR_INTERNAL (MPI failed).
 * @since 0.1
 */
SP_DIST_API int sp_dist_trainer_run(sp_dist_trainer *trainer, int64_t steps, sp_train_stats *stats);

/** sp_trainer_get_stats() of this rank's trainer (the same on every rank). Not collective. @since 0.1 */
SP_DIST_API int sp_dist_trainer_get_stats(const sp_dist_trainer *trainer, sp_train_stats *stats);

/**
 * Write a checkpoint (sp_trainer_save()): rank 0 writes it, the others
 * wait for its status. Every rank passes a path (rank 0's is used). The
 * checkpoint records the global batch size and micro_batches x ranks, and
 * resumes with any rank count (sp_trainer_resume() on one rank, with
 * micro_batches = ranks x micro_batches for the same computation).
 * Collective.
 * @return as sp_trainer_save(); SP_ERR_MISUSE (another rank failed).
 * @since 0.1
 */
SP_DIST_API int sp_dist_trainer_save(const sp_dist_trainer *trainer, const char *path);

/**
 * Continue from a checkpoint written by sp_trainer_save() or
 * sp_dist_trainer_save() with any rank count: rank 0 reads the file and
 * broadcasts its bytes, and every rank resumes from them (as
 * sp_trainer_resume(): refused, nothing changed, on every rank when the
 * file does not fit). Every rank passes a path (rank 0's is read).
 * Collective.
 * @return as sp_trainer_resume(); SP_ERR_MISUSE (another rank failed).
 * @since 0.1
 */
SP_DIST_API int sp_dist_trainer_resume(sp_dist_trainer *trainer, const char *path);

/**
 * Bytes each rank contributes to the one MPI_Allreduce of a step: 4 x
 * (trained parameters + running statistics + 1 + 2 (unroll + 1) loss
 * figures + ranks status slots). 0 for NULL. Not collective.
 * @since 0.1
 */
SP_DIST_API uint64_t sp_dist_trainer_step_bytes(const sp_dist_trainer *trainer);

#ifdef __cplusplus
}
#endif

#endif
