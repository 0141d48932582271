/* The peak reference of the network benchmarks (sp-bench nn, model):
 * oneDNN's own sgemm on square matrices, on the OpenMP threads in force. */
#include <stdlib.h>

#include <oneapi/dnnl/dnnl.h>

#include "bench.h"

int bench_sgemm_open(bench_sgemm *s, int n)
{
    size_t count = (size_t)n * (size_t)n;
    s->n = n;
    s->a = malloc(count * sizeof(float));
    s->b = malloc(count * sizeof(float));
    s->c = malloc(count * sizeof(float));
    if (!s->a || !s->b || !s->c) {
        bench_sgemm_close(s);
        return -1;
    }
    /* Small exact values: no denormals or infinities to slow a kernel down. */
    for (size_t i = 0; i < count; i++) {
        s->a[i] = (float)(i % 7) * 0.1f;
        s->b[i] = (float)(i % 5) * 0.1f;
    }
    return 0;
}

static int sgemm_call(void *ctx)
{
    bench_sgemm *s = ctx;
    return dnnl_sgemm('N', 'N', s->n, s->n, s->n, 1.0f, s->a, s->n, s->b, s->n, 0.0f, s->c, s->n) != dnnl_success;
}

double bench_sgemm_rate(bench_sgemm *s, double seconds)
{
    double t = bench_time_per_call(seconds, sgemm_call, s);
    return t > 0.0 ? 2.0 * (double)s->n * (double)s->n * (double)s->n / t : -1.0;
}

void bench_sgemm_close(bench_sgemm *s)
{
    free(s->a);
    free(s->b);
    free(s->c);
    s->a = s->b = s->c = NULL;
}
