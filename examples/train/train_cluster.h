/* sp-train's ranks: under `mpirun -np R` (R > 1, when built with
 * libsemiparam-mpi) the trainer is a data-parallel sp_dist_trainer over
 * MPI_COMM_WORLD; otherwise, and always with one process, the plain
 * sp_trainer exactly as without MPI. The same calls either way. */
#ifndef TRAIN_CLUSTER_H
#define TRAIN_CLUSTER_H

#include <stdint.h>

#include "semiparam.h"

typedef struct train_cluster {
    int rank, size;        /* 0 and 1 without mpirun */
    int mpi;               /* MPI_Init was called here */
    sp_trainer *plain;     /* one of the two */
    void *dist;            /* sp_dist_trainer */
} train_cluster;

/* MPI_Init when the process was started by mpirun (and sp-train has MPI);
 * then rank and size. Returns 0, or 1 with the reason printed. */
int train_cluster_init(train_cluster *c, int *argc, char ***argv);
void train_cluster_finish(train_cluster *c);

/* Whether any rank's flag is set (each rank's value otherwise): the ranks
 * take collective decisions (stop, checkpoint, a failure before the
 * trainer exists) together. */
int train_cluster_any(const train_cluster *c, int flag);

/* The trainer calls of train.h, collective under mpirun (dist.h): only
 * rank 0 writes the checkpoint, every rank resumes from it. */
int train_cluster_create(train_cluster *c, sp_model *m, const sp_dataset *ds, const sp_trainer_options *o);
int train_cluster_run(train_cluster *c, sp_train_stats *stats); /* one step */
int train_cluster_stats(const train_cluster *c, sp_train_stats *stats);
int train_cluster_save(const train_cluster *c, const char *path);
int train_cluster_resume(train_cluster *c, const char *path);
void train_cluster_free_trainer(train_cluster *c);
/* Bytes of a step's exchange (one MPI_Allreduce); 0 with one process. */
uint64_t train_cluster_step_bytes(const train_cluster *c);
int train_cluster_has_trainer(const train_cluster *c);

#endif
