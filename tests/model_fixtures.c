/* What the model suites share (model_fixtures.h). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model_fixtures.h"

sp__nn *make_nn(void)
{
    sp_nn_options o = SP_NN_OPTIONS_INIT;
    o.backend = SP_BACKEND_CPU;
    o.threads = 1;
    o.precision = SP_PRECISION_F32;
    sp__nn *nn = NULL;
    ck_assert_msg(sp__nn_create(&nn, &o) == SP_OK, "%s", sp_last_error());
    return nn;
}

double uniform(struct sp_rng *rng)
{
    return (double)(sp__rng_next(rng) >> 11) / 9007199254740992.0;
}

float *rand_floats(size_t n, uint64_t seed, float scale)
{
    struct sp_rng rng;
    sp__rng_seed(&rng, seed);
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = (float)((uniform(&rng) * 2.0 - 1.0) * scale);
    return v;
}

double max_rel(const float *a, const float *b, size_t n)
{
    double diff = 0.0, scale = 1e-12;
    for (size_t i = 0; i < n; i++) {
        diff = fmax(diff, fabs((double)a[i] - b[i]));
        scale = fmax(scale, fabs((double)b[i]));
    }
    return diff / scale;
}

void perturb(sp_model *m, uint64_t seed)
{
    for (size_t i = 0; i < m->net.ps.count; i++) {
        sp__param *p = m->net.ps.items[i];
        float *v = malloc(p->count * sizeof *v), *r = rand_floats(p->count, seed * 1000 + i, 0.5f);
        ck_assert_int_eq(sp__param_read(p, v), SP_OK);
        int var = strlen(p->name) > 4 && strcmp(p->name + strlen(p->name) - 4, ".var") == 0;
        for (size_t j = 0; j < p->count; j++)
            v[j] = var ? 0.5f + fabsf(r[j]) : v[j] + 0.3f * r[j];
        ck_assert_int_eq(sp__param_write(p, v), SP_OK);
        free(v);
        free(r);
    }
}

const char *temp_path(const char *name)
{
    static char path[4][512];
    static int turn;
    turn = (turn + 1) % 4;
    snprintf(path[turn], sizeof path[turn], "%s/sp_test_model_%d_%s", P_tmpdir, (int)getpid(), name);
    return path[turn];
}
