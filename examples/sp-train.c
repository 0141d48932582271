/* sp-train: train a model (model.h) on a dataset's games with the library's
 * trainer (train.h) under a budget of steps or minutes, with a CSV log,
 * checkpoints and --resume; or print the test metrics of any model. Under
 * `mpirun -np R` the training is data-parallel (dist.h, train_cluster.h):
 * rank 0 prints, logs, evaluates and writes the model and the checkpoints,
 * and the ranks take every decision that changes the run together. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "semiparam.h"
#include "train/train_args.h"
#include "train/train_cluster.h"
#include "train/train_log.h"
#include "train/train_progress.h"
#include "train/train_report.h"
#include "train/train_signal.h"

static int fail(const char *what, int rc)
{
    fprintf(stderr, "sp-train: %s: %s (%s)\n", what, sp_last_error(), sp_status_str(rc));
    return 1;
}

/* The library refuses another board size too, but a message that names both
 * files is clearer than its "another board size". */
static int same_board(const sp_dataset *ds, const char *dataset, const sp_model *m, const char *model)
{
    sp_model_options o;
    sp_model_options_init(&o, SP_MODEL_OPTIONS_VERSION);
    int rc = sp_model_get_options(m, &o);
    if (rc)
        return fail(model, rc);
    if (o.board_size != sp_dataset_board_size(ds)) {
        fprintf(stderr, "sp-train: %s holds %dx%d games, but the model in %s is for %dx%d\n", dataset,
                sp_dataset_board_size(ds), sp_dataset_board_size(ds), model, o.board_size, o.board_size);
        return 1;
    }
    return 0;
}

/* A retrieval model's .spn file, or NULL when none is named. */
static int open_neighbours(const char *path, sp_neighbours **out)
{
    *out = NULL;
    int rc = path ? sp_neighbours_open(out, path) : SP_OK;
    return rc ? fail(path, rc) : 0;
}

/* The test part as the trainer splits it, a fixed sample of it; a
 * retrieval model reads the neighbours of @p nb (only its positions are
 * evaluated) as @p mode says, or zeros without a file. */
static int evaluate(sp_model *m, const sp_dataset *ds, const train_args *a, const sp_neighbours *nb, int mode,
                    train_progress *p, sp_eval_report *out)
{
    sp_eval_options eo;
    sp_eval_options_init(&eo, SP_EVAL_OPTIONS_VERSION);
    eo.unroll = a->trainer.unroll;
    eo.batch_size = a->eval_batch;
    eo.min_rating = a->trainer.min_rating;
    eo.test_fraction = a->trainer.test_fraction;
    eo.split_seed = a->trainer.split_seed;
    eo.max_positions = a->eval_positions;
    eo.seed = a->trainer.seed;
    eo.progress = train_progress_evaluate;
    eo.progress_payload = p;
    eo.neighbours = nb;
    eo.neighbour_mode = mode;
    *out = (sp_eval_report)SP_EVAL_REPORT_INIT;
    int rc = sp_model_evaluate(m, ds, &eo, out);
    train_progress_clear(p);
    return rc;
}

/* sp-train --evaluate M.spm --dataset D.spd */
static int cmd_evaluate(const train_args *a)
{
    sp_dataset *ds = NULL;
    sp_model *m = NULL;
    sp_neighbours *nb = NULL;
    int rc = sp_dataset_load(&ds, a->dataset), status;
    if (rc)
        return fail(a->dataset, rc);
    if ((status = open_neighbours(a->neighbour_file, &nb)) != 0) {
        sp_dataset_free(ds);
        return status;
    }
    if ((rc = sp_model_load(&m, a->evaluate, &a->nn)) != SP_OK) {
        status = fail(a->evaluate, rc);
    } else if (!(status = same_board(ds, a->dataset, m, a->evaluate))) {
        train_report_model(stdout, m);
        printf("test part of %s: test fraction %g, split seed %llu, weaker player rated >= %g, %s\n", a->dataset,
               a->trainer.test_fraction, (unsigned long long)a->trainer.split_seed, a->trainer.min_rating,
               a->eval_positions ? "a sample" : "every position");
        if (nb)
            printf("neighbours: %s, %llu positions x %u, embedder %016llx, %s\n", a->neighbour_file,
                   (unsigned long long)sp_neighbours_count(nb), sp_neighbours_k(nb),
                   (unsigned long long)sp_neighbours_embedder_id(nb),
                   a->neighbour_mode == SP_EVAL_ZEROED   ? "zeroed"
                   : a->neighbour_mode == SP_EVAL_RANDOM ? "random (another position's)"
                                                         : "retrieved");
        train_progress p;
        train_progress_start(&p, 0, 0, 0);
        sp_eval_report r;
        if ((rc = evaluate(m, ds, a, nb, a->neighbour_mode, &p, &r)) != SP_OK)
            status = fail("evaluate", rc);
        else
            train_report_print(stdout, &r);
    }
    sp_model_free(m);
    sp_neighbours_free(nb);
    sp_dataset_free(ds);
    return status;
}

/* A training run: what it holds and where it stands. */
typedef struct run {
    const train_args *a;
    char checkpoint[4096];
    sp_dataset *ds;
    sp_model *model;
    sp_neighbours *train_nb, *test_nb; /* a retrieval model's: training and test positions' neighbours */
    train_cluster *cl;          /* the trainer, on this rank */
    train_log *log;
    train_progress progress;
    train_sums sums;            /* since the last train row */
    sp_train_stats last;        /* of the last step */
    int64_t first_step;         /* where this run started: 0, or the checkpoint's step */
    double elapsed_before;      /* training seconds of earlier runs, from the log */
    double start;               /* train_now() at this run's start */
    double checkpoint_time;     /* train_now() at the last checkpoint */
    int64_t checkpoint_step, eval_step;
    int save_failed;            /* a checkpoint could not be written: do not try again on the way out */
    int eval_failed;            /* an evaluation failed: no more of them */
    int started;                /* the training loop began: a failure keeps its steps in a checkpoint */
} run;

/* rc, or 1 when another rank failed: what a rank returns before a
 * collective call, so that no rank waits for one that left. */
static int together(const run *r, int rc)
{
    return train_cluster_any(r->cl, rc != 0) && !rc ? 1 : rc;
}

static double elapsed(const run *r)
{
    return r->elapsed_before + train_now() - r->start;
}

static int save_checkpoint(run *r)
{
    int rc = train_cluster_save(r->cl, r->checkpoint);
    if (rc) {
        train_progress_clear(&r->progress);
        r->save_failed = 1;
        return fail("checkpoint", rc);
    }
    r->checkpoint_time = train_now();
    r->checkpoint_step = r->last.step;
    return r->log && train_log_checkpoint(r->log, r->last.step, r->last.positions, elapsed(r)) ? 1 : 0;
}

static int log_train(run *r)
{
    if (!r->sums.steps)
        return 0;
    if (!r->log) {
        memset(&r->sums, 0, sizeof r->sums);
        return 0;
    }
    return train_log_train(r->log, &r->sums, &r->last, elapsed(r)) ? 1 : 0;
}

/* Test metrics of the fixed sample into the log. Training goes on without
 * them when the evaluation fails (an empty test part, say): the warning
 * says why, once. A signal during the evaluation cancels it: the run then
 * stops as after any step. */
static int log_test(run *r)
{
    if (r->eval_failed)
        return 0;
    sp_eval_report report;
    int rc = evaluate(r->model, r->ds, r->a, r->test_nb, SP_EVAL_RETRIEVED, &r->progress, &report);
    if (rc == SP_ERR_CANCELLED && train_signal_received())
        return 0;
    if (rc) {
        train_progress_clear(&r->progress);
        fprintf(stderr, "sp-train: warning: evaluating at step %lld: %s (%s); training goes on without test rows\n",
                (long long)r->last.step, sp_last_error(), sp_status_str(rc));
        r->eval_failed = 1;
        return 0;
    }
    r->eval_step = r->last.step;
    return r->log && train_log_test(r->log, r->last.step, r->last.positions, elapsed(r), &report) ? 1 : 0;
}

/* After each step: the log rows, evaluations and checkpoints that are due. */
static int after_step(run *r)
{
    const train_args *a = r->a;
    int64_t step = r->last.step;
    train_sums_add(&r->sums, &r->last);
    train_progress_step(&r->progress, &r->last, a->trainer.batch_size);
    int rc = 0;
    if (step % a->log_every == 0)
        rc = log_train(r);
    /* Test metrics on rank 0 alone: they change nothing in the run. */
    if (!rc && a->eval_every && step % a->eval_every == 0 && r->cl->rank == 0)
        rc = log_test(r);
    /* The ranks go on, fail or checkpoint together: a checkpoint is due
     * when it is due on any rank's clock; a failure of rank 0's log or
     * evaluation stops them all. */
    int due = (a->checkpoint_every && step % a->checkpoint_every == 0) ||
              (a->checkpoint_minutes > 0 && train_now() - r->checkpoint_time >= 60 * a->checkpoint_minutes);
    int agreed = train_cluster_any(r->cl, rc ? 2 : due);
    if (agreed == 2)
        return rc ? rc : 1;
    return agreed ? save_checkpoint(r) : 0;
}

static int step_once(run *r)
{
    int rc = train_cluster_run(r->cl, &r->last);
    if (rc) {
        train_progress_clear(&r->progress);
        return fail("training", rc);
    }
    return after_step(r);
}

/* Why the run stops before its next step, or NULL to go on: under mpirun
 * the ranks stop together, for the weightiest reason any of them has (a
 * signal, then the minutes of its clock, then the steps). */
static const char *stop_reason(const run *r)
{
    static const char *const reasons[] = { NULL, "steps", "minutes", "signal" };
    int mine = train_signal_received()                                              ? 3
               : r->a->minutes > 0 && train_now() - r->start >= 60 * r->a->minutes ? 2
               : r->a->steps && r->last.step >= r->a->steps                        ? 1
                                                                                     : 0;
    return reasons[train_cluster_any(r->cl, mine)];
}

static int open_model(run *r)
{
    const train_args *a = r->a;
    int rc;
    if (a->resume) {
        if ((rc = sp_model_load(&r->model, r->checkpoint, &a->nn)) != SP_OK)
            return fail(r->checkpoint, rc);
        sp_model_options have;
        sp_model_options_init(&have, SP_MODEL_OPTIONS_VERSION);
        if ((rc = sp_model_get_options(r->model, &have)) != SP_OK)
            return fail(r->checkpoint, rc);
        if (train_args_check_architecture(a, &have, r->checkpoint))
            return 1;
        return same_board(r->ds, a->dataset, r->model, r->checkpoint);
    }
    sp_model_options o = a->model;
    o.board_size = sp_dataset_board_size(r->ds);
    if ((rc = sp_model_create(&r->model, &o, &a->nn)) != SP_OK)
        return fail("creating the model", rc);
    return 0;
}

/* The trainer, and with --resume its state from the checkpoint. */
static int open_trainer(run *r)
{
    sp_trainer_options o = r->a->trainer;
    o.neighbours = r->train_nb;
    int rc = train_cluster_create(r->cl, r->model, r->ds, &o);
    if (rc)
        return fail("creating the trainer", rc);
    if (r->a->resume && (rc = train_cluster_resume(r->cl, r->checkpoint)) != SP_OK)
        return fail("resuming", rc);
    return 0;
}

/* The checks, the dataset and the model: each rank on its own. */
static int open_local(run *r, const train_args *a)
{
    r->last = (sp_train_stats)SP_TRAIN_STATS_INIT;
    const char *ckpt = a->checkpoint;
    char def[sizeof r->checkpoint];
    if (!ckpt) {
        if (snprintf(def, sizeof def, "%s.ckpt", a->out) >= (int)sizeof def) {
            fprintf(stderr, "sp-train: --out path too long\n");
            return 2;
        }
        ckpt = def;
    }
    snprintf(r->checkpoint, sizeof r->checkpoint, "%s", ckpt);
    if (!strcmp(r->checkpoint, a->out)) {
        fprintf(stderr, "sp-train: --checkpoint and --out are both %s: the model would overwrite the checkpoint\n",
                a->out);
        return 2;
    }
    int exists = access(r->checkpoint, F_OK) == 0;
    if (a->resume && !exists) {
        fprintf(stderr, "sp-train: --resume: there is no checkpoint %s (%s)\n", r->checkpoint, strerror(errno));
        return 1;
    }
    if (!a->resume && exists) {
        fprintf(stderr, "sp-train: the checkpoint %s exists: continue it with --resume, or remove it (or give "
                        "another --checkpoint) to start afresh\n", r->checkpoint);
        return 1;
    }
    int rc = sp_dataset_load(&r->ds, a->dataset);
    if (rc)
        return fail(a->dataset, rc);
    if ((rc = open_neighbours(a->neighbour_file, &r->train_nb)) != 0 ||
        (rc = open_neighbours(a->test_neighbour_file, &r->test_nb)) != 0)
        return rc;
    return open_model(r);
}

static int open_run(run *r, const train_args *a, train_cluster *cl)
{
    memset(r, 0, sizeof *r);
    r->a = a;
    r->cl = cl;
    int rc = open_local(r, a);
    /* No rank goes on to the collective calls when one of them cannot. */
    if (train_cluster_any(cl, rc != 0)) {
        if (!rc)
            fprintf(stderr, "sp-train: rank %d: another rank could not start (its message says why)\n", cl->rank);
        return rc ? rc : 1;
    }
    if ((rc = open_trainer(r)) != 0)
        return rc;
    train_report_model(stdout, r->model);
    if (cl->size > 1)
        printf("data-parallel: %d ranks x %d positions of each batch, %llu bytes per step in one MPI_Allreduce\n",
               cl->size, a->trainer.batch_size / cl->size, (unsigned long long)train_cluster_step_bytes(cl));
    fflush(stdout);
    train_progress_start(&r->progress, 0, a->steps, a->minutes);
    if (cl->rank != 0)
        r->progress.tty = 0; /* one progress line: rank 0's */
    r->start = r->checkpoint_time = train_now();
    return 0;
}

static void close_run(run *r)
{
    train_log_close(r->log);
    train_cluster_free_trainer(r->cl);
    sp_model_free(r->model);
    sp_neighbours_free(r->train_nb);
    sp_neighbours_free(r->test_nb);
    sp_dataset_free(r->ds);
}

/* A resumed run starts at its checkpoint's step; when that is already past
 * --steps, there is nothing to train and the run only writes the model
 * (the checkpoint's weights, which the resume loaded). Returns 0, 1 on
 * failure, or 3 for "nothing left to train". */
static int read_resumed_step(run *r)
{
    if (!r->a->resume)
        return 0;
    int rc = train_cluster_stats(r->cl, &r->last);
    if (rc)
        return fail("resuming", rc);
    r->first_step = r->progress.first_step = r->checkpoint_step = r->eval_step = r->last.step;
    if (r->a->steps && r->first_step >= r->a->steps) {
        train_cluster_free_trainer(r->cl);
        printf("the checkpoint %s is at step %lld, past --steps %lld: nothing to train\n", r->checkpoint,
               (long long)r->first_step, (long long)r->a->steps);
        return 3;
    }
    return 0;
}

/* The log, opened once the run knows its first step: a resumed run cuts the
 * rows of the steps it does again. */
static int open_log(run *r)
{
    if (!r->a->log || r->cl->rank != 0)
        return 0;
    return train_log_open(&r->log, r->a->log, r->a->trainer.unroll, r->a->resume ? r->first_step : -1,
                          &r->elapsed_before) ? 1 : 0;
}

/* The end of a run that met its budget: the last rows, a checkpoint (to go
 * on later with --resume), the model and its test metrics. */
static int finish(run *r, const char *why)
{
    const train_args *a = r->a;
    int rc = together(r, log_train(r));
    if (!rc && train_cluster_has_trainer(r->cl) && r->checkpoint_step != r->last.step)
        rc = save_checkpoint(r);
    if (rc || r->cl->rank != 0)
        return rc;
    if (!strcmp(why, "minutes"))
        printf("the %g minutes are up at step %lld; continue with --resume\n", a->minutes, (long long)r->last.step);
    else if (!strcmp(why, "steps"))
        printf("step %lld reached\n", (long long)r->last.step);
    if ((rc = sp_model_save(r->model, a->out)) != SP_OK)
        return fail("saving the model", rc);
    printf("model written to %s (checkpoint %s)\n", a->out, r->checkpoint);
    sp_eval_report report;
    if ((rc = evaluate(r->model, r->ds, a, r->test_nb, SP_EVAL_RETRIEVED, &r->progress, &report)) != SP_OK) {
        /* The model is written: the run did its job even without its metrics. */
        fprintf(stderr, "sp-train: warning: no test metrics: %s (%s)\n", sp_last_error(), sp_status_str(rc));
        return 0;
    }
    if (r->log && r->eval_step != r->last.step &&
        train_log_test(r->log, r->last.step, r->last.positions, elapsed(r), &report))
        return 1;
    printf("test metrics (%s):\n", a->eval_positions ? "the sample of --eval-positions" : "every test position");
    train_report_print(stdout, &report);
    return 0;
}

/* The run stopped by SIGINT or SIGTERM: a checkpoint at the step it
 * finished, and the conventional status of that signal. */
static int interrupted(run *r)
{
    int sig = train_signal_received();
    if (!sig)
        sig = SIGTERM; /* under mpirun, another rank received it */
    train_progress_clear(&r->progress);
    const char *name = sig == SIGINT ? "SIGINT" : "SIGTERM";
    if (r->last.step == 0) {
        fprintf(stderr, "sp-train: %s: stopped before the first step: no checkpoint written\n", name);
        return 128 + sig;
    }
    int rc = together(r, log_train(r));
    if (!rc && r->checkpoint_step != r->last.step)
        rc = save_checkpoint(r);
    if (rc)
        return rc;
    if (r->cl->rank == 0)
        fprintf(stderr, "sp-train: %s: stopped at step %lld, checkpoint %s written; continue with --resume\n", name,
            (long long)r->last.step, r->checkpoint);
    return 128 + sig;
}

static int cmd_train(const train_args *a, train_cluster *cl)
{
    run r;
    train_signal_install();
    int rc = open_run(&r, a, cl);
    if (!rc)
        rc = read_resumed_step(&r);
    if (rc == 3) {
        rc = finish(&r, "done");
        close_run(&r);
        return rc;
    }
    if (!rc)
        rc = open_log(&r);
    r.started = !rc;
    const char *why = NULL;
    while (!rc && !(why = stop_reason(&r)))
        rc = step_once(&r);
    train_progress_clear(&r.progress);
    if (!rc)
        rc = strcmp(why, "signal") ? finish(&r, why) : interrupted(&r);
    else if (r.started && !r.save_failed && r.last.step > r.checkpoint_step && save_checkpoint(&r) == 0)
        fprintf(stderr, "sp-train: the steps done up to %lld are in the checkpoint %s\n", (long long)r.last.step,
                r.checkpoint);
    close_run(&r);
    return rc;
}

int main(int argc, char **argv)
{
    train_cluster cl;
    if (train_cluster_init(&cl, &argc, &argv))
        return 1;
    /* Under mpirun every rank parses the same line; only rank 0 speaks. */
    if (cl.rank != 0 && !freopen("/dev/null", "w", stdout))
        fprintf(stderr, "sp-train: rank %d: cannot silence stdout\n", cl.rank);
    train_args a;
    int rc = train_args_parse(argc, argv, &a);
    if (rc)
        rc = rc > 0 ? 0 : 2;
    else if (a.evaluate) /* one process's work: rank 0 does it */
        rc = cl.rank == 0 ? cmd_evaluate(&a) : 0;
    else
        rc = cmd_train(&a, &cl);
    train_cluster_finish(&cl);
    return rc;
}
