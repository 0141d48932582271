/* The checks of the MPI test programs: plain C (libcheck's forking does not
 * mix with MPI); a failed check prints its rank and place and counts, and
 * main sums the counts over the ranks to decide the job's exit status. */
#ifndef SP_TEST_DIST_CHECK_H
#define SP_TEST_DIST_CHECK_H

#include <stdio.h>

#include "semiparam/core.h"

static int failures;
static int my_rank;

#define CHECK(cond, ...)                                                      \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "FAIL rank %d %s:%d: ", my_rank, __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                                     \
            fprintf(stderr, " (%s)\n", sp_last_error());                      \
            failures++;                                                       \
        }                                                                     \
    } while (0)

#endif
