/**
 * @file search.h
 * @brief Monte-Carlo tree search over a model given as callbacks: MuZero
 *        pUCT and Gumbel MuZero, batched within a tree and across trees.
 *
 * The searcher knows nothing of any game. A model (::sp_search_model) maps a
 * root input to a state with a prior over `num_actions` actions and a value
 * (initial inference), and a state plus an action to the next state, a reward,
 * a prior and a value (recurrent inference). Both may also narrow a legal-action
 * mask and declare a state terminal, so an engine that knows its rules never
 * lets the search explore an illegal move; a learned model that does not know
 * them leaves the mask alone below the root.
 *
 * Values are from the point of view of the player to move in the state; the
 * reward of a transition is from the point of view of the player who acted.
 * With `two_player` set, a child's value counts negated for its parent.
 */
#ifndef SEMIPARAM_SEARCH_H
#define SEMIPARAM_SEARCH_H

#include "semiparam/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Largest action space the searcher accepts. */
#define SP_SEARCH_MAX_ACTIONS 4096

/**
 * Initial inference for @p n roots (n >= 1).
 * @param worker      0..threads-1: which share of the batch the rows belong to. Calls with the same
 *                    index never overlap and come in the same order run after run (any searcher
 *                    thread may make them), so a model can keep per-worker scratch and generators
 * @param n           number of rows in this call
 * @param inputs      the root inputs given to sp_search_run() / sp_search_run_many()
 * @param out_states  n state handles to set (the searcher owns them until it calls `release`); start NULL
 * @param out_priors  n x num_actions probabilities to write (renormalised over the legal actions)
 * @param out_values  n values, from the point of view of the player to move
 * @param inout_masks n x num_actions bytes, all 1 on entry: clear the illegal actions
 * @param out_terminal n flags, 0 on entry: set 1 when the state ends the episode (no action is expanded)
 * @param payload     the model's payload (sp_search_model::payload)
 * @return 0 on success; anything else stops the search, which returns SP_ERR_CANCELLED
 *         (or the value itself when it is a negative ::sp_status).
 */
typedef int (*sp_search_initial_fn)(int worker, size_t n, void *const *inputs, void **out_states,
                                    float *out_priors, float *out_values, uint8_t *inout_masks,
                                    int32_t *out_terminal, void *payload);

/**
 * Recurrent inference for @p n (state, action) pairs (n >= 1), as the initial
 * inference plus @p out_rewards: the reward of each transition for the player
 * who acted. @p states stay owned by the searcher; the callback must not free them.
 * Called concurrently from several workers when the searcher has threads > 1
 * (each call with a distinct @p worker).
 */
typedef int (*sp_search_recurrent_fn)(int worker, size_t n, void *const *states, const int32_t *actions,
                                      void **out_states, float *out_rewards, float *out_priors,
                                      float *out_values, uint8_t *inout_masks, int32_t *out_terminal,
                                      void *payload);

/** Give back a state the searcher no longer needs. Called from the searching thread. */
typedef void (*sp_search_release_fn)(void *state, void *payload);

/**
 * A model as the search sees it. Initialise with ::SP_SEARCH_MODEL_INIT;
 * fields are only ever appended. The searcher copies the struct.
 * @since 0.1
 */
typedef struct sp_search_model {
    uint32_t version;                 /**< ::SP_SEARCH_MODEL_VERSION */
    int32_t num_actions;              /**< 1..::SP_SEARCH_MAX_ACTIONS */
    int32_t two_player;               /**< 1: zero-sum, players alternate (values flip sign per ply) */
    int32_t max_batch;                /**< most pairs one call accepts; 0 = no limit. With threads > 1,
                                           smaller calls let the threads share a batch more evenly */
    sp_search_initial_fn initial;     /**< required */
    sp_search_recurrent_fn recurrent; /**< required */
    sp_search_release_fn release;     /**< optional: NULL when states need no release */
    void *payload;                    /**< passed last to every callback */
} sp_search_model;

/** Version of sp_search_model this header describes. */
#define SP_SEARCH_MODEL_VERSION 1
/** An empty model description as an initialiser. */
#define SP_SEARCH_MODEL_INIT { SP_SEARCH_MODEL_VERSION, 0, 1, 0, NULL, NULL, NULL, NULL }

/** Search algorithm. @since 0.1 */
typedef enum sp_search_kind {
    SP_SEARCH_PUCT = 0,   /**< MuZero: pUCT selection, visit-count policy */
    SP_SEARCH_GUMBEL = 1  /**< Gumbel MuZero: Gumbel top-k, sequential halving, completed-Q policy */
} sp_search_kind;

/**
 * What pUCT assumes of an action it has not visited yet ("first play urgency").
 * @since 0.1
 */
typedef enum sp_search_fpu {
    SP_SEARCH_FPU_ZERO = 0,  /**< MuZero: the lowest value seen in the tree (0 after min-max normalisation) */
    SP_SEARCH_FPU_PARENT = 1 /**< the parent's mean value: explores more when priors are flat */
} sp_search_fpu;

/**
 * Creation options of a search. Initialise with ::SP_SEARCH_OPTIONS_INIT or
 * sp_search_options_init(); fields are only ever appended.
 * @since 0.1
 */
typedef struct sp_search_options {
    uint32_t version;          /**< ::SP_SEARCH_OPTIONS_VERSION */
    int32_t kind;              /**< ::sp_search_kind, default ::SP_SEARCH_PUCT */
    int32_t simulations;       /**< per sp_search_run(), default 200; a run also ends when its tree
                                    would outgrow 1 GiB (about a million 9x9 nodes) */
    double max_seconds;        /**< wall-clock limit per run, 0 = none (at least one batch runs) */
    int32_t threads;           /**< workers calling the model concurrently, default 1; worker w always
                                    gets the same rows of a batch, so a seeded search over a model with
                                    per-worker state is reproducible with any number of threads. With
                                    threads > 1 the next batch is selected while the current one is
                                    evaluated, so two batches' leaves are in flight at once */
    int32_t batch_size;        /**< leaves gathered (with virtual loss) per batch; 0 (default) = threads */
    uint64_t seed;             /**< seeds noise, Gumbel draws and sampling; default 1 */
    float c1;                  /**< pUCT constant, default 1.25 */
    float c2;                  /**< pUCT constant, default 19652 */
    float discount;            /**< per-step discount of rewards and values, default 1 */
    float dirichlet_alpha;     /**< root noise concentration, default 0.3 */
    float dirichlet_fraction;  /**< root noise weight, default 0 (off, as in play) */
    float temperature;         /**< of the visit-count policy used to pick the action; 0 = most visited */
    int32_t gumbel_considered; /**< Gumbel: actions considered at the root, default 16 */
    float gumbel_c_visit;      /**< Gumbel: sigma's c_visit, default 50 */
    float gumbel_c_scale;      /**< Gumbel: sigma's c_scale, default 1 */
    int32_t reuse_tree;        /**< keep the subtree of the played action (sp_search_advance), default 1 */
    int32_t fpu;               /**< pUCT value of unvisited actions, ::sp_search_fpu; default ::SP_SEARCH_FPU_ZERO */
} sp_search_options;

/** Version of sp_search_options this header describes. */
#define SP_SEARCH_OPTIONS_VERSION 1
/** Default search options as an initialiser. */
#define SP_SEARCH_OPTIONS_INIT                                                                            \
    { SP_SEARCH_OPTIONS_VERSION, SP_SEARCH_PUCT, 200, 0.0, 1, 0, 1, 1.25f, 19652.0f, 1.0f, 0.3f, 0.0f, 0.0f, \
      16, 50.0f, 1.0f, 1, SP_SEARCH_FPU_ZERO }

/**
 * Fill @p opts with the defaults of the fields that @p version has and set its
 * version; nothing past those fields is written. Pass ::SP_SEARCH_OPTIONS_VERSION:
 * a program built against an older header passes that header's smaller
 * value and its shorter struct is filled (see docs/architecture.md).
 * @return SP_OK; SP_ERR_INVALID_ARG (opts NULL or version 0);
 *         SP_ERR_VERSION (@p version newer than this library's).
 * @since 0.1
 */
SP_API int sp_search_options_init(sp_search_options *opts, uint32_t version);

/**
 * A search tree with its model, options and worker threads.
 * Thread rule: one thread at a time per handle (the handle runs its own
 * workers inside sp_search_run()). The model's payload must outlive it.
 * @since 0.1
 */
typedef struct sp_search sp_search;

/**
 * Create a search.
 * @param out    receives the handle; NULL on failure
 * @param model  copied; its payload is borrowed
 * @param opts   options, or NULL for the defaults
 * @return SP_OK, SP_ERR_INVALID_ARG, SP_ERR_VERSION (model or options too new) or SP_ERR_NOMEM.
 * @since 0.1
 */
SP_API int sp_search_create(sp_search **out, const sp_search_model *model, const sp_search_options *opts);

/** Release a search, its tree (releasing every state) and its threads; NULL is a no-op. @since 0.1 */
SP_API void sp_search_free(sp_search *search);

/**
 * Change the budget of later runs: @p simulations >= 1, @p max_seconds >= 0 (0 = no time limit).
 * @since 0.1
 */
SP_API int sp_search_set_limits(sp_search *search, int32_t simulations, double max_seconds);

/**
 * Search from @p root_input and pick an action.
 * When the tree was advanced (sp_search_advance()) its statistics are kept and
 * the root is re-evaluated from @p root_input, which the caller promises is the
 * position reached by the advanced actions.
 * @param search      the search; its tree grows
 * @param root_input  passed to the model's initial inference; borrowed for the call
 * @param root_mask   num_actions bytes, 0 forbids an action at the root on top of the
 *                    model's own mask; NULL allows all
 * @param out_action  the chosen action, or -1 when the root is terminal, has no legal action or the
 *                    run failed; may be NULL
 * @return SP_OK, SP_ERR_INVALID_ARG, SP_ERR_NOMEM, or a callback's failure (SP_ERR_CANCELLED or its
 *         negative status). After a failure the tree keeps the simulations finished before it, and
 *         sp_search_root_stats() shows them.
 * @since 0.1
 */
SP_API int sp_search_run(sp_search *search, void *root_input, const uint8_t *root_mask, int32_t *out_action);

/**
 * Run @p n searches stepped together, so that every model call gathers the
 * leaves of all trees (one search per game, as in self-play). All searches must
 * have the same model (callbacks and payload); the threads of searches[0] do the
 * calls. @p root_masks may be NULL, as may any of its entries; @p out_actions
 * (n entries) may be NULL.
 * @since 0.1
 */
SP_API int sp_search_run_many(sp_search *const *searches, size_t n, void *const *root_inputs,
                              const uint8_t *const *root_masks, int32_t *out_actions);

/**
 * Move the root to the child reached by @p action (played by either side), keeping
 * its subtree; without such a child, with reuse off, or for a Gumbel search (whose
 * schedule counts visits from zero) the tree is emptied.
 * @return SP_OK or SP_ERR_INVALID_ARG.
 * @since 0.1
 */
SP_API int sp_search_advance(sp_search *search, int32_t action);

/** Empty the tree (after an undo, a new game ...). @since 0.1 */
SP_API int sp_search_reset(sp_search *search);

/* ------------------------------------------------------------------------ */
/* Results of the latest run                                                */
/* ------------------------------------------------------------------------ */

/**
 * Statistics of the root's actions after the latest run, as arrays of
 * num_actions entries; any pointer may be NULL.
 * @param search      the search, after a run
 * @param out_visits  visit counts (they sum to the simulations run, plus those of a reused subtree)
 * @param out_priors  the prior used at the root (after masking and noise)
 * @param out_values  mean value of each action for the player to move at the root (0 when unvisited)
 * @param out_policy  improved policy: visit counts with the temperature (pUCT), or softmax of
 *                    logits plus sigma(completed Q) (Gumbel)
 * @param capacity    entries available in each non-NULL array (at least num_actions)
 * @return SP_OK, SP_ERR_INVALID_ARG, SP_ERR_BUFFER_TOO_SMALL (capacity < num_actions) or
 *         SP_ERR_MISUSE (no run yet).
 * @since 0.1
 */
SP_API int sp_search_root_stats(const sp_search *search, int32_t *out_visits, float *out_priors,
                                float *out_values, float *out_policy, size_t capacity);

/**
 * Value of the root for its player to move (mean over its visits) and the
 * number of simulations the latest run made; either pointer may be NULL.
 * @since 0.1
 */
SP_API int sp_search_root_value(const sp_search *search, float *out_value, int32_t *out_simulations);

/**
 * Principal variation: the chosen action at the root, then the most visited action at each node.
 * Writes at most @p capacity actions and their count to @p out_length.
 * @since 0.1
 */
SP_API int sp_search_pv(const sp_search *search, int32_t *out_actions, size_t capacity, size_t *out_length);

#ifdef __cplusplus
}
#endif

#endif /* SEMIPARAM_SEARCH_H */
