/* sp-train's CSV log: one header, then rows of three kinds in step order:
 * "train" (means over the steps since the last train row), "test" (metrics
 * of the fixed test sample) and "checkpoint" (a checkpoint was written).
 * Columns: kind, step, positions, elapsed_s, lr, loss, grad_norm,
 * policy_loss_kK and value_loss_kK, then top1_kK, policy_ce_kK,
 * value_mse_kK, floor_top1_kK and floor_value_mse_kK for K = 0..unroll;
 * a row leaves the columns of the other kinds empty. */
#ifndef TRAIN_LOG_H
#define TRAIN_LOG_H

#include <stdint.h>

#include "semiparam.h"

/* Sums of the statistics of the steps since the last train row. */
typedef struct train_sums {
    int64_t steps;
    double loss, grad_norm;
    double policy[SP_TRAIN_MAX_UNROLL + 1], value[SP_TRAIN_MAX_UNROLL + 1];
} train_sums;

void train_sums_add(train_sums *sums, const sp_train_stats *s);

typedef struct train_log train_log;

/* Open the log for a run with @p unroll steps. A new run (@p resume_step < 0)
 * starts the file afresh. A resumed run keeps the rows up to its checkpoint's
 * step and cuts those after it (steps the run does again), then appends; the
 * file must hold this run's header. @p elapsed gets the training seconds the
 * kept rows reached (0 for a new file), so the column goes on across runs.
 * Returns 0, or -1 with the reason printed. */
int train_log_open(train_log **out, const char *path, int unroll, int64_t resume_step, double *elapsed);

/* A train row of the means in @p sums (then cleared) and @p last's step,
 * positions and learning rate. Returns 0, or -1 with the reason printed. */
int train_log_train(train_log *l, train_sums *sums, const sp_train_stats *last, double elapsed);

int train_log_test(train_log *l, int64_t step, uint64_t positions, double elapsed, const sp_eval_report *r);

int train_log_checkpoint(train_log *l, int64_t step, uint64_t positions, double elapsed);

/* Close; NULL is a no-op. */
void train_log_close(train_log *l);

#endif
