/* The sp_trainer handle's insides (train.h), shared by the training loop
 * (trainer.c) and its checkpoints (trainer_io.c). */
#ifndef SP_TRAIN_INTERNAL_H
#define SP_TRAIN_INTERNAL_H

#include "model/model_internal.h"
#include "neighbour_batch.h"
#include "semiparam/train.h"
#include "train_dist.h"

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
    /* A retrieval model's neighbours (o.neighbours): the file indexed, and
     * one slice's positions, symmetries and neighbour planes. */
    sp__neighbour_batch *nb;
    uint64_t *positions;
    int32_t *symmetry;
    float *nbr;
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

/* The positions of a `.spn` file's rows, each once (malloc'd, *out_count of
 * them), for a sampler or an evaluation restricted to them. */
int sp__train_spn_positions(const sp_neighbours *file, uint64_t **out, uint64_t *out_count, const char *fn);

/* The neighbours' generator of a run seeded by `seed`, at batch `batch`. */
sp__neighbour_rng sp__train_neighbour_rng(uint64_t seed, uint64_t batch);

/* The learning rate of optimizer step `step` (0-based): the linear warm-up
 * over warmup_steps, then the schedule. */
double sp__trainer_lr(const sp__optim_config *c, int64_t step);

#endif
