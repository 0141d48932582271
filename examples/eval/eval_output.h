/* sp-eval's files: the metrics as CSV rows (one per mode and unroll step,
 * appended, for tools/plot-retrieval's sweeps) and the distances to the
 * neighbours (Fig. 6a). */
#ifndef EVAL_OUTPUT_H
#define EVAL_OUTPUT_H

#include <stdint.h>

#include "semiparam.h"

/* What a CSV row says besides the metrics. */
typedef struct eval_row {
    const char *model;   /* the model's path */
    int neighbours;      /* its N */
    const char *index;   /* the index (or neighbour file) path; "" without */
    const char *label;   /* --label; "" without */
    const char *mode;    /* retrieved, zeroed, random, or none for a model without neighbours */
} eval_row;

/* The 95% Wilson score interval of a share p over n trials. */
void eval_wilson(double p, uint64_t n, double *low, double *high);

/* The normal 95% interval of a mean squared error from its standard error
 * (sp_eval_report.value_mse_se), cut at 0; NaN for a NaN input. */
void eval_mse_interval(double mse, double se, double *low, double *high);

/* Append the rows of report `r` (k = 0..K) to `path`, with the header first
 * when the file is new or empty. Returns 0, or 1 with the reason on stderr. */
int eval_csv_append(const char *path, const eval_row *row, const sp_eval_report *r);

/* The squared distance of each row of `nb` whose position is among the n
 * sorted `positions` to its neighbours of rank 1..count, one CSV line each
 * (position,rank,neighbour,distance; an empty neighbour and "inf" where
 * the index had none). Returns 0, or 1 with the reason on stderr. */
int eval_distances_write(const char *path, const sp_neighbours *nb, uint32_t count, const uint64_t *positions,
                         uint64_t n);

#endif
