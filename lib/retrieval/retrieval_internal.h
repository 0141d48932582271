/* Internal state of the retriever shared by its build, search and file code:
 * one FAISS index per half plus the per-key ids, and the lock that guards
 * the index's mutable search parameters. */
#ifndef SP_RETRIEVAL_INTERNAL_H
#define SP_RETRIEVAL_INTERNAL_H

#include <pthread.h>

#include <faiss/c_api/AutoTune_c.h>
#include <faiss/c_api/Index_c.h>

#include "core/core_internal.h"
#include "core/omp_threads.h"
#include "semiparam/retriever.h"

/* Search defaults, measured on 10M CGOS keys with the default factory
 * (docs/benchmarks.md): recall@10 about 0.9. */
#define SP__DEFAULT_NPROBE 32
#define SP__DEFAULT_RERANK 16
/* Default max_codes: this many times nprobe average lists. Twice the average
 * only ever cuts the scan of a query that meets the long lists of repeated
 * positions, where the nearest keys are found early (docs/benchmarks.md). */
#define SP__DEFAULT_BUDGET_LISTS 2

/* One half: a FAISS index whose sequential ids (0..count-1) index the arrays. */
struct sp__half {
    FaissIndex *index;
    uint64_t count;
    uint64_t capacity;
    uint64_t *position_ids;
    uint32_t *game_ids;
};

struct sp_retriever {
    uint32_t dim;
    uint32_t halves;
    char *factory;
    uint64_t embedder_id;
    uint64_t train_size;
    uint64_t batch_size;
    uint64_t seed;
    uint32_t threads;
    uint32_t default_nprobe;
    int trained;
    int has_nprobe;  /* FAISS accepts "nprobe" (an IVF inside) */
    int has_rerank;  /* FAISS accepts rerank_param (a refine stage) */
    int has_max_codes; /* FAISS accepts "max_codes" (an IVF inside) */
    uint64_t nlist;  /* IVF lists as the factory string gives them; 0: unknown */
    const char *rerank_param;
    int mmapped;     /* IVF lists mapped from a file: read-only */
    struct sp__half half[2];
    FaissParameterSpace *params;
    /* nprobe and k_factor live in the FAISS index, so a search with other
     * values changes them under the write lock; equal values share the read lock. */
    pthread_rwlock_t lock;
    uint32_t current_nprobe;
    uint32_t current_rerank;
    uint64_t current_max_codes[2]; /* per half: FAISS's value (0: no budget) */
};

/* SP_ERR_INTERNAL with FAISS's last message. */
int sp__faiss_error(const char *what);

/* Allocate a retriever shell (lock, parameter space, settings from opts). */
int sp__retriever_alloc(sp_retriever **out, uint32_t dim, uint32_t halves, const sp_retriever_options *opts);

/* Probe which search parameters the index takes (has_nprobe, has_rerank,
 * has_max_codes) and read the IVF list count from the factory (nlist). */
void sp__retriever_probe_params(sp_retriever *r);

/* Validate a query struct's version; fills `out` with defaults + the fields
 * its version has. `who` names the caller in the error message. */
SP__SHARED int sp__retriever_query_read(sp_retriever_query *out, const sp_retriever_query *query, const char *who);

/* Codes FAISS's IVF searches compared with queries since the last call (its
 * process-wide indexIVF_stats.ndis), then reset: for sp-bench, which reports
 * codes scanned per query. Not exact while other threads search. */
uint64_t sp__ivf_codes_scanned_take(void);

/* Make sure half h can hold `extra` more keys. */
int sp__half_reserve(struct sp__half *h, uint64_t extra);

/* Validate an options struct's version; fills `out` with defaults + the
 * fields its version has. `who` names the caller in the error message. */
int sp__retriever_options_read(sp_retriever_options *out, const sp_retriever_options *opts, const char *who);

/* The `.spn` writer of sp_retriever_precompute(), shared with
 * libsemiparam-mpi's sharded precompute so both write the same bytes: rows
 * appended in order (a position id, k neighbour ids, k squared distances),
 * the header (row count, embedder id, CRCs) written at commit, the file
 * atomic (nothing at path unless committed). Queries are searched in batches
 * of SP__SPN_BATCH: a caller that wants the same distances to the bit
 * batches the same way (FAISS computes them differently below 20 queries). */
#define SP__SPN_BATCH 1024u
typedef struct sp__spn_writer sp__spn_writer;
/* `who` names the caller in errors and must outlive the writer. */
SP__SHARED int sp__spn_open(sp__spn_writer **out, const char *path, uint32_t k, const char *who);
/* n rows (ids and dist n x k); reports progress "index-precompute" of
 * total, SP_ERR_CANCELLED when the callback asks to stop. */
SP__SHARED int sp__spn_append(sp__spn_writer *w, const uint64_t *position_ids, const uint64_t *ids,
                              const float *dist, uint64_t n, uint64_t total);
/* Write the header and commit; frees w whatever happens. */
SP__SHARED int sp__spn_commit(sp__spn_writer *w, uint64_t embedder_id);
/* Remove the temporary file and free w; NULL is a no-op. */
SP__SHARED void sp__spn_abort(sp__spn_writer *w);

#endif
