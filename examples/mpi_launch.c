/* Launcher detection and MPI start of the example programs (mpi_launch.h). */
#include <stdio.h>
#include <stdlib.h>

#include "mpi_launch.h"

#if defined(SP_TRAIN_MPI) || defined(SP_INDEX_MPI)
#define SP_LAUNCH_MPI 1
#include <mpi.h>

/* Started by a launcher: Open MPI's mpirun, or a PMI/PMIx one (MPICH's
 * hydra, Slurm). A plain start does not touch MPI at all. */
static int launched(void)
{
    static const char *vars[] = { "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK" };
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i]))
            return 1;
    return 0;
}
#endif

int mpi_launch_init(const char *program, int *argc, char ***argv, int *rank, int *size, int *mpi)
{
    *rank = 0;
    *size = 1;
    *mpi = 0;
#ifdef SP_LAUNCH_MPI
    if (launched()) {
        if (MPI_Init(argc, argv) != MPI_SUCCESS) {
            fprintf(stderr, "%s: MPI_Init failed\n", program);
            return 1;
        }
        *mpi = 1;
        MPI_Comm_rank(MPI_COMM_WORLD, rank);
        MPI_Comm_size(MPI_COMM_WORLD, size);
    }
#else
    (void)program;
    (void)argc;
    (void)argv;
#endif
    return 0;
}

int mpi_launch_any(int size, int flag)
{
#ifdef SP_LAUNCH_MPI
    if (size > 1) {
        int all = 0;
        MPI_Allreduce(&flag, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
        return all;
    }
#endif
    (void)size;
    return flag;
}

void mpi_launch_finish(int *mpi)
{
#ifdef SP_LAUNCH_MPI
    if (*mpi)
        MPI_Finalize();
#endif
    *mpi = 0;
}
