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

#endif
