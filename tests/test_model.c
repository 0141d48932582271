/* model: the MuZero-style network of lib/model and the sp_model handle
 * over it. The network: the min-max normalisation against central
 * differences of a double reference (a constant input too), the whole K = 2
 * unroll's gradient against finite differences (the plain gradient, and
 * MuZero's with the halved dynamics input), inference against the unroll
 * in inference mode, and a tiny batch that a few dozen SGD steps fit. The
 * handle (model.h): sizes and FLOPs against hand counts, exact save/load,
 * refused files, inference against the training forward pass, bf16, two
 * threads, and every bad argument. Its layers (sp_model_activations): the
 * list and shapes, each layer against the training forward pass at that
 * point, and every bad argument. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"
#include "model_fixtures.h"
#include "nn/optim.h"

/* ------------------------------------------------------------------------ */
/* Helpers */

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
    ck_assert_msg(sp__model_net_unroll(m, b->planes, NULL, T_N, T_K, &b->targets, mode, l) == SP_OK, "%s",
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
            ck_assert_msg(sp__model_net_initial(&m, b.planes, NULL, T_N, state[0], logits, value) == SP_OK, "%s",
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
    ck_assert_int_eq(sp__model_net_unroll(&m, b.planes, NULL, T_N, T_K, &b.targets, SP__MODEL_FORWARD, &l),
                     SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp__model_net_unroll(&m, b.planes, NULL, T_N, T_K + 1, &b.targets, SP__MODEL_FORWARD, &l),
                     SP_ERR_INVALID_ARG);
    tiny_stop(&m, nn);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* The sp_model handle (model.h) */

/* Board 3, one past position (4 planes), 3 channels, 1 + 1 blocks, heads
 * 2 / 1 / 4: small enough to count by hand. */
static sp_model_options tiny_options(void)
{
    sp_model_options o;
    ck_assert_int_eq(sp_model_options_init(&o, SP_MODEL_OPTIONS_VERSION), SP_OK);
    o.board_size = 3;
    o.history = 1;
    o.channels = 3;
    o.repr_blocks = 1;
    o.dyn_blocks = 1;
    o.policy_channels = 2;
    o.value_channels = 1;
    o.value_hidden = 4;
    return o;
}

/* Board 5, 6 planes, 8 channels, 2 + 2 blocks: every layer kind, still fast. */
static sp_model_options small_options(void)
{
    sp_model_options o = tiny_options();
    o.board_size = 5;
    o.history = 2;
    o.channels = 8;
    o.repr_blocks = 2;
    o.dyn_blocks = 2;
    o.value_hidden = 8;
    return o;
}

static int model_try(sp_model **out, const sp_model_options *o, int precision, uint64_t seed)
{
    sp_nn_options nn;
    ck_assert_int_eq(sp_nn_options_init(&nn, SP_NN_OPTIONS_VERSION), SP_OK);
    nn.backend = SP_BACKEND_CPU;
    nn.threads = 1;
    nn.precision = precision;
    nn.seed = seed;
    return sp_model_create(out, o, &nn);
}

static sp_model *model_open(const sp_model_options *o, uint64_t seed)
{
    sp_model *m = NULL;
    ck_assert_msg(model_try(&m, o, SP_PRECISION_F32, seed) == SP_OK, "%s", sp_last_error());
    return m;
}

static sp_model_info describe(const sp_model *m)
{
    sp_model_info info = SP_MODEL_INFO_INIT;
    ck_assert_msg(sp_model_describe(m, &info) == SP_OK, "%s", sp_last_error());
    return info;
}

/* Observation planes of stones (0/1) plus the two constant planes' values. */
static float *random_planes(const sp_model_info *info, int n, uint64_t seed)
{
    size_t count = (size_t)n * (size_t)info->input_planes * (size_t)(info->num_actions - 1);
    float *v = rand_floats(count, seed, 1.0f);
    for (size_t i = 0; i < count; i++)
        v[i] = v[i] > 0.3f ? 1.0f : 0.0f;
    return v;
}

/* The outputs of one initial and one recurrent inference. */
typedef struct outputs {
    int n;
    float *state, *logits, *value, *next, *logits1, *value1;
} outputs;

static void outputs_alloc(outputs *o, const sp_model_info *info, int n)
{
    o->n = n;
    o->state = calloc((size_t)n * (size_t)info->state_size, sizeof(float));
    o->next = calloc((size_t)n * (size_t)info->state_size, sizeof(float));
    o->logits = calloc((size_t)n * (size_t)info->num_actions, sizeof(float));
    o->logits1 = calloc((size_t)n * (size_t)info->num_actions, sizeof(float));
    o->value = calloc((size_t)n, sizeof(float));
    o->value1 = calloc((size_t)n, sizeof(float));
}

static void outputs_free(outputs *o)
{
    free(o->state);
    free(o->next);
    free(o->logits);
    free(o->logits1);
    free(o->value);
    free(o->value1);
}

/* Row i plays action (7 i) mod A; row 1 passes. */
static void test_actions(int32_t *a, int n, int num_actions)
{
    for (int i = 0; i < n; i++)
        a[i] = (7 * i) % num_actions;
    if (n > 1)
        a[1] = num_actions - 1;
}

static int run_public(sp_model *m, const float *planes, outputs *o)
{
    sp_model_info info = describe(m);
    int32_t actions[64];
    test_actions(actions, o->n, info.num_actions);
    int rc = sp_model_initial(m, planes, o->n, o->state, o->logits, o->value);
    if (!rc)
        rc = sp_model_recurrent(m, o->state, actions, o->n, o->next, o->logits1, o->value1);
    return rc;
}

/* The same through the training network's layer-by-layer inference. */
static void run_training_path(sp_model *m, const float *planes, outputs *o)
{
    sp_model_info info = describe(m);
    int32_t actions[64];
    float factions[64];
    test_actions(actions, o->n, info.num_actions);
    for (int i = 0; i < o->n; i++)
        factions[i] = (float)actions[i];
    ck_assert_msg(sp__model_net_initial(&m->net, planes, NULL, o->n, o->state, o->logits, o->value) == SP_OK, "%s",
                  sp_last_error());
    ck_assert_msg(sp__model_net_recurrent(&m->net, o->state, factions, o->n, o->next, o->logits1, o->value1) ==
                      SP_OK,
                  "%s", sp_last_error());
}

/* The largest max_rel over the six outputs. */
static double outputs_diff(const outputs *a, const outputs *b, const sp_model_info *info)
{
    size_t n = (size_t)a->n, s = n * (size_t)info->state_size, l = n * (size_t)info->num_actions;
    double d = max_rel(a->state, b->state, s);
    d = fmax(d, max_rel(a->next, b->next, s));
    d = fmax(d, max_rel(a->logits, b->logits, l));
    d = fmax(d, max_rel(a->logits1, b->logits1, l));
    d = fmax(d, max_rel(a->value, b->value, n));
    return fmax(d, max_rel(a->value1, b->value1, n));
}

static int outputs_equal(const outputs *a, const outputs *b, const sp_model_info *info)
{
    size_t n = (size_t)a->n, s = n * (size_t)info->state_size * sizeof(float),
           l = n * (size_t)info->num_actions * sizeof(float);
    return !memcmp(a->state, b->state, s) && !memcmp(a->next, b->next, s) && !memcmp(a->logits, b->logits, l) &&
           !memcmp(a->logits1, b->logits1, l) && !memcmp(a->value, b->value, n * sizeof(float)) &&
           !memcmp(a->value1, b->value1, n * sizeof(float));
}

/* A small model with moved parameters, n random observations, and two
 * sets of outputs to compare. */
typedef struct fixture {
    sp_model *m;
    sp_model_info info;
    float *planes;
    outputs a, b;
} fixture;

static void fixture_open(fixture *f, uint64_t seed, int n)
{
    sp_model_options o = small_options();
    f->m = model_open(&o, seed);
    perturb(f->m, seed + 100);
    f->info = describe(f->m);
    f->planes = random_planes(&f->info, n, seed + 200);
    outputs_alloc(&f->a, &f->info, n);
    outputs_alloc(&f->b, &f->info, n);
}

static void fixture_close(fixture *f)
{
    free(f->planes);
    outputs_free(&f->a);
    outputs_free(&f->b);
    sp_model_free(f->m);
}

static void serialise(const sp_model *m, const sp__optim *opt, int with_trainer, unsigned char **file, size_t *size)
{
    sp__spm_writer w;
    sp__spm_writer_init(&w);
    ck_assert_int_eq(sp__model_save_sections(m, opt, &w), SP_OK);
    if (with_trainer)
        ck_assert_int_eq(sp__spm_add(&w, "trainer", "state", 5, 0), SP_OK);
    ck_assert_int_eq(sp__spm_serialise(&w, file, size), SP_OK);
    sp__spm_writer_release(&w);
}

START_TEST(options_versions_and_defaults)
{
    sp_model_options o, d = SP_MODEL_OPTIONS_INIT;
    memset(&o, 0x5a, sizeof o);
    ck_assert_int_eq(sp_model_options_init(&o, SP_MODEL_OPTIONS_VERSION), SP_OK);
    ck_assert(memcmp(&o, &d, sizeof o) == 0);
    ck_assert_int_eq(o.board_size, 9);
    ck_assert_int_eq(o.history, 8);
    ck_assert_int_eq(sp_model_options_init(&o, 0), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_model_options_init(&o, SP_MODEL_OPTIONS_VERSION + 1), SP_ERR_VERSION);
    ck_assert_int_eq(sp_model_options_init(NULL, SP_MODEL_OPTIONS_VERSION), SP_ERR_INVALID_ARG);
    /* A newer caller's struct is refused by create; NULL options are the defaults. */
    sp_model *m = NULL;
    o.version = SP_MODEL_OPTIONS_VERSION + 1;
    ck_assert_int_eq(model_try(&m, &o, SP_PRECISION_F32, 1), SP_ERR_VERSION);
    ck_assert_ptr_null(m);
    ck_assert_int_eq(sp_model_create(&m, NULL, NULL), SP_OK);
    sp_model_options got;
    ck_assert_int_eq(sp_model_options_init(&got, SP_MODEL_OPTIONS_VERSION), SP_OK);
    got.channels = -1;
    ck_assert_int_eq(sp_model_get_options(m, &got), SP_OK);
    ck_assert(memcmp(&got, &d, sizeof got) == 0);
    got.version = 0;
    ck_assert_int_eq(sp_model_get_options(m, &got), SP_ERR_INVALID_ARG);
    got.version = SP_MODEL_OPTIONS_VERSION + 1;
    ck_assert_int_eq(sp_model_get_options(m, &got), SP_ERR_VERSION);
    sp_model_info info = describe(m);
    ck_assert_int_eq(info.input_planes, 18);
    ck_assert_int_eq(info.num_actions, 82);
    ck_assert_int_eq(info.state_size, 64 * 81);
    sp_model_free(m);
    sp_model_free(NULL);
}
END_TEST

START_TEST(bad_options_are_refused_naming_the_field)
{
    static const struct {
        size_t offset;
        int32_t value;
        int status;
        const char *word;
    } cases[] = {
        { offsetof(sp_model_options, board_size), 1, SP_ERR_INVALID_ARG, "board_size" },
        { offsetof(sp_model_options, board_size), 20, SP_ERR_INVALID_ARG, "board_size" },
        { offsetof(sp_model_options, history), 0, SP_ERR_INVALID_ARG, "history" },
        { offsetof(sp_model_options, history), 17, SP_ERR_INVALID_ARG, "history" },
        { offsetof(sp_model_options, channels), 0, SP_ERR_INVALID_ARG, "channels" },
        { offsetof(sp_model_options, channels), 1025, SP_ERR_INVALID_ARG, "channels" },
        { offsetof(sp_model_options, repr_blocks), -1, SP_ERR_INVALID_ARG, "repr_blocks" },
        { offsetof(sp_model_options, dyn_blocks), 65, SP_ERR_INVALID_ARG, "dyn_blocks" },
        { offsetof(sp_model_options, policy_channels), 0, SP_ERR_INVALID_ARG, "policy_channels" },
        { offsetof(sp_model_options, value_channels), 0, SP_ERR_INVALID_ARG, "value_channels" },
        { offsetof(sp_model_options, value_hidden), 0, SP_ERR_INVALID_ARG, "value_hidden" },
        { offsetof(sp_model_options, value_kind), 1, SP_ERR_INVALID_ARG, "value_kind" },
        { offsetof(sp_model_options, neighbours), -1, SP_ERR_INVALID_ARG, "neighbours" },
        { offsetof(sp_model_options, neighbours), 65, SP_ERR_INVALID_ARG, "neighbours" },
        { offsetof(sp_model_options, neighbour_channels), 0, SP_ERR_INVALID_ARG, "neighbour_channels" },
        { offsetof(sp_model_options, neighbour_channels), 3, SP_ERR_INVALID_ARG, "neighbour_channels" },
        { offsetof(sp_model_options, neighbour_blocks), -1, SP_ERR_INVALID_ARG, "neighbour_blocks" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        sp_model_options o = tiny_options();
        o.neighbours = cases[i].offset > offsetof(sp_model_options, neighbours) ? 2 : 0; /* the fields it reads */
        memcpy((char *)&o + cases[i].offset, &cases[i].value, sizeof(int32_t));
        sp_model *m = (sp_model *)&o;
        ck_assert_int_eq(model_try(&m, &o, SP_PRECISION_F32, 1), cases[i].status);
        ck_assert_ptr_null(m);
        ck_assert_msg(strstr(sp_last_error(), cases[i].word), "case %zu: %s", i, sp_last_error());
    }
    sp_model_options o = tiny_options();
    sp_nn_options nn = SP_NN_OPTIONS_INIT;
    nn.precision = 7;
    sp_model *m = NULL;
    ck_assert_int_eq(sp_model_create(&m, &o, &nn), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_model_create(NULL, &o, NULL), SP_ERR_INVALID_ARG);
}
END_TEST

/* Parameters and FLOPs of the tiny model counted by hand. Board 3 (P = 9
 * points, A = 10 actions), 4 planes, C = 3, 1 + 1 blocks, heads 2 / 1 / 4.
 * Convolutions have no bias (batch norm follows); a batch norm trains
 * gamma and beta (2 C), its running mean and variance are not counted. */
START_TEST(describe_counts_by_hand)
{
    sp_model_options o = tiny_options();
    sp_model *m = model_open(&o, 3);
    sp_model_info info = describe(m);
    ck_assert_int_eq(info.input_planes, 4);
    ck_assert_int_eq(info.num_actions, 10);
    ck_assert_int_eq(info.state_size, 27);
    uint64_t block = 2 * (3 * 3 * 9) + 2 * (2 * 3);                     /* two 3x3 convs, two BNs */
    uint64_t repr = 4 * 3 * 9 + 2 * 3 + block;                         /* stem 4 -> 3, BN */
    uint64_t dyn = (3 + 2) * 3 * 9 + 2 * 3 + block;                    /* stem takes 2 action planes */
    uint64_t policy = 3 * 2 + 2 * 2 + (2 * 9) * 10 + 10;               /* 1x1 conv, BN, dense + bias */
    uint64_t value = 3 * 1 + 2 * 1 + (1 * 9) * 4 + 4 + 4 * 1 + 1;      /* 1x1 conv, BN, dense, dense */
    ck_assert_uint_eq(info.parameters, repr + dyn + policy + value);
    ck_assert_uint_eq(info.parameters, 853);
    /* 2 x multiply-adds: a 3x3 conv cin -> cout over 9 points is 2*9*9*cin*cout. */
    uint64_t heads = 2 * 9 * 3 * 2 + 2 * 18 * 10 + 2 * 9 * 3 * 1 + 2 * 9 * 4 + 2 * 4;
    uint64_t blocks = 2 * (2 * 9 * 9 * 3 * 3);
    ck_assert_uint_eq(info.flops_initial, 2 * 9 * 9 * 4 * 3 + blocks + heads);
    ck_assert_uint_eq(info.flops_recurrent, 2 * 9 * 9 * 5 * 3 + blocks + heads);
    ck_assert_uint_eq(info.flops_initial, 5462);
    /* The hash: the same for the same seed, another for another seed or
     * other values. */
    sp_model *same = model_open(&o, 3), *other = model_open(&o, 4);
    ck_assert(describe(same).content_hash == info.content_hash);
    ck_assert(describe(other).content_hash != info.content_hash);
    perturb(same, 1);
    ck_assert(describe(same).content_hash != info.content_hash);
    /* An older sp_model_info is written only as far as it goes. */
    sp_model_info bad = SP_MODEL_INFO_INIT;
    bad.version = 0;
    ck_assert_int_eq(sp_model_describe(m, &bad), SP_ERR_INVALID_ARG);
    bad.version = SP_MODEL_INFO_VERSION + 1;
    ck_assert_int_eq(sp_model_describe(m, &bad), SP_ERR_VERSION);
    ck_assert_int_eq(sp_model_describe(NULL, &info), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_model_describe(m, NULL), SP_ERR_INVALID_ARG);
    sp_model_free(m);
    sp_model_free(same);
    sp_model_free(other);
}
END_TEST

/* Initial and recurrent inference (folded towers, a workspace of their
 * own) equal the training network's layer-by-layer pass with running
 * statistics; again after the parameters change through
 * sp__param_write, and after a change behind the versions' back announced
 * with sp__model_params_changed. */
START_TEST(inference_equals_the_training_forward_pass)
{
    enum { N = 6 };
    fixture f;
    fixture_open(&f, 5, N);
    for (int round = 0; round < 3; round++) {
        if (round == 1) {
            perturb(f.m, 3);
        } else if (round == 2) {
            /* Scale the representation's stem weights in place. */
            sp__param *p = sp__params_find(&f.m->net.ps, "repr.stem.conv.weight");
            ck_assert_ptr_nonnull(p);
            void *ptr;
            ck_assert_int_eq(sp__nn_map(p->value, &ptr), SP_OK);
            for (size_t j = 0; j < p->count; j++)
                ((float *)ptr)[j] *= 1.5f;
            sp__nn_unmap(p->value, ptr);
            sp__model_params_changed(f.m);
        }
        ck_assert_msg(run_public(f.m, f.planes, &f.a) == SP_OK, "%s", sp_last_error());
        run_training_path(f.m, f.planes, &f.b);
        double d = outputs_diff(&f.a, &f.b, &f.info);
        fprintf(stderr, "model: inference vs training forward pass (round %d): max relative difference %.3g\n", round,
                d);
        ck_assert_msg(d < 1e-5, "round %d: relative difference %g", round, d);
    }
    /* Outputs may be skipped; those asked for are the same. */
    size_t state_bytes = (size_t)N * (size_t)f.info.state_size * sizeof(float);
    float *state = calloc(1, state_bytes), value[N];
    ck_assert_int_eq(sp_model_initial(f.m, f.planes, N, state, NULL, NULL), SP_OK);
    ck_assert(memcmp(state, f.a.state, state_bytes) == 0);
    ck_assert_int_eq(sp_model_initial(f.m, f.planes, N, NULL, NULL, value), SP_OK);
    ck_assert(memcmp(value, f.a.value, sizeof value) == 0);
    free(state);
    fixture_close(&f);
}
END_TEST

/* A trainer's unroll of 15 steps grows the network in place: inference
 * gives the same numbers before and after. */
START_TEST(unroll_grows_on_demand)
{
    fixture f;
    fixture_open(&f, 6, 3);
    ck_assert_int_eq(run_public(f.m, f.planes, &f.a), SP_OK);
    ck_assert_int_eq(f.m->net.unroll_capacity, 1);
    ck_assert_int_eq(sp__model_reserve_unroll(f.m, 15), SP_OK);
    ck_assert_int_eq(f.m->net.unroll_capacity, 15);
    ck_assert_int_eq(sp__model_reserve_unroll(f.m, 4), SP_OK);
    ck_assert_int_eq(f.m->net.unroll_capacity, 15);
    ck_assert_int_eq(sp__model_reserve_unroll(f.m, SP__MODEL_MAX_UNROLL + 1), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(run_public(f.m, f.planes, &f.b), SP_OK);
    ck_assert(outputs_equal(&f.a, &f.b, &f.info));
    ck_assert(describe(f.m).content_hash == f.info.content_hash);
    fprintf(stderr, "model: one unroll step's struct is %zu bytes\n", sizeof(sp__model_step));
    fixture_close(&f);
}
END_TEST

/* A saved model loads to the same outputs, bit for bit, and the same hash;
 * load_into a model of the same architecture (whose towers were already
 * folded) gives them too. */
START_TEST(save_and_load_are_exact)
{
    fixture f;
    fixture_open(&f, 7, 4);
    ck_assert_int_eq(run_public(f.m, f.planes, &f.a), SP_OK);
    const char *path = temp_path("exact.spm");
    ck_assert_msg(sp_model_save(f.m, path) == SP_OK, "%s", sp_last_error());
    sp_model *loaded = NULL;
    ck_assert_msg(sp_model_load(&loaded, path, NULL) == SP_OK, "%s", sp_last_error());
    ck_assert(describe(loaded).content_hash == f.info.content_hash);
    sp_model_options o = small_options(), got;
    sp_model_options_init(&got, SP_MODEL_OPTIONS_VERSION);
    ck_assert_int_eq(sp_model_get_options(loaded, &got), SP_OK);
    ck_assert(memcmp(&got, &o, sizeof o) == 0);
    ck_assert_int_eq(run_public(loaded, f.planes, &f.b), SP_OK);
    ck_assert(outputs_equal(&f.a, &f.b, &f.info));
    sp_model_free(loaded);
    /* Into a model whose towers were folded from other values. */
    sp_model *into = model_open(&o, 99);
    ck_assert_int_eq(run_public(into, f.planes, &f.b), SP_OK);
    ck_assert(!outputs_equal(&f.a, &f.b, &f.info));
    ck_assert_msg(sp_model_load_into(into, path) == SP_OK, "%s", sp_last_error());
    ck_assert_int_eq(run_public(into, f.planes, &f.b), SP_OK);
    ck_assert(outputs_equal(&f.a, &f.b, &f.info));
    ck_assert(describe(into).content_hash == f.info.content_hash);
    sp_model_free(into);
    /* A trainer's checkpoint (optimizer and trainer sections) loads too. */
    sp__optim opt = { 0 };
    sp__optim_defaults(&opt.config, SP__OPT_ADAMW);
    unsigned char *file;
    size_t size;
    serialise(f.m, &opt, 1, &file, &size);
    sp_model *ckpt = NULL;
    ck_assert_msg(sp__model_load_bytes(&ckpt, file, size, NULL) == SP_OK, "%s", sp_last_error());
    ck_assert(describe(ckpt).content_hash == f.info.content_hash);
    free(file);
    sp_model_free(ckpt);
    unlink(path);
    fixture_close(&f);
}
END_TEST

/* A file of another architecture is refused naming the field, and the
 * model it was loaded into is unchanged. */
START_TEST(another_architecture_is_refused)
{
    sp_model_options o = small_options(), wide = o, big = o;
    wide.channels = 9;
    big.board_size = 7;
    sp_model *m = model_open(&o, 8), *w = model_open(&wide, 8), *b = model_open(&big, 8);
    const char *path = temp_path("arch.spm");
    ck_assert_int_eq(sp_model_save(m, path), SP_OK);
    uint64_t hash = describe(w).content_hash;
    ck_assert_int_eq(sp_model_load_into(w, path), SP_ERR_FORMAT);
    ck_assert_msg(strstr(sp_last_error(), "model file has channels 8, this model 9"), "%s", sp_last_error());
    ck_assert_msg(strstr(sp_last_error(), path), "%s", sp_last_error());
    ck_assert(describe(w).content_hash == hash);
    ck_assert_int_eq(sp_model_load_into(b, path), SP_ERR_FORMAT);
    ck_assert_msg(strstr(sp_last_error(), "board_size 5, this model 7"), "%s", sp_last_error());
    unlink(path);
    sp_model_free(m);
    sp_model_free(w);
    sp_model_free(b);
}
END_TEST

/* A "model" section of `count` fields (valid CRCs: the writer's), in
 * format 2 followed by an embedder id, and the parameters of params_of. */
static void forged(const sp_model *params_of, uint32_t format, uint32_t count, const int32_t *fields,
                   unsigned char **file, size_t *size)
{
    unsigned char rec[16 + 4 * SP__MODEL_FIELDS];
    uint32_t words[4 + SP__MODEL_FIELDS] = { format, count };
    for (uint32_t i = 0; i < count; i++)
        words[2 + i] = (uint32_t)fields[i];
    words[2 + count] = 0x5eed;
    size_t bytes = 8 + 4 * (size_t)count + (format == 2 ? 8 : 0);
    for (size_t i = 0; i < bytes; i++)
        rec[i] = (unsigned char)(words[i / 4] >> (8 * (i % 4)));
    sp__spm_writer w;
    sp__spm_writer_init(&w);
    ck_assert_int_eq(sp__spm_add(&w, "model", rec, bytes, 0), SP_OK);
    ck_assert_int_eq(sp__params_save(&params_of->net.ps, NULL, &w), SP_OK);
    ck_assert_int_eq(sp__spm_serialise(&w, file, size), SP_OK);
    sp__spm_writer_release(&w);
}

START_TEST(corrupt_and_foreign_files_are_refused)
{
    sp_model_options o = tiny_options();
    sp_model *m = model_open(&o, 9), *got = NULL;
    unsigned char *file;
    size_t size;
    serialise(m, NULL, 0, &file, &size);
    ck_assert_int_eq(sp__model_load_bytes(&got, file, size, NULL), SP_OK);
    sp_model_free(got);
    for (size_t cut = 0; cut < size; cut += 1 + cut / 8) {
        ck_assert_int_eq(sp__model_load_bytes(&got, file, cut, NULL), SP_ERR_FORMAT);
        ck_assert_ptr_null(got);
    }
    for (size_t at = 0; at < size; at += 1 + at / 16) {
        file[at] ^= 0x10;
        int rc = sp__model_load_bytes(&got, file, size, NULL);
        ck_assert_msg(rc == SP_ERR_FORMAT || rc == SP_ERR_VERSION, "flip at %zu: %d", at, rc);
        ck_assert_ptr_null(got);
        file[at] ^= 0x10;
    }
    /* Through the file API: a truncated file, its path in the message. */
    const char *path = temp_path("cut.spm");
    ck_assert_int_eq(sp__file_write_atomic(path, file, size / 2), SP_OK);
    ck_assert_int_eq(sp_model_load(&got, path, NULL), SP_ERR_FORMAT);
    ck_assert_msg(strstr(sp_last_error(), path), "%s", sp_last_error());
    ck_assert_int_eq(sp_model_load_into(m, path), SP_ERR_FORMAT);
    /* Foreign files: text, empty, a bare parameter file, a directory, none. */
    ck_assert_int_eq(sp__file_write_atomic(path, "(;GM[1]SZ[9])", 13), SP_OK);
    ck_assert_int_eq(sp_model_load(&got, path, NULL), SP_ERR_FORMAT);
    ck_assert_int_eq(sp__file_write_atomic(path, "", 0), SP_OK);
    ck_assert_int_eq(sp_model_load(&got, path, NULL), SP_ERR_FORMAT);
    ck_assert_int_eq(sp__params_save_file(&m->net.ps, NULL, path), SP_OK);
    ck_assert_int_eq(sp_model_load(&got, path, NULL), SP_ERR_FORMAT);
    ck_assert_msg(strstr(sp_last_error(), "no 'model' section"), "%s", sp_last_error());
    ck_assert_int_eq(sp_model_load(&got, P_tmpdir, NULL), SP_ERR_IO);
    ck_assert_int_eq(sp_model_load(&got, temp_path("missing.spm"), NULL), SP_ERR_IO);
    ck_assert_ptr_null(got);
    unlink(path);
    free(file);
    /* Forged architecture records with valid checksums. */
    int32_t fields[SP__MODEL_FIELDS];
    for (int i = 0; i < SP__MODEL_FIELDS; i++)
        fields[i] = sp__model_field_get(&o, i);
    forged(m, 1, SP__MODEL_FIELDS_BASE, fields, &file, &size);
    ck_assert_msg(sp__model_load_bytes(&got, file, size, NULL) == SP_OK, "%s", sp_last_error());
    sp_model_free(got);
    free(file);
    forged(m, 3, SP__MODEL_FIELDS_BASE, fields, &file, &size);
    ck_assert_int_eq(sp__model_load_bytes(&got, file, size, NULL), SP_ERR_VERSION);
    free(file);
    /* Format 1 holds the 10 fields of a model without neighbours, format 2
     * all 12 and an embedder id, and only for a model with neighbours. */
    forged(m, 1, SP__MODEL_FIELDS, fields, &file, &size);
    ck_assert_int_eq(sp__model_load_bytes(&got, file, size, NULL), SP_ERR_FORMAT);
    free(file);
    forged(m, 2, SP__MODEL_FIELDS, fields, &file, &size);
    ck_assert_int_eq(sp__model_load_bytes(&got, file, size, NULL), SP_ERR_FORMAT);
    ck_assert_msg(strstr(sp_last_error(), "neighbours = 0"), "%s", sp_last_error());
    free(file);
    fields[2] = 5000; /* channels */
    forged(m, 1, SP__MODEL_FIELDS_BASE, fields, &file, &size);
    ck_assert_int_eq(sp__model_load_bytes(&got, file, size, NULL), SP_ERR_FORMAT);
    ck_assert_msg(strstr(sp_last_error(), "channels = 5000"), "%s", sp_last_error());
    free(file);
    fields[2] = 4; /* in range, but the parameters are those of 3 channels */
    forged(m, 1, SP__MODEL_FIELDS_BASE, fields, &file, &size);
    ck_assert_int_eq(sp__model_load_bytes(&got, file, size, NULL), SP_ERR_FORMAT);
    free(file);
    fields[2] = o.channels;
    fields[9] = 2; /* neighbours: a retrieval model, but the parameters have no neighbour network */
    forged(m, 2, SP__MODEL_FIELDS, fields, &file, &size);
    ck_assert_int_eq(sp__model_load_bytes(&got, file, size, NULL), SP_ERR_FORMAT);
    ck_assert_ptr_null(got);
    free(file);
    sp_model_free(m);
}
END_TEST

START_TEST(bf16_stays_close_to_f32)
{
    fixture f;
    fixture_open(&f, 10, 4);
    sp_model_options o = small_options();
    sp_model *bf16 = NULL;
    int rc = model_try(&bf16, &o, SP_PRECISION_BF16, 10);
    if (rc == SP_ERR_UNSUPPORTED) {
        fprintf(stderr, "model: this CPU runs no bf16 convolutions (%s); bf16 check skipped\n", sp_last_error());
        fixture_close(&f);
        return;
    }
    ck_assert_msg(rc == SP_OK, "%s", sp_last_error());
    perturb(bf16, 110);
    ck_assert(describe(bf16).content_hash == f.info.content_hash);
    ck_assert_int_eq(run_public(f.m, f.planes, &f.a), SP_OK);
    ck_assert_msg(run_public(bf16, f.planes, &f.b) == SP_OK, "%s", sp_last_error());
    double d = outputs_diff(&f.b, &f.a, &f.info);
    fprintf(stderr, "model: bf16 vs f32 max relative difference %.3g\n", d);
    ck_assert_msg(d < 0.1, "bf16 vs f32: %g", d);
    ck_assert_msg(d > 0.0, "bf16 looks like f32");
    /* The layer reader runs bf16 towers as inference does: "repr" is its state. */
    size_t count = 4 * (size_t)f.info.state_size;
    float *repr = malloc(count * sizeof *repr);
    ck_assert_int_eq(sp_model_activations(bf16, "repr", f.planes, 4, repr, count), SP_OK);
    ck_assert(memcmp(repr, f.b.state, count * sizeof *repr) == 0);
    free(repr);
    sp_model_free(bf16);
    fixture_close(&f);
}
END_TEST

static sp_model_layer layer_at(const sp_model *m, int32_t i)
{
    sp_model_layer l = SP_MODEL_LAYER_INIT;
    ck_assert_msg(sp_model_layer_info(m, i, &l) == SP_OK, "%s", sp_last_error());
    return l;
}

/* Every layer's activations of a batch, back to back. */
typedef struct layer_outputs {
    int32_t layers;
    float *v[8];
    size_t count[8];
} layer_outputs;

static int read_layers(sp_model *m, const float *planes, int n, layer_outputs *o)
{
    o->layers = sp_model_layer_count(m);
    ck_assert_int_le(o->layers, 8);
    int rc = SP_OK;
    for (int32_t i = 0; i < o->layers && !rc; i++) {
        sp_model_layer l = layer_at(m, i);
        o->count[i] = (size_t)n * l.size;
        if (!o->v[i])
            o->v[i] = calloc(o->count[i], sizeof(float));
        rc = sp_model_activations(m, l.name, planes, n, o->v[i], o->count[i]);
    }
    return rc;
}

static int layers_equal(const layer_outputs *a, const layer_outputs *b)
{
    for (int32_t i = 0; i < a->layers; i++)
        if (memcmp(a->v[i], b->v[i], a->count[i] * sizeof(float)))
            return 0;
    return 1;
}

static void layers_free(layer_outputs *o)
{
    for (int i = 0; i < 8; i++)
        free(o->v[i]);
}

typedef struct thread_job {
    sp_model *m;
    const float *planes;
    const outputs *want;
    const layer_outputs *want_layers;
    sp_model_info info;
    int mismatches, failures;
} thread_job;

static void *thread_main(void *arg)
{
    thread_job *j = arg;
    outputs got;
    layer_outputs got_layers = { 0 };
    outputs_alloc(&got, &j->info, j->want->n);
    for (int r = 0; r < 30; r++) {
        if (run_public(j->m, j->planes, &got) != SP_OK || read_layers(j->m, j->planes, j->want->n, &got_layers))
            j->failures++;
        else if (!outputs_equal(&got, j->want, &j->info) || !layers_equal(&got_layers, j->want_layers))
            j->mismatches++;
    }
    outputs_free(&got);
    layers_free(&got_layers);
    return NULL;
}

/* Two threads calling inference and reading every layer at once on one
 * model get exactly what one thread gets, each with a batch of its own. */
START_TEST(two_threads_get_what_one_gets)
{
    sp_model_options o = small_options();
    sp_model *m = model_open(&o, 12);
    perturb(m, 7);
    sp_model_info info = describe(m);
    enum { N = 5 };
    float *planes[2] = { random_planes(&info, N, 12), random_planes(&info, N, 13) };
    outputs want[2];
    layer_outputs want_layers[2] = { { 0 }, { 0 } };
    thread_job jobs[2];
    for (int t = 0; t < 2; t++) {
        outputs_alloc(&want[t], &info, N);
        ck_assert_int_eq(run_public(m, planes[t], &want[t]), SP_OK);
        ck_assert_msg(read_layers(m, planes[t], N, &want_layers[t]) == SP_OK, "%s", sp_last_error());
        jobs[t] = (thread_job){ m, planes[t], &want[t], &want_layers[t], info, 0, 0 };
    }
    ck_assert(!outputs_equal(&want[0], &want[1], &info));
    ck_assert(!layers_equal(&want_layers[0], &want_layers[1]));
    pthread_t th[2];
    for (int t = 0; t < 2; t++)
        ck_assert_int_eq(pthread_create(&th[t], NULL, thread_main, &jobs[t]), 0);
    for (int t = 0; t < 2; t++) {
        pthread_join(th[t], NULL);
        ck_assert_msg(jobs[t].failures == 0 && jobs[t].mismatches == 0, "thread %d: %d failures, %d mismatches", t,
                      jobs[t].failures, jobs[t].mismatches);
    }
    ck_assert_uint_ge(m->free_count, 1);
    ck_assert_uint_eq(m->in_use, 0);
    for (int t = 0; t < 2; t++) {
        free(planes[t]);
        outputs_free(&want[t]);
        layers_free(&want_layers[t]);
    }
    sp_model_free(m);
}
END_TEST

START_TEST(bad_inference_arguments_are_refused)
{
    sp_model_options o = tiny_options();
    sp_model *m = model_open(&o, 13);
    sp_model_info info = describe(m);
    float *planes = random_planes(&info, 2, 14), state[2 * 27], logits[2 * 10], value[2];
    int32_t actions[2] = { 0, 9 };
    ck_assert_int_eq(sp_model_initial(NULL, planes, 2, state, logits, value), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_model_initial(m, NULL, 2, state, logits, value), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_model_initial(m, planes, 0, state, logits, value), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_model_initial(m, planes, 65537, state, logits, value), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_model_initial(m, planes, 2, state, logits, value), SP_OK);
    ck_assert_int_eq(sp_model_recurrent(NULL, state, actions, 2, state, logits, value), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_model_recurrent(m, NULL, actions, 2, state, logits, value), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_model_recurrent(m, state, NULL, 2, state, logits, value), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_model_recurrent(m, state, actions, -1, state, logits, value), SP_ERR_INVALID_ARG);
    actions[1] = 10;
    ck_assert_int_eq(sp_model_recurrent(m, state, actions, 2, state, logits, value), SP_ERR_INVALID_ARG);
    ck_assert_msg(strstr(sp_last_error(), "actions[1] = 10"), "%s", sp_last_error());
    actions[1] = -1;
    ck_assert_int_eq(sp_model_recurrent(m, state, actions, 2, state, logits, value), SP_ERR_INVALID_ARG);
    actions[1] = 9;
    /* In place: the next state over the state it came from. */
    ck_assert_int_eq(sp_model_recurrent(m, state, actions, 2, state, logits, value), SP_OK);
    /* A trainer's hold: inference refused, a second hold refused. */
    ck_assert_int_eq(sp__model_hold(m, "test"), SP_OK);
    ck_assert_int_eq(sp_model_initial(m, planes, 2, state, logits, value), SP_ERR_MISUSE);
    ck_assert_int_eq(sp_model_recurrent(m, state, actions, 2, state, logits, value), SP_ERR_MISUSE);
    ck_assert_int_eq(sp__model_hold(m, "test"), SP_ERR_MISUSE);
    ck_assert_int_eq(sp_model_load_into(m, temp_path("none.spm")), SP_ERR_MISUSE);
    sp__model_unhold(m);
    ck_assert_int_eq(sp_model_initial(m, planes, 2, state, logits, value), SP_OK);
    /* Files. */
    sp_model *got = m;
    ck_assert_int_eq(sp_model_load(NULL, "x.spm", NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_model_load(&got, NULL, NULL), SP_ERR_INVALID_ARG);
    ck_assert_ptr_null(got);
    ck_assert_int_eq(sp_model_load(&got, "", NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_model_load_into(NULL, "x.spm"), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_model_load_into(m, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_model_save(NULL, "x.spm"), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_model_save(m, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_model_save(m, ""), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_model_get_options(NULL, &o), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_model_get_options(m, NULL), SP_ERR_INVALID_ARG);
    /* A save into a missing directory fails and leaves no file. */
    char path[600];
    snprintf(path, sizeof path, "%s/no/such/dir.spm", temp_path("dir"));
    ck_assert_int_eq(sp_model_save(m, path), SP_ERR_IO);
    ck_assert_int_ne(access(path, F_OK), 0);
    free(planes);
    sp_model_free(m);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Layers (the activations an embedder reads) */

/* The training network's tensor holding layer `name` after
 * sp__model_net_initial (running statistics), found by the layer's place
 * in the network rather than by the library's own layer list. */
static const sp__tensor *training_layer(sp_model *m, const char *name)
{
    sp__model_heads *h = &m->net.step[0].heads;
    int block;
    if (strcmp(name, "repr") == 0)
        return &m->net.step[0].norm.out;
    if (strcmp(name, "policy.conv") == 0)
        return &h->prelu.out;
    if (strcmp(name, "value.hidden") == 0)
        return &h->vrelu2.out;
    ck_assert_msg(sscanf(name, "repr.block%d", &block) == 1, "unexpected layer %s", name);
    ck_assert(block >= 1 && block <= m->net.repr.blocks);
    return &m->net.repr.block[block - 1].relu2.out;
}

START_TEST(layers_are_listed_with_their_shapes)
{
    /* The default architecture: 9x9, 64 channels, 6 blocks, heads 2 / 1 / 64. */
    sp_model *m = NULL;
    ck_assert_int_eq(sp_model_create(&m, NULL, NULL), SP_OK);
    ck_assert_int_eq(sp_model_layer_count(m), 9);
    static const struct {
        const char *name;
        int32_t c, h, w;
    } want[9] = { { "repr", 64, 9, 9 },        { "repr.block1", 64, 9, 9 }, { "repr.block2", 64, 9, 9 },
                  { "repr.block3", 64, 9, 9 }, { "repr.block4", 64, 9, 9 }, { "repr.block5", 64, 9, 9 },
                  { "repr.block6", 64, 9, 9 }, { "policy.conv", 2, 9, 9 },  { "value.hidden", 64, 1, 1 } };
    for (int i = 0; i < 9; i++) {
        sp_model_layer l = layer_at(m, i);
        ck_assert_str_eq(l.name, want[i].name);
        ck_assert_int_eq(l.channels, want[i].c);
        ck_assert_int_eq(l.height, want[i].h);
        ck_assert_int_eq(l.width, want[i].w);
        ck_assert_uint_eq(l.size, (uint64_t)want[i].c * (uint64_t)want[i].h * (uint64_t)want[i].w);
    }
    ck_assert_uint_eq(layer_at(m, 0).size, (uint64_t)describe(m).state_size);
    /* Bad arguments and versions. */
    sp_model_layer l = SP_MODEL_LAYER_INIT;
    ck_assert_int_eq(sp_model_layer_count(NULL), 0);
    ck_assert_int_eq(sp_model_layer_info(NULL, 0, &l), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_model_layer_info(m, 0, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_model_layer_info(m, -1, &l), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_model_layer_info(m, 9, &l), SP_ERR_INVALID_ARG);
    ck_assert_msg(strstr(sp_last_error(), "index 9"), "%s", sp_last_error());
    l.version = 0;
    ck_assert_int_eq(sp_model_layer_info(m, 0, &l), SP_ERR_INVALID_ARG);
    l.version = SP_MODEL_LAYER_VERSION + 1;
    ck_assert_int_eq(sp_model_layer_info(m, 0, &l), SP_ERR_VERSION);
    sp_model_free(m);
    /* No residual blocks: the state and the two head layers. */
    sp_model_options o = tiny_options();
    o.repr_blocks = 0;
    m = model_open(&o, 2);
    ck_assert_int_eq(sp_model_layer_count(m), 3);
    ck_assert_str_eq(layer_at(m, 1).name, "policy.conv");
    ck_assert_uint_eq(layer_at(m, 1).size, 2 * 3 * 3);
    ck_assert_str_eq(layer_at(m, 2).name, "value.hidden");
    ck_assert_uint_eq(layer_at(m, 2).size, 4);
    sp_model_free(m);
}
END_TEST

/* Every layer of a small model with moved parameters against the
 * training forward pass at that point; "repr" against sp_model_initial's
 * state bit for bit. */
START_TEST(activations_equal_the_training_forward_pass)
{
    enum { N = 5 };
    fixture f;
    fixture_open(&f, 21, N);
    ck_assert_int_eq(sp_model_layer_count(f.m), 5);
    for (int round = 0; round < 2; round++) {
        if (round == 1)
            perturb(f.m, 22);
        ck_assert_msg(sp_model_initial(f.m, f.planes, N, f.a.state, NULL, NULL) == SP_OK, "%s", sp_last_error());
        run_training_path(f.m, f.planes, &f.b);
        for (int32_t i = 0; i < sp_model_layer_count(f.m); i++) {
            sp_model_layer l = layer_at(f.m, i);
            size_t count = (size_t)N * l.size;
            float *got = malloc(count * sizeof *got);
            ck_assert_msg(sp_model_activations(f.m, l.name, f.planes, N, got, count) == SP_OK, "%s",
                          sp_last_error());
            const sp__tensor *t = training_layer(f.m, l.name);
            ck_assert_uint_eq(sp__tensor_count(t), count);
            float *want = tensor_host(t);
            double d = max_rel(got, want, count);
            fprintf(stderr, "model: layer %s vs training forward pass (round %d): max relative difference %.3g\n",
                    l.name, round, d);
            ck_assert_msg(d < 1e-5, "layer %s, round %d: relative difference %g", l.name, round, d);
            if (i == 0)
                ck_assert_msg(memcmp(got, f.a.state, count * sizeof *got) == 0, "repr is not the state");
            free(want);
            free(got);
        }
    }
    /* NULL is "repr"; a capacity larger than needed is fine. */
    size_t count = (size_t)N * (size_t)f.info.state_size;
    float *got = calloc(count + 7, sizeof *got);
    ck_assert_int_eq(sp_model_activations(f.m, NULL, f.planes, N, got, count + 7), SP_OK);
    ck_assert(memcmp(got, f.a.state, count * sizeof *got) == 0);
    fixture_close(&f);
    free(got);
}
END_TEST

START_TEST(bad_activation_arguments_are_refused)
{
    sp_model_options o = tiny_options();
    sp_model *m = model_open(&o, 23);
    sp_model_info info = describe(m);
    float *planes = random_planes(&info, 2, 24), out[2 * 27];
    size_t cap = 2 * 27;
    ck_assert_int_eq(sp_model_activations(NULL, "repr", planes, 2, out, cap), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_model_activations(m, "repr", NULL, 2, out, cap), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_model_activations(m, "repr", planes, 2, NULL, cap), SP_ERR_INVALID_ARG);
    ck_assert_msg(strstr(sp_last_error(), "out is NULL"), "%s", sp_last_error());
    ck_assert_int_eq(sp_model_activations(m, "repr", planes, 0, out, cap), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_model_activations(m, "repr", planes, 65537, out, cap), SP_ERR_INVALID_ARG);
    static const char *unknown[] = { "", "Repr", "repr.block0", "repr.block2", "repr.block01", "policy",
                                     "value.hidden ", "repr.block1x" };
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++) {
        ck_assert_int_eq(sp_model_activations(m, unknown[i], planes, 2, out, cap), SP_ERR_INVALID_ARG);
        char quoted[64];
        snprintf(quoted, sizeof quoted, "\"%s\"", unknown[i]);
        ck_assert_msg(strstr(sp_last_error(), quoted), "%s", sp_last_error());
    }
    /* Too small by one float: the message says how many are needed. */
    ck_assert_int_eq(sp_model_activations(m, "repr", planes, 2, out, cap - 1), SP_ERR_BUFFER_TOO_SMALL);
    ck_assert_msg(strstr(sp_last_error(), "needs 54 floats"), "%s", sp_last_error());
    ck_assert_int_eq(sp_model_activations(m, "value.hidden", planes, 2, out, 7), SP_ERR_BUFFER_TOO_SMALL);
    ck_assert_msg(strstr(sp_last_error(), "needs 8 floats"), "%s", sp_last_error());
    ck_assert_int_eq(sp_model_activations(m, "value.hidden", planes, 2, out, 8), SP_OK);
    ck_assert_int_eq(sp_model_activations(m, "repr.block1", planes, 2, out, cap), SP_OK);
    /* A trainer's hold refuses the reader as it refuses inference. */
    ck_assert_int_eq(sp__model_hold(m, "test"), SP_OK);
    ck_assert_int_eq(sp_model_activations(m, "repr", planes, 2, out, cap), SP_ERR_MISUSE);
    ck_assert_msg(strstr(sp_last_error(), "sp_model_activations"), "%s", sp_last_error());
    sp__model_unhold(m);
    ck_assert_int_eq(sp_model_activations(m, "repr", planes, 2, out, cap), SP_OK);
    ck_assert_uint_eq(m->in_use, 0);
    free(planes);
    sp_model_free(m);
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
    tc = tcase_create("handle");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, options_versions_and_defaults);
    tcase_add_test(tc, bad_options_are_refused_naming_the_field);
    tcase_add_test(tc, describe_counts_by_hand);
    tcase_add_test(tc, inference_equals_the_training_forward_pass);
    tcase_add_test(tc, unroll_grows_on_demand);
    tcase_add_test(tc, save_and_load_are_exact);
    tcase_add_test(tc, another_architecture_is_refused);
    tcase_add_test(tc, corrupt_and_foreign_files_are_refused);
    tcase_add_test(tc, bf16_stays_close_to_f32);
    tcase_add_test(tc, two_threads_get_what_one_gets);
    tcase_add_test(tc, bad_inference_arguments_are_refused);
    suite_add_tcase(s, tc);
    tc = tcase_create("layers");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, layers_are_listed_with_their_shapes);
    tcase_add_test(tc, activations_equal_the_training_forward_pass);
    tcase_add_test(tc, bad_activation_arguments_are_refused);
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
