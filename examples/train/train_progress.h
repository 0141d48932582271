/* The progress line of sp-train on a terminal (quiet otherwise): step,
 * loss, positions per second and the time left, and the same for the
 * evaluations, through the library's progress callback. */
#ifndef TRAIN_PROGRESS_H
#define TRAIN_PROGRESS_H

#include <stdint.h>

#include "semiparam.h"

/* Seconds on a monotonic clock. */
double train_now(void);

typedef struct train_progress {
    int tty;           /* stderr is a terminal: draw the line */
    double start;      /* of this run */
    double last;       /* when the line was last drawn */
    int64_t first_step;
    int64_t target;    /* the step to reach, 0 = none */
    double deadline;   /* train_now() at which the minutes run out, 0 = none */
    int drawn;         /* a line is on the screen: end it before other output */
} train_progress;

void train_progress_start(train_progress *p, int64_t first_step, int64_t target, double minutes);

/* After a step: redraw at most twice a second. */
void train_progress_step(train_progress *p, const sp_train_stats *s, int batch);

/* End the line, if one is drawn, so other output starts on a line of its own. */
void train_progress_clear(train_progress *p);

/* A sp_progress_fn for the evaluations (payload: a train_progress); it also
 * stops an evaluation when SIGINT or SIGTERM arrives. */
int train_progress_evaluate(const char *task, uint64_t done, uint64_t total, void *payload);

#endif
