/* A retrieval model's neighbours at evaluation time: the embedder and
 * index the command names, checked against each other and the model, the
 * positions embedded and searched into a .spn file (a temporary one unless
 * kept), and the file's figures sp-eval reports. */
#ifndef EVAL_NEIGHBOURS_H
#define EVAL_NEIGHBOURS_H

#include <stdint.h>
#include <stdio.h>

#include "eval_args.h"
#include "semiparam.h"
#include "train/train_progress.h"

/* Find the model's N neighbours of the n sorted `positions` of `ds` in the
 * index of `a` (or one built now: eval_index.h) with its embedder, into
 * a->neighbour_file_out or a temporary file (removed by
 * eval_neighbours_remove_temporary(), and at exit), and open it into *out.
 * Refuses an embedder whose id is not the index's or the one the model
 * records, an index that cannot give N neighbours, and an index of another
 * dataset. `progress` is the line the embedding reports on. Returns 0, or 1
 * with the reason on stderr. */
int eval_neighbours_find(const eval_args *a, sp_model *model, const sp_dataset *ds, const uint64_t *positions,
                         uint64_t n, train_progress *progress, sp_neighbours **out);

/* Open a->neighbour_file, refusing one of another embedder than the model
 * records or with fewer than N neighbours a row. Returns 0, or 1 with the
 * reason on stderr. */
int eval_neighbours_open(const eval_args *a, const sp_model *model, sp_neighbours **out);

/* Remove the temporary .spn and its directory, if there is one. */
void eval_neighbours_remove_temporary(void);

/* Rows of `nb` whose first `count` neighbours hold a "no such key" id. */
uint64_t eval_neighbours_short_rows(const sp_neighbours *nb, uint32_t count);

#endif
