/* Timing and statistics helpers shared by the sp-bench subcommands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "bench.h"

double bench_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

double bench_time_per_call(double seconds, bench_step_fn fn, void *ctx)
{
    long calls = 0;
    double start = bench_now(), elapsed;
    do {
        if (fn(ctx))
            return -1.0;
        calls++;
        elapsed = bench_now() - start;
    } while (elapsed < seconds);
    return elapsed / (double)calls;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *values, size_t n)
{
    if (n == 0)
        return 0.0;
    qsort(values, n, sizeof *values, compare_doubles);
    return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

double bench_callgrind(const char *args)
{
    char command[768];
    snprintf(command, sizeof command, "valgrind --tool=callgrind --callgrind-out-file=/dev/null /proc/%d/exe %s 2>&1",
             (int)getpid(), args);
    FILE *p = popen(command, "r");
    if (!p)
        return -1.0;
    char line[512];
    double total = -1.0;
    while (fgets(line, sizeof line, p)) {
        const char *c = strstr(line, "Collected :");
        if (c)
            total = strtod(c + strlen("Collected :"), NULL);
    }
    return pclose(p) == 0 ? total : -1.0;
}
