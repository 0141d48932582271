/**
 * @file train.h
 * @brief Training a model (model.h) offline on a dataset's games, MuZero
 *        style: K-step unrolls, policy cross-entropy and value MSE at every
 *        step; exact checkpoints; and the test metrics of any model.
 *
 * The loss of a batch (paper §2.1.2, MuZero): for unroll steps k = 0..K,
 * cross-entropy of the policy against the move played at t+k plus
 * `value_weight` x the squared error of the value against the outcome from
 * the side to move at t+k; steps past the game's end are masked. The losses
 * of steps 1..K are scaled by 1/K and the gradient flowing back into each
 * dynamics step is halved.
 *
 * Thread rule: one thread at a time per trainer; the trainer uses its model
 * alone while it lives (no inference on it from other threads meanwhile).
 */
#ifndef SEMIPARAM_TRAIN_H
#define SEMIPARAM_TRAIN_H

#include "semiparam/core.h"
#include "semiparam/dataset.h"
#include "semiparam/model.h"
#include "semiparam/retriever.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Most unroll steps K a trainer or an evaluation accepts. */
#define SP_TRAIN_MAX_UNROLL 15

/** Optimizer. @since 0.1 */
typedef enum sp_optimizer {
    SP_OPTIMIZER_SGD = 0,  /**< SGD with momentum; weight decay as an L2 term */
    SP_OPTIMIZER_ADAMW = 1 /**< AdamW: decoupled weight decay */
} sp_optimizer;

/** Learning-rate schedule after the warm-up. @since 0.1 */
typedef enum sp_lr_schedule {
    SP_SCHEDULE_CONSTANT = 0, /**< the learning rate throughout */
    SP_SCHEDULE_STEP = 1,     /**< multiplied by `gamma` every `step_size` steps */
    SP_SCHEDULE_COSINE = 2    /**< cosine from the learning rate down to `min_lr` at `total_steps` */
} sp_lr_schedule;

/**
 * Trainer options. Initialise with ::SP_TRAINER_OPTIONS_INIT or
 * sp_trainer_options_init(); fields are only ever appended.
 * @since 0.1
 */
typedef struct sp_trainer_options {
    uint32_t version;        /**< ::SP_TRAINER_OPTIONS_VERSION */
    int32_t batch_size;      /**< positions per step, default 256 */
    int32_t unroll;          /**< K, 0..::SP_TRAIN_MAX_UNROLL, default 5 */
    int32_t symmetries;      /**< 1 (default): a random one of the 8 board symmetries per position */
    int32_t optimizer;       /**< ::sp_optimizer, default ::SP_OPTIMIZER_SGD */
    int32_t schedule;        /**< ::sp_lr_schedule, default ::SP_SCHEDULE_COSINE */
    double learning_rate;    /**< peak learning rate, default 0.05 */
    double momentum;         /**< SGD momentum, default 0.9 */
    double adam_beta1;       /**< AdamW, default 0.9 */
    double adam_beta2;       /**< AdamW, default 0.999 */
    double weight_decay;     /**< default 1e-4 */
    double value_weight;     /**< weight of the value MSE, default 1 */
    double clip_norm;        /**< global gradient-norm limit, default 0 = no clipping */
    int64_t warmup_steps;    /**< linear ramp from 0 over these steps, default 0 */
    int64_t total_steps;     /**< cosine: the step it reaches `min_lr`, default 10000 */
    int64_t step_size;       /**< step schedule: steps between decays, default 1000 */
    double gamma;            /**< step schedule: factor per decay, default 0.1 */
    double min_lr;           /**< cosine: final learning rate, default 0 */
    float min_rating;        /**< train on games whose weaker player is rated at least this; 0 = all */
    float test_fraction;     /**< games held out for testing (never trained on), default 0.05 */
    uint64_t split_seed;     /**< which games are held out, default 1 (sp-data split's default) */
    uint64_t seed;           /**< the batches' draws and symmetries, default 1 */
    int32_t threads;         /**< sampler worker threads, default 1 (the network's come from sp_nn_options) */
    sp_progress_fn progress; /**< called after each step of sp_trainer_run() (task "train"); NULL = the process-wide callback */
    void *progress_payload;  /**< passed to @c progress */
    int32_t micro_batches;   /**< M, default 1: each step runs the batch as M slices of batch_size / M
                                  positions (a multiple: batch_size % M == 0), each normalised by its own
                                  batch statistics, and averages their gradients and losses; memory for
                                  batch_size / M positions. A checkpoint may resume with another M (a warning) */
    /* The retrieval model (Algorithm 1, paper §2.1.1 and §2.3). @since version 2 */
    const sp_neighbours *neighbours; /**< a model with N > 0 neighbours needs it: the pre-computed neighbours of
                                          the training positions (a `.spn` file from the other half of the
                                          training games; borrowed, must outlive the trainer). The trainer draws
                                          only the positions it holds (of those the split and rating filter
                                          keep), reads each one's first N turned by the position's symmetry, and
                                          records the file's embedder id in the model. Refused for N = 0 */
    float neighbour_dropout;       /**< §2.3: each neighbour slot zeroed with this probability, default 0 */
    float neighbour_randomise;     /**< §2.3: each slot (not dropped) takes the same slot of another position's
                                        neighbours, never of the same game, with this probability, default 0 */
    float neighbour_regularisation; /**< §2.3: weight of the mean squared distance from the initial state to the
                                         state with every x_i = 0 (the model's running statistics; held fixed,
                                         no gradient into it), default 0 */
    int32_t zero_neighbours;       /**< 1: every x_i = 0: the equal-capacity baseline, drawing the same positions;
                                        default 0 */
} sp_trainer_options;

/** Version of sp_trainer_options this header describes. */
#define SP_TRAINER_OPTIONS_VERSION 2
/** Default options as an initialiser. */
#define SP_TRAINER_OPTIONS_INIT                                                                       \
    { SP_TRAINER_OPTIONS_VERSION, 256, 5, 1, SP_OPTIMIZER_SGD, SP_SCHEDULE_COSINE, 0.05, 0.9, 0.9, 0.999, \
      1e-4, 1.0, 0.0, 0, 10000, 1000, 0.1, 0.0, 0.0f, 0.05f, 1, 1, 1, NULL, NULL, 1, NULL, 0.0f, 0.0f, 0.0f, 0 }

/**
 * Fill @p opts with the defaults of the fields that @p version has and set its version.
 * @return SP_OK, SP_ERR_INVALID_ARG or SP_ERR_VERSION.
 * @since 0.1
 */
SP_API int sp_trainer_options_init(sp_trainer_options *opts, uint32_t version);

/**
 * A training run of one model over one dataset: the sampler, the optimizer
 * state, the step. Thread rule in the file comment.
 * @since 0.1
 */
typedef struct sp_trainer sp_trainer;

/**
 * Create a trainer for @p model over the training split of @p ds; both are
 * borrowed and must outlive the trainer. The dataset's board size must be
 * the model's.
 * @return SP_OK, SP_ERR_INVALID_ARG (bad options, another board size, no
 *         training position left by the filter), SP_ERR_VERSION, SP_ERR_NOMEM,
 *         SP_ERR_UNSUPPORTED (built without the nn module).
 * @since 0.1
 */
SP_API int sp_trainer_create(sp_trainer **out, sp_model *model, const sp_dataset *ds,
                             const sp_trainer_options *opts);

/** Release a trainer (the model stays); NULL is a no-op. @since 0.1 */
SP_API void sp_trainer_free(sp_trainer *t);

/**
 * Statistics of the last step. Set `version` (::SP_TRAIN_STATS_INIT) first;
 * fields are only ever appended.
 * @since 0.1
 */
typedef struct sp_train_stats {
    uint32_t version;        /**< ::SP_TRAIN_STATS_VERSION */
    int32_t unroll;          /**< K: entries 0..K of the arrays are set */
    int64_t step;            /**< optimizer steps done so far */
    double loss;             /**< total loss as optimised */
    double policy_loss[SP_TRAIN_MAX_UNROLL + 1]; /**< cross-entropy at each unroll step */
    double value_loss[SP_TRAIN_MAX_UNROLL + 1];  /**< squared error at each unroll step */
    double learning_rate;    /**< of the last step */
    double grad_norm;        /**< global gradient norm before clipping */
    uint64_t positions;      /**< positions trained on so far (steps x batch size) */
    double regularisation;   /**< the neighbour regulariser's mean squared distance (unweighted; 0 when off).
                                  @since version 2 */
} sp_train_stats;

/** Version of sp_train_stats this header describes. */
#define SP_TRAIN_STATS_VERSION 2
/** An sp_train_stats ready to be filled. */
#define SP_TRAIN_STATS_INIT { SP_TRAIN_STATS_VERSION, 0, 0, 0.0, { 0 }, { 0 }, 0.0, 0.0, 0, 0.0 }

/**
 * Run @p steps optimizer steps (>= 1); @p stats (may be NULL) gets the last
 * one's figures. Reports progress after each step; a progress callback that
 * returns non-zero stops the run after that step with SP_ERR_CANCELLED (the
 * steps done stay done).
 * @return SP_OK, SP_ERR_INVALID_ARG, SP_ERR_CANCELLED, SP_ERR_NOMEM,
 *         SP_ERR_FORMAT (a stored game is illegal), SP_ERR_INTERNAL (a
 *         oneDNN failure or a non-finite loss, named in the message).
 * @since 0.1
 */
SP_API int sp_trainer_run(sp_trainer *t, int64_t steps, sp_train_stats *stats);

/**
 * The trainer's figures now, into @p stats as far as its version goes: the
 * step and positions done (after sp_trainer_resume(), the checkpoint's), and
 * the losses of the last step run since creation or resume (zero before one).
 * @return SP_OK, SP_ERR_INVALID_ARG or SP_ERR_VERSION.
 * @since 0.1
 */
SP_API int sp_trainer_get_stats(const sp_trainer *t, sp_train_stats *stats);

/**
 * Write a checkpoint atomically: the model (architecture and parameters,
 * so sp_model_load() reads it as a model), the optimizer state, the step
 * and the sampler's position. A run resumed from it continues exactly as an
 * uninterrupted one (on one thread: oneDNN's multi-threaded reductions may
 * round differently).
 * @return SP_OK, SP_ERR_INVALID_ARG, SP_ERR_IO, SP_ERR_NOMEM.
 * @since 0.1
 */
SP_API int sp_trainer_save(const sp_trainer *t, const char *path);

/**
 * Continue from a checkpoint written by sp_trainer_save(): the model's
 * parameters, the optimizer state, the step and the sampler's position are
 * restored. Refused with SP_ERR_FORMAT, and nothing changed, when the file
 * is corrupt, of another architecture, or was written with other options
 * that decide the batches (batch size, unroll, symmetries, seed, split,
 * rating filter, optimizer kind); the message names the difference. The
 * other options (the schedule and its rates, micro_batches) may change: a
 * warning names each.
 * @since 0.1
 */
SP_API int sp_trainer_resume(sp_trainer *t, const char *path);

/**
 * What an evaluation runs on. Initialise with ::SP_EVAL_OPTIONS_INIT or
 * sp_eval_options_init(); fields are only ever appended.
 * @since 0.1
 */
typedef struct sp_eval_options {
    uint32_t version;        /**< ::SP_EVAL_OPTIONS_VERSION */
    int32_t unroll;          /**< K: metrics for steps 0..K, default 5 */
    int32_t part;            /**< ::sp_dataset_part evaluated, default ::SP_PART_TEST */
    int32_t batch_size;      /**< positions per network call, default 256 */
    float min_rating;        /**< only games whose weaker player is rated at least this; 0 = all */
    float test_fraction;     /**< the split, as in sp_trainer_options, default 0.05 */
    uint64_t split_seed;     /**< default 1 */
    uint64_t max_positions;  /**< 0 (default): every position of the part; else a uniform sample of this many */
    uint64_t seed;           /**< of the sample, default 1 */
    sp_progress_fn progress; /**< task "evaluate"; NULL = the process-wide callback */
    void *progress_payload;  /**< passed to @c progress */
    const sp_neighbours *neighbours; /**< a retrieval model (N > 0): the neighbours of the positions to evaluate
                                          (a `.spn` file); only the positions it holds are evaluated (of those of
                                          the part and filter), each with its first N. NULL: every x_i = 0.
                                          Refused for N = 0. @since version 2 */
    int32_t neighbour_mode;  /**< ::sp_eval_neighbours: what the model reads, default ::SP_EVAL_RETRIEVED.
                                  @since version 2 */
} sp_eval_options;

/** What a retrieval model reads in an evaluation (paper §3.3 and its random-neighbour ablation). @since 0.1 */
typedef enum sp_eval_neighbours {
    SP_EVAL_RETRIEVED = 0, /**< each position's own neighbours from the file */
    SP_EVAL_ZEROED = 1,    /**< every x_i = 0 (the positions are still the file's) */
    SP_EVAL_RANDOM = 2     /**< each slot the same slot of another position's neighbours, drawn at random,
                                never of the same game */
} sp_eval_neighbours;

/** Version of sp_eval_options this header describes. */
#define SP_EVAL_OPTIONS_VERSION 2
/** Default options as an initialiser. */
#define SP_EVAL_OPTIONS_INIT                                                                       \
    { SP_EVAL_OPTIONS_VERSION, 5, SP_PART_TEST, 256, 0.0f, 0.05f, 1, 0, 1, NULL, NULL, NULL, SP_EVAL_RETRIEVED }

/**
 * Fill @p opts with the defaults of the fields that @p version has and set its version.
 * @return SP_OK, SP_ERR_INVALID_ARG or SP_ERR_VERSION.
 * @since 0.1
 */
SP_API int sp_eval_options_init(sp_eval_options *opts, uint32_t version);

/**
 * Test metrics per unroll step k (entries 0..unroll). Step k of a position t
 * scores the prediction after k dynamics steps over the moves actually
 * played against the move played at t+k and the outcome; positions whose
 * game ends before t+k do not count at step k. The floors use the same code
 * and positions: the most frequent move at that move number in the training
 * part, and the constant value that minimises the training part's MSE.
 * Set `version` (::SP_EVAL_REPORT_INIT) first.
 * @since 0.1
 */
typedef struct sp_eval_report {
    uint32_t version;        /**< ::SP_EVAL_REPORT_VERSION */
    int32_t unroll;          /**< K evaluated */
    uint64_t positions;      /**< positions evaluated (at step 0) */
    uint64_t count[SP_TRAIN_MAX_UNROLL + 1];       /**< positions that count at step k */
    double top1[SP_TRAIN_MAX_UNROLL + 1];          /**< share whose most likely move is the move played */
    double policy_ce[SP_TRAIN_MAX_UNROLL + 1];     /**< mean cross-entropy of the move played (nats) */
    double value_mse[SP_TRAIN_MAX_UNROLL + 1];     /**< mean squared error of the value */
    double floor_top1[SP_TRAIN_MAX_UNROLL + 1];    /**< top-1 of the most frequent move at the move number */
    double floor_value_mse[SP_TRAIN_MAX_UNROLL + 1]; /**< MSE of the best constant value */
    double floor_value;      /**< that constant */
    /** Standard error of value_mse over the positions (the squared errors'
     * standard deviation over sqrt(count)); NaN below 2 positions.
     * @since version 2 */
    double value_mse_se[SP_TRAIN_MAX_UNROLL + 1];
} sp_eval_report;

/** Version of sp_eval_report this header describes. */
#define SP_EVAL_REPORT_VERSION 2
/** An sp_eval_report ready to be filled. */
#define SP_EVAL_REPORT_INIT { SP_EVAL_REPORT_VERSION, 0, 0, { 0 }, { 0 }, { 0 }, { 0 }, { 0 }, { 0 }, 0.0, { 0 } }

/**
 * Evaluate @p model on a part of @p ds (the model is used alone meanwhile).
 * A model that a live trainer holds may be evaluated between its
 * sp_trainer_run() calls, from the trainer's thread (test metrics during
 * training; the run continues exactly as without them); a model held by
 * anything else (another evaluation, inference calls running) is refused
 * with SP_ERR_MISUSE. Metrics of a step that no position reaches are NaN.
 * @return SP_OK, SP_ERR_INVALID_ARG (bad options, another board size or
 *         history, an empty part), SP_ERR_VERSION, SP_ERR_NOMEM,
 *         SP_ERR_CANCELLED, SP_ERR_MISUSE, SP_ERR_UNSUPPORTED.
 * @since 0.1
 */
SP_API int sp_model_evaluate(sp_model *model, const sp_dataset *ds, const sp_eval_options *opts,
                             sp_eval_report *out);

#ifdef __cplusplus
}
#endif

#endif /* SEMIPARAM_TRAIN_H */
