/* The sp_trainer handle's insides (train.h), shared by the training loop
 * (trainer.c) and its checkpoints (trainer_io.c). */
#ifndef SP_TRAIN_INTERNAL_H
#define SP_TRAIN_INTERNAL_H

#include "model/model_internal.h"
#include "semiparam/train.h"

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
    sp_train_stats last;        /* figures of the last step (version current) */
};

/* The learning rate of optimizer step `step` (0-based): the linear warm-up
 * over warmup_steps, then the schedule. */
double sp__trainer_lr(const sp__optim_config *c, int64_t step);

#endif
