/* Shared pieces of sp-bench: one subcommand per module, timing and medians. */
#ifndef SP_BENCH_H
#define SP_BENCH_H

#include <stddef.h>

/* A subcommand: `sp-bench <name> [args]`; returns the process exit code. */
typedef struct bench_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} bench_command;

int bench_go(int argc, char **argv);
int bench_retrieval(int argc, char **argv);
int bench_search(int argc, char **argv);
int bench_data(int argc, char **argv);
int bench_nn(int argc, char **argv);

/* Monotonic seconds. */
double bench_now(void);

/* Instructions callgrind counts for `sp-bench ARGS` (this very binary), or
 * -1 when valgrind fails. Subtract a run that does nothing to get the work's share. */
double bench_callgrind(const char *args);

/* Median of n values (reorders them). */
double bench_median(double *values, size_t n);

#endif
