/* model_retrieval: the retrieval model of issue 15 (paper Eq. 2), the
 * sp_model with N > 0 neighbours. The network: the whole K = 2 unroll's
 * gradient through the neighbour network and the joins against central
 * differences. The handle: inference against the training forward pass;
 * permuting each observation's neighbours leaves every output as it was;
 * every x_i = 0 (NULL or zeros) is sp_model_initial(), the baseline of
 * equal capacity, and a neighbour changes only its own observation's
 * outputs; FLOPs and parameters by hand; files keep N, the neighbour
 * network and the embedder id, and a model without neighbours is still
 * written as before; another embedder or N is refused; what a retrieval
 * model does not do (layers; search without a neighbours callback) is
 * refused with a message. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model_fixtures.h"
#include "semiparam/dataset.h"

/* ------------------------------------------------------------------------ */
/* The network: gradient through the neighbour path */

enum { G_N = 3, G_K = 2, G_SIZE = 3, G_POINTS = G_SIZE * G_SIZE, G_ACTIONS = G_POINTS + 1, G_PLANES = 2,
       G_NB = 3, G_NB_PLANES = 4 };

typedef struct grad_batch {
    float planes[G_N * G_PLANES * G_POINTS];
    float neighbours[G_N * G_NB * G_NB_PLANES * G_POINTS];
    float policy[(G_K + 1) * G_N * G_ACTIONS];
    float value[(G_K + 1) * G_N];
    float action[G_K * G_N];
    sp__model_targets targets;
} grad_batch;

static void grad_data(grad_batch *b, uint64_t seed)
{
    struct sp_rng rng;
    sp__rng_seed(&rng, seed);
    for (size_t i = 0; i < sizeof b->planes / sizeof *b->planes; i++)
        b->planes[i] = sp__rng_below(&rng, 3) == 0;
    /* Continuous neighbour values: no two items alike, so batch norm and
     * the normalisation's arg-min and arg-max see distinct values. */
    for (size_t i = 0; i < sizeof b->neighbours / sizeof *b->neighbours; i++)
        b->neighbours[i] = (float)uniform(&rng);
    for (int r = 0; r < (G_K + 1) * G_N; r++) {
        double sum = 0.0;
        for (int a = 0; a < G_ACTIONS; a++)
            sum += b->policy[r * G_ACTIONS + a] = (float)(0.1 + uniform(&rng));
        for (int a = 0; a < G_ACTIONS; a++)
            b->policy[r * G_ACTIONS + a] /= (float)sum;
        b->value[r] = (float)(uniform(&rng) * 1.6 - 0.8);
    }
    for (int i = 0; i < G_K * G_N; i++)
        b->action[i] = (float)sp__rng_below(&rng, G_ACTIONS);
    b->targets = (sp__model_targets){ b->policy, b->value, b->action, NULL };
}

static double grad_loss(sp__model_net *m, grad_batch *b, int mode)
{
    sp__model_losses l;
    ck_assert_msg(sp__model_net_unroll(m, b->planes, b->neighbours, G_N, G_K, &b->targets, mode, &l) == SP_OK, "%s",
                  sp_last_error());
    return l.total;
}

/* 4 channels, 2 of them the neighbours', one block everywhere, for K = 2. */
static void grad_net(sp__model_net *m, sp__nn *nn, uint64_t seed)
{
    sp__model_arch a;
    sp__model_arch_default(&a);
    a.board_size = G_SIZE;
    a.input_planes = G_PLANES;
    a.channels = 4;
    a.repr_blocks = 1;
    a.dyn_blocks = 1;
    a.policy_channels = 2;
    a.value_channels = 1;
    a.value_hidden = 4;
    a.neighbours = G_NB;
    a.neighbour_planes = G_NB_PLANES;
    a.neighbour_channels = 2;
    a.neighbour_blocks = 1;
    ck_assert_msg(sp__model_net_setup(m, nn, &a, G_K, seed) == SP_OK, "%s", sp_last_error());
}

/* Every trained parameter's analytic gradient (the plain one: dynamics
 * scale 1) against central differences of the loss, the neighbour
 * network's and the representation's (whose o_e reaches the loss both
 * directly and through every neighbour) included; with the neighbour
 * regulariser of weight reg, its target held fixed as training holds it. */
static void check_gradient(float reg)
{
    sp__nn *nn = make_nn();
    sp__model_net m;
    grad_net(&m, nn, 11);
    m.dyn_grad_scale = 1.0f;
    m.reg_weight = reg;
    static grad_batch b;
    grad_data(&b, 12);
    sp__params_zero_grad(&m.ps);
    grad_loss(&m, &b, SP__MODEL_TRAIN);
    m.reg_frozen = 1; /* the differences see the target the gradient saw */
    /* The neighbour network adds kinks (ReLU over N items, batch norm over
     * them): at h = 3e-4 differences cross some (errors to 4e-2), at 3e-5
     * f32 round-off dominates (3e-2); 1e-4 sits between, worst about 1.2e-2.
     * The neighbour path's gradient into o_e left out errs by 0.6-0.9. */
    const double h = 1e-4;
    size_t checked = 0, nbr = 0;
    double worst = 0.0;
    const char *worst_name = "";
    for (size_t pi = 0; pi < m.ps.count; pi++) {
        sp__param *p = m.ps.items[pi];
        if (p->flags & SP__PARAM_BUFFER)
            continue;
        float *v = malloc(p->count * sizeof *v), *g = malloc(p->count * sizeof *g);
        ck_assert_int_eq(sp__param_read(p, v), SP_OK);
        ck_assert_int_eq(sp__param_read_grad(p, g), SP_OK);
        double diff = 0.0, norm = 0.0;
        for (size_t i = 0; i < p->count; i++) {
            float save = v[i];
            v[i] = save + (float)h;
            sp__param_write(p, v);
            double plus = grad_loss(&m, &b, SP__MODEL_FORWARD);
            v[i] = save - (float)h;
            sp__param_write(p, v);
            double minus = grad_loss(&m, &b, SP__MODEL_FORWARD);
            v[i] = save;
            sp__param_write(p, v);
            double fd = (plus - minus) / (2 * h);
            diff += (g[i] - fd) * (g[i] - fd);
            norm += fd * fd;
        }
        double err = sqrt(diff) / fmax(sqrt(norm), 1e-12);
        ck_assert_msg(err < 2e-2, "%s gradient relative error %.3g", p->name, err);
        if (err > worst) {
            worst = err;
            worst_name = p->name;
        }
        checked++;
        nbr += strncmp(p->name, "nbr.", 4) == 0;
        free(v);
        free(g);
    }
    fprintf(stderr, "model_retrieval: gradient (regulariser weight %g) of %zu parameters (%zu of the neighbour "
            "network), worst relative error %.3g (%s)\n", (double)reg, checked, nbr, worst, worst_name);
    ck_assert(nbr >= 6); /* stem conv and BN, one block's two convs and BNs */
    sp__model_net_release(&m);
    sp__nn_free(nn);
}

START_TEST(gradient_through_the_neighbour_path)
{
    check_gradient(0.0f);
}
END_TEST

START_TEST(gradient_with_the_neighbour_regulariser)
{
    check_gradient(5.0f);
}
END_TEST

/* The regulariser's reported value: the mean squared distance between the
 * unroll's initial state (batch statistics, neighbours given) and the
 * state inference computes with every x_i = 0, recomputed here; the total
 * loss grows by weight x that; with weight 0 it is not computed. */
START_TEST(regulariser_is_the_distance_to_the_zero_neighbour_state)
{
    sp__nn *nn = make_nn();
    sp__model_net m;
    grad_net(&m, nn, 13);
    static grad_batch b;
    grad_data(&b, 14);
    sp__model_losses plain, reg;
    ck_assert_int_eq(sp__model_net_unroll(&m, b.planes, b.neighbours, G_N, G_K, &b.targets, SP__MODEL_FORWARD, &plain),
                     SP_OK);
    ck_assert(plain.regulariser == 0.0);
    /* The target: inference's state without neighbours, with the running
     * statistics the next unroll starts from (a forward pass moves them). */
    size_t count = (size_t)G_N * 4 * G_POINTS;
    float *s = malloc(count * sizeof *s), *zero = malloc(count * sizeof *zero);
    float logits[G_N * G_ACTIONS], value[G_N];
    ck_assert_int_eq(sp__model_net_initial(&m, b.planes, NULL, G_N, zero, logits, value), SP_OK);
    m.reg_weight = 0.25f;
    ck_assert_int_eq(sp__model_net_unroll(&m, b.planes, b.neighbours, G_N, G_K, &b.targets, SP__MODEL_FORWARD, &reg),
                     SP_OK);
    ck_assert_int_eq(sp__tensor_read(&m.step[0].norm.out, s), SP_OK);
    double sum = 0.0;
    for (size_t i = 0; i < count; i++)
        sum += ((double)s[i] - zero[i]) * ((double)s[i] - zero[i]);
    ck_assert_msg(sum > 0, "the neighbours do not move the state");
    ck_assert_msg(fabs(reg.regulariser - sum / (double)count) < 1e-6 * fmax(sum / (double)count, 1e-9),
                  "regulariser %.9g, recomputed %.9g", reg.regulariser, sum / (double)count);
    ck_assert_msg(fabs(reg.total - plain.total - 0.25 * reg.regulariser) < 1e-5, "total %g, without %g", reg.total,
                  plain.total);
    free(s);
    free(zero);
    sp__model_net_release(&m);
    sp__nn_free(nn);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* The handle */

enum { R_N = 5, R_NB = 4 };

/* Board 5, 6 planes, 8 channels of which 3 the neighbours', 2 + 2 blocks,
 * a neighbour network of 1 block. */
static sp_model_options retrieval_options(int neighbours)
{
    sp_model_options o;
    ck_assert_int_eq(sp_model_options_init(&o, SP_MODEL_OPTIONS_VERSION), SP_OK);
    o.board_size = 5;
    o.history = 2;
    o.channels = 8;
    o.repr_blocks = 2;
    o.dyn_blocks = 2;
    o.policy_channels = 2;
    o.value_channels = 1;
    o.value_hidden = 8;
    o.neighbours = neighbours;
    o.neighbour_channels = 3;
    o.neighbour_blocks = 1;
    return o;
}

static sp_model *model_open(const sp_model_options *o, uint64_t seed)
{
    sp_nn_options nn;
    ck_assert_int_eq(sp_nn_options_init(&nn, SP_NN_OPTIONS_VERSION), SP_OK);
    nn.backend = SP_BACKEND_CPU;
    nn.threads = 1;
    nn.seed = seed;
    sp_model *m = NULL;
    ck_assert_msg(sp_model_create(&m, o, &nn) == SP_OK, "%s", sp_last_error());
    perturb(m, seed);
    return m;
}

typedef struct run {
    sp_model *m;
    sp_model_info info;
    size_t state, actions, neighbour_floats; /* per observation */
    float *planes, *neighbours;
    float *s, *logits, *value;
} run;

static void run_open(run *r, int neighbours, uint64_t seed)
{
    sp_model_options o = retrieval_options(neighbours);
    r->m = model_open(&o, seed);
    r->info = (sp_model_info)SP_MODEL_INFO_INIT;
    ck_assert_int_eq(sp_model_describe(r->m, &r->info), SP_OK);
    size_t points = (size_t)(r->info.num_actions - 1);
    r->state = (size_t)r->info.state_size;
    r->actions = (size_t)r->info.num_actions;
    r->neighbour_floats = (size_t)(neighbours ? neighbours : 1) * SP_NEIGHBOUR_PLANES * points;
    r->planes = rand_floats((size_t)R_N * (size_t)r->info.input_planes * points, seed + 1, 1.0f);
    for (size_t i = 0; i < (size_t)R_N * (size_t)r->info.input_planes * points; i++)
        r->planes[i] = r->planes[i] > 0.2f;
    r->neighbours = rand_floats(R_N * r->neighbour_floats, seed + 2, 1.0f);
    r->s = malloc(R_N * r->state * sizeof(float));
    r->logits = malloc(R_N * r->actions * sizeof(float));
    r->value = malloc(R_N * sizeof(float));
}

static void run_close(run *r)
{
    free(r->planes);
    free(r->neighbours);
    free(r->s);
    free(r->logits);
    free(r->value);
    sp_model_free(r->m);
}

/* Outputs of one initial inference, copied out. */
typedef struct outs {
    float *s, *logits, *value;
} outs;

static outs infer(run *r, const float *neighbours)
{
    ck_assert_msg(sp_model_initial_neighbours(r->m, r->planes, neighbours, R_N, r->s, r->logits, r->value) == SP_OK,
                  "%s", sp_last_error());
    outs o = { malloc(R_N * r->state * sizeof(float)), malloc(R_N * r->actions * sizeof(float)),
               malloc(R_N * sizeof(float)) };
    memcpy(o.s, r->s, R_N * r->state * sizeof(float));
    memcpy(o.logits, r->logits, R_N * r->actions * sizeof(float));
    memcpy(o.value, r->value, R_N * sizeof(float));
    return o;
}

static void outs_free(outs *o)
{
    free(o->s);
    free(o->logits);
    free(o->value);
}

/* Largest relative difference of observation i's outputs (all of them with i < 0). */
static double outs_diff(const run *r, const outs *a, const outs *b, int i)
{
    size_t first = i < 0 ? 0 : (size_t)i, count = i < 0 ? R_N : 1;
    double d = max_rel(a->s + first * r->state, b->s + first * r->state, count * r->state);
    d = fmax(d, max_rel(a->logits + first * r->actions, b->logits + first * r->actions, count * r->actions));
    return fmax(d, max_rel(a->value + first, b->value + first, count));
}

static int outs_same(const run *r, const outs *a, const outs *b, int i)
{
    size_t first = i < 0 ? 0 : (size_t)i, count = i < 0 ? R_N : 1;
    return !memcmp(a->s + first * r->state, b->s + first * r->state, count * r->state * sizeof(float)) &&
           !memcmp(a->logits + first * r->actions, b->logits + first * r->actions,
                   count * r->actions * sizeof(float)) &&
           !memcmp(a->value + first, b->value + first, count * sizeof(float));
}

/* The public inference (fused, folded towers) against the training
 * network's layer-by-layer forward pass with running statistics, initial
 * with neighbours and one recurrent step after it. */
START_TEST(inference_equals_the_training_forward_pass)
{
    run r;
    run_open(&r, R_NB, 21);
    outs pub = infer(&r, r.neighbours);
    float *s = malloc(R_N * r.state * sizeof(float)), *logits = malloc(R_N * r.actions * sizeof(float));
    float value[R_N];
    ck_assert_msg(sp__model_net_initial(&r.m->net, r.planes, r.neighbours, R_N, s, logits, value) == SP_OK, "%s",
                  sp_last_error());
    double d = fmax(max_rel(pub.s, s, R_N * r.state), max_rel(pub.logits, logits, R_N * r.actions));
    d = fmax(d, max_rel(pub.value, value, R_N));
    ck_assert_msg(d < 1e-5, "initial: public and training paths differ by %.3g", d);
    int32_t actions[R_N] = { 0, 3, 24, 25, 7 };
    float factions[R_N] = { 0, 3, 24, 25, 7 };
    float *next = malloc(R_N * r.state * sizeof(float)), *next_t = malloc(R_N * r.state * sizeof(float));
    ck_assert_int_eq(sp_model_recurrent(r.m, pub.s, actions, R_N, next, logits, value), SP_OK);
    float *logits_t = malloc(R_N * r.actions * sizeof(float));
    float value_t[R_N];
    ck_assert_int_eq(sp__model_net_recurrent(&r.m->net, pub.s, factions, R_N, next_t, logits_t, value_t), SP_OK);
    d = fmax(max_rel(next, next_t, R_N * r.state), max_rel(logits, logits_t, R_N * r.actions));
    ck_assert_msg(d < 1e-5, "recurrent after a retrieval state: paths differ by %.3g", d);
    free(s);
    free(logits);
    free(next);
    free(next_t);
    free(logits_t);
    outs_free(&pub);
    run_close(&r);
}
END_TEST

/* Each observation's neighbours in another order (another permutation for
 * every observation) give the same outputs, up to the order of the sum. */
START_TEST(permuting_the_neighbours_changes_nothing)
{
    run r;
    run_open(&r, R_NB, 31);
    outs before = infer(&r, r.neighbours);
    size_t one = r.neighbour_floats / R_NB;
    float *turned = malloc(R_N * r.neighbour_floats * sizeof(float));
    for (int i = 0; i < R_N; i++)
        for (int j = 0; j < R_NB; j++) {
            int from = (j * (i % 2 ? 3 : 1) + i) % R_NB; /* a rotation, reversed on odd rows */
            memcpy(turned + (size_t)(i * R_NB + j) * one, r.neighbours + (size_t)(i * R_NB + from) * one,
                   one * sizeof(float));
        }
    ck_assert(memcmp(turned, r.neighbours, R_N * r.neighbour_floats * sizeof(float)) != 0);
    outs after = infer(&r, turned);
    double d = outs_diff(&r, &after, &before, -1);
    ck_assert_msg(d < 1e-5, "permuted neighbours change the outputs by %.3g", d);
    /* The test can fail: swapping two observations' neighbours does change them. */
    memcpy(turned, r.neighbours + R_NB * one, R_NB * one * sizeof(float));
    outs swapped = infer(&r, turned);
    ck_assert_msg(outs_diff(&r, &swapped, &before, 0) > 1e-3, "the neighbours do not reach the outputs");
    free(turned);
    outs_free(&before);
    outs_free(&after);
    outs_free(&swapped);
    run_close(&r);
}
END_TEST

/* Every x_i = 0 is the baseline: NULL, explicit zeros and sp_model_initial()
 * give the same bits. A neighbour changes its own observation's outputs
 * and no other's. */
START_TEST(zero_neighbours_are_the_baseline)
{
    run r;
    run_open(&r, R_NB, 41);
    outs null = infer(&r, NULL);
    float *zeros = calloc(R_N * r.neighbour_floats, sizeof(float));
    outs zero = infer(&r, zeros);
    ck_assert_msg(outs_same(&r, &null, &zero, -1), "NULL neighbours differ from zero planes");
    ck_assert_int_eq(sp_model_initial(r.m, r.planes, R_N, r.s, r.logits, r.value), SP_OK);
    ck_assert(!memcmp(r.s, null.s, R_N * r.state * sizeof(float)));
    ck_assert(!memcmp(r.logits, null.logits, R_N * r.actions * sizeof(float)));
    ck_assert(!memcmp(r.value, null.value, R_N * sizeof(float)));
    /* One neighbour of observation 2 set: only row 2 moves. */
    size_t one = r.neighbour_floats / R_NB;
    memcpy(zeros + (2 * R_NB + 1) * one, r.neighbours, one * sizeof(float));
    outs moved = infer(&r, zeros);
    for (int i = 0; i < R_N; i++)
        if (i == 2)
            ck_assert_msg(outs_diff(&r, &moved, &null, i) > 1e-4, "a neighbour of row 2 left it unchanged");
        else
            ck_assert_msg(outs_same(&r, &moved, &null, i), "a neighbour of row 2 changed row %d", i);
    free(zeros);
    outs_free(&null);
    outs_free(&zero);
    outs_free(&moved);
    run_close(&r);
}
END_TEST

static uint64_t conv_flops(uint64_t points, uint64_t cin, uint64_t cout, uint64_t k)
{
    return 2 * points * cin * cout * k * k;
}

/* The neighbour network adds its parameters once and its FLOPs N times to
 * initial inference; recurrent inference and the state are unchanged. */
START_TEST(describe_counts_the_neighbour_network)
{
    sp_model_options o = retrieval_options(R_NB);
    sp_model *m = model_open(&o, 51), *none = NULL;
    sp_model_info info = SP_MODEL_INFO_INIT;
    ck_assert_int_eq(sp_model_describe(m, &info), SP_OK);
    sp_model_options b = o;
    b.neighbours = 0;
    none = model_open(&b, 51);
    sp_model_info base = SP_MODEL_INFO_INIT;
    ck_assert_int_eq(sp_model_describe(none, &base), SP_OK);
    uint64_t points = 25, planes = (uint64_t)info.input_planes, c = 8, cn = 3, cr = c - cn, p = SP_NEIGHBOUR_PLANES;
    /* Neighbour tower: 3x3 stem conv (no bias: BN follows), BN (scale, shift), one block of two of each. */
    uint64_t nbr_params = (cr + p) * cn * 9 + 2 * cn + 2 * (cn * cn * 9 + 2 * cn);
    /* The representation makes cr channels instead of c: its stem and blocks shrink. */
    uint64_t repr_c = planes * c * 9 + 2 * c + 2 * 2 * (c * c * 9 + 2 * c);
    uint64_t repr_cr = planes * cr * 9 + 2 * cr + 2 * 2 * (cr * cr * 9 + 2 * cr);
    ck_assert_uint_eq(info.parameters, base.parameters - repr_c + repr_cr + nbr_params);
    ck_assert_int_eq(info.state_size, base.state_size);
    ck_assert_uint_eq(info.flops_recurrent, base.flops_recurrent);
    uint64_t repr_flops = conv_flops(points, planes, cr, 3) + 2 * 2 * conv_flops(points, cr, cr, 3);
    uint64_t base_repr = conv_flops(points, planes, c, 3) + 2 * 2 * conv_flops(points, c, c, 3);
    uint64_t nbr_flops = R_NB * (conv_flops(points, cr + p, cn, 3) + 2 * conv_flops(points, cn, cn, 3));
    ck_assert_uint_eq(info.flops_initial, base.flops_initial - base_repr + repr_flops + nbr_flops);
    sp_model_free(m);
    sp_model_free(none);
}
END_TEST

/* Save and load: the same outputs bit for bit, the options and the
 * embedder id; the id is part of the content hash. A file of a model
 * without neighbours is refused by a retrieval model and the reverse. */
START_TEST(files_keep_the_neighbours_and_the_embedder)
{
    run r;
    run_open(&r, R_NB, 61);
    ck_assert_uint_eq(sp_model_embedder_id(r.m), 0);
    sp_model_info before = r.info;
    ck_assert_int_eq(sp_model_set_embedder(r.m, 0x31456be34f5c7e3dull), SP_OK);
    ck_assert_uint_eq(sp_model_embedder_id(r.m), 0x31456be34f5c7e3dull);
    sp_model_info with_id = SP_MODEL_INFO_INIT;
    ck_assert_int_eq(sp_model_describe(r.m, &with_id), SP_OK);
    ck_assert(with_id.content_hash != before.content_hash);
    const char *path = temp_path("r.spm");
    ck_assert_msg(sp_model_save(r.m, path) == SP_OK, "%s", sp_last_error());
    outs saved = infer(&r, r.neighbours);
    sp_model *loaded = NULL;
    ck_assert_msg(sp_model_load(&loaded, path, NULL) == SP_OK, "%s", sp_last_error());
    ck_assert_uint_eq(sp_model_embedder_id(loaded), 0x31456be34f5c7e3dull);
    sp_model_options o = SP_MODEL_OPTIONS_INIT;
    ck_assert_int_eq(sp_model_get_options(loaded, &o), SP_OK);
    ck_assert_int_eq(o.neighbours, R_NB);
    ck_assert_int_eq(o.neighbour_channels, 3);
    ck_assert_int_eq(o.neighbour_blocks, 1);
    sp_model_info info = SP_MODEL_INFO_INIT;
    ck_assert_int_eq(sp_model_describe(loaded, &info), SP_OK);
    ck_assert_uint_eq(info.content_hash, with_id.content_hash);
    sp_model *keep = r.m;
    r.m = loaded;
    outs again = infer(&r, r.neighbours);
    ck_assert_msg(outs_same(&r, &saved, &again, -1), "a loaded retrieval model computes other outputs");
    r.m = keep;
    /* The other way round: neither loads into the other. */
    sp_model_options b = retrieval_options(0);
    sp_model *none = model_open(&b, 62);
    ck_assert_int_eq(sp_model_load_into(none, path), SP_ERR_FORMAT);
    ck_assert_msg(strstr(sp_last_error(), "neighbours"), "%s", sp_last_error());
    const char *plain = temp_path("plain.spm");
    ck_assert_int_eq(sp_model_save(none, plain), SP_OK);
    ck_assert_int_eq(sp_model_load_into(r.m, plain), SP_ERR_FORMAT);
    ck_assert_msg(strstr(sp_last_error(), "neighbours"), "%s", sp_last_error());
    /* A model without neighbours is written as before they existed: format 1, 10 fields. */
    FILE *f = fopen(plain, "rb");
    ck_assert_ptr_nonnull(f);
    unsigned char bytes[4096];
    size_t got = fread(bytes, 1, sizeof bytes, f);
    fclose(f);
    const unsigned char want[8] = { 1, 0, 0, 0, 10, 0, 0, 0 };
    int found = 0;
    for (size_t i = 0; i + sizeof want <= got && !found; i++)
        found = !memcmp(bytes + i, want, sizeof want);
    ck_assert_msg(found, "no format 1 record of 10 fields");
    unlink(path);
    unlink(plain);
    outs_free(&saved);
    outs_free(&again);
    sp_model_free(loaded);
    sp_model_free(none);
    run_close(&r);
}
END_TEST

/* Another embedder or another N is refused, naming both; a model that
 * records no embedder takes any; set_embedder takes only retrieval models. */
START_TEST(another_embedder_or_count_is_refused)
{
    sp_model_options o = retrieval_options(R_NB);
    sp_model *m = model_open(&o, 71);
    ck_assert_int_eq(sp_model_check_retrieval(m, 0x1234, R_NB), SP_OK);
    ck_assert_int_eq(sp_model_check_retrieval(m, 0x1234, R_NB + 1), SP_ERR_INVALID_ARG);
    ck_assert_msg(strstr(sp_last_error(), "4 neighbours") && strstr(sp_last_error(), "5"), "%s", sp_last_error());
    ck_assert_int_eq(sp_model_set_embedder(m, 0xabcdefull), SP_OK);
    ck_assert_int_eq(sp_model_check_retrieval(m, 0xabcdefull, R_NB), SP_OK);
    ck_assert_int_eq(sp_model_check_retrieval(m, 0x1234, R_NB), SP_ERR_INVALID_ARG);
    ck_assert_msg(strstr(sp_last_error(), "0000000000abcdef") && strstr(sp_last_error(), "0000000000001234"), "%s",
                  sp_last_error());
    ck_assert_int_eq(sp_model_set_embedder(m, 0), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_model_set_embedder(NULL, 1), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_model_check_retrieval(NULL, 1, 1), SP_ERR_INVALID_ARG);
    ck_assert_uint_eq(sp_model_embedder_id(NULL), 0);
    sp_model_options b = retrieval_options(0);
    sp_model *none = model_open(&b, 72);
    ck_assert_int_eq(sp_model_set_embedder(none, 0xabcdefull), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_model_check_retrieval(none, 0, 0), SP_OK);
    ck_assert_int_eq(sp_model_check_retrieval(none, 0, 10), SP_ERR_INVALID_ARG);
    sp_model_free(m);
    sp_model_free(none);
}
END_TEST

/* Layers, search, and neighbours for a model that reads none: refused. */
START_TEST(what_a_retrieval_model_does_not_do)
{
    run r;
    run_open(&r, R_NB, 81);
    ck_assert_int_eq(sp_model_layer_count(r.m), 0);
    float out[4096];
    ck_assert_int_eq(sp_model_activations(r.m, NULL, r.planes, 1, out, 4096), SP_ERR_INVALID_ARG);
    ck_assert_msg(strstr(sp_last_error(), "retrieval model"), "%s", sp_last_error());
    sp_search_model sm;
    ck_assert_int_eq(sp_model_search_model(r.m, NULL, &sm), SP_ERR_UNSUPPORTED);
    ck_assert_msg(strstr(sp_last_error(), "neighbours"), "%s", sp_last_error());
    ck_assert_int_eq(sp_model_initial_neighbours(r.m, NULL, r.neighbours, 1, r.s, NULL, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_model_initial_neighbours(r.m, r.planes, r.neighbours, 0, r.s, NULL, NULL),
                     SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_model_initial_neighbours(NULL, r.planes, r.neighbours, 1, r.s, NULL, NULL),
                     SP_ERR_INVALID_ARG);
    run_close(&r);
    run_open(&r, 0, 82);
    ck_assert_int_eq(sp_model_initial_neighbours(r.m, r.planes, r.neighbours, 1, r.s, NULL, NULL),
                     SP_ERR_INVALID_ARG);
    ck_assert_msg(strstr(sp_last_error(), "reads none"), "%s", sp_last_error());
    ck_assert_int_eq(sp_model_initial_neighbours(r.m, r.planes, NULL, 1, r.s, NULL, NULL), SP_OK);
    run_close(&r);
}
END_TEST

Suite *model_retrieval_suite(void);
Suite *model_retrieval_suite(void)
{
    Suite *s = suite_create("model_retrieval");
    TCase *tc = tcase_create("network");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, gradient_through_the_neighbour_path);
    tcase_add_test(tc, gradient_with_the_neighbour_regulariser);
    tcase_add_test(tc, regulariser_is_the_distance_to_the_zero_neighbour_state);
    suite_add_tcase(s, tc);
    tc = tcase_create("handle");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, inference_equals_the_training_forward_pass);
    tcase_add_test(tc, permuting_the_neighbours_changes_nothing);
    tcase_add_test(tc, zero_neighbours_are_the_baseline);
    tcase_add_test(tc, describe_counts_the_neighbour_network);
    tcase_add_test(tc, files_keep_the_neighbours_and_the_embedder);
    tcase_add_test(tc, another_embedder_or_count_is_refused);
    tcase_add_test(tc, what_a_retrieval_model_does_not_do);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(model_retrieval_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
