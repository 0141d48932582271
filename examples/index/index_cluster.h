/* sp-index's ranks: under `mpirun -np R` (R > 1, when built with
 * libsemiparam-mpi) an index is an sp_dist_retriever over MPI_COMM_WORLD,
 * sharded by game and saved as one file per shard plus a manifest;
 * otherwise, and always with one process, the plain sp_retriever exactly as
 * without MPI. The commands make the same calls either way. */
#ifndef SP_INDEX_CLUSTER_H
#define SP_INDEX_CLUSTER_H

#include <stdint.h>

#include "semiparam.h"

typedef struct index_cluster {
    int rank, size; /* 0 and 1 without mpirun */
    int mpi;        /* MPI_Init was called here */
} index_cluster;

/* One of the two, as the cluster's size decides. */
typedef struct index_set {
    sp_retriever *plain;
    void *dist; /* sp_dist_retriever */
} index_set;

/* MPI_Init when started by mpirun; ranks other than 0 print nothing on
 * stdout (their stdout goes to /dev/null), so the output is one process's.
 * Returns 0, or 1 with the reason printed. */
int index_cluster_init(index_cluster *c, int *argc, char ***argv);
void index_cluster_finish(index_cluster *c);

/* Whether any rank's flag is set: a failure on one rank before a collective
 * call stops them all instead of leaving the others waiting. */
int index_cluster_any(const index_cluster *c, int flag);

/* The prefix of a sharded save named INDEX: INDEX without a trailing ".spi";
 * the files are PREFIX.<rank>.spi and PREFIX.manifest (dist.h). */
void index_cluster_prefix(const char *index, char *prefix, size_t capacity);

/* Whether INDEX names a sharded save (PREFIX.manifest exists and INDEX
 * itself does not). */
int index_cluster_is_sharded(const char *index);

/* The retriever calls, collective when sharded. Build: each rank passes its
 * own keys (any partition; the library routes them to their owners). */
int index_set_build(const index_cluster *c, index_set *s, const float *keys, const uint64_t *pos,
                    const uint32_t *games, uint64_t n, uint32_t dim, const sp_retriever_options *o);
int index_set_load(const index_cluster *c, index_set *s, const char *index, uint32_t flags,
                   const sp_retriever_options *o);
int index_set_save(const index_set *s, const char *index);
int index_set_add(index_set *s, const float *keys, const uint64_t *pos, const uint32_t *games, uint64_t n,
                  uint32_t dim);
/* Rank 0 asks; the arguments matter on rank 0 only. */
int index_set_search(const index_set *s, const float *queries, uint64_t n, uint32_t dim, uint32_t k,
                     const sp_retriever_query *q, uint64_t *ids, float *distances, uint32_t *games);
/* Neighbours for training into one .spn file (sp_retriever_precompute;
 * sharded: each rank passes its run of the positions, in rank order, and
 * rank 0 writes the file). */
int index_set_precompute(const index_set *s, const float *keys, const uint64_t *pos, const uint32_t *games,
                         uint64_t n, uint32_t dim, uint32_t k, const sp_retriever_query *q, const char *path);
/* This rank's retriever (its first shard when sharded): factory, ids, sizes. */
const sp_retriever *index_set_local(const index_set *s);
/* The i-th retriever this rank holds (a rank holds several shards of a set
 * saved by more ranks, none of one saved by fewer); NULL past the last. */
const sp_retriever *index_set_held(const index_set *s, int i);
/* Keys of the whole index (all shards). */
uint64_t index_set_count(const index_set *s);
/* Bytes this rank passed to MPI during the last search; 0 unsharded. */
uint64_t index_set_search_bytes(const index_set *s);
void index_set_free(index_set *s);

#endif
