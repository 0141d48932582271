/* sp-eval: the test metrics of any model per unroll step k (sp_model_evaluate,
 * printed as sp-train --evaluate prints them). A retrieval model reads the
 * neighbours of the evaluated positions in a retrieval set given now, an
 * index searched with its embedder (no retraining: paper Fig. 4d), one
 * built now from the dataset's training positions, or a ready .spn; in one
 * or several modes (retrieved, zeroed, random) on the same positions; with
 * CSV rows for tools/plot-retrieval and the distances to the neighbours
 * (Fig. 6a). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval_args.h"
#include "eval/eval_neighbours.h"
#include "eval/eval_output.h"
#include "eval/eval_positions.h"
#include "semiparam.h"
#include "train/train_progress.h"
#include "train/train_report.h"
#include "train/train_signal.h"

/* What a run holds. */
typedef struct session {
    const eval_args *a;
    sp_dataset *ds;
    sp_model *model;
    int neighbours;          /* the model's N */
    sp_neighbours *nb;       /* a retrieval model's */
    uint64_t *positions, n;  /* the positions whose neighbours are reported (sorted) */
    uint64_t max_positions;  /* the evaluation's own sample: with a ready .spn only */
    train_progress progress;
} session;

static int fail(const char *what, int rc)
{
    fprintf(stderr, "sp-eval: %s: %s (%s)\n", what, sp_last_error(), sp_status_str(rc));
    return 1;
}

static const char *part_name(int part)
{
    return part == SP_PART_TRAIN ? "training" : part == SP_PART_ALL ? "whole" : "test";
}

/* The dataset and the model, on one board size. */
static int open_inputs(session *s)
{
    const eval_args *a = s->a;
    int rc = sp_dataset_load(&s->ds, a->dataset);
    if (rc)
        return fail(a->dataset, rc);
    sp_nn_options nn;
    sp_nn_options_init(&nn, SP_NN_OPTIONS_VERSION);
    nn.threads = a->threads;
    nn.precision = a->precision;
    if ((rc = sp_model_load(&s->model, a->model, &nn)) != SP_OK)
        return fail(a->model, rc);
    sp_model_options o;
    sp_model_options_init(&o, SP_MODEL_OPTIONS_VERSION);
    if ((rc = sp_model_get_options(s->model, &o)) != SP_OK)
        return fail(a->model, rc);
    if (o.board_size != sp_dataset_board_size(s->ds)) {
        fprintf(stderr, "sp-eval: the model %s plays %dx%d, the games of %s are %dx%d\n", a->model, o.board_size,
                o.board_size, a->dataset, sp_dataset_board_size(s->ds), sp_dataset_board_size(s->ds));
        return 1;
    }
    s->neighbours = o.neighbours;
    return 0;
}

/* Options that only a retrieval model takes, refused for one without. */
static int plain_model_options(const eval_args *a)
{
    const char *extra = a->index            ? "--index"
                        : a->embedder || a->pca ? "--embedder/--pca"
                        : a->neighbour_file ? "--neighbour-file"
                        : a->distances      ? "--distances"
                        : a->modes_given    ? "--neighbour-mode/--modes"
                                            : NULL;
    if (!extra)
        return 0;
    fprintf(stderr, "sp-eval: %s reads no neighbours (N = 0): %s is for a retrieval model\n", a->model, extra);
    return 1;
}

/* The retrieval model's neighbours: a ready file (its positions evaluated,
 * the evaluation sampling them), or a search of the sampled positions. */
static int open_neighbours(session *s)
{
    const eval_args *a = s->a;
    if (!a->index && !a->neighbour_file && !a->embedder && !a->pca) {
        fprintf(stderr, "sp-eval: %s reads %d neighbours: give the retrieval set as --index I.spi --embedder E.spe "
                        "[--embed-model B.spm], the embedder alone to build one now from the training games, or "
                        "ready neighbours as --neighbour-file T.spn\n",
                a->model, s->neighbours);
        return 1;
    }
    eval_selection sel = { a->part, a->min_rating, a->test_fraction, a->split_seed, a->positions, a->seed, 0 };
    if (a->neighbour_file) {
        sel.sample = 0;
        s->max_positions = a->positions;
    }
    int rc = eval_positions_pick(s->ds, &sel, &s->positions, &s->n);
    if (rc)
        return fail("positions", rc);
    if (!s->n) {
        fprintf(stderr, "sp-eval: the %s part of %s holds no position%s\n", part_name(a->part), a->dataset,
                a->min_rating > 0 ? " of a game rated at least --min-rating" : "");
        return 1;
    }
    if (a->neighbour_file)
        return eval_neighbours_open(a, s->model, &s->nb);
    double t = train_now();
    if (eval_neighbours_find(a, s->model, s->ds, s->positions, s->n, &s->progress, &s->nb))
        return 1;
    train_progress_clear(&s->progress);
    printf("searched %s: %llu positions x %d neighbours in %.1f s\n", a->set_name, (unsigned long long)s->n,
           s->neighbours, train_now() - t);
    return 0;
}

static void describe_part(const session *s)
{
    const eval_args *a = s->a;
    train_report_model(stdout, s->model);
    printf("%s part of %s: test fraction %g, split seed %llu, weaker player rated >= %g, %s\n", part_name(a->part),
           a->dataset, a->test_fraction, (unsigned long long)a->split_seed, a->min_rating,
           a->positions ? "a sample" : "every position");
    fflush(stdout);
}

static void describe_neighbours(const session *s)
{
    const eval_args *a = s->a;
    uint64_t short_rows = eval_neighbours_short_rows(s->nb, (uint32_t)s->neighbours);
    printf("neighbours: %s, %llu positions x %u, embedder %016llx; the model reads %d\n",
           a->neighbour_file ? a->neighbour_file : a->neighbour_file_out ? a->neighbour_file_out : "(temporary)",
           (unsigned long long)sp_neighbours_count(s->nb), sp_neighbours_k(s->nb),
           (unsigned long long)sp_neighbours_embedder_id(s->nb), s->neighbours);
    if (short_rows)
        fprintf(stderr, "sp-eval: warning: %llu positions have fewer than %d neighbours (the index found no more: "
                        "a larger --nprobe may); the model reads zeros in their place\n",
                (unsigned long long)short_rows, s->neighbours);
    fflush(stdout);
}

/* One evaluation, its lines and its CSV rows. */
static int evaluate(session *s, int mode)
{
    const eval_args *a = s->a;
    sp_eval_options eo;
    sp_eval_options_init(&eo, SP_EVAL_OPTIONS_VERSION);
    eo.unroll = a->unroll;
    eo.part = a->part;
    eo.batch_size = a->batch;
    eo.min_rating = a->min_rating;
    eo.test_fraction = a->test_fraction;
    eo.split_seed = a->split_seed;
    eo.max_positions = s->nb ? s->max_positions : a->positions;
    eo.seed = a->seed;
    eo.progress = train_progress_evaluate;
    eo.progress_payload = &s->progress;
    eo.neighbours = s->nb;
    eo.neighbour_mode = mode;
    sp_eval_report r = SP_EVAL_REPORT_INIT;
    int rc = sp_model_evaluate(s->model, s->ds, &eo, &r);
    train_progress_clear(&s->progress);
    if (rc)
        return fail("evaluating", rc);
    if (s->nb && a->mode_count > 1)
        printf("neighbour mode: %s\n", eval_mode_name(mode));
    train_report_print(stdout, &r);
    fflush(stdout);
    eval_row row = { a->model, s->neighbours, s->nb ? a->set_name : "",
                     a->label ? a->label : "", s->nb ? eval_mode_name(mode) : "none" };
    return a->csv ? eval_csv_append(a->csv, &row, &r) : 0;
}

static int run(session *s)
{
    const eval_args *a = s->a;
    int status = open_inputs(s);
    if (status)
        return status;
    if (s->neighbours == 0 && plain_model_options(a))
        return 1;
    describe_part(s);
    if (s->neighbours > 0) {
        if (open_neighbours(s))
            return 1;
        describe_neighbours(s);
    }
    for (int i = 0; i < (s->nb ? a->mode_count : 1) && !status; i++)
        status = evaluate(s, a->modes[i]);
    if (!status && a->distances)
        status = eval_distances_write(a->distances, s->nb, (uint32_t)s->neighbours, s->positions, s->n);
    return status;
}

int main(int argc, char **argv)
{
    eval_args a;
    int rc = eval_args_parse(argc, argv, &a);
    if (rc)
        return rc > 0 ? 0 : 2;
    train_signal_install_note("\nsp-eval: stopping (again to stop at once)\n");
    session s;
    memset(&s, 0, sizeof s);
    s.a = &a;
    train_progress_start(&s.progress, 0, 0, 0);
    /* The embedding and the search report through the process-wide callback. */
    sp_set_progress_callback(train_progress_evaluate, &s.progress);
    int status = run(&s);
    train_progress_clear(&s.progress);
    sp_neighbours_free(s.nb);
    sp_model_free(s.model);
    sp_dataset_free(s.ds);
    free(s.positions);
    eval_neighbours_remove_temporary();
    int sig = train_signal_received();
    return status && sig ? 128 + sig : status;
}
