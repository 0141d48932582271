/* Whether a program was started by an MPI launcher, shared by sp-train and
 * sp-index: under `mpirun -np R` they call MPI_Init and work as R ranks; a
 * plain start never touches MPI, so one process behaves exactly as a build
 * without MPI. The MPI half is compiled in when the program's meson target
 * defines SP_TRAIN_MPI or SP_INDEX_MPI (libsemiparam-mpi was built). */
#ifndef SP_MPI_LAUNCH_H
#define SP_MPI_LAUNCH_H

/* MPI_Init when launched, then rank and size (0 and 1 otherwise); *mpi is
 * set when MPI_Init was called here. Returns 0, or 1 with the reason
 * printed after `program: `. */
int mpi_launch_init(const char *program, int *argc, char ***argv, int *rank, int *size, int *mpi);

/* Whether any of the size ranks of MPI_COMM_WORLD passes a set flag (the
 * flag itself with one process): the ranks take collective decisions (stop,
 * a failure before a collective call) together. */
int mpi_launch_any(int size, int flag);

/* MPI_Finalize when mpi_launch_init called MPI_Init; clears *mpi. */
void mpi_launch_finish(int *mpi);

#endif
