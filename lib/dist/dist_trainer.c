/* Data-parallel training (dist.h): an sp_trainer per rank slicing every
 * global batch by rank, its step's figures summed over the ranks by the
 * trainer's reduction hook in one MPI_Allreduce, rank 0's weights
 * broadcast at the start, checkpoints written by rank 0 and resumed by all
 * from the bytes rank 0 read. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "dist_internal.h"
#include "train/train_dist.h"

struct sp_dist_trainer {
    MPI_Comm comm;       /* our duplicate */
    int rank, size;
    sp_trainer *local;   /* this rank's replica */
    uint64_t step_bytes; /* of the step's allreduce */
};

/* The hook: the step's figures summed over the ranks, in place. */
static int allreduce_sum(float *buf, size_t count, void *payload)
{
    sp_dist_trainer *d = payload;
    if (count > INT_MAX)
        return sp__error(SP_ERR_INTERNAL, "sp_dist_trainer_run: %zu floats per step exceed one MPI call", count);
    int err = MPI_Allreduce(MPI_IN_PLACE, buf, (int)count, MPI_FLOAT, MPI_SUM, d->comm);
    return err == MPI_SUCCESS ? SP_OK : sp__dist_mpi_error(err, "sp_dist_trainer_run", "MPI_Allreduce");
}

/* Whether a value is the same on every rank: its minimum and maximum. */
static int same_everywhere(MPI_Comm comm, int64_t v, int *same, const char *fn)
{
    int64_t mine[2] = { v, -v }, all[2];
    int err = MPI_Allreduce(mine, all, 2, MPI_INT64_T, MPI_MIN, comm);
    if (err != MPI_SUCCESS)
        return sp__dist_mpi_error(err, fn, "MPI_Allreduce");
    *same = all[0] == -all[1];
    return SP_OK;
}

/* What must not differ between the ranks' trainers: the model's size, the
 * step's figures (which follow the unroll too) and the options that decide
 * the batches. */
static int check_alike(sp_dist_trainer *d, const sp_trainer_options *opts, const char *fn)
{
    /* The trainer has read opts already: any version has these fields. */
    const sp_trainer_options defaults = SP_TRAINER_OPTIONS_INIT, *o = opts ? opts : &defaults;
    const struct {
        const char *what;
        int64_t v;
    } items[] = {
        { "the model's parameter count", (int64_t)sp__trainer_state_floats(d->local) },
        { "the model's trained parameters or unroll", (int64_t)sp__trainer_reduce_floats(d->local) },
        { "batch_size", o->batch_size },
        { "micro_batches", o->micro_batches },
        { "symmetries", o->symmetries },
        { "seed", (int64_t)o->seed },
        { "split_seed", (int64_t)o->split_seed },
        { "test_fraction (x 1e6)", (int64_t)(o->test_fraction * 1e6f) },
        { "min_rating", (int64_t)o->min_rating },
    };
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
        int same = 0, rc = same_everywhere(d->comm, items[i].v, &same, fn);
        if (rc)
            return rc;
        if (!same)
            return sp__error(SP_ERR_INVALID_ARG, "%s: the ranks differ in %s (%lld on rank %d)", fn, items[i].what,
                             (long long)items[i].v, d->rank);
    }
    return SP_OK;
}

/* Rank 0's parameters and running statistics into every rank's model. */
static int broadcast_weights(sp_dist_trainer *d, const char *fn)
{
    size_t n = sp__trainer_state_floats(d->local);
    float *v = malloc((n ? n : 1) * sizeof *v);
    int rc = v ? SP_OK : sp__error(SP_ERR_NOMEM, "%s: %zu floats of weights", fn, n);
    if (!rc && d->rank == 0)
        rc = sp__trainer_read_state(d->local, v);
    rc = sp__dist_agree(d->comm, rc, fn);
    /* MPI counts are int: pieces of at most 2^28 floats (1 GiB). */
    for (size_t done = 0; !rc && done < n;) {
        size_t piece = n - done < ((size_t)1 << 28) ? n - done : ((size_t)1 << 28);
        int err = MPI_Bcast(v + done, (int)piece, MPI_FLOAT, 0, d->comm);
        if (err != MPI_SUCCESS)
            rc = sp__dist_mpi_error(err, fn, "MPI_Bcast");
        done += piece;
    }
    if (!rc && d->rank != 0)
        rc = sp__trainer_write_state(d->local, v);
    free(v);
    return sp__dist_agree(d->comm, rc, fn);
}

int sp_dist_trainer_create(sp_dist_trainer **out, MPI_Comm comm, sp_model *model, const sp_dataset *ds,
                           const sp_trainer_options *opts)
{
    static const char fn[] = "sp_dist_trainer_create";
    if (!out)
        return sp__error(SP_ERR_INVALID_ARG, "%s: out is NULL", fn);
    *out = NULL;
    sp_dist_trainer *d = calloc(1, sizeof *d);
    if (!d)
        return sp__error(SP_ERR_NOMEM, "%s: handle", fn);
    int rc = sp__dist_comm_dup(comm, &d->comm, &d->rank, &d->size, fn);
    if (rc) {
        free(d);
        return rc;
    }
    rc = sp_trainer_create(&d->local, model, ds, opts);
    if (rc)
        rc = sp__error(rc, "%s: %s", fn, sp_last_error());
    if (!rc)
        rc = sp__trainer_set_replica(d->local, d->rank, d->size);
    if (rc && d->local)
        rc = sp__error(rc, "%s: %s", fn, sp_last_error());
    rc = sp__dist_agree(d->comm, rc, fn);
    if (!rc)
        rc = check_alike(d, opts, fn);
    rc = sp__dist_agree(d->comm, rc, fn);
    if (!rc)
        rc = broadcast_weights(d, fn);
    if (rc) {
        sp_dist_trainer_free(d);
        return rc;
    }
    sp__trainer_set_reduce(d->local, allreduce_sum, d);
    d->step_bytes = 4 * (uint64_t)sp__trainer_reduce_floats(d->local);
    *out = d;
    return SP_OK;
}

void sp_dist_trainer_free(sp_dist_trainer *d)
{
    if (!d)
        return;
    sp_trainer_free(d->local);
    MPI_Comm_free(&d->comm);
    free(d);
}

int sp_dist_trainer_run(sp_dist_trainer *d, int64_t steps, sp_train_stats *stats)
{
    static const char fn[] = "sp_dist_trainer_run";
    if (!d)
        return sp__error(SP_ERR_INVALID_ARG, "%s: trainer is NULL", fn);
    int rc = steps < 1 ? sp__error(SP_ERR_INVALID_ARG, "%s: %lld steps (at least 1)", fn, (long long)steps) : SP_OK;
    if (!rc && stats && (rc = sp_trainer_get_stats(d->local, stats)) != SP_OK)
        rc = sp__error(rc, "%s: %s", fn, sp_last_error()); /* stats' version checked, nothing run yet */
    rc = sp__dist_agree(d->comm, rc, fn);
    int same = 0;
    if (!rc && (rc = same_everywhere(d->comm, steps, &same, fn)) == SP_OK && !same)
        rc = sp__error(SP_ERR_INVALID_ARG, "%s: the ranks ask for different step counts (%lld here)", fn,
                       (long long)steps);
    rc = sp__dist_agree(d->comm, rc, fn);
    int64_t done = 0;
    while (!rc && done < steps) {
        /* One step: a failure up to the exchange already fails it on every
         * rank (the hook's status slots); after it, and a stop asked by a
         * progress callback, the ranks agree here. */
        rc = sp_trainer_run(d->local, 1, NULL);
        if (!rc && sp__trainer_report(d->local, (uint64_t)++done, (uint64_t)steps))
            rc = sp__error(SP_ERR_CANCELLED, "%s: cancelled by the progress callback after step %lld", fn,
                           (long long)done);
        /* The lowest failure other than a stop, and whether any rank stopped. */
        int mine[2] = { rc == SP_ERR_CANCELLED ? SP_OK : rc, -(rc == SP_ERR_CANCELLED) }, all[2];
        int err = MPI_Allreduce(mine, all, 2, MPI_INT, MPI_MIN, d->comm);
        if (err != MPI_SUCCESS)
            rc = sp__dist_mpi_error(err, fn, "MPI_Allreduce");
        else if (all[0] != SP_OK && (rc == SP_OK || rc == SP_ERR_CANCELLED))
            rc = sp__error(SP_ERR_MISUSE, "%s: another rank failed (%s); see its sp_last_error()", fn,
                           sp_status_str(all[0]));
        else if (all[1] && rc == SP_OK)
            rc = sp__error(SP_ERR_CANCELLED, "%s: another rank's progress callback stopped the run after step %lld",
                           fn, (long long)done);
    }
    if (stats)
        sp_trainer_get_stats(d->local, stats);
    return rc;
}

int sp_dist_trainer_get_stats(const sp_dist_trainer *d, sp_train_stats *stats)
{
    if (!d)
        return sp__error(SP_ERR_INVALID_ARG, "sp_dist_trainer_get_stats: trainer is NULL");
    return sp_trainer_get_stats(d->local, stats);
}

int sp_dist_trainer_save(const sp_dist_trainer *d, const char *path)
{
    static const char fn[] = "sp_dist_trainer_save";
    if (!d)
        return sp__error(SP_ERR_INVALID_ARG, "%s: trainer is NULL", fn);
    int rc = !path || !*path ? sp__error(SP_ERR_INVALID_ARG, "%s: path is NULL or empty", fn) : SP_OK;
    rc = sp__dist_agree(d->comm, rc, fn);
    if (!rc && d->rank == 0 && (rc = sp_trainer_save(d->local, path)) != SP_OK)
        rc = sp__error(rc, "%s: %s", fn, sp_last_error());
    return sp__dist_agree(d->comm, rc, fn);
}

int sp_dist_trainer_resume(sp_dist_trainer *d, const char *path)
{
    static const char fn[] = "sp_dist_trainer_resume";
    if (!d)
        return sp__error(SP_ERR_INVALID_ARG, "%s: trainer is NULL", fn);
    int rc = !path || !*path ? sp__error(SP_ERR_INVALID_ARG, "%s: path is NULL or empty", fn) : SP_OK;
    rc = sp__dist_agree(d->comm, rc, fn);
    char *bytes = NULL;
    size_t size = 0;
    if (!rc && d->rank == 0 && (rc = sp__file_read(path, &bytes, &size)) != SP_OK)
        rc = sp__error(rc, "%s: %s", fn, sp_last_error());
    rc = sp__dist_agree(d->comm, rc, fn);
    uint64_t len = size;
    if (!rc)
        rc = sp__dist_bcast_bytes(d->comm, 0, (void **)&bytes, &len, fn);
    /* Every rank parses the same bytes, so a file that does not fit is
     * refused by all, each before it changes anything. */
    if (!rc && (rc = sp__trainer_resume_bytes(d->local, bytes, (size_t)len)) != SP_OK)
        rc = sp__error(rc, "%s: %s: %s", fn, path, sp_last_error());
    free(bytes);
    return sp__dist_agree(d->comm, rc, fn);
}

uint64_t sp_dist_trainer_step_bytes(const sp_dist_trainer *d) { return d ? d->step_bytes : 0; }
