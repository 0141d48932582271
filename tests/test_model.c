/* model: the MuZero-style network of lib/model (internal so far). The
 * min-max normalisation against central differences of a double reference
 * (a constant input too), the whole K = 2 unroll's gradient against finite
 * differences (the plain gradient, and MuZero's with the halved dynamics
 * input), inference against the unroll in inference mode, and a tiny batch
 * that a few dozen SGD steps fit. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_net.h"
#include "nn/optim.h"

/* ------------------------------------------------------------------------ */
/* Helpers */

static sp__nn *make_nn(void)
{
    sp_nn_options o = SP_NN_OPTIONS_INIT;
    o.backend = SP_BACKEND_CPU;
    o.threads = 1;
    o.precision = SP_PRECISION_F32;
    sp__nn *nn = NULL;
    ck_assert_msg(sp__nn_create(&nn, &o) == SP_OK, "%s", sp_last_error());
    return nn;
}

static double uniform(struct sp_rng *rng)
{
    return (double)(sp__rng_next(rng) >> 11) / 9007199254740992.0;
}

static float *rand_floats(size_t n, uint64_t seed, float scale)
{
    struct sp_rng rng;
    sp__rng_seed(&rng, seed);
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = (float)((uniform(&rng) * 2.0 - 1.0) * scale);
    return v;
}

static float *tensor_host(const sp__tensor *t)
{
    float *v = malloc(sp__tensor_count(t) * sizeof *v);
    ck_assert_int_eq(sp__tensor_read(t, v), SP_OK);
    return v;
}

/* Relative L2 error of a against b. */
static double rel_l2(const float *a, const double *b, size_t n)
{
    double diff = 0.0, norm = 0.0;
    for (size_t i = 0; i < n; i++) {
        diff += (a[i] - b[i]) * (a[i] - b[i]);
        norm += b[i] * b[i];
    }
    return sqrt(diff) / fmax(sqrt(norm), 1e-12);
}

/* max |a - b| relative to max |b|. */
static double max_rel(const float *a, const float *b, size_t n)
{
    double diff = 0.0, scale = 1e-12;
    for (size_t i = 0; i < n; i++) {
        diff = fmax(diff, fabs((double)a[i] - b[i]));
        scale = fmax(scale, fabs((double)b[i]));
    }
    return diff / scale;
}

/* ------------------------------------------------------------------------ */
/* Min-max normalisation */

enum { MM_N = 3, MM_C = 2, MM_H = 3, MM_W = 3, MM_PER = MM_C * MM_H * MM_W };

/* sum R * y in double, y the normalisation of x per item (NCHW order; the
 * per-item min and max do not depend on the layout). */
static double minmax_ref(const double *x, const double *r, int n)
{
    double s = 0.0;
    for (int b = 0; b < n; b++) {
        const double *xb = x + b * MM_PER;
        double lo = xb[0], hi = xb[0];
        for (int i = 1; i < MM_PER; i++) {
            lo = fmin(lo, xb[i]);
            hi = fmax(hi, xb[i]);
        }
        for (int i = 0; i < MM_PER; i++)
            s += r[b * MM_PER + i] * (xb[i] - lo) / (hi - lo + SP__MINMAX_EPS);
    }
    return s;
}

START_TEST(minmax_matches_reference_and_differences)
{
    sp__nn *nn = make_nn();
    sp__minmax mm;
    sp__minmax_setup(&mm, nn, SP__MINMAX_EPS);
    size_t count = MM_N * MM_PER;
    float *xv = rand_floats(count, 11, 2.0f), *rv = rand_floats(count, 12, 1.0f);
    /* Item 1 constant: no division by zero, a zero output. */
    for (int i = 0; i < MM_PER; i++)
        xv[MM_PER + i] = 0.75f;
    sp__tensor x = { 0 }, dout = { 0 };
    sp__tensor_ensure(&x, nn, MM_N, MM_C, MM_H, MM_W);
    sp__tensor_ensure(&dout, nn, MM_N, MM_C, MM_H, MM_W);
    sp__tensor_write(&x, xv);
    sp__tensor_write(&dout, rv);
    ck_assert_int_eq(sp__minmax_forward(&mm, &x), SP_OK);
    float *y = tensor_host(&mm.out);
    for (size_t i = 0; i < count; i++) {
        ck_assert_msg(isfinite(y[i]) && y[i] >= 0.0f && y[i] <= 1.0f, "y[%zu] = %g", i, (double)y[i]);
        if (i / MM_PER == 1)
            ck_assert_msg(y[i] == 0.0f, "constant item: y[%zu] = %g", i, (double)y[i]);
    }
    ck_assert_int_eq(sp__minmax_backward(&mm, &dout), SP_OK);
    float *g = tensor_host(&mm.dsrc);
    double x_d[MM_N * MM_PER], r_d[MM_N * MM_PER], fd[MM_N * MM_PER];
    for (size_t i = 0; i < count; i++) {
        x_d[i] = xv[i];
        r_d[i] = rv[i];
        ck_assert(isfinite(g[i]));
    }
    /* Items 0 and 2 (no ties): central differences of the double reference. */
    const double h = 1e-6;
    for (int b = 0; b < MM_N; b += 2) {
        for (int i = 0; i < MM_PER; i++) {
            size_t j = (size_t)(b * MM_PER + i);
            double save = x_d[j];
            x_d[j] = save + h;
            double plus = minmax_ref(x_d, r_d, MM_N);
            x_d[j] = save - h;
            double minus = minmax_ref(x_d, r_d, MM_N);
            x_d[j] = save;
            fd[i] = (plus - minus) / (2 * h);
        }
        double err = rel_l2(g + b * MM_PER, fd, MM_PER);
        ck_assert_msg(err < 1e-4, "item %d: min-max gradient relative error %g", b, err);
    }
    /* The constant item is a kink: its one-sided derivative along a
     * direction d whose smallest entry is the first element (where the
     * backward puts the arg-min) is g . d. */
    double t = 1e-10, gd = 0.0, base = 0.0, moved;
    float *d = rand_floats(MM_PER, 13, 1.0f);
    for (int i = 1; i < MM_PER; i++)
        d[i] = fabsf(d[i]) + 0.1f;
    d[0] = 0.0f;
    for (int i = 0; i < MM_PER; i++)
        gd += (double)g[MM_PER + i] * d[i];
    double one[MM_PER], rone[MM_PER];
    for (int i = 0; i < MM_PER; i++) {
        one[i] = x_d[MM_PER + i];
        rone[i] = r_d[MM_PER + i];
    }
    base = minmax_ref(one, rone, 1);
    for (int i = 0; i < MM_PER; i++)
        one[i] += t * d[i];
    moved = minmax_ref(one, rone, 1);
    double fd1 = (moved - base) / t;
    ck_assert_msg(fabs(fd1 - gd) < 1e-3 * fmax(fabs(fd1), 1.0), "constant item: g.d %g, one-sided difference %g",
                  gd, fd1);
    free(d);
    free(xv);
    free(rv);
    free(y);
    free(g);
    sp__tensor_release(&x);
    sp__tensor_release(&dout);
    sp__minmax_release(&mm);
    sp__nn_free(nn);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* The unrolled network */

enum { T_N = 4, T_K = 2, T_SIZE = 3, T_POINTS = T_SIZE * T_SIZE, T_ACTIONS = T_POINTS + 1, T_PLANES = 2 };

typedef struct tiny_batch {
    float planes[T_N * T_PLANES * T_POINTS];
    float policy[(T_K + 1) * T_N * T_ACTIONS];
    float value[(T_K + 1) * T_N];
    float action[T_K * T_N];
    sp__model_targets targets;
} tiny_batch;

static void tiny_arch(sp__model_arch *a)
{
    sp__model_arch_default(a);
    a->board_size = T_SIZE;
    a->input_planes = T_PLANES;
    a->channels = 3;
    a->repr_blocks = 1;
    a->dyn_blocks = 1;
    a->policy_channels = 2;
    a->value_channels = 1;
    a->value_hidden = 4;
}

static void tiny_open(sp__model_net *m, sp__nn *nn, uint64_t seed)
{
    sp__model_arch a;
    tiny_arch(&a);
    ck_assert_msg(sp__model_net_setup(m, nn, &a, T_K, seed) == SP_OK, "%s", sp_last_error());
    m->value_weight = 0.5f;
}

/* Random stones; soft policy targets; values in [-0.8, 0.8]; one pass
 * among the actions. */
static void tiny_data(tiny_batch *b, uint64_t seed)
{
    struct sp_rng rng;
    sp__rng_seed(&rng, seed);
    for (size_t i = 0; i < sizeof b->planes / sizeof *b->planes; i++)
        b->planes[i] = sp__rng_below(&rng, 3) == 0;
    for (int r = 0; r < (T_K + 1) * T_N; r++) {
        double sum = 0.0;
        for (int a = 0; a < T_ACTIONS; a++) {
            double p = uniform(&rng);
            b->policy[r * T_ACTIONS + a] = (float)(p * p * p);
            sum += p * p * p;
        }
        for (int a = 0; a < T_ACTIONS; a++)
            b->policy[r * T_ACTIONS + a] /= (float)sum;
        b->value[r] = (float)(uniform(&rng) * 1.6 - 0.8);
    }
    for (int i = 0; i < T_K * T_N; i++)
        b->action[i] = (float)sp__rng_below(&rng, T_POINTS);
    b->action[1] = T_POINTS;
    b->targets = (sp__model_targets){ b->policy, b->value, b->action, NULL };
}

/* A network and a batch from one seed; tiny_stop frees both parts. */
static sp__nn *tiny_start(sp__model_net *m, tiny_batch *b, uint64_t seed)
{
    sp__nn *nn = make_nn();
    tiny_open(m, nn, seed);
    tiny_data(b, seed + 1);
    return nn;
}

static void tiny_stop(sp__model_net *m, sp__nn *nn)
{
    sp__model_net_release(m);
    sp__nn_free(nn);
}

static double tiny_loss(sp__model_net *m, tiny_batch *b, int mode, sp__model_losses *l)
{
    sp__model_losses own;
    l = l ? l : &own;
    ck_assert_msg(sp__model_net_unroll(m, b->planes, T_N, T_K, &b->targets, mode, l) == SP_OK, "%s",
                  sp_last_error());
    return l->total;
}

/* Steps of SGD with momentum on the one batch. */
static void sgd_steps(sp__model_net *m, tiny_batch *b, double lr, int steps)
{
    sp__optim opt = { 0 };
    sp__optim_defaults(&opt.config, SP__OPT_SGD);
    opt.config.lr = lr;
    for (int s = 0; s < steps; s++) {
        sp__params_zero_grad(&m->ps);
        tiny_loss(m, b, SP__MODEL_TRAIN, NULL);
        ck_assert_int_eq(sp__optim_step(&opt, &m->ps, NULL), SP_OK);
    }
}

static int is_repr(const sp__param *p)
{
    return strncmp(p->name, "repr.", 5) == 0;
}

static int is_dyn(const sp__param *p)
{
    return strncmp(p->name, "dyn.", 4) == 0;
}

/* The loss of step k as the unroll weights it. */
static double step_weighted(const sp__model_net *m, const sp__model_losses *l, int k)
{
    return (k == 0 ? 1.0 : 1.0 / T_K) * (l->policy[k] + m->value_weight * l->value[k]);
}

/* Central differences of every trained parameter against the analytic
 * gradient. With the plain gradient (scale 1) every parameter follows the
 * total loss. With MuZero's scale s the gradient of step k's loss reaches
 * the representation through k halved dynamics inputs, so the
 * representation's differences are sum_k s^k dL_k; the heads' are the total
 * loss's; the dynamics' (its two applications mixed) are left to scale 1. */
static void check_unroll_gradient(float scale)
{
    sp__model_net m;
    static tiny_batch b;
    sp__nn *nn = tiny_start(&m, &b, 5);
    m.dyn_grad_scale = scale;
    sp__params_zero_grad(&m.ps);
    tiny_loss(&m, &b, SP__MODEL_TRAIN, NULL);
    /* Large enough for f32 round-off, small enough to cross few kinks
     * (ReLU, the arg-min and arg-max of the normalisation): the worst
     * error here is about 4e-3; 1e-3 crosses kinks, 1e-4 is noisy. */
    const double h = 3e-4;
    double worst = 0.0;
    const char *worst_name = "";
    size_t checked = 0;
    for (size_t pi = 0; pi < m.ps.count; pi++) {
        sp__param *p = m.ps.items[pi];
        if (p->flags & SP__PARAM_BUFFER || (scale != 1.0f && is_dyn(p)))
            continue;
        float *v = malloc(p->count * sizeof *v), *g = malloc(p->count * sizeof *g);
        double *fd = malloc(p->count * sizeof *fd);
        ck_assert_int_eq(sp__param_read(p, v), SP_OK);
        ck_assert_int_eq(sp__param_read_grad(p, g), SP_OK);
        for (size_t i = 0; i < p->count; i++) {
            float save = v[i];
            sp__model_losses lp, lm;
            v[i] = save + (float)h;
            sp__param_write(p, v);
            tiny_loss(&m, &b, SP__MODEL_FORWARD, &lp);
            v[i] = save - (float)h;
            sp__param_write(p, v);
            tiny_loss(&m, &b, SP__MODEL_FORWARD, &lm);
            v[i] = save;
            sp__param_write(p, v);
            if (scale != 1.0f && is_repr(p)) {
                fd[i] = 0.0;
                for (int k = 0; k <= T_K; k++)
                    fd[i] += pow(scale, k) * (step_weighted(&m, &lp, k) - step_weighted(&m, &lm, k)) / (2 * h);
            } else {
                fd[i] = (lp.total - lm.total) / (2 * h);
            }
        }
        double err = rel_l2(g, fd, p->count);
        if (err > worst) {
            worst = err;
            worst_name = p->name;
        }
        ck_assert_msg(err < 1e-2, "scale %g: %s gradient relative error %.3g", (double)scale, p->name, err);
        checked++;
        free(v);
        free(g);
        free(fd);
    }
    fprintf(stderr, "model: unroll gradient (scale %g), %zu parameters, worst relative error %.3g (%s)\n",
            (double)scale, checked, worst, worst_name);
    ck_assert(checked >= 10);
    tiny_stop(&m, nn);
}

START_TEST(unroll_gradient_matches_differences)
{
    check_unroll_gradient(1.0f);
}
END_TEST

START_TEST(unroll_gradient_halves_the_dynamics_input)
{
    check_unroll_gradient(0.5f);
}
END_TEST

/* Initial and recurrent inference give what the unroll computes in
 * inference mode, and the unroll's loss is step 0's plus 1/K of the rest
 * computed here from those outputs. */
START_TEST(inference_equals_unroll_in_inference_mode)
{
    sp__model_net m;
    static tiny_batch b;
    sp__nn *nn = tiny_start(&m, &b, 21);
    /* A few steps so the running statistics are not the initial ones. */
    sgd_steps(&m, &b, 0.02, 5);
    sp__model_losses l;
    tiny_loss(&m, &b, SP__MODEL_INFER, &l);
    size_t state_count = (size_t)T_N * 3 * T_POINTS;
    float *want_state[T_K + 1], *want_logits[T_K + 1], *want_value[T_K + 1];
    for (int k = 0; k <= T_K; k++) {
        want_state[k] = tensor_host(&m.step[k].norm.out);
        want_logits[k] = tensor_host(&m.step[k].heads.pdense.out);
        want_value[k] = tensor_host(&m.step[k].heads.vtanh.out);
    }
    float state[T_K + 1][T_N * 3 * T_POINTS], logits[T_N * T_ACTIONS], value[T_N];
    double total = 0.0;
    for (int k = 0; k <= T_K; k++) {
        if (k == 0)
            ck_assert_msg(sp__model_net_initial(&m, b.planes, T_N, state[0], logits, value) == SP_OK, "%s",
                          sp_last_error());
        else
            ck_assert_msg(sp__model_net_recurrent(&m, state[k - 1], b.action + (k - 1) * T_N, T_N, state[k], logits,
                                                  value) == SP_OK,
                          "%s", sp_last_error());
        double e1 = max_rel(state[k], want_state[k], state_count), e2 = max_rel(logits, want_logits[k], T_N * T_ACTIONS),
               e3 = max_rel(value, want_value[k], T_N);
        ck_assert_msg(e1 < 1e-5 && e2 < 1e-5 && e3 < 1e-5, "step %d: state %g, logits %g, value %g", k, e1, e2, e3);
        double xent = 0.0, mse = 0.0;
        for (int i = 0; i < T_N; i++) {
            const float *z = logits + i * T_ACTIONS, *t = b.policy + (k * T_N + i) * T_ACTIONS;
            double max = z[0], sum = 0.0;
            for (int a = 1; a < T_ACTIONS; a++)
                max = fmax(max, z[a]);
            for (int a = 0; a < T_ACTIONS; a++)
                sum += exp(z[a] - max);
            for (int a = 0; a < T_ACTIONS; a++)
                xent -= t[a] * (z[a] - max - log(sum));
            mse += (value[i] - b.value[k * T_N + i]) * (value[i] - b.value[k * T_N + i]);
        }
        total += (k == 0 ? 1.0 : 1.0 / T_K) * (xent + m.value_weight * mse) / T_N;
    }
    ck_assert_msg(fabs(total - l.total) < 1e-5 * fabs(total), "unroll loss %.8g, from the outputs %.8g", l.total,
                  total);
    for (int k = 0; k <= T_K; k++) {
        free(want_state[k]);
        free(want_logits[k]);
        free(want_value[k]);
    }
    tiny_stop(&m, nn);
}
END_TEST

/* SGD with momentum fits a fixed tiny batch: the unroll's loss falls. */
START_TEST(loss_falls_on_a_tiny_batch)
{
    enum { STEPS = 40 };
    sp__model_net m;
    static tiny_batch b;
    sp__nn *nn = tiny_start(&m, &b, 31);
    double first = tiny_loss(&m, &b, SP__MODEL_FORWARD, NULL);
    sgd_steps(&m, &b, 0.05, STEPS);
    double last = tiny_loss(&m, &b, SP__MODEL_FORWARD, NULL);
    fprintf(stderr, "model: tiny batch loss %.4f -> %.4f after %d SGD steps\n", first, last, STEPS);
    ck_assert_msg(isfinite(last) && last < 0.7 * first, "loss %.4f -> %.4f", first, last);
    tiny_stop(&m, nn);
}
END_TEST

/* A step past the game's end (mask 0) adds nothing to its losses; the
 * other steps' are unchanged, and a half-masked step counts its real items
 * over the whole batch. */
START_TEST(masked_steps_add_no_loss)
{
    sp__model_net m;
    static tiny_batch b;
    sp__nn *nn = tiny_start(&m, &b, 41);
    sp__model_losses full, masked;
    tiny_loss(&m, &b, SP__MODEL_INFER, &full);
    float mask[(T_K + 1) * T_N];
    for (int i = 0; i < (T_K + 1) * T_N; i++)
        mask[i] = i >= T_K * T_N ? 0.0f : 1.0f;
    b.targets.mask = mask;
    tiny_loss(&m, &b, SP__MODEL_INFER, &masked);
    for (int k = 0; k < T_K; k++) {
        ck_assert(masked.policy[k] == full.policy[k]);
        ck_assert(masked.value[k] == full.value[k]);
    }
    ck_assert(masked.policy[T_K] == 0.0 && masked.value[T_K] == 0.0);
    ck_assert(full.policy[T_K] > 0.0 && full.value[T_K] > 0.0);
    /* Item 0 alone at the last step: the other items' share of the mean goes. */
    mask[T_K * T_N] = 1.0f;
    tiny_loss(&m, &b, SP__MODEL_INFER, &masked);
    float *v = tensor_host(&m.step[T_K].heads.vtanh.out);
    double d = (double)v[0] - b.value[T_K * T_N];
    ck_assert_msg(fabs(masked.value[T_K] - d * d / T_N) < 1e-6, "value loss %g, item 0 alone %g", masked.value[T_K],
                  d * d / T_N);
    free(v);
    tiny_stop(&m, nn);
}
END_TEST

START_TEST(bad_architectures_and_arguments_are_refused)
{
    sp__nn *nn = make_nn();
    sp__model_net m;
    sp__model_arch a;
    tiny_arch(&a);
    a.channels = 0;
    ck_assert_int_eq(sp__model_net_setup(&m, nn, &a, 2, 1), SP_ERR_INVALID_ARG);
    tiny_arch(&a);
    ck_assert_int_eq(sp__model_net_setup(&m, nn, &a, 0, 1), SP_ERR_INVALID_ARG);
    tiny_open(&m, nn, 1);
    static tiny_batch b;
    tiny_data(&b, 2);
    b.action[3] = T_ACTIONS;
    sp__model_losses l;
    ck_assert_int_eq(sp__model_net_unroll(&m, b.planes, T_N, T_K, &b.targets, SP__MODEL_FORWARD, &l),
                     SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp__model_net_unroll(&m, b.planes, T_N, T_K + 1, &b.targets, SP__MODEL_FORWARD, &l),
                     SP_ERR_INVALID_ARG);
    tiny_stop(&m, nn);
}
END_TEST

Suite *model_suite(void);
Suite *model_suite(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("network");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, minmax_matches_reference_and_differences);
    tcase_add_test(tc, unroll_gradient_matches_differences);
    tcase_add_test(tc, unroll_gradient_halves_the_dynamics_input);
    tcase_add_test(tc, inference_equals_unroll_in_inference_mode);
    tcase_add_test(tc, loss_falls_on_a_tiny_batch);
    tcase_add_test(tc, masked_steps_add_no_loss);
    tcase_add_test(tc, bad_architectures_and_arguments_are_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(model_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
