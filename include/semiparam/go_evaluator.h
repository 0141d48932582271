/**
 * @file go_evaluator.h
 * @brief A model-free Go model for the searcher: states are games on the
 *        real rules, the prior is uniform over the legal moves that do not
 *        fill one's own eye (plus pass), and the value is the mean outcome of
 *        random playouts.
 *
 * Actions are board points `row * size + col` (as in go.h) and `size * size`
 * for pass. The root input of sp_search_run() is a `const sp_game *` of the
 * evaluator's board size; the evaluator copies it and never changes it.
 */
#ifndef SEMIPARAM_GO_EVALUATOR_H
#define SEMIPARAM_GO_EVALUATOR_H

#include "semiparam/core.h"
#include "semiparam/search.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Creation options of a playout evaluator. Initialise with
 * ::SP_GO_EVALUATOR_OPTIONS_INIT or sp_go_evaluator_options_init(); fields
 * are only ever appended.
 * @since 0.1
 */
typedef struct sp_go_evaluator_options {
    uint32_t version;   /**< ::SP_GO_EVALUATOR_OPTIONS_VERSION */
    int32_t board_size; /**< 2..19, default 9 */
    int32_t playouts;   /**< random playouts per evaluated position (M), default 1 */
    int32_t max_moves;  /**< moves per playout at most; 0 = 3 * size * size */
    int32_t threads;    /**< search workers that may call it at once (one generator each), default 1 */
    uint64_t seed;      /**< seeds the playouts, default 1 */
} sp_go_evaluator_options;

/** Version of sp_go_evaluator_options this header describes. */
#define SP_GO_EVALUATOR_OPTIONS_VERSION 1
/** Default options as an initialiser. */
#define SP_GO_EVALUATOR_OPTIONS_INIT { SP_GO_EVALUATOR_OPTIONS_VERSION, 9, 1, 0, 1, 1 }

/**
 * Fill @p opts with the defaults of the fields that @p version has and set its
 * version; nothing past those fields is written. Pass ::SP_GO_EVALUATOR_OPTIONS_VERSION:
 * a program built against an older header passes that header's smaller
 * value and its shorter struct is filled (see docs/architecture.md).
 * @return SP_OK; SP_ERR_INVALID_ARG (opts NULL or version 0);
 *         SP_ERR_VERSION (@p version newer than this library's).
 * @since 0.1
 */
SP_API int sp_go_evaluator_options_init(sp_go_evaluator_options *opts, uint32_t version);

/**
 * The evaluator: per-worker generators and a pool of game copies.
 * Thread rule: its model callbacks may run on up to `threads` workers at once
 * (distinct worker indices); create, reseed and free from one thread.
 * @since 0.1
 */
typedef struct sp_go_evaluator sp_go_evaluator;

/**
 * Create an evaluator. @p out is NULL on failure.
 * @return SP_OK, SP_ERR_INVALID_ARG, SP_ERR_VERSION or SP_ERR_NOMEM.
 * @since 0.1
 */
SP_API int sp_go_evaluator_create(sp_go_evaluator **out, const sp_go_evaluator_options *opts);

/**
 * Release an evaluator; NULL is a no-op. Free every search using it first:
 * their trees hold its states.
 * @since 0.1
 */
SP_API void sp_go_evaluator_free(sp_go_evaluator *ev);

/**
 * Describe the evaluator as a searcher model: num_actions = size*size + 1,
 * two-player, all callbacks and the payload set. The evaluator must outlive
 * every search created from @p out.
 * @return SP_OK or SP_ERR_INVALID_ARG.
 * @since 0.1
 */
SP_API int sp_go_evaluator_model(sp_go_evaluator *ev, sp_search_model *out);

/** Restart the playout generators from @p seed. @since 0.1 */
SP_API int sp_go_evaluator_seed(sp_go_evaluator *ev, uint64_t seed);

#ifdef __cplusplus
}
#endif

#endif /* SEMIPARAM_GO_EVALUATOR_H */
