/**
 * @file model.h
 * @brief The learned model: a MuZero-style network with a representation
 *        tower over the observation planes, an action-conditioned dynamics
 *        tower unrolled with shared weights, and policy and value heads on
 *        every hidden state; inference, `.spm` files, and the model as a
 *        searcher model.
 *
 * With N > 0 neighbours it is the paper's retrieval model (Eq. 2): the
 * representation's output o_e and a neighbour network p shared by the N
 * retrieved neighbours x_i make the hidden state
 * s = [o_e, sum_i p(o_e, x_i) / sqrt(N)], and the dynamics and heads run
 * on s as without neighbours. Every x_i = 0 gives the equal-capacity
 * baseline (same parameters, same FLOPs).
 *
 * Shapes, for a board of size S (points P = S*S, actions A = P + 1 with the
 * pass last, as in go.h) and C hidden channels:
 * - observation planes: n x sp_go_plane_count(history) x S x S floats (NCHW,
 *   what sp_game_planes() and the dataset sampler write);
 * - neighbours (N > 0): n x N x ::SP_NEIGHBOUR_PLANES x S x S floats, neighbour
 *   j of observation i at (i * N + j), each what sp_dataset_neighbour_planes()
 *   writes (turned by the observation's board symmetry);
 * - hidden state: n x C x S x S floats, min-max normalised to [0, 1] per
 *   position after the representation (the join, with neighbours) and after
 *   every dynamics step;
 * - policy: n x A logits (not probabilities); value: n floats in [-1, 1]
 *   from the point of view of the player to move.
 *
 * Thread rule: inference (sp_model_initial(), sp_model_recurrent()) may be
 * called from several threads at once on one model; each call borrows a
 * workspace of its own (see docs/architecture.md). Creating, loading,
 * saving, freeing and training (sp_trainer, train.h) need the model to
 * themselves.
 */
#ifndef SEMIPARAM_MODEL_H
#define SEMIPARAM_MODEL_H

#include "semiparam/core.h"
#include "semiparam/dataset.h"
#include "semiparam/go.h"
#include "semiparam/nn.h"
#include "semiparam/search.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Kind of value head. @since 0.1 */
typedef enum sp_value_kind {
    SP_VALUE_TANH = 0 /**< one scalar through tanh, trained by MSE against the outcome in {-1, 0, 1} */
} sp_value_kind;

/**
 * The architecture of a model. Initialise with ::SP_MODEL_OPTIONS_INIT or
 * sp_model_options_init(); fields are only ever appended. A `.spm` file
 * records every field and refuses to load into another architecture.
 * @since 0.1
 */
typedef struct sp_model_options {
    uint32_t version;        /**< ::SP_MODEL_OPTIONS_VERSION */
    int32_t board_size;      /**< 2..19, default 9 */
    int32_t history;         /**< past positions in the input planes: sp_go_plane_count(history) planes, default 8 */
    int32_t channels;        /**< hidden-state channels C, default 64 */
    int32_t repr_blocks;     /**< residual blocks of the representation, default 6 */
    int32_t dyn_blocks;      /**< residual blocks of the dynamics, default 2 */
    int32_t policy_channels; /**< 1x1 convolution channels before the policy's dense layer, default 2 */
    int32_t value_channels;  /**< 1x1 convolution channels before the value's hidden layer, default 1 */
    int32_t value_hidden;    /**< units of the value's hidden layer, default 64 */
    int32_t value_kind;      /**< ::sp_value_kind, default ::SP_VALUE_TANH */
    int32_t neighbours;      /**< retrieved neighbours N the model reads, 0..64, default 0 (no retrieval) */
    int32_t neighbour_channels; /**< N > 0: channels of the neighbours' share of the hidden state, the
                                     neighbour network's output (1..channels-1, default 16); the
                                     representation then makes channels - neighbour_channels. @since version 2 */
    int32_t neighbour_blocks;   /**< N > 0: residual blocks of the neighbour network, default 1. @since version 2 */
} sp_model_options;

/** Version of sp_model_options this header describes. */
#define SP_MODEL_OPTIONS_VERSION 2
/** Default options as an initialiser. */
#define SP_MODEL_OPTIONS_INIT { SP_MODEL_OPTIONS_VERSION, 9, 8, 64, 6, 2, 2, 1, 64, SP_VALUE_TANH, 0, 16, 1 }

/**
 * Fill @p opts with the defaults of the fields that @p version has and set its
 * version; nothing past those fields is written. Pass ::SP_MODEL_OPTIONS_VERSION.
 * @return SP_OK; SP_ERR_INVALID_ARG (opts NULL or version 0);
 *         SP_ERR_VERSION (@p version newer than this library's).
 * @since 0.1
 */
SP_API int sp_model_options_init(sp_model_options *opts, uint32_t version);

/**
 * A model: its parameters, the network that runs them and its inference
 * workspaces. Thread rule in the file comment.
 * @since 0.1
 */
typedef struct sp_model sp_model;

/**
 * Create a model with freshly initialised parameters (deterministic from
 * `nn->seed`). @p nn may be NULL for the defaults. @p out is NULL on failure.
 * @return SP_OK, SP_ERR_INVALID_ARG (a field out of range, named in the
 *         message), SP_ERR_VERSION, SP_ERR_NOMEM, SP_ERR_NO_DEVICE,
 *         SP_ERR_UNSUPPORTED (built without the nn module, or bf16 without
 *         CPU support).
 * @since 0.1
 */
SP_API int sp_model_create(sp_model **out, const sp_model_options *opts, const sp_nn_options *nn);

/**
 * Load a model from a `.spm` file written by sp_model_save() or by a
 * trainer's checkpoint (its optimizer state is ignored). The architecture
 * comes from the file. @p nn may be NULL for the defaults.
 * @return SP_OK, SP_ERR_INVALID_ARG, SP_ERR_IO, SP_ERR_FORMAT (not a model
 *         file, corrupt or truncated: the message says what and where),
 *         SP_ERR_VERSION (a newer format), SP_ERR_NOMEM, SP_ERR_UNSUPPORTED.
 * @since 0.1
 */
SP_API int sp_model_load(sp_model **out, const char *path, const sp_nn_options *nn);

/**
 * Load into an existing model, which keeps its architecture: a file of
 * another architecture is refused with SP_ERR_FORMAT naming the field that
 * differs, and the model is then unchanged. Later inference uses the new
 * parameters.
 * @return SP_OK, SP_ERR_INVALID_ARG, SP_ERR_IO, SP_ERR_FORMAT, SP_ERR_VERSION,
 *         SP_ERR_NOMEM, SP_ERR_MISUSE (a trainer holds the model, or an
 *         inference call is running on it).
 * @since 0.1
 */
SP_API int sp_model_load_into(sp_model *m, const char *path);

/**
 * Write the model (architecture and parameters) atomically: a failed save
 * leaves no file, or the old file, at @p path.
 * @return SP_OK, SP_ERR_INVALID_ARG, SP_ERR_IO, SP_ERR_NOMEM.
 * @since 0.1
 */
SP_API int sp_model_save(const sp_model *m, const char *path);

/** Release a model; NULL is a no-op. Free every search and trainer using it first. @since 0.1 */
SP_API void sp_model_free(sp_model *m);

/**
 * The model's architecture, written into @p out as far as its version goes
 * (set `out->version` first, e.g. with sp_model_options_init()).
 * @return SP_OK, SP_ERR_INVALID_ARG or SP_ERR_VERSION.
 * @since 0.1
 */
SP_API int sp_model_get_options(const sp_model *m, sp_model_options *out);

/**
 * What a model is and costs. Set `version` (::SP_MODEL_INFO_INIT) before
 * calling sp_model_describe(); fields are only ever appended.
 * @since 0.1
 */
typedef struct sp_model_info {
    uint32_t version;           /**< ::SP_MODEL_INFO_VERSION */
    int32_t input_planes;       /**< planes of an observation */
    int32_t num_actions;        /**< size*size + 1 */
    int32_t state_size;         /**< floats of one hidden state: C x size x size */
    uint64_t parameters;        /**< trained parameters (running statistics excluded) */
    uint64_t flops_initial;     /**< multiply-adds x 2 of one initial inference (representation + heads) */
    uint64_t flops_recurrent;   /**< multiply-adds x 2 of one recurrent inference (dynamics + heads) */
    uint64_t content_hash;      /**< hash of the architecture and parameter values: equal for equal models */
} sp_model_info;

/** Version of sp_model_info this header describes. */
#define SP_MODEL_INFO_VERSION 1
/** An sp_model_info ready for sp_model_describe(). */
#define SP_MODEL_INFO_INIT { SP_MODEL_INFO_VERSION, 0, 0, 0, 0, 0, 0, 0 }

/**
 * Describe the model into @p out (as far as `out->version` goes).
 * @return SP_OK, SP_ERR_INVALID_ARG or SP_ERR_VERSION.
 * @since 0.1
 */
SP_API int sp_model_describe(const sp_model *m, sp_model_info *out);

/**
 * Initial inference for @p n observations: h(o) then the heads. Any of
 * @p state, @p logits, @p value may be NULL to skip it. Arithmetic follows
 * the model's sp_nn_options precision (bf16 convolutions when asked); f32
 * results equal the training forward pass's with running statistics.
 * @param m        the model
 * @param planes   n x input_planes x size x size floats
 * @param n        1..65536
 * @param state    n x state_size floats, or NULL
 * @param logits   n x num_actions floats, or NULL
 * @param value    n floats, or NULL
 * @return SP_OK, SP_ERR_INVALID_ARG, SP_ERR_NOMEM, SP_ERR_INTERNAL (a oneDNN failure, named),
 *         SP_ERR_MISUSE while a trainer (from sp_trainer_create() to sp_trainer_free(): it
 *         writes the parameters) or sp_model_evaluate() holds the model.
 *
 * Threads: any number of calls at once (on other threads) are safe; each
 * borrows a workspace of the model's (made on the first call that needs
 * it, kept for the next), so n threads calling at once cost n workspaces.
 * @since 0.1
 */
SP_API int sp_model_initial(sp_model *m, const float *planes, int32_t n, float *state, float *logits,
                            float *value);

/**
 * Initial inference of a retrieval model (N > 0) over observations and
 * their neighbours: s = [o_e, sum_i p(o_e, x_i) / sqrt(N)], then the heads.
 * sp_model_initial() on such a model is this call with every x_i = 0 (the
 * baseline of equal capacity). On a model without neighbours @p neighbours
 * must be NULL and the call is sp_model_initial().
 * @param m           the model
 * @param planes      n x input_planes x size x size floats
 * @param neighbours  n x N x ::SP_NEIGHBOUR_PLANES x size x size floats (N from the
 *                    model's options), or NULL for all zeros
 * @param n           1..65536
 * @param state       n x state_size floats, or NULL
 * @param logits      n x num_actions floats, or NULL
 * @param value       n floats, or NULL
 * @return as sp_model_initial(); SP_ERR_INVALID_ARG also for neighbours given to a model without.
 * Threads: as sp_model_initial().
 * @since 0.1
 */
SP_API int sp_model_initial_neighbours(sp_model *m, const float *planes, const float *neighbours, int32_t n,
                                       float *state, float *logits, float *value);

/**
 * sp_model_initial_neighbours() with each neighbour given by its position id
 * in @p ds: its planes are sp_dataset_neighbour_planes() (no symmetry), and
 * UINT64_MAX (a retriever's "no such key") gives zero planes.
 * @param m       a retrieval model (N > 0)
 * @param planes  n x input_planes x size x size floats
 * @param ds      the dataset the ids are of (its board size the model's)
 * @param ids     n x N position ids, neighbour j of observation i at (i * N + j)
 * @param n       1..65536
 * @param state   n x state_size floats, or NULL
 * @param logits  n x num_actions floats, or NULL
 * @param value   n floats, or NULL
 * @return as sp_model_initial_neighbours(); SP_ERR_INVALID_ARG also for a model without
 *         neighbours, another board size, or an id past the dataset (its row and slot named).
 * Threads: as sp_model_initial(); the dataset is only read.
 * @since 0.1
 */
SP_API int sp_model_initial_ids(sp_model *m, const float *planes, const sp_dataset *ds, const uint64_t *ids,
                                int32_t n, float *state, float *logits, float *value);

/**
 * Record the embedder whose neighbours a retrieval model reads (its id,
 * sp_embedder_id() of embed.h); the `.spm` file keeps it, and
 * sp_model_check_retrieval() refuses another. The trainer records the id
 * of the neighbours it trains on.
 * @return SP_OK; SP_ERR_INVALID_ARG (NULL, a model without neighbours, or id 0);
 *         SP_ERR_MISUSE (a trainer holds the model).
 * @since 0.1
 */
SP_API int sp_model_set_embedder(sp_model *m, uint64_t embedder_id);

/** The embedder id recorded by sp_model_set_embedder() or the model file; 0 for none or NULL. @since 0.1 */
SP_API uint64_t sp_model_embedder_id(const sp_model *m);

/**
 * Whether the model may run with neighbours from embedder @p embedder_id,
 * @p neighbours at a time: the model's N and recorded embedder must be
 * those (a model that records no embedder accepts any id).
 * @return SP_OK; SP_ERR_INVALID_ARG (NULL, or a mismatch: the message names
 *         both ids or both counts).
 * @since 0.1
 */
SP_API int sp_model_check_retrieval(const sp_model *m, uint64_t embedder_id, int32_t neighbours);

/**
 * Recurrent inference for @p n (state, action) pairs: g(s, a) then the heads.
 * Any of @p next_state, @p logits, @p value may be NULL to skip it.
 * @param m           the model
 * @param state       n x state_size floats (a state from this model)
 * @param actions     n actions in 0..num_actions-1 (size*size = pass)
 * @param n           1..65536
 * @param next_state  n x state_size floats, or NULL (may be @p state itself)
 * @param logits      n x num_actions floats, or NULL
 * @param value       n floats, or NULL
 * @return SP_OK, SP_ERR_INVALID_ARG (an action out of range: its row named),
 *         SP_ERR_MISUSE (a trainer holds the model), and as sp_model_initial().
 * @since 0.1
 */
SP_API int sp_model_recurrent(sp_model *m, const float *state, const int32_t *actions, int32_t n,
                              float *next_state, float *logits, float *value);

/* ------------------------------------------------------------------------ */
/* Layers: the activations an embedder reads (embed.h)                      */
/* ------------------------------------------------------------------------ */

/** Longest layer name, with its NUL. @since 0.1 */
#define SP_MODEL_LAYER_NAME_MAX 32

/**
 * One layer whose activations sp_model_activations() can return. Set
 * `version` (::SP_MODEL_LAYER_INIT) before sp_model_layer_info(); fields are
 * only ever appended.
 * @since 0.1
 */
typedef struct sp_model_layer {
    uint32_t version;                    /**< ::SP_MODEL_LAYER_VERSION */
    char name[SP_MODEL_LAYER_NAME_MAX];  /**< e.g. "repr" (the representation's output, the hidden
                                              state), "repr.block3", "value.hidden" */
    int32_t channels;                    /**< channels, or units of a dense layer */
    int32_t height;                      /**< rows (1 for a dense layer) */
    int32_t width;                       /**< columns (1 for a dense layer) */
    uint64_t size;                       /**< floats per position: channels x height x width */
} sp_model_layer;

/** Version of sp_model_layer this header describes. */
#define SP_MODEL_LAYER_VERSION 1
/** An sp_model_layer ready for sp_model_layer_info(). */
#define SP_MODEL_LAYER_INIT { SP_MODEL_LAYER_VERSION, { 0 }, 0, 0, 0, 0 }

/**
 * Number of layers sp_model_activations() can read; 0 for NULL and for a
 * retrieval model (N > 0: its layers depend on its neighbours, and
 * embedders are made from models without neighbours, paper §2.1.1).
 * Layer 0 is "repr", the default of a learned embedder.
 * @since 0.1
 */
SP_API int32_t sp_model_layer_count(const sp_model *m);

/**
 * Describe layer @p index (0..sp_model_layer_count()-1) into @p out (as far
 * as `out->version` goes).
 * @return SP_OK; SP_ERR_INVALID_ARG (NULL, index out of range); SP_ERR_VERSION.
 * @since 0.1
 */
SP_API int sp_model_layer_info(const sp_model *m, int32_t index, sp_model_layer *out);

/**
 * Activations of layer @p layer (a name sp_model_layer_info() gives) for
 * @p n observations, computed as sp_model_initial() computes them (running
 * statistics, the model's precision), each position's values in NCHW order.
 * For "repr" they equal sp_model_initial()'s state.
 * @param m         the model
 * @param layer     layer name; NULL means "repr"
 * @param planes    n x input_planes x size x size floats
 * @param n         1..65536
 * @param out       n x layer size floats
 * @param capacity  floats available at @p out
 * @return SP_OK; SP_ERR_INVALID_ARG (NULL, unknown layer: named); SP_ERR_BUFFER_TOO_SMALL;
 *         SP_ERR_MISUSE (a trainer holds the model); and as sp_model_initial().
 * Threads: as sp_model_initial().
 * @since 0.1
 */
SP_API int sp_model_activations(sp_model *m, const char *layer, const float *planes, int32_t n, float *out,
                                size_t capacity);

/** How the search uses the model. @since 0.1 */
typedef enum sp_model_search_mode {
    SP_MODEL_SEARCH_LEARNED = 0, /**< MuZero: real game at the root, learned dynamics below it (no
                                      masks, no terminal states), but for passes from the root: the
                                      nodes reached from the root by passes only are real games, as
                                      in rules mode (initial inference, legal mask, and a second
                                      pass ends the game with the real score), because the dynamics
                                      learnt passes only at the end of games; a tree kept by
                                      sp_search_advance() across a pass may hold a pass child built
                                      by the dynamics, so reset it then */
    SP_MODEL_SEARCH_RULES = 1    /**< AlphaZero: real games in the tree, initial inference at every node,
                                      legal masks everywhere */
} sp_model_search_mode;

/**
 * The neighbours of a retrieval model's positions in a search: fill
 * @p out_planes with n x N x ::SP_NEIGHBOUR_PLANES x size x size floats,
 * the planes (sp_dataset_neighbour_planes()) of the N neighbours retrieved
 * for the current position of each of the @p n games, zeros where fewer
 * were found. The games are borrowed for the call. Called wherever the
 * search runs initial inference on a real position (the root; in rules
 * mode every node; in learned mode also the nodes reached from the root by
 * passes only), from the searcher's workers, several at once when the
 * search has threads > 1.
 * @return 0; anything else stops the search as a failing model callback does.
 * @since 0.1
 */
typedef int (*sp_model_neighbours_fn)(size_t n, const sp_game *const *games, float *out_planes, void *payload);

/**
 * Options of the model as a searcher model. Initialise with
 * ::SP_MODEL_SEARCH_OPTIONS_INIT or sp_model_search_options_init(); fields
 * are only ever appended.
 * @since 0.1
 */
typedef struct sp_model_search_options {
    uint32_t version;   /**< ::SP_MODEL_SEARCH_OPTIONS_VERSION */
    int32_t mode;       /**< ::sp_model_search_mode, default ::SP_MODEL_SEARCH_LEARNED */
    int32_t max_batch;  /**< most positions per network call, default 0 = as the searcher asks */
    /** Version 2: the neighbours of a retrieval model (N > 0), required for one and refused
     *  for a model without; default NULL. The agent (agent.h) retrieves them. */
    sp_model_neighbours_fn neighbours;
    void *neighbours_payload; /**< version 2: passed last to @c neighbours */
} sp_model_search_options;

/** Version of sp_model_search_options this header describes (2 added the neighbours). */
#define SP_MODEL_SEARCH_OPTIONS_VERSION 2
/** Default options as an initialiser. */
#define SP_MODEL_SEARCH_OPTIONS_INIT { SP_MODEL_SEARCH_OPTIONS_VERSION, SP_MODEL_SEARCH_LEARNED, 0, NULL, NULL }

/**
 * Fill @p opts with the defaults of the fields that @p version has and set its version.
 * @return SP_OK, SP_ERR_INVALID_ARG or SP_ERR_VERSION.
 * @since 0.1
 */
SP_API int sp_model_search_options_init(sp_model_search_options *opts, uint32_t version);

/**
 * Describe the model as a searcher model (num_actions = size*size + 1,
 * two-player). The root input of sp_search_run() is a `const sp_game *` of
 * the model's board size: its planes come from the go module and its legal
 * mask from the rules (eye-filling allowed, pass always legal). The
 * callbacks' states and payload belong to the model: it must outlive every
 * search created from @p out.
 * A retrieval model (N > 0) reads the neighbours that @c opts->neighbours
 * gives for every real position it evaluates; its model-only nodes (learned
 * mode, below the root) follow the state that held them.
 * @return SP_OK, SP_ERR_INVALID_ARG (also neighbours given to a model without), SP_ERR_VERSION,
 *         SP_ERR_NOMEM; SP_ERR_UNSUPPORTED for a retrieval model without @c opts->neighbours.
 * @since 0.1
 */
SP_API int sp_model_search_model(sp_model *m, const sp_model_search_options *opts, sp_search_model *out);

#ifdef __cplusplus
}
#endif

#endif /* SEMIPARAM_MODEL_H */
