/* sp-eval without --index: the retrieval set built at evaluation time from
 * the dataset's training games with the embedder given, as sp-index build
 * would over a share of them. */
#ifndef EVAL_INDEX_H
#define EVAL_INDEX_H

#include "eval_args.h"
#include "semiparam.h"
#include "train/train_progress.h"

/* Embed a->build_fraction of the training part's positions of `ds` (all
 * ratings; the split of `a`; a share drawn with seed 1, so it does not
 * move with the evaluation's --seed) with `e` and index them with the
 * default factory: one half when the evaluated part is the test part (any
 * key is of another game), else two halves by game (a position's neighbours
 * come from the half not holding its game). Saved to a->index_out when
 * given; its line printed once `progress` (the embedding's) is cleared.
 * Returns 0, or 1 with the reason on stderr. */
int eval_index_build(const eval_args *a, const sp_embedder *e, const sp_dataset *ds, train_progress *progress,
                     sp_retriever **out);

#endif
