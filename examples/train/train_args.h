/* sp-train's command line: every option, its range and which mode takes it. */
#ifndef TRAIN_ARGS_H
#define TRAIN_ARGS_H

#include <stdint.h>
#include <stdio.h>

#include "semiparam.h"

typedef struct train_args {
    const char *dataset, *out, *checkpoint, *log, *evaluate;
    const char *neighbour_file, *test_neighbour_file; /* a retrieval model's .spn files */
    int neighbour_mode;         /* --evaluate: an sp_eval_neighbours */
    int resume;
    sp_model_options model;     /* board_size comes from the dataset, not the command line */
    sp_trainer_options trainer; /* min_rating, unroll and the split serve --evaluate too */
    sp_nn_options nn;
    int64_t steps;              /* the step to reach (a resumed run continues to it); 0 = no step budget */
    double minutes;             /* this run's wall-clock budget; 0 = none */
    int64_t log_every, eval_every, checkpoint_every;
    double checkpoint_minutes;
    uint64_t eval_positions;    /* test positions of the periodic and final evaluations (--positions too) */
    int eval_batch;
    /* Whether an option was on the command line (for defaults that follow another
     * option, and for architecture options a checkpoint must agree with). */
    unsigned char given[96];
} train_args;

/* Parse argv. Returns 0, 1 when --help was asked (usage printed to stdout),
 * or -1 with the reason printed to stderr. Leaves `model.board_size` to the
 * caller. */
int train_args_parse(int argc, char **argv, train_args *a);

void train_args_usage(FILE *out);

/* With --resume the architecture comes from the checkpoint: an architecture
 * option given on the command line must agree with @p have. Returns 0, or -1
 * with a message naming the option, both values and @p source. */
int train_args_check_architecture(const train_args *a, const sp_model_options *have, const char *source);

#endif
