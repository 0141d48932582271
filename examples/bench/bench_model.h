/* sp-bench model: the search part (bench_model_search.c) and the retrieval
 * model's rows (bench_model_retrieval.c) as the main part (bench_model.c)
 * uses them. */
#ifndef SP_BENCH_MODEL_H
#define SP_BENCH_MODEL_H

#include <semiparam.h>

/* A model read from `path`, or else created of `arch`, on `threads` OpenMP
 * threads (0: OpenMP's default) in `precision` (sp_precision). 0, or the
 * sp_status with the reason on stderr; SP_ERR_UNSUPPORTED is returned, not
 * reported: bf16 on a CPU without it is a row of the table, not a failure.
 * (bench_model.c) */
int bench_model_open(sp_model **out, const char *path, const sp_model_options *arch, int threads, int precision);

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

/* Precisions benched: f32, bf16. */
enum { BENCH_MODEL_PRECISIONS = 2 };

/* The retrieval model (issue 15): the bench's architecture reading N
 * neighbours, its two trainers (neighbours from a `.spn` the bench
 * pre-computes from its dataset; every x_i = 0, the equal-capacity
 * baseline) and its initial inference over random neighbour planes. */
typedef struct bench_retrieval_model bench_retrieval_model;

typedef struct bench_retrieval_setup {
    const sp_model_options *arch; /* the model without neighbours */
    int32_t neighbours;           /* N */
    int threads;                  /* the network's OpenMP threads (0: OpenMP's default) */
    const sp_dataset *ds;         /* the bench's dataset; must outlive the handle */
    int32_t batch, unroll;        /* the trainers' */
    int32_t max_batch;            /* largest inference batch */
} bench_retrieval_setup;

/* 0, or 1 with the reason on stderr; *out is set either way (free it with
 * bench_retrieval_model_close()). A build without the retrieval module has
 * no trainers (bench_retrieval_model_untrained() says why). */
int bench_retrieval_model_open(bench_retrieval_model **out, const bench_retrieval_setup *s);

/* The inference model of a precision (0 f32, 1 bf16), NULL when the CPU lacks it. */
const sp_model *bench_retrieval_model_handle(const bench_retrieval_model *b, int precision);

/* Rows of the pre-computed `.spn` (the positions the trainers draw). */
uint64_t bench_retrieval_model_spn_rows(const bench_retrieval_model *b);

/* Why there are no training rows, or NULL when there are. */
const char *bench_retrieval_model_untrained(const bench_retrieval_model *b);

/* Seconds per training step with the file's neighbours (zero 0) or every
 * x_i = 0 (zero 1), over calls lasting at least `seconds`; 0 without
 * trainers, -1 with the reason on stderr. */
double bench_retrieval_model_train(bench_retrieval_model *b, int zero, double seconds);

/* Seconds per initial inference of `n` observations `planes` with random
 * neighbour planes in `precision`; 0 when the CPU lacks it, -1 with the
 * reason on stderr. */
double bench_retrieval_model_initial(bench_retrieval_model *b, int precision, const float *planes, int32_t n,
                                     double seconds);

/* NULL is a no-op; removes the `.spn`. */
void bench_retrieval_model_close(bench_retrieval_model *b);

#endif
