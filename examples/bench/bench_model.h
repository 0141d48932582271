/* sp-bench model: the search part (bench_model_search.c) as the main part
 * (bench_model.c) uses it. */
#ifndef SP_BENCH_MODEL_H
#define SP_BENCH_MODEL_H

#include <semiparam.h>

/* A search over a model whose callbacks are timed. */
typedef struct bench_model_search bench_model_search;

/* What `searches` fresh searches from one root gave. */
typedef struct bench_search_figure {
    double rate;    /* simulations per wall-clock second */
    double outside; /* share of the wall time with no network call in flight */
    double rows;    /* positions per network call */
} bench_search_figure;

/* A pUCT search of `simulations` with `threads` workers, `batch` leaves per
 * batch and first-play value `fpu` (sp_search_fpu) over the model's
 * searcher model (learned dynamics). The model must outlive it. 0, or -1
 * with the reason on stderr. */
int bench_model_search_open(bench_model_search **out, sp_model *m, int threads, int batch, int simulations, int fpu);

/* Time `searches` searches from `root` (reset before each). 0, or -1 with
 * the reason on stderr. */
int bench_model_search_time(bench_model_search *b, const sp_game *root, int searches, bench_search_figure *out);

void bench_model_search_close(bench_model_search *b);

#endif
