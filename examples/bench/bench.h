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
int bench_model(int argc, char **argv);
int bench_embed(int argc, char **argv);
int bench_agent(int argc, char **argv);

/* Monotonic seconds. */
double bench_now(void);

/* Instructions callgrind counts for `sp-bench ARGS` (this very binary), or
 * -1 when valgrind fails. Subtract a run that does nothing to get the work's share. */
double bench_callgrind(const char *args);

/* Seconds per call of fn(ctx), calling it again until `seconds` have passed
 * (once at least); -1 as soon as a call returns non-zero. */
typedef int (*bench_step_fn)(void *ctx);
double bench_time_per_call(double seconds, bench_step_fn fn, void *ctx);

/* oneDNN's sgemm on n x n matrices, the machine's practical peak: network
 * figures are given as a ratio to it, measured in the same round so that
 * both see the same load. Only in builds with the nn module (bench_sgemm.c). */
typedef struct bench_sgemm {
    float *a, *b, *c;
    int n;
} bench_sgemm;
/* 0, or -1 when out of memory. */
int bench_sgemm_open(bench_sgemm *s, int n);
/* FLOP/s over calls lasting at least `seconds` (one call for 0), or -1 on failure. */
double bench_sgemm_rate(bench_sgemm *s, double seconds);
void bench_sgemm_close(bench_sgemm *s);

/* Median of n values (reorders them). */
double bench_median(double *values, size_t n);

#endif
