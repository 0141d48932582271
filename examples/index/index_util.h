/* Helpers shared by sp-index and `sp-bench retrieval`: PCA keys of dataset
 * positions, the embedder a command names, recall against exact search, a
 * terminal progress line, board diagrams of dataset positions. */
#ifndef SP_INDEX_UTIL_H
#define SP_INDEX_UTIL_H

#include <stdio.h>

#include "semiparam.h"

/* Keys of `n` position ids into out (n x dim floats); 0 on success. */
typedef int (*index_keys_fn)(void *ctx, const uint64_t *ids, uint64_t n, float *out);

/* Train a PCA to `dim` on the planes of `sample` positions spread evenly over [0, n_positions). */
int index_train_pca(const sp_dataset *ds, uint64_t n_positions, uint64_t sample, int history, uint32_t dim,
                    uint32_t threads, sp_pca **out);

/* History of the planes a PCA reads (its input is planes x size x size). */
int index_pca_history(const sp_pca *pca, int board_size);

/* The embedder of a command and the model it borrows (NULL for a raw one). */
typedef struct index_embedder {
    sp_embedder *embedder;
    sp_model *model;
} index_embedder;

/* What names the embedder: --embedder E.spe [--model M.spm], or --pca P.spp
 * (a raw embedder over its planes, the id of the indexes made before
 * embedders); the model runs with `precision` (sp_precision); `threads`, the
 * embedder's worker threads (0: the OpenMP default), makes each model call
 * run on one OpenMP thread. */
typedef struct index_embedder_args {
    const char *embedder, *model, *pca;
    int precision;
    uint32_t threads;
} index_embedder_args;

/* The program and its option for an embedder's model that the messages of
 * index_model_load() and index_embedder_open() name: "sp-index" and
 * "--model" unless set (sp-eval reads the model itself with --model). */
void index_embedder_names(const char *program, const char *model_option);

/* Load a model with these settings; prints the reason and returns non-zero on failure. */
int index_model_load(const index_embedder_args *a, sp_model **out);

/* Open the embedder `a` names for positions of `board_size`. Returns 0, or 1
 * with the reason printed on stderr (and `out` empty). */
int index_embedder_open(const index_embedder_args *a, int board_size, index_embedder *out);

/* Free the embedder, then its model; zeroes `e`. */
void index_embedder_close(index_embedder *e);

/* Recall@k counting ties: a returned id is a hit when its exact distance to
 * the query is at most the exact k-th nearest distance (exact_dist holds
 * the exact search's nq x k distances). Returns -1 when keys_of fails. */
double index_recall(const float *queries, uint64_t nq, uint32_t dim, uint32_t k, const float *exact_dist,
                    const uint64_t *approx_ids, index_keys_fn keys_of, void *ctx);

/* Progress callback printing "\r task done/total rate" on stderr when it is a terminal. */
int index_progress(const char *task, uint64_t done, uint64_t total, void *payload);

/* A board diagram of a dataset position with its caption (index_diagram_make). */
#define INDEX_DIAGRAM_LINES 28
#define INDEX_DIAGRAM_WIDTH 48
typedef struct index_diagram {
    int lines, width;
    char text[INDEX_DIAGRAM_LINES][INDEX_DIAGRAM_WIDTH];
} index_diagram;

/* The board of `position` (X black, O white, . empty, * the next move
 * played there) under `title`, with its game, move number, the side to move
 * and the game's outcome for it (win, loss, draw, no result) and the next
 * move in GTP notation ("end" after the last). Returns an SP status. */
int index_diagram_make(const sp_dataset *ds, uint64_t position, const char *title, index_diagram *out);

/* Print diagrams side by side, as many per row as fit in `columns` characters. */
void index_diagram_print(FILE *out, const index_diagram *d, uint32_t n, int columns);

/* A whole decimal number up to max into *out; 0, or -1 after saying on
 * stderr, as "PROGRAM: OPTION takes ...", what was wrong: strtoull alone
 * takes "-1" and "4294967296" for a 32-bit field and truncates them silently. */
int index_number(const char *program, const char *option, const char *text, uint64_t max, uint64_t *out);

/* Monotonic seconds. */
double index_now(void);

#endif
