/* The calling thread's OpenMP team size around library work, shared by the
 * modules that run on OpenMP (nn, retrieval); included only by them, so a
 * build without both links no OpenMP. */
#ifndef SP_CORE_OMP_THREADS_H
#define SP_CORE_OMP_THREADS_H

#include <omp.h>

/* Use `threads` OpenMP threads on the calling thread (0 keeps its setting);
 * returns the setting to give back to sp__omp_leave(). omp_set_num_threads
 * changes the nthreads-var of the calling thread's task only: other threads
 * of the process keep theirs. */
static inline int sp__omp_enter(int threads)
{
    int saved = omp_get_max_threads();
    if (threads > 0 && threads != saved)
        omp_set_num_threads(threads);
    return saved;
}

/* Restore the setting sp__omp_enter() returned. */
static inline void sp__omp_leave(int saved)
{
    if (omp_get_max_threads() != saved)
        omp_set_num_threads(saved);
}

#endif
