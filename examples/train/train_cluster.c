/* sp-train's ranks (train_cluster.h). SP_TRAIN_MPI is defined when meson
 * found MPI and built libsemiparam-mpi. */
#include <stdio.h>
#include <stdlib.h>

#include "train_cluster.h"

#include "../mpi_launch.h"

#ifdef SP_TRAIN_MPI
#include "semiparam/dist.h"
#endif

int train_cluster_init(train_cluster *c, int *argc, char ***argv)
{
    *c = (train_cluster){ .rank = 0, .size = 1 };
    return mpi_launch_init("sp-train", argc, argv, &c->rank, &c->size, &c->mpi);
}

void train_cluster_finish(train_cluster *c) { mpi_launch_finish(&c->mpi); }

int train_cluster_any(const train_cluster *c, int flag) { return mpi_launch_any(c->size, flag); }

int train_cluster_create(train_cluster *c, sp_model *m, const sp_dataset *ds, const sp_trainer_options *o)
{
#ifdef SP_TRAIN_MPI
    if (c->size > 1)
        return sp_dist_trainer_create((sp_dist_trainer **)&c->dist, MPI_COMM_WORLD, m, ds, o);
#endif
    return sp_trainer_create(&c->plain, m, ds, o);
}

int train_cluster_run(train_cluster *c, sp_train_stats *stats)
{
#ifdef SP_TRAIN_MPI
    if (c->dist)
        return sp_dist_trainer_run(c->dist, 1, stats);
#endif
    return sp_trainer_run(c->plain, 1, stats);
}

int train_cluster_stats(const train_cluster *c, sp_train_stats *stats)
{
#ifdef SP_TRAIN_MPI
    if (c->dist)
        return sp_dist_trainer_get_stats(c->dist, stats);
#endif
    return sp_trainer_get_stats(c->plain, stats);
}

int train_cluster_save(const train_cluster *c, const char *path)
{
#ifdef SP_TRAIN_MPI
    if (c->dist)
        return sp_dist_trainer_save(c->dist, path);
#endif
    return sp_trainer_save(c->plain, path);
}

int train_cluster_resume(train_cluster *c, const char *path)
{
#ifdef SP_TRAIN_MPI
    if (c->dist)
        return sp_dist_trainer_resume(c->dist, path);
#endif
    return sp_trainer_resume(c->plain, path);
}

void train_cluster_free_trainer(train_cluster *c)
{
#ifdef SP_TRAIN_MPI
    sp_dist_trainer_free(c->dist);
#endif
    sp_trainer_free(c->plain);
    c->dist = NULL;
    c->plain = NULL;
}

int train_cluster_has_trainer(const train_cluster *c) { return c->plain || c->dist; }

uint64_t train_cluster_step_bytes(const train_cluster *c)
{
#ifdef SP_TRAIN_MPI
    return sp_dist_trainer_step_bytes(c->dist);
#else
    (void)c;
    return 0;
#endif
}
