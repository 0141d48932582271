/**
 * @file core.h
 * @brief Status codes, per-thread error text, version queries, the random
 *        number generator and the log/progress callbacks shared by every module.
 */
#ifndef SEMIPARAM_CORE_H
#define SEMIPARAM_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "semiparam/version.h"

/** Marks every exported declaration; the library is built with hidden visibility. */
#if defined(__GNUC__)
#define SP_API __attribute__((visibility("default")))
#else
#define SP_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Result of every fallible call. 0 is success, failures are negative.
 * The values are frozen: new codes are only ever appended.
 * @since 0.1
 */
typedef enum sp_status {
    SP_OK = 0,                       /**< success */
    SP_ERR_INVALID_ARG = -1,         /**< an argument is NULL, out of range or malformed */
    SP_ERR_NOMEM = -2,               /**< an allocation failed */
    SP_ERR_IO = -3,                  /**< a file could not be read or written */
    SP_ERR_FORMAT = -4,              /**< input data is corrupt, truncated or foreign */
    SP_ERR_ILLEGAL_MOVE = -5,        /**< the move breaks the rules of the game */
    SP_ERR_NO_DEVICE = -6,           /**< the requested compute device is absent */
    SP_ERR_UNSUPPORTED = -7,         /**< the operation is not supported by this build */
    SP_ERR_BUFFER_TOO_SMALL = -8,    /**< a caller buffer is too small; the size needed is reported */
    SP_ERR_MISUSE = -9,              /**< the call breaks the API contract (wrong order, wrong state) */
    SP_ERR_VERSION = -10,            /**< an options struct or file is newer than this library */
    SP_ERR_CANCELLED = -11,          /**< a callback asked to stop */
    SP_ERR_INTERNAL = -12            /**< a dependency failed unexpectedly */
} sp_status;

/**
 * Static, human-readable name of a status code ("invalid argument", ...).
 * Never NULL; unknown codes give "unknown status". Thread-safe.
 * @since 0.1
 */
SP_API const char *sp_status_str(int status);

/**
 * Detail of the latest failure on the calling thread. Never NULL (empty
 * string when nothing has failed). The text is owned by the library and
 * valid until the next failing call on this thread. Thread-safe.
 * @since 0.1
 */
SP_API const char *sp_last_error(void);

/** Forget the calling thread's last error text. @since 0.1 */
SP_API void sp_clear_error(void);

/** Library version at run time as SP_VERSION_NUMBER would encode it. @since 0.1 */
SP_API uint32_t sp_version(void);

/** Library version at run time as "MAJOR.MINOR.PATCH"; static storage. @since 0.1 */
SP_API const char *sp_version_string(void);

/**
 * Optional features of this build, for sp_has_feature().
 * @since 0.1
 */
typedef enum sp_feature {
    SP_FEATURE_GPU = 1,          /**< a GPU backend is compiled in */
    SP_FEATURE_FAISS_C_API = 2,  /**< FAISS comes through the upstream libfaiss_c */
    SP_FEATURE_FAISS_BRIDGE = 3, /**< FAISS comes through the library's own C++ bridge */
    SP_FEATURE_NN = 4,           /**< the network module (nn.h) is built (meson -Dnn) */
    SP_FEATURE_RETRIEVAL = 5     /**< the retrieval module (retriever.h) is built (meson -Dretrieval) */
} sp_feature;

/**
 * 1 when the feature is available in this build, 0 otherwise (also for
 * unknown values). The functions of a module left out of the build stay
 * exported and fail with SP_ERR_UNSUPPORTED. Thread-safe. @since 0.1
 */
SP_API int sp_has_feature(int feature);

/* ------------------------------------------------------------------------ */
/* Random numbers                                                           */
/* ------------------------------------------------------------------------ */

/**
 * A small, fast pseudo-random generator (xoshiro256**, seeded with
 * splitmix64). Identical seeds give identical streams on every platform.
 * Thread rule: one thread at a time per handle; use one generator per thread.
 * @since 0.1
 */
typedef struct sp_rng sp_rng;

/**
 * Create a generator. @p out receives the handle (NULL on failure).
 * @return SP_OK, SP_ERR_INVALID_ARG (out is NULL) or SP_ERR_NOMEM.
 * @since 0.1
 */
SP_API int sp_rng_create(sp_rng **out, uint64_t seed);

/** Release a generator; NULL is a no-op. @since 0.1 */
SP_API void sp_rng_free(sp_rng *rng);

/** Restart the stream of @p rng from @p seed. @since 0.1 */
SP_API int sp_rng_seed(sp_rng *rng, uint64_t seed);

/** Next 64 random bits; 0 when rng is NULL. @since 0.1 */
SP_API uint64_t sp_rng_next(sp_rng *rng);

/** Uniform integer in [0, bound); 0 when rng is NULL or bound is 0. @since 0.1 */
SP_API uint32_t sp_rng_below(sp_rng *rng, uint32_t bound);

/** Uniform double in [0, 1); 0 when rng is NULL. @since 0.1 */
SP_API double sp_rng_uniform(sp_rng *rng);

/* ------------------------------------------------------------------------ */
/* Logging and progress                                                     */
/* ------------------------------------------------------------------------ */

/** Severity of a log message. @since 0.1 */
typedef enum sp_log_level {
    SP_LOG_ERROR = 0,   /**< a call failed or work was lost */
    SP_LOG_WARNING = 1, /**< something unexpected that the library worked around */
    SP_LOG_INFO = 2,    /**< milestones of long work */
    SP_LOG_DEBUG = 3    /**< detail for developers */
} sp_log_level;

/**
 * Receives the library's log messages. @p message is only valid during the
 * call. May be called from any thread the library runs work on.
 */
typedef void (*sp_log_fn)(int level, const char *message, void *payload);

/**
 * Receives progress of long work (index building, training, matches).
 * @param task   static name of the task ("index-add", "train", ...)
 * @param done   units finished so far
 * @param total  units in all, 0 when unknown
 * @param payload the pointer given with the callback
 * @return 0 to go on, non-zero to cancel the work (it then fails with SP_ERR_CANCELLED).
 */
typedef int (*sp_progress_fn)(const char *task, uint64_t done, uint64_t total, void *payload);

/**
 * Set the process-wide log callback and the most verbose level it receives.
 * NULL silences the library (the default). Not thread-safe against
 * concurrent library calls that log: set it once at start-up. Imports log
 * each input they read and a summary of it at ::SP_LOG_INFO (::SP_LOG_ERROR
 * when it stopped the import), every skipped game with its reason at
 * ::SP_LOG_DEBUG; index builds log the build, training and adding stages
 * with their sizes at ::SP_LOG_INFO.
 * @since 0.1
 */
SP_API void sp_set_log_callback(sp_log_fn fn, int max_level, void *payload);

/**
 * Set the process-wide default progress callback, used by long operations
 * whose options give none. NULL (the default) reports nothing.
 * Same thread rule as sp_set_log_callback().
 * @since 0.1
 */
SP_API void sp_set_progress_callback(sp_progress_fn fn, void *payload);

#ifdef __cplusplus
}
#endif

#endif /* SEMIPARAM_CORE_H */
