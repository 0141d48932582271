/* Internals of libsemiparam-mpi shared by its files: the retriever's handle
 * and the MPI exchanges (agreement on a status, big broadcasts, routing by owner). */
#ifndef SP_DIST_INTERNAL_H
#define SP_DIST_INTERNAL_H

#include "semiparam/dist.h"

struct sp_dist_retriever {
    MPI_Comm comm;          /* our duplicate: library traffic never meets the caller's */
    int rank;
    int size;
    uint32_t dim;
    uint64_t global_count;  /* keys on all shards after the last collective call */
    sp_retriever *local;    /* this rank's (first) shard; NULL when it holds none */
    /* The index has `shards` shards, the rank count that built it (or that
     * saved what a load read): the keys of game g are in shard
     * sp_dist_game_rank(g, shards), and shard s lives on rank s mod size.
     * This rank holds `held` of them, shard[i] being shard rank + i x size.
     * Built, or loaded by as many ranks as saved it: shards == size, held 1,
     * shard == &local. Loaded by fewer ranks a rank holds several, by more
     * some hold none (resharding without touching a shard's FAISS codes). */
    int shards;
    int held;
    sp_retriever **shard;
    uint64_t search_bytes;  /* payload this rank passed to MPI in the last search */
};

/* A handle on a duplicate of comm (errors returned, not fatal), with rank
 * and size set; *out is NULL until the caller hands the handle over. */
int sp__dist_open(sp_dist_retriever **handle, sp_dist_retriever **out, MPI_Comm comm, const char *fn);

/* A duplicate of comm for a handle's own traffic, errors returned rather
 * than fatal, with this process's rank and the size: SP_ERR_MISUSE before
 * MPI_Init, SP_ERR_INVALID_ARG for MPI_COMM_NULL. */
int sp__dist_comm_dup(MPI_Comm comm, MPI_Comm *dup, int *rank, int *size, const char *fn);

/* The status all ranks of comm agree on: the lowest (most negative) of their
 * rc. A rank whose own rc was SP_OK records which rank failed. */
int sp__dist_agree(MPI_Comm comm, int rc, const char *fn);

/* SP_ERR_INTERNAL naming the MPI call and MPI's text for err. */
int sp__dist_mpi_error(int err, const char *fn, const char *call);

/* Broadcast *len bytes from root; on other ranks *bytes is allocated (free()). */
int sp__dist_bcast_bytes(MPI_Comm comm, int root, void **bytes, uint64_t *len, const char *fn);

/* Send every key to the rank holding its game's shard (shard
 * sp_dist_game_rank(game, shards), on rank shard mod size): on return *out_* hold this
 * rank's keys (malloc'd, free() them) and *out_count their number. count keys
 * in per rank; each rank's count here must keep count x dim x size below
 * INT_MAX (the caller cuts its input into rounds). */
int sp__dist_route(MPI_Comm comm, int size, int shards, const float *keys, const uint64_t *position_ids,
                   const uint32_t *game_ids, uint64_t count, uint32_t dim, float **out_keys,
                   uint64_t **out_ids, uint32_t **out_games, uint64_t *out_count, const char *fn);

/* Merge size candidate lists of k (ids, distances, games laid out
 * [rank][query][k]) of nq queries into the k smallest by (distance, id). */
int sp__dist_merge(const uint64_t *ids, const float *dist, const uint32_t *games, int size, uint64_t nq,
                   uint32_t k, uint64_t *out_ids, float *out_dist, uint32_t *out_games, const char *fn);

#endif
