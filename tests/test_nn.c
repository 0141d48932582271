/* nn: engine and backend choice, every layer's forward against the plain-C
 * reference, every backward (and a whole tower's) against central finite
 * differences of the double-precision reference, inference folding, bf16,
 * optimizers, a tiny network that learns, and parameter files. */
#include <check.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"
#include "nn/layers.h"
#include "nn/optim.h"
#include "nn/spm.h"
#include "nn_reference.h"
#include "nn/tower.h"

/* ------------------------------------------------------------------------ */
/* Helpers */

static sp__nn *make_nn(int precision)
{
    sp_nn_options o = SP_NN_OPTIONS_INIT;
    o.backend = SP_BACKEND_CPU;
    o.threads = 1;
    o.precision = precision;
    sp__nn *nn = NULL;
    ck_assert_msg(sp__nn_create(&nn, &o) == SP_OK, "%s", sp_last_error());
    return nn;
}

static float *rand_floats(size_t n, uint64_t seed, float scale)
{
    struct sp_rng rng;
    sp__rng_seed(&rng, seed);
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(((double)(sp__rng_next(&rng) >> 11) / 9007199254740992.0 * 2.0 - 1.0) * scale);
    return v;
}

static double *to_double(const float *v, size_t n)
{
    double *d = malloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++)
        d[i] = v[i];
    return d;
}

/* max |a - b| relative to max |b|. */
static double max_rel(const float *a, const double *b, size_t n)
{
    double diff = 0.0, scale = 1e-12;
    for (size_t i = 0; i < n; i++) {
        diff = fmax(diff, fabs(a[i] - b[i]));
        scale = fmax(scale, fabs(b[i]));
    }
    return diff / scale;
}

static float *tensor_host(const sp__tensor *t)
{
    float *v = malloc(sp__tensor_count(t) * sizeof *v);
    ck_assert_int_eq(sp__tensor_read(t, v), SP_OK);
    return v;
}

static float *grad_host(const sp__param *p)
{
    float *v = malloc(p->count * sizeof *v);
    ck_assert_int_eq(sp__param_read_grad(p, v), SP_OK);
    return v;
}

static double *value_double(const sp__param *p)
{
    float *v = malloc(p->count * sizeof *v);
    ck_assert_int_eq(sp__param_read(p, v), SP_OK);
    double *d = to_double(v, p->count);
    free(v);
    return d;
}

/* A scalar function of the double-precision reference: sum(R * f(...)). */
typedef double (*loss_fn)(void *ctx);

/* Central differences of f with respect to vars[0..n), compared with the
 * analytic gradient by relative L2 error. */
static void check_grad(const char *what, double *vars, size_t n, const float *analytic, loss_fn f, void *ctx)
{
    const double h = 1e-5;
    double diff = 0.0, norm = 0.0;
    for (size_t i = 0; i < n; i++) {
        double save = vars[i];
        vars[i] = save + h;
        double plus = f(ctx);
        vars[i] = save - h;
        double minus = f(ctx);
        vars[i] = save;
        double g = (plus - minus) / (2 * h);
        diff += (g - analytic[i]) * (g - analytic[i]);
        norm += g * g;
    }
    double rel = sqrt(diff) / fmax(sqrt(norm), 1e-12);
    ck_assert_msg(rel < 1e-3, "%s: gradient relative error %.3g (norm %.3g)", what, rel, sqrt(norm));
}

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* ------------------------------------------------------------------------ */
/* Engine */

START_TEST(gpu_request_without_gpu_fails_clearly)
{
    int gpus = -1;
    ck_assert_int_eq(sp_nn_device_count(SP_BACKEND_GPU, &gpus), SP_OK);
    ck_assert_int_eq(gpus, 0); /* this machine has none */
    ck_assert_int_eq(sp_has_feature(SP_FEATURE_GPU), 1); /* Debian's oneDNN has its OpenCL GPU runtime */
    sp_nn_options o;
    ck_assert_int_eq(sp_nn_options_init(&o, SP_NN_OPTIONS_VERSION), SP_OK);
    o.backend = SP_BACKEND_GPU;
    sp__nn *nn = (sp__nn *)1;
    ck_assert_int_eq(sp__nn_create(&nn, &o), SP_ERR_NO_DEVICE);
    ck_assert_ptr_null(nn);
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "GPU"));
    o.backend = SP_BACKEND_AUTO; /* falls back to the CPU */
    ck_assert_int_eq(sp__nn_create(&nn, &o), SP_OK);
    ck_assert_int_eq(nn->backend, SP_BACKEND_CPU);
    sp__nn_free(nn);
    sp__nn_free(NULL);
    o.version = SP_NN_OPTIONS_VERSION + 1;
    ck_assert_int_eq(sp__nn_create(&nn, &o), SP_ERR_VERSION);
    o.version = SP_NN_OPTIONS_VERSION;
    o.backend = 7;
    ck_assert_int_eq(sp__nn_create(&nn, &o), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_nn_device_count(7, &gpus), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_nn_options_init(NULL, SP_NN_OPTIONS_VERSION), SP_ERR_INVALID_ARG);
}
END_TEST

static void *other_thread_threads(void *arg)
{
    (void)arg;
    omp_set_num_threads(3);
    return (void *)(intptr_t)omp_get_max_threads();
}

START_TEST(thread_count_is_restored_and_per_thread)
{
    omp_set_num_threads(2);
    sp__nn *nn = make_nn(SP_PRECISION_F32); /* threads = 1 */
    int saved = sp__nn_threads_enter(nn);
    ck_assert_int_eq(omp_get_max_threads(), 1);
    /* Another thread keeps its own setting meanwhile. */
    pthread_t th;
    void *res;
    pthread_create(&th, NULL, other_thread_threads, NULL);
    pthread_join(th, &res);
    ck_assert_int_eq((int)(intptr_t)res, 3);
    sp__nn_threads_leave(nn, saved);
    ck_assert_int_eq(omp_get_max_threads(), 2);
    /* A layer call leaves the caller's setting as it was. */
    sp__params ps;
    sp__params_setup(&ps, nn);
    sp__linear conv;
    ck_assert_int_eq(sp__conv_setup(&conv, &ps, "c", 2, 2, 3, 0), SP_OK);
    sp__params_initialise(&ps, 1);
    sp__tensor x = { 0 };
    sp__tensor_ensure(&x, nn, 1, 2, 3, 3);
    sp__tensor_zero(&x);
    ck_assert_int_eq(sp__linear_forward(&conv, &x, 1), SP_OK);
    ck_assert_int_eq(omp_get_max_threads(), 2);
    sp__tensor_release(&x);
    sp__linear_release(&conv);
    sp__params_release(&ps);
    sp__nn_free(nn);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Linear layers */

typedef struct linear_ctx {
    double *x, *w, *b, *r;
    int n, cin, h, w_, cout, k, dense, m;
    double *out;
} linear_ctx;

static double linear_loss(void *p)
{
    linear_ctx *c = p;
    size_t count;
    if (c->dense) {
        sp__ref_dense(c->x, c->n, c->m, c->w, c->b, c->cout, c->out);
        count = (size_t)c->n * c->cout;
    } else {
        sp__ref_conv(c->x, c->n, c->cin, c->h, c->w_, c->w, c->b, c->cout, c->k, c->out);
        count = (size_t)c->n * c->cout * c->h * c->w_;
    }
    return dot(c->out, c->r, count);
}

static void check_linear(int dense, int n, int cin, int h, int w, int cout, int k, int bias)
{
    sp__nn *nn = make_nn(SP_PRECISION_F32);
    sp__params ps;
    sp__params_setup(&ps, nn);
    sp__linear l;
    int rc = dense ? sp__dense_setup(&l, &ps, "d", cin, h, w, cout, bias)
                   : sp__conv_setup(&l, &ps, "c", cin, cout, k, bias);
    ck_assert_int_eq(rc, SP_OK);
    ck_assert_int_eq(sp__params_initialise(&ps, 11), SP_OK);
    if (bias) { /* a non-zero bias exercises its gradient path */
        float *bv = rand_floats(l.bias->count, 5, 0.5f);
        sp__param_write(l.bias, bv);
        free(bv);
    }
    size_t in_count = (size_t)n * cin * (h ? h * w : 1);
    float *xv = rand_floats(in_count, 3, 1.0f);
    sp__tensor x = { 0 }, dout = { 0 };
    ck_assert_int_eq(sp__tensor_ensure(&x, nn, n, cin, h, w), SP_OK);
    sp__tensor_write(&x, xv);

    linear_ctx c = { .x = to_double(xv, in_count), .w = value_double(l.weight),
                     .b = bias ? value_double(l.bias) : NULL, .n = n, .cin = cin, .h = h, .w_ = w,
                     .cout = cout, .k = k, .dense = dense, .m = cin * (h ? h * w : 1) };
    size_t out_count = (size_t)n * cout * (dense ? 1 : h * w);
    c.out = malloc(out_count * sizeof *c.out);
    float *rv = rand_floats(out_count, 4, 1.0f);
    c.r = to_double(rv, out_count);
    double *ref = malloc(out_count * sizeof *ref);
    linear_loss(&c);
    memcpy(ref, c.out, out_count * sizeof *ref);

    for (int training = 0; training < 2; training++) {
        ck_assert_msg(sp__linear_forward(&l, &x, training) == SP_OK, "%s", sp_last_error());
        float *got = tensor_host(&l.out);
        ck_assert_msg(max_rel(got, ref, out_count) < 1e-5, "forward differs: %g", max_rel(got, ref, out_count));
        free(got);
    }
    ck_assert_int_eq(sp__tensor_ensure(&dout, nn, n, cout, dense ? 0 : h, dense ? 0 : w), SP_OK);
    sp__tensor_write(&dout, rv);
    sp__params_zero_grad(&ps);
    ck_assert_msg(sp__linear_backward(&l, &dout, 1) == SP_OK, "%s", sp_last_error());
    float *dx = tensor_host(&l.dsrc), *dw = grad_host(l.weight);
    check_grad("input", c.x, in_count, dx, linear_loss, &c);
    check_grad("weights", c.w, l.weight->count, dw, linear_loss, &c);
    if (bias) {
        float *db = grad_host(l.bias);
        check_grad("bias", c.b, l.bias->count, db, linear_loss, &c);
        free(db);
    }
    /* A second backward adds to the gradient (shared parameters). */
    ck_assert_int_eq(sp__linear_backward(&l, &dout, 0), SP_OK);
    float *dw2 = grad_host(l.weight);
    for (size_t i = 0; i < l.weight->count; i++)
        ck_assert(fabsf(dw2[i] - 2 * dw[i]) <= 1e-5f * (1 + fabsf(dw[i])));
    free(dw2);
    free(dx);
    free(dw);
    free(xv);
    free(rv);
    free(ref);
    free(c.x);
    free(c.w);
    free(c.b);
    free(c.r);
    free(c.out);
    sp__tensor_release(&x);
    sp__tensor_release(&dout);
    sp__linear_release(&l);
    sp__params_release(&ps);
    sp__nn_free(nn);
}

START_TEST(conv3x3_matches_reference_and_differences) { check_linear(0, 2, 3, 5, 5, 4, 3, 1); }
END_TEST
START_TEST(conv1x1_matches_reference_and_differences) { check_linear(0, 2, 5, 4, 3, 3, 1, 0); }
END_TEST
START_TEST(dense_matches_reference_and_differences)
{
    check_linear(1, 3, 7, 0, 0, 4, 0, 1);  /* (n, c) input */
    check_linear(1, 2, 3, 3, 3, 5, 0, 1);  /* (n, c, h, w) input, flattened */
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Batch norm */

typedef struct bn_ctx {
    double *x, *gamma, *beta, *r, *out;
    int n, c, hw;
} bn_ctx;

static double bn_loss(void *p)
{
    bn_ctx *b = p;
    sp__ref_bnorm(b->x, b->n, b->c, b->hw, b->gamma, b->beta, 1e-5, 0, NULL, NULL, b->out);
    return dot(b->out, b->r, (size_t)b->n * b->c * b->hw);
}

START_TEST(batchnorm_matches_reference_and_differences)
{
    int n = 3, c = 4, h = 3, w = 2;
    size_t count = (size_t)n * c * h * w;
    sp__nn *nn = make_nn(SP_PRECISION_F32);
    sp__params ps;
    sp__params_setup(&ps, nn);
    sp__bnorm bn;
    ck_assert_int_eq(sp__bnorm_setup(&bn, &ps, "bn", c), SP_OK);
    sp__params_initialise(&ps, 1);
    float *g = rand_floats(c, 8, 1.0f), *be = rand_floats(c, 9, 1.0f);
    for (int i = 0; i < c; i++)
        g[i] += 1.5f;
    sp__param_write(bn.gamma, g);
    sp__param_write(bn.beta, be);
    float *xv = rand_floats(count, 10, 2.0f), *rv = rand_floats(count, 12, 1.0f);
    for (size_t i = 0; i < count; i++)
        xv[i] += 0.5f;
    sp__tensor x = { 0 }, dout = { 0 };
    sp__tensor_ensure(&x, nn, n, c, h, w);
    sp__tensor_write(&x, xv);
    bn_ctx b = { to_double(xv, count), to_double(g, c), to_double(be, c), to_double(rv, count),
                 malloc(count * sizeof(double)), n, c, h * w };
    double mean[4], var[4];
    sp__ref_bnorm(b.x, n, c, h * w, b.gamma, b.beta, 1e-5, 0, mean, var, b.out);
    ck_assert_msg(sp__bnorm_forward(&bn, &x, 1) == SP_OK, "%s", sp_last_error());
    float *got = tensor_host(&bn.out);
    ck_assert_double_lt(max_rel(got, b.out, count), 1e-5);
    free(got);
    /* Running statistics moved a tenth of the way to the batch's. */
    float run_mean[4], run_var[4];
    sp__param_read(bn.mean, run_mean);
    sp__param_read(bn.var, run_var);
    for (int i = 0; i < c; i++) {
        ck_assert_double_eq_tol(run_mean[i], 0.1 * mean[i], 1e-5);
        ck_assert_double_eq_tol(run_var[i], 0.9 + 0.1 * var[i], 1e-5);
    }
    /* Inference uses the running statistics. */
    double dmean[4], dvar[4];
    for (int i = 0; i < c; i++) {
        dmean[i] = run_mean[i];
        dvar[i] = run_var[i];
    }
    double *ref = malloc(count * sizeof *ref);
    sp__ref_bnorm(b.x, n, c, h * w, b.gamma, b.beta, 1e-5, 1, dmean, dvar, ref);
    ck_assert_int_eq(sp__bnorm_forward(&bn, &x, 0), SP_OK);
    got = tensor_host(&bn.out);
    ck_assert_double_lt(max_rel(got, ref, count), 1e-5);
    free(got);
    /* Backward after a training pass. */
    ck_assert_int_eq(sp__bnorm_backward(&bn, &dout), SP_ERR_MISUSE);
    ck_assert_int_eq(sp__bnorm_forward(&bn, &x, 1), SP_OK);
    sp__tensor_ensure(&dout, nn, n, c, h, w);
    sp__tensor_write(&dout, rv);
    sp__params_zero_grad(&ps);
    ck_assert_msg(sp__bnorm_backward(&bn, &dout) == SP_OK, "%s", sp_last_error());
    float *dx = tensor_host(&bn.dsrc), *dg = grad_host(bn.gamma), *db = grad_host(bn.beta);
    check_grad("bn input", b.x, count, dx, bn_loss, &b);
    check_grad("bn gamma", b.gamma, (size_t)c, dg, bn_loss, &b);
    check_grad("bn beta", b.beta, (size_t)c, db, bn_loss, &b);
    free(dx);
    free(dg);
    free(db);
    free(ref);
    free(g);
    free(be);
    free(xv);
    free(rv);
    free(b.x);
    free(b.gamma);
    free(b.beta);
    free(b.r);
    free(b.out);
    sp__tensor_release(&x);
    sp__tensor_release(&dout);
    sp__bnorm_release(&bn);
    sp__params_release(&ps);
    sp__nn_free(nn);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Element-wise layers, concat, neighbour sum */

typedef struct elt_ctx {
    double *x, *y, *mask, *r, *out;
    size_t count;
    int kind; /* 0 relu, 1 tanh, 2 add, 3 concat, 4 nbsum */
    int n, cx, cy, hw, k;
} elt_ctx;

static double elt_loss(void *p)
{
    elt_ctx *e = p;
    size_t out_count = e->count;
    switch (e->kind) {
    case 0:
        sp__ref_relu(e->x, e->count, e->out);
        break;
    case 1:
        sp__ref_tanh(e->x, e->count, e->out);
        break;
    case 2:
        sp__ref_add(e->x, e->y, e->count, e->out);
        break;
    case 3:
        sp__ref_concat(e->x, e->cx, e->y, e->cy, e->n, e->hw, e->out);
        out_count = (size_t)e->n * (e->cx + e->cy) * e->hw;
        break;
    default:
        sp__ref_nbsum(e->x, e->mask, e->n, e->k, (size_t)e->cx * e->hw, e->out);
        out_count = (size_t)e->n * e->cx * e->hw;
    }
    return dot(e->out, e->r, out_count);
}

START_TEST(activations_match_reference_and_differences)
{
    int n = 2, c = 3, h = 3, w = 3;
    size_t count = (size_t)n * c * h * w;
    sp__nn *nn = make_nn(SP_PRECISION_F32);
    for (int kind = 0; kind < 2; kind++) {
        sp__act a;
        sp__act_setup(&a, nn, kind == 0 ? SP__ACT_RELU : SP__ACT_TANH);
        float *xv = rand_floats(count, 20 + kind, 2.0f), *rv = rand_floats(count, 30, 1.0f);
        sp__tensor x = { 0 }, dout = { 0 };
        sp__tensor_ensure(&x, nn, n, c, h, w);
        sp__tensor_write(&x, xv);
        elt_ctx e = { .x = to_double(xv, count), .r = to_double(rv, count), .out = malloc(count * sizeof(double)),
                      .count = count, .kind = kind };
        elt_loss(&e);
        ck_assert_int_eq(sp__act_forward(&a, &x), SP_OK);
        float *got = tensor_host(&a.out);
        ck_assert_double_lt(max_rel(got, e.out, count), 1e-6);
        sp__tensor_ensure(&dout, nn, n, c, h, w);
        sp__tensor_write(&dout, rv);
        ck_assert_int_eq(sp__act_backward(&a, &dout), SP_OK);
        float *dx = tensor_host(&a.dsrc);
        check_grad(kind ? "tanh" : "relu", e.x, count, dx, elt_loss, &e);
        free(got);
        free(dx);
        free(xv);
        free(rv);
        free(e.x);
        free(e.r);
        free(e.out);
        sp__tensor_release(&x);
        sp__tensor_release(&dout);
        sp__act_release(&a);
    }
    sp__nn_free(nn);
}
END_TEST

START_TEST(add_concat_and_neighbour_sum_match_reference_and_differences)
{
    sp__nn *nn = make_nn(SP_PRECISION_F32);
    int n = 2, cx = 3, cy = 2, h = 3, w = 2, hw = h * w, k = 3;
    size_t cx_count = (size_t)n * cx * hw, cy_count = (size_t)n * cy * hw;
    float *xv = rand_floats(cx_count * k, 40, 1.0f), *yv = rand_floats(cx_count, 41, 1.0f);
    float *rv = rand_floats(cx_count * k, 42, 1.0f);
    sp__tensor x = { 0 }, y = { 0 }, dout = { 0 };

    /* Residual add. */
    sp__add add;
    sp__add_setup(&add, nn);
    sp__tensor_ensure(&x, nn, n, cx, h, w);
    sp__tensor_ensure(&y, nn, n, cx, h, w);
    sp__tensor_write(&x, xv);
    sp__tensor_write(&y, yv);
    elt_ctx e = { .x = to_double(xv, cx_count), .y = to_double(yv, cx_count), .r = to_double(rv, cx_count * k),
                  .out = malloc(cx_count * k * sizeof(double)), .count = cx_count, .kind = 2 };
    elt_loss(&e);
    ck_assert_int_eq(sp__add_forward(&add, &x, &y), SP_OK);
    float *got = tensor_host(&add.out);
    ck_assert_double_lt(max_rel(got, e.out, cx_count), 1e-6);
    free(got);
    sp__add_release(&add);

    /* Concat of x (cx channels) and the first cy channels' worth of y. */
    sp__concat cat;
    sp__concat_setup(&cat, nn);
    sp__tensor_ensure(&y, nn, n, cy, h, w);
    sp__tensor_write(&y, yv);
    e.kind = 3;
    e.n = n;
    e.cx = cx;
    e.cy = cy;
    e.hw = hw;
    elt_loss(&e);
    ck_assert_int_eq(sp__concat_forward(&cat, &x, &y), SP_OK);
    got = tensor_host(&cat.out);
    ck_assert_double_lt(max_rel(got, e.out, cx_count + cy_count), 1e-7);
    free(got);
    sp__tensor_ensure(&dout, nn, n, cx + cy, h, w);
    sp__tensor_write(&dout, rv);
    ck_assert_int_eq(sp__concat_backward(&cat, &dout), SP_OK);
    float *dx = tensor_host(&cat.dx), *dy = tensor_host(&cat.dy);
    check_grad("concat x", e.x, cx_count, dx, elt_loss, &e);
    check_grad("concat y", e.y, cy_count, dy, elt_loss, &e);
    free(dx);
    free(dy);
    sp__concat_release(&cat);

    /* Neighbour sum over k = 3 with one neighbour masked out. */
    sp__nbsum nb;
    sp__nbsum_setup(&nb, nn, k);
    float mask[6] = { 1, 0, 1, 1, 1, 1 };
    double dmask[6] = { 1, 0, 1, 1, 1, 1 };
    sp__tensor_ensure(&x, nn, n * k, cx, h, w);
    sp__tensor_write(&x, xv);
    free(e.x);
    e.x = to_double(xv, cx_count * k);
    e.mask = dmask;
    e.kind = 4;
    e.k = k;
    elt_loss(&e);
    ck_assert_int_eq(sp__nbsum_forward(&nb, &x, mask), SP_OK);
    got = tensor_host(&nb.out);
    ck_assert_double_lt(max_rel(got, e.out, cx_count), 1e-6);
    free(got);
    sp__tensor_ensure(&dout, nn, n, cx, h, w);
    sp__tensor_write(&dout, rv);
    ck_assert_int_eq(sp__nbsum_backward(&nb, &dout), SP_OK);
    dx = tensor_host(&nb.dsrc);
    check_grad("neighbour sum", e.x, cx_count * k, dx, elt_loss, &e);
    free(dx);
    sp__tensor_ensure(&x, nn, 4, cx, h, w); /* not a multiple of k */
    ck_assert_int_eq(sp__nbsum_forward(&nb, &x, NULL), SP_ERR_INVALID_ARG);
    sp__nbsum_release(&nb);

    free(xv);
    free(yv);
    free(rv);
    free(e.x);
    free(e.y);
    free(e.r);
    free(e.out);
    sp__tensor_release(&x);
    sp__tensor_release(&y);
    sp__tensor_release(&dout);
    sp__nn_free(nn);
}
END_TEST


typedef struct repeat_ctx {
    double *x, *r, *out;
    int n, k;
    size_t per;
} repeat_ctx;

static double repeat_loss(void *p)
{
    repeat_ctx *c = p;
    for (int b = 0; b < c->n; b++)
        for (int i = 0; i < c->k; i++)
            memcpy(c->out + ((size_t)b * c->k + i) * c->per, c->x + (size_t)b * c->per, c->per * sizeof(double));
    return dot(c->out, c->r, (size_t)c->n * c->k * c->per);
}

START_TEST(repeat_matches_reference_and_differences)
{
    sp__nn *nn = make_nn(SP_PRECISION_F32);
    int n = 2, k = 3, c = 2, h = 3, w = 3;
    size_t per = (size_t)c * h * w;
    float *xv = rand_floats(n * per, 70, 1.0f), *rv = rand_floats(n * k * per, 71, 1.0f);
    repeat_ctx rc = { to_double(xv, n * per), to_double(rv, n * k * per), malloc(n * k * per * sizeof(double)), n, k,
                      per };
    repeat_loss(&rc);
    sp__tensor x = { 0 }, dout = { 0 };
    sp__tensor_ensure(&x, nn, n, c, h, w);
    sp__tensor_write(&x, xv);
    sp__repeat r;
    sp__repeat_setup(&r, nn, k);
    ck_assert_int_eq(sp__repeat_forward(&r, &x), SP_OK);
    float *got = tensor_host(&r.out);
    ck_assert_double_eq(max_rel(got, rc.out, n * k * per), 0.0);
    sp__tensor_ensure(&dout, nn, n * k, c, h, w);
    sp__tensor_write(&dout, rv);
    ck_assert_int_eq(sp__repeat_backward(&r, &dout), SP_OK);
    float *dx = tensor_host(&r.dsrc);
    check_grad("repeat", rc.x, n * per, dx, repeat_loss, &rc);
    free(got);
    free(dx);
    free(xv);
    free(rv);
    free(rc.x);
    free(rc.r);
    free(rc.out);
    sp__tensor_release(&x);
    sp__tensor_release(&dout);
    sp__repeat_release(&r);
    sp__nn_free(nn);
}
END_TEST

/* Two applications of one tower's parameters (as in an unrolled dynamics
 * function) add their weight gradients. */
START_TEST(shared_tower_adds_gradients)
{
    sp__nn *nn = make_nn(SP_PRECISION_F32);
    sp__params ps;
    sp__params_setup(&ps, nn);
    sp__tower a, b;
    ck_assert_int_eq(sp__tower_setup(&a, &ps, "tower", 4, 4, 1), SP_OK);
    ck_assert_int_eq(sp__tower_share(&b, &a), SP_OK);
    sp__params_initialise(&ps, 8);
    size_t count = 2 * 4 * 16;
    float *xa = rand_floats(count, 80, 1.0f), *xb = rand_floats(count, 81, 1.0f), *rv = rand_floats(count, 82, 1.0f);
    sp__tensor ta = { 0 }, tb = { 0 }, dout = { 0 };
    sp__tensor_ensure(&ta, nn, 2, 4, 4, 4);
    sp__tensor_ensure(&tb, nn, 2, 4, 4, 4);
    sp__tensor_ensure(&dout, nn, 2, 4, 4, 4);
    sp__tensor_write(&ta, xa);
    sp__tensor_write(&tb, xb);
    sp__tensor_write(&dout, rv);
    float *ga = malloc(ps.count * 64 * sizeof(float)), *gb = malloc(ps.count * 64 * sizeof(float));
    /* Gradients of each application alone, then of both together. */
    size_t at = 0;
    for (int pass = 0; pass < 3; pass++) {
        sp__params_zero_grad(&ps);
        if (pass != 1) {
            ck_assert_int_eq(sp__tower_forward(&a, &ta, 1), SP_OK);
            ck_assert_int_eq(sp__tower_backward(&a, &dout, 0), SP_OK);
        }
        if (pass != 0) {
            ck_assert_int_eq(sp__tower_forward(&b, &tb, 1), SP_OK);
            ck_assert_int_eq(sp__tower_backward(&b, &dout, 0), SP_OK);
        }
        at = 0;
        for (size_t i = 0; i < ps.count; i++) {
            sp__param *p = ps.items[i];
            if (!p->grad)
                continue;
            float *g = grad_host(p);
            for (size_t j = 0; j < p->count; j++, at++) {
                if (pass == 0)
                    ga[at] = g[j];
                else if (pass == 1)
                    gb[at] = g[j];
                else
                    ck_assert_msg(fabsf(g[j] - ga[at] - gb[at]) <= 1e-5f * (1 + fabsf(g[j])), "%s[%zu]", p->name, j);
            }
            free(g);
        }
    }
    ck_assert_uint_gt(at, 0);
    free(ga);
    free(gb);
    free(xa);
    free(xb);
    free(rv);
    sp__tensor_release(&ta);
    sp__tensor_release(&tb);
    sp__tensor_release(&dout);
    sp__tower_release(&b);
    sp__tower_release(&a);
    sp__params_release(&ps);
    sp__nn_free(nn);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Losses */

typedef struct loss_ctx {
    double *z, *t;
    int n, a, mse;
} loss_ctx;

static double loss_ref(void *p)
{
    loss_ctx *l = p;
    return l->mse ? sp__ref_mse(l->z, l->t, l->n, l->a) : sp__ref_softmax_xent(l->z, l->t, l->n, l->a);
}

START_TEST(losses_match_reference_and_differences)
{
    sp__nn *nn = make_nn(SP_PRECISION_F32);
    int n = 3, a = 5;
    float *zv = rand_floats((size_t)n * a, 50, 3.0f), *tv = rand_floats((size_t)n * a, 51, 1.0f);
    for (int i = 0; i < n * a; i++)
        tv[i] = fabsf(tv[i]) / 2.0f; /* soft targets, rows not normalised */
    sp__tensor z = { 0 }, dz = { 0 };
    sp__tensor_ensure(&z, nn, n, a, 0, 0);
    sp__tensor_write(&z, zv);
    for (int mse = 0; mse < 2; mse++) {
        loss_ctx l = { to_double(zv, (size_t)n * a), to_double(tv, (size_t)n * a), n, a, mse };
        double loss;
        int rc = mse ? sp__mse(&z, tv, &loss, &dz, nn) : sp__softmax_xent(&z, tv, &loss, &dz, nn);
        ck_assert_int_eq(rc, SP_OK);
        ck_assert_double_eq_tol(loss, loss_ref(&l), 1e-6 * fabs(loss_ref(&l)));
        float *g = tensor_host(&dz);
        check_grad(mse ? "mse" : "cross-entropy", l.z, (size_t)n * a, g, loss_ref, &l);
        free(g);
        free(l.z);
        free(l.t);
    }
    free(zv);
    free(tv);
    sp__tensor_release(&z);
    sp__tensor_release(&dz);
    sp__nn_free(nn);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Residual tower */

typedef struct tower_ctx {
    sp__ref_tower ref;
    double **conv, **gamma, **beta;
    double *x, *r, *out;
    int n, h, w;
    size_t out_count;
} tower_ctx;

static double tower_loss(void *p)
{
    tower_ctx *t = p;
    sp__ref_tower_forward(&t->ref, t->x, t->n, t->h, t->w, t->out);
    return dot(t->out, t->r, t->out_count);
}

static void tower_layer(sp__tower *t, int i, sp__linear **conv, sp__bnorm **bn)
{
    if (i == 0) {
        *conv = &t->stem;
        *bn = &t->stem_bn;
    } else {
        sp__resblock *r = &t->block[(i - 1) / 2];
        *conv = (i - 1) % 2 ? &r->conv2 : &r->conv1;
        *bn = (i - 1) % 2 ? &r->bn2 : &r->bn1;
    }
}

START_TEST(tower_matches_reference_and_differences)
{
    int planes = 3, channels = 4, blocks = 2, n = 3, h = 4, w = 4, layers = 1 + 2 * blocks;
    sp__nn *nn = make_nn(SP_PRECISION_F32);
    sp__params ps;
    sp__params_setup(&ps, nn);
    sp__tower t;
    ck_assert_int_eq(sp__tower_setup(&t, &ps, "tower", planes, channels, blocks), SP_OK);
    ck_assert_int_eq(ps.count, (size_t)layers * 5);
    sp__params_initialise(&ps, 77);
    tower_ctx c = { .n = n, .h = h, .w = w };
    c.conv = calloc(layers, sizeof *c.conv);
    c.gamma = calloc(layers, sizeof *c.gamma);
    c.beta = calloc(layers, sizeof *c.beta);
    for (int i = 0; i < layers; i++) {
        sp__linear *conv;
        sp__bnorm *bn;
        tower_layer(&t, i, &conv, &bn);
        /* Non-trivial scale and shift. */
        float *g = rand_floats(channels, 100 + i, 0.5f), *b = rand_floats(channels, 200 + i, 0.5f);
        for (int j = 0; j < channels; j++)
            g[j] += 1.0f;
        sp__param_write(bn->gamma, g);
        sp__param_write(bn->beta, b);
        free(g);
        free(b);
        c.conv[i] = value_double(conv->weight);
        c.gamma[i] = value_double(bn->gamma);
        c.beta[i] = value_double(bn->beta);
    }
    c.ref = (sp__ref_tower){ planes, channels, blocks, (const double *const *)c.conv,
                             (const double *const *)c.gamma, (const double *const *)c.beta, NULL, NULL };
    size_t in_count = (size_t)n * planes * h * w;
    c.out_count = (size_t)n * channels * h * w;
    float *xv = rand_floats(in_count, 300, 1.0f), *rv = rand_floats(c.out_count, 301, 1.0f);
    c.x = to_double(xv, in_count);
    c.r = to_double(rv, c.out_count);
    c.out = malloc(c.out_count * sizeof *c.out);
    tower_loss(&c);
    sp__tensor x = { 0 }, dout = { 0 };
    sp__tensor_ensure(&x, nn, n, planes, h, w);
    sp__tensor_write(&x, xv);
    ck_assert_msg(sp__tower_forward(&t, &x, 1) == SP_OK, "%s", sp_last_error());
    float *got = tensor_host(t.out);
    ck_assert_msg(max_rel(got, c.out, c.out_count) < 1e-5, "tower forward %g", max_rel(got, c.out, c.out_count));
    free(got);
    sp__tensor_ensure(&dout, nn, n, channels, h, w);
    sp__tensor_write(&dout, rv);
    sp__params_zero_grad(&ps);
    ck_assert_msg(sp__tower_backward(&t, &dout, 1) == SP_OK, "%s", sp_last_error());
    float *dx = tensor_host(t.dsrc);
    check_grad("tower input", c.x, in_count, dx, tower_loss, &c);
    free(dx);
    for (int i = 0; i < layers; i++) {
        sp__linear *conv;
        sp__bnorm *bn;
        tower_layer(&t, i, &conv, &bn);
        float *dw = grad_host(conv->weight), *dg = grad_host(bn->gamma), *db = grad_host(bn->beta);
        check_grad(conv->weight->name, c.conv[i], conv->weight->count, dw, tower_loss, &c);
        check_grad(bn->gamma->name, c.gamma[i], (size_t)channels, dg, tower_loss, &c);
        check_grad(bn->beta->name, c.beta[i], (size_t)channels, db, tower_loss, &c);
        free(dw);
        free(dg);
        free(db);
    }
    for (int i = 0; i < layers; i++) {
        free(c.conv[i]);
        free(c.gamma[i]);
        free(c.beta[i]);
    }
    free(c.conv);
    free(c.gamma);
    free(c.beta);
    free(c.x);
    free(c.r);
    free(c.out);
    free(xv);
    free(rv);
    sp__tensor_release(&x);
    sp__tensor_release(&dout);
    sp__tower_release(&t);
    sp__params_release(&ps);
    sp__nn_free(nn);
}
END_TEST

/* The folded, fused inference path equals the layer-by-layer inference
 * pass (running statistics); bf16 stays close to f32. */
static float *run_infer(int precision, int64_t n, int train_steps, float **layered)
{
    int planes = 18, channels = 16, blocks = 2, h = 9, w = 9;
    sp__nn *nn = make_nn(precision);
    sp__params ps;
    sp__params_setup(&ps, nn);
    sp__tower t;
    ck_assert_int_eq(sp__tower_setup(&t, &ps, "tower", planes, channels, blocks), SP_OK);
    sp__params_initialise(&ps, 5);
    float *xv = rand_floats((size_t)n * planes * h * w, 9, 1.0f);
    sp__tensor x = { 0 }, out = { 0 };
    sp__tensor_ensure(&x, nn, n, planes, h, w);
    sp__tensor_write(&x, xv);
    if (precision == SP_PRECISION_F32) /* a warm plan must be refolded once the statistics move */
        ck_assert_int_eq(sp__tower_warm_up(&t, n, h, w), SP_OK);
    for (int s = 0; s < train_steps; s++) /* moves the running statistics */
        ck_assert_int_eq(sp__tower_forward(&t, &x, 1), SP_OK);
    int rc = sp__tower_infer(&t, &x, &out);
    float *got = NULL;
    /* bf16 needs CPU support (absent under valgrind's emulated CPU). */
    if (!(rc == SP_ERR_UNSUPPORTED && precision == SP_PRECISION_BF16)) {
        ck_assert_msg(rc == SP_OK, "%s", sp_last_error());
        ck_assert_ptr_null(strstr(sp__tower_infer_impl(&t), "ref"));
        got = tensor_host(&out);
    }
    if (layered) {
        ck_assert_int_eq(sp__tower_forward(&t, &x, 0), SP_OK);
        *layered = tensor_host(t.out);
        /* Both against the double reference with the running statistics. */
        int layers = 1 + 2 * blocks;
        double *pv[5][5];
        for (int i = 0; i < layers; i++) {
            sp__linear *conv;
            sp__bnorm *bn;
            tower_layer(&t, i, &conv, &bn);
            pv[0][i] = value_double(conv->weight);
            pv[1][i] = value_double(bn->gamma);
            pv[2][i] = value_double(bn->beta);
            pv[3][i] = value_double(bn->mean);
            pv[4][i] = value_double(bn->var);
        }
        sp__ref_tower ref = { planes, channels, blocks, (const double *const *)pv[0], (const double *const *)pv[1],
                              (const double *const *)pv[2], (const double *const *)pv[3],
                              (const double *const *)pv[4] };
        size_t count = (size_t)n * channels * h * w;
        double *xd = to_double(xv, (size_t)n * planes * h * w), *want = malloc(count * sizeof *want);
        sp__ref_tower_forward(&ref, xd, (int)n, h, w, want);
        ck_assert_msg(max_rel(got, want, count) < 1e-5, "fused vs reference %g", max_rel(got, want, count));
        ck_assert_msg(max_rel(*layered, want, count) < 1e-5, "layered vs reference %g", max_rel(*layered, want, count));
        for (int k = 0; k < 5; k++)
            for (int i = 0; i < layers; i++)
                free(pv[k][i]);
        free(xd);
        free(want);
    }
    free(xv);
    sp__tensor_release(&x);
    sp__tensor_release(&out);
    sp__tower_release(&t);
    sp__params_release(&ps);
    sp__nn_free(nn);
    return got;
}

START_TEST(tower_inference_folds_batch_norm)
{
    float *layered;
    float *fused = run_infer(SP_PRECISION_F32, 4, 3, &layered);
    size_t count = 4 * 16 * 81;
    double *ref = to_double(layered, count);
    ck_assert_msg(max_rel(fused, ref, count) < 1e-4, "fused vs layered %g", max_rel(fused, ref, count));
    float *bf16 = run_infer(SP_PRECISION_BF16, 4, 3, NULL);
    if (bf16) {
        double err = max_rel(bf16, ref, count);
        ck_assert_msg(err < 0.02, "bf16 vs f32 %g", err);
        ck_assert_msg(err > 0.0, "bf16 path looks like f32");
    } else {
        fprintf(stderr, "nn: this CPU runs no bf16 convolutions; bf16 check skipped\n");
    }
    free(ref);
    free(layered);
    free(fused);
    free(bf16);
}
END_TEST


/* ------------------------------------------------------------------------ */
/* Optimizers */

START_TEST(schedules_give_the_stated_rates)
{
    sp__optim_config c;
    sp__optim_defaults(&c, SP__OPT_SGD);
    c.lr = 1.0;
    ck_assert_double_eq(sp__optim_lr(&c, 12345), 1.0);
    c.schedule = SP__LR_STEP;
    c.step_size = 10;
    c.gamma = 0.5;
    ck_assert_double_eq(sp__optim_lr(&c, 9), 1.0);
    ck_assert_double_eq(sp__optim_lr(&c, 10), 0.5);
    ck_assert_double_eq(sp__optim_lr(&c, 25), 0.25);
    c.schedule = SP__LR_COSINE;
    c.warmup_steps = 10;
    c.total_steps = 110;
    c.min_lr = 0.0;
    ck_assert_double_eq_tol(sp__optim_lr(&c, 0), 0.1, 1e-12);
    ck_assert_double_eq_tol(sp__optim_lr(&c, 9), 1.0, 1e-12);
    ck_assert_double_eq_tol(sp__optim_lr(&c, 10), 1.0, 1e-12);
    ck_assert_double_eq_tol(sp__optim_lr(&c, 60), 0.5, 1e-12);
    ck_assert_double_eq_tol(sp__optim_lr(&c, 110), 0.0, 1e-12);
    ck_assert_double_eq_tol(sp__optim_lr(&c, 500), 0.0, 1e-12);
    c.step_size = 0;
    c.schedule = SP__LR_STEP;
    ck_assert_int_eq(sp__optim_check(&c), SP_ERR_INVALID_ARG);
}
END_TEST

/* Three steps of each optimizer against the update rules in double. */
static void check_optimizer(int kind, double clip)
{
    sp__nn *nn = make_nn(SP_PRECISION_F32);
    sp__params ps;
    sp__params_setup(&ps, nn);
    sp__linear d;
    ck_assert_int_eq(sp__dense_setup(&d, &ps, "d", 3, 0, 0, 2, 1), SP_OK);
    sp__params_initialise(&ps, 3);
    sp__optim o = { .step = 0 };
    sp__optim_defaults(&o.config, kind);
    o.config.lr = 0.05;
    o.config.weight_decay = 0.1;
    o.config.clip_norm = clip;
    sp__param *p[2] = { d.weight, d.bias };
    double w[2][6], m[2][6] = { { 0 } }, v[2][6] = { { 0 } };
    for (int k = 0; k < 2; k++) {
        float tmp[6];
        sp__param_read(p[k], tmp);
        for (size_t j = 0; j < p[k]->count; j++)
            w[k][j] = tmp[j];
    }
    for (int step = 0; step < 3; step++) {
        float g[2][6];
        double norm = 0.0;
        for (int k = 0; k < 2; k++) {
            float *r = rand_floats(p[k]->count, 60 + 10 * step + k, 3.0f);
            memcpy(g[k], r, p[k]->count * sizeof(float));
            free(r);
            sp__param_write_grad(p[k], g[k]);
            for (size_t j = 0; j < p[k]->count; j++)
                norm += (double)g[k][j] * g[k][j];
        }
        norm = sqrt(norm);
        double scale = clip > 0 && norm > clip ? clip / norm : 1.0, got_norm;
        ck_assert_int_eq(sp__optim_step(&o, &ps, &got_norm), SP_OK);
        ck_assert_double_eq_tol(got_norm, norm, 1e-5 * norm);
        double t = step + 1;
        for (int k = 0; k < 2; k++) {
            double wd = k == 0 ? 0.1 : 0.0; /* biases are not decayed */
            for (size_t j = 0; j < p[k]->count; j++) {
                double gj = scale * g[k][j];
                if (kind == SP__OPT_SGD) {
                    m[k][j] = 0.9 * m[k][j] + gj + wd * w[k][j];
                    w[k][j] -= 0.05 * m[k][j];
                } else {
                    m[k][j] = 0.9 * m[k][j] + 0.1 * gj;
                    v[k][j] = 0.999 * v[k][j] + 0.001 * gj * gj;
                    double mh = m[k][j] / (1 - pow(0.9, t)), vh = v[k][j] / (1 - pow(0.999, t));
                    w[k][j] -= 0.05 * (mh / (sqrt(vh) + 1e-8) + wd * w[k][j]);
                }
            }
            float now[6];
            sp__param_read(p[k], now);
            for (size_t j = 0; j < p[k]->count; j++)
                ck_assert_msg(fabs(now[j] - w[k][j]) < 1e-5, "%s step %d: %g vs %g", kind ? "adamw" : "sgd", step,
                              now[j], w[k][j]);
        }
    }
    ck_assert_int_eq(o.step, 3);
    sp__linear_release(&d);
    sp__params_release(&ps);
    sp__nn_free(nn);
}

START_TEST(optimizers_follow_their_update_rules)
{
    check_optimizer(SP__OPT_SGD, 0.0);
    check_optimizer(SP__OPT_ADAMW, 0.0);
    check_optimizer(SP__OPT_SGD, 1.0); /* gradients of norm ~5 clipped to 1 */
    check_optimizer(SP__OPT_ADAMW, 1.0);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* A tiny network: tower -> policy (soft targets) and value heads. */

typedef struct tiny_net {
    sp__nn *nn;
    sp__params ps;
    sp__tower tower;
    sp__linear policy, value;
    sp__act value_tanh;
    sp__add join;
    sp__tensor x, dlogits, dvalue;
    sp__optim opt;
} tiny_net;

enum { TINY_N = 64, TINY_BATCH = 16, TINY_SIZE = 5, TINY_POINTS = 25 };

static void tiny_open(tiny_net *t, uint64_t seed)
{
    memset(t, 0, sizeof *t);
    t->nn = make_nn(SP_PRECISION_F32);
    sp__params_setup(&t->ps, t->nn);
    ck_assert_int_eq(sp__tower_setup(&t->tower, &t->ps, "tower", 2, 8, 1), SP_OK);
    ck_assert_int_eq(sp__dense_setup(&t->policy, &t->ps, "policy", 8, TINY_SIZE, TINY_SIZE, TINY_POINTS, 1), SP_OK);
    ck_assert_int_eq(sp__dense_setup(&t->value, &t->ps, "value", 8, TINY_SIZE, TINY_SIZE, 1, 1), SP_OK);
    sp__act_setup(&t->value_tanh, t->nn, SP__ACT_TANH);
    sp__add_setup(&t->join, t->nn);
    ck_assert_int_eq(sp__params_initialise(&t->ps, seed), SP_OK);
    sp__optim_defaults(&t->opt.config, SP__OPT_ADAMW);
    t->opt.config.lr = 3e-3;
    t->opt.config.clip_norm = 5.0;
    t->opt.config.schedule = SP__LR_COSINE;
    t->opt.config.warmup_steps = 20;
    t->opt.config.total_steps = 400;
    t->opt.config.min_lr = 3e-4;
}

static void tiny_close(tiny_net *t)
{
    sp__tensor_release(&t->x);
    sp__tensor_release(&t->dlogits);
    sp__tensor_release(&t->dvalue);
    sp__tower_release(&t->tower);
    sp__linear_release(&t->policy);
    sp__linear_release(&t->value);
    sp__act_release(&t->value_tanh);
    sp__add_release(&t->join);
    sp__params_release(&t->ps);
    sp__nn_free(t->nn);
}

/* Fixed synthetic data: random stones; the policy target spreads over the
 * first plane's stones, the value is the stone balance. */
static void tiny_data(float *planes, float *policy, float *value)
{
    struct sp_rng rng;
    sp__rng_seed(&rng, 2024);
    for (int i = 0; i < TINY_N; i++) {
        float *x = planes + i * 2 * TINY_POINTS;
        double own = 0, other = 0;
        for (int j = 0; j < TINY_POINTS; j++) {
            uint32_t r = sp__rng_below(&rng, 3);
            x[j] = r == 1;
            x[TINY_POINTS + j] = r == 2;
            own += r == 1;
            other += r == 2;
        }
        for (int j = 0; j < TINY_POINTS; j++)
            policy[i * TINY_POINTS + j] = own > 0 ? (float)(x[j] / own) : 1.0f / TINY_POINTS;
        value[i] = (float)((own - other) / 10.0);
        if (value[i] > 0.9f)
            value[i] = 0.9f;
        if (value[i] < -0.9f)
            value[i] = -0.9f;
    }
}

/* One pass over a batch; training also steps the optimizer. */
static void tiny_batch(tiny_net *t, const float *planes, const float *policy, const float *value, int training,
                       double *xent, double *mse)
{
    ck_assert_int_eq(sp__tensor_ensure(&t->x, t->nn, TINY_BATCH, 2, TINY_SIZE, TINY_SIZE), SP_OK);
    sp__tensor_write(&t->x, planes);
    ck_assert_int_eq(sp__tower_forward(&t->tower, &t->x, training), SP_OK);
    ck_assert_int_eq(sp__linear_forward(&t->policy, t->tower.out, training), SP_OK);
    ck_assert_int_eq(sp__linear_forward(&t->value, t->tower.out, training), SP_OK);
    ck_assert_int_eq(sp__act_forward(&t->value_tanh, &t->value.out), SP_OK);
    ck_assert_int_eq(sp__softmax_xent(&t->policy.out, policy, xent, training ? &t->dlogits : NULL, t->nn), SP_OK);
    ck_assert_int_eq(sp__mse(&t->value_tanh.out, value, mse, training ? &t->dvalue : NULL, t->nn), SP_OK);
    if (!training)
        return;
    sp__params_zero_grad(&t->ps);
    ck_assert_int_eq(sp__linear_backward(&t->policy, &t->dlogits, 1), SP_OK);
    ck_assert_int_eq(sp__act_backward(&t->value_tanh, &t->dvalue), SP_OK);
    ck_assert_int_eq(sp__linear_backward(&t->value, &t->value_tanh.dsrc, 1), SP_OK);
    ck_assert_int_eq(sp__add_forward(&t->join, &t->policy.dsrc, &t->value.dsrc), SP_OK);
    ck_assert_int_eq(sp__tower_backward(&t->tower, &t->join.out, 0), SP_OK);
    ck_assert_int_eq(sp__optim_step(&t->opt, &t->ps, NULL), SP_OK);
}

/* Trains `steps` steps; returns the evaluation losses over the whole set
 * (inference mode) minus the targets' entropy for the policy. */
static void tiny_train(tiny_net *t, int steps, double *xent_excess, double *mse, double *history)
{
    float planes[TINY_N * 2 * TINY_POINTS], policy[TINY_N * TINY_POINTS], value[TINY_N];
    tiny_data(planes, policy, value);
    for (int s = 0; s < steps; s++) {
        int b = s % (TINY_N / TINY_BATCH);
        double x, m;
        tiny_batch(t, planes + b * TINY_BATCH * 2 * TINY_POINTS, policy + b * TINY_BATCH * TINY_POINTS,
                   value + b * TINY_BATCH, 1, &x, &m);
        if (history)
            history[s] = x + m;
    }
    double entropy = 0.0, xsum = 0.0, msum = 0.0;
    for (int i = 0; i < TINY_N * TINY_POINTS; i++)
        if (policy[i] > 0)
            entropy -= policy[i] * log(policy[i]);
    entropy /= TINY_N;
    for (int b = 0; b < TINY_N / TINY_BATCH; b++) {
        double x, m;
        tiny_batch(t, planes + b * TINY_BATCH * 2 * TINY_POINTS, policy + b * TINY_BATCH * TINY_POINTS,
                   value + b * TINY_BATCH, 0, &x, &m);
        xsum += x;
        msum += m;
    }
    *xent_excess = xsum / (TINY_N / TINY_BATCH) - entropy;
    *mse = msum / (TINY_N / TINY_BATCH);
}

START_TEST(tiny_network_learns_and_is_reproducible)
{
    enum { STEPS = 400 };
    static double h1[STEPS], h2[STEPS];
    tiny_net a, b;
    double xa, ma, xb, mb, x0, m0;
    tiny_open(&a, 42);
    tiny_train(&a, 0, &x0, &m0, NULL);
    tiny_train(&a, STEPS, &xa, &ma, h1);
    tiny_open(&b, 42);
    tiny_train(&b, STEPS, &xb, &mb, h2);
    /* Stated bounds: the policy's cross-entropy comes within 0.1 nats of
     * the targets' entropy (from about 1.5 above it) and the value's squared
     * error falls below 0.01 (from about 1). */
    ck_assert_msg(xa < 0.1 && ma < 0.01, "policy excess %.4f (start %.4f), value mse %.4f (start %.4f)", xa, x0, ma,
                  m0);
    ck_assert_mem_eq(h1, h2, sizeof h1); /* identical seeds, one thread: identical runs */
    ck_assert_double_eq(xa, xb);
    ck_assert_double_eq(ma, mb);
    tiny_close(&a);
    tiny_close(&b);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Parameter files */

static const char *temp_path(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/sp_test_nn_%d_%s", P_tmpdir, (int)getpid(), name);
    return path;
}

START_TEST(parameters_and_optimizer_state_round_trip)
{
    tiny_net a, b;
    double x, m, xb, mbv;
    tiny_open(&a, 1);
    tiny_train(&a, 10, &x, &m, NULL);
    const char *path = temp_path("roundtrip.spm");
    ck_assert_msg(sp__params_save_file(&a.ps, &a.opt, path) == SP_OK, "%s", sp_last_error());
    tiny_open(&b, 2); /* different initial values */
    ck_assert_msg(sp__params_load_file(&b.ps, &b.opt, path) == SP_OK, "%s", sp_last_error());
    ck_assert_int_eq(b.opt.step, 10);
    for (size_t i = 0; i < a.ps.count; i++) {
        sp__param *p = a.ps.items[i], *q = b.ps.items[i];
        float *u = malloc(p->count * sizeof *u), *v = malloc(p->count * sizeof *v);
        sp__param_read(p, u);
        sp__param_read(q, v);
        ck_assert_mem_eq(u, v, p->count * sizeof *u);
        for (int s = 0; s < 2; s++) {
            ck_assert((p->state[s] == NULL) == (q->state[s] == NULL));
            if (p->state[s])
                ck_assert_mem_eq(p->state[s], q->state[s], p->count * sizeof(float));
        }
        free(u);
        free(v);
    }
    /* Both continue identically. */
    tiny_train(&a, 5, &x, &m, NULL);
    tiny_train(&b, 5, &xb, &mbv, NULL);
    ck_assert_double_eq(x, xb);
    ck_assert_double_eq(m, mbv);
    unlink(path);
    tiny_close(&a);
    tiny_close(&b);
}
END_TEST

START_TEST(corrupt_or_mismatched_parameter_files_are_refused)
{
    tiny_net a;
    tiny_open(&a, 1);
    sp__spm_writer w;
    sp__spm_writer_init(&w);
    ck_assert_int_eq(sp__params_save(&a.ps, &a.opt, &w), SP_OK);
    unsigned char *file;
    size_t size;
    ck_assert_int_eq(sp__spm_serialise(&w, &file, &size), SP_OK);
    sp__spm_writer_release(&w);
    sp__spm_reader r;
    ck_assert_int_eq(sp__spm_parse(&r, file, size), SP_OK);
    /* Every truncation is refused. */
    for (size_t cut = 0; cut < size; cut += 1 + cut / 8)
        ck_assert_int_eq(sp__spm_parse(&r, file, cut), SP_ERR_FORMAT);
    /* A flipped byte anywhere is caught by a checksum (or the magic). */
    for (size_t at = 0; at < size; at += 1 + at / 16) {
        file[at] ^= 0x20;
        int rc = sp__spm_parse(&r, file, size);
        ck_assert_msg(rc == SP_ERR_FORMAT || rc == SP_ERR_VERSION, "flip at %zu accepted", at);
        file[at] ^= 0x20;
    }
    file[0] = 'X';
    ck_assert_int_eq(sp__spm_parse(&r, file, size), SP_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "not a libsemiparam model file"));
    file[0] = 'S';
    /* A newer format version. */
    file[8] = 2;
    ck_assert_int_eq(sp__spm_parse(&r, file, size), SP_ERR_VERSION);
    file[8] = 1;

    /* A different architecture: wider tower. */
    sp__nn *nn = make_nn(SP_PRECISION_F32);
    sp__params other;
    sp__params_setup(&other, nn);
    sp__tower t;
    ck_assert_int_eq(sp__tower_setup(&t, &other, "tower", 2, 16, 1), SP_OK);
    sp__linear pol, val;
    sp__dense_setup(&pol, &other, "policy", 16, TINY_SIZE, TINY_SIZE, TINY_POINTS, 1);
    sp__dense_setup(&val, &other, "value", 16, TINY_SIZE, TINY_SIZE, 1, 1);
    ck_assert_int_eq(sp__spm_parse(&r, file, size), SP_OK);
    ck_assert_int_eq(sp__params_load(&other, NULL, &r, NULL), SP_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "does not fit the model"));
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "tower.stem.conv.weight"));
    /* Fewer parameters. */
    sp__linear_release(&val);
    sp__params_release(&other);
    sp__params_setup(&other, nn);
    sp__linear_release(&pol);
    sp__dense_setup(&pol, &other, "policy", 8, TINY_SIZE, TINY_SIZE, TINY_POINTS, 1);
    ck_assert_int_eq(sp__params_load(&other, NULL, &r, NULL), SP_ERR_FORMAT);
    /* A file without parameters, and missing files. */
    sp__spm_writer_init(&w);
    sp__spm_add(&w, "other", "x", 1, 0);
    unsigned char *empty;
    size_t empty_size;
    sp__spm_serialise(&w, &empty, &empty_size);
    sp__spm_writer_release(&w);
    ck_assert_int_eq(sp__spm_parse(&r, empty, empty_size), SP_OK);
    ck_assert_int_eq(sp__params_load(&a.ps, NULL, &r, NULL), SP_ERR_FORMAT);
    ck_assert_int_eq(sp__params_load_file(&a.ps, NULL, temp_path("missing.spm")), SP_ERR_IO);
    free(empty);
    free(file);
    sp__tower_release(&t);
    sp__linear_release(&pol);
    sp__params_release(&other);
    sp__nn_free(nn);
    tiny_close(&a);
}
END_TEST

Suite *nn_suite(void);
Suite *nn_suite(void)
{
    Suite *s = suite_create("nn");
    TCase *tc = tcase_create("layers");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, gpu_request_without_gpu_fails_clearly);
    tcase_add_test(tc, thread_count_is_restored_and_per_thread);
    tcase_add_test(tc, conv3x3_matches_reference_and_differences);
    tcase_add_test(tc, conv1x1_matches_reference_and_differences);
    tcase_add_test(tc, dense_matches_reference_and_differences);
    tcase_add_test(tc, batchnorm_matches_reference_and_differences);
    tcase_add_test(tc, activations_match_reference_and_differences);
    tcase_add_test(tc, add_concat_and_neighbour_sum_match_reference_and_differences);
    tcase_add_test(tc, repeat_matches_reference_and_differences);
    tcase_add_test(tc, losses_match_reference_and_differences);
    tcase_add_test(tc, tower_matches_reference_and_differences);
    tcase_add_test(tc, tower_inference_folds_batch_norm);
    tcase_add_test(tc, shared_tower_adds_gradients);
    tcase_add_test(tc, schedules_give_the_stated_rates);
    tcase_add_test(tc, optimizers_follow_their_update_rules);
    tcase_add_test(tc, tiny_network_learns_and_is_reproducible);
    tcase_add_test(tc, parameters_and_optimizer_state_round_trip);
    tcase_add_test(tc, corrupt_or_mismatched_parameter_files_are_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(nn_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
