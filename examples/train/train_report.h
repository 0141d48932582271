/* The test metrics of a model as sp-train prints them: one line per unroll
 * step k with its two floors, and the positions they cover. */
#ifndef TRAIN_REPORT_H
#define TRAIN_REPORT_H

#include <stdio.h>

#include "semiparam.h"

void train_report_print(FILE *out, const sp_eval_report *r);

/* What the model is and costs, on one line. */
void train_report_model(FILE *out, const sp_model *m);

#endif
