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

#endif
