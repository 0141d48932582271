/* The positions sp-eval evaluates: those of a part of the split whose games
 * pass the rating filter, as sp_model_evaluate() reads the same options,
 * and a seeded uniform sample of them. */
#ifndef EVAL_POSITIONS_H
#define EVAL_POSITIONS_H

#include <stdint.h>

#include "semiparam.h"

typedef struct eval_selection {
    int part;           /* sp_dataset_part */
    float min_rating;   /* 0 = every game */
    float test_fraction;
    uint64_t split_seed;
    uint64_t sample;    /* 0 = every position */
    uint64_t seed;
    double fraction;    /* > 0: a sample of this share (rounded up) instead of `sample` positions */
} eval_selection;

/* The position ids in increasing order into *out (malloc'ed) and their
 * number into *count. Returns an SP status (sp_last_error() says why). */
int eval_positions_pick(const sp_dataset *ds, const eval_selection *s, uint64_t **out, uint64_t *count);

/* Whether `position` is among the n sorted ids of `ids`. */
int eval_positions_contain(const uint64_t *ids, uint64_t n, uint64_t position);

#endif
