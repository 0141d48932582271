/* sp-eval's command line: every option, its range, and the combinations
 * refused before any file is opened. */
#ifndef EVAL_ARGS_H
#define EVAL_ARGS_H

#include <stdint.h>
#include <stdio.h>

#include "semiparam.h"

/* --modes takes each of the three at most once. */
#define EVAL_MAX_MODES 3

typedef struct eval_args {
    const char *model, *dataset;
    /* Where a retrieval model's neighbours come from: an index searched
     * with its embedder, or a ready .spn file. */
    const char *index, *embedder, *embed_model, *pca, *neighbour_file, *neighbour_file_out;
    const char *csv, *distances, *label;
    /* Without --index, an embedder builds the retrieval set now: this share
     * of the training part's positions, kept in index_out when given. */
    double build_fraction;
    const char *index_out;
    const char *set_name;      /* the retrieval set in messages and CSV rows: the index, or how it was built */
    int part;                  /* sp_dataset_part: test (default), train or all */
    float min_rating, test_fraction;
    uint64_t split_seed, positions, seed;
    int unroll, batch, threads, precision;
    uint32_t nprobe, rerank;
    int modes[EVAL_MAX_MODES]; /* sp_eval_neighbours, in the order given */
    int mode_count;
    int modes_given;           /* --modes or --neighbour-mode was on the command line */
    int fraction_given;        /* --build-fraction was on the command line */
} eval_args;

/* Parse argv. Returns 0, 1 when --help was asked (usage printed to stdout),
 * or -1 with the reason printed to stderr. */
int eval_args_parse(int argc, char **argv, eval_args *a);

void eval_args_usage(FILE *out);

/* "retrieved", "zeroed" or "random". */
const char *eval_mode_name(int mode);

#endif
