/* The sp_trainer handle's insides (train.h), shared by the training loop
 * (trainer.c) and its checkpoints (trainer_io.c). */
#ifndef SP_TRAIN_INTERNAL_H
#define SP_TRAIN_INTERNAL_H

#include "model/model_internal.h"
#include "semiparam/train.h"

/* Called once per step on every replica of a data-parallel run, after the
 * backward pass and before the optimizer step, with the step's figures
 * packed into buf (sp__trainer_set_reduce): it must replace buf by its sum
 * over the replicas (in place) and return SP_OK, or an error that fails
 * the step. */
typedef int (*sp__trainer_reduce_fn)(float *buf, size_t count, void *payload);

struct sp_trainer {
    sp_model *model;            /* borrowed and held (sp__model_hold) while the trainer lives */
    const sp_dataset *ds;       /* borrowed */
    sp_trainer_options o;       /* the caller's options, read as a full struct */
    sp_sampler *sampler;        /* the training part; its batch number is the checkpoint's position */
    sp__optim optim;            /* config from the options; step = optimizer steps done */
    int64_t actions;            /* size * size + 1 */
    size_t plane_floats;        /* floats of one position's planes */
    /* One batch as the sampler writes it (position-major) ... */
    float *planes, *policy, *value;
    int32_t *action;
    uint8_t *mask;
    /* ... and as the network reads it (step-major, sp__model_targets). */
    float *t_policy, *t_value, *t_action, *t_mask;
    /* The rows of every global batch this trainer draws: rows
     * [first_row, first_row + rows) (replica `replica` of `replicas`; one
     * replica: the whole batch), as micro_batches slices of micro_rows. */
    int32_t replica, replicas, rows, first_row, micro_rows;
    sp__trainer_reduce_fn reduce;
    void *reduce_payload;
    float *reduce_buf;          /* the step's figures (layout in trainer.c) */
    size_t reduce_count;
    float *stats_start, *stats_sum; /* running statistics: at the step's start, summed over slices */
    size_t stats_floats;
    sp_train_stats last;        /* figures of the last step (version current) */
    sp_trainer *next_live;      /* the live trainers' list (sp__trainer_holds) */
};

/* Whether a live trainer holds m. An evaluation between sp_trainer_run()
 * calls (the trainer's thread, its test metrics) then runs without taking
 * the model's hold, which the trainer already has. */
int sp__trainer_holds(const sp_model *m);

/* The dataset fits the model: its board size, and the model's planes are
 * those of its history (what the sampler and the evaluation write). fn
 * names the caller in the message. */
int sp__train_check_data(const sp_model *m, const sp_dataset *ds, const char *fn);

/* The learning rate of optimizer step `step` (0-based): the linear warm-up
 * over warmup_steps, then the schedule. */
double sp__trainer_lr(const sp__optim_config *c, int64_t step);

/* Data parallelism (lib/dist, through the private export node). Make t
 * replica `replica` of `replicas` (before its first step; any later step
 * too, as a resume with another count does): it draws rows
 * [replica * B / replicas, (replica + 1) * B / replicas) of every global
 * batch of B positions (batch_size % (replicas x micro_batches) == 0, else
 * SP_ERR_INVALID_ARG naming the options), so the replicas' rows together
 * are the one-replica batch. */
int sp__trainer_set_replica(sp_trainer *t, int replica, int replicas);

/* The hook every step calls (NULL: none). With it, a step fails on every
 * replica when one of them fails (the sampler winds back on each). */
void sp__trainer_set_reduce(sp_trainer *t, sp__trainer_reduce_fn fn, void *payload);

/* Floats the hook is given per step: gradients of every trained parameter,
 * the running statistics, the loss figures and one status per replica. */
size_t sp__trainer_reduce_floats(const sp_trainer *t);

/* Every parameter's values, running statistics included, as one vector of
 * sp__trainer_state_floats() floats (the replicas' start from rank 0's). */
size_t sp__trainer_state_floats(const sp_trainer *t);
int sp__trainer_read_state(const sp_trainer *t, float *out);
int sp__trainer_write_state(sp_trainer *t, const float *in);

#endif
