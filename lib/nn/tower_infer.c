/* Fast inference of the residual tower: batch norm folded into the
 * convolutions, ReLU and the skip connection as post-ops (the second
 * convolution of a block adds into the block's input buffer in place), two
 * ping-pong buffers, and primitives cached per batch size and warmed up. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tower.h"

struct sp__tower_plan {
    int64_t n, h, w;
    unsigned used;
    dnnl_data_type_t type;
    uint64_t stamp;
    int nconv;
    dnnl_memory_t buf[2], in_cvt;
    dnnl_primitive_t in_reorder, out_reorder;
    dnnl_primitive_desc_t *pd;
    dnnl_primitive_t *conv;
    sp__wcache *weights;
    const char *impl;
};

static int conv_count(const sp__tower *t) { return 1 + 2 * (int)t->blocks; }

static void conv_layers(const sp__tower *t, int i, const sp__linear **conv, const sp__bnorm **bn)
{
    if (i == 0) {
        *conv = &t->stem;
        *bn = &t->stem_bn;
    } else {
        const sp__resblock *r = &t->block[(i - 1) / 2];
        *conv = (i - 1) % 2 ? &r->conv2 : &r->conv1;
        *bn = (i - 1) % 2 ? &r->bn2 : &r->bn1;
    }
}

static uint64_t params_stamp(const sp__tower *t)
{
    uint64_t stamp = 0;
    for (int i = 0; i < conv_count(t); i++) {
        const sp__linear *c;
        const sp__bnorm *b;
        conv_layers(t, i, &c, &b);
        stamp += c->weight->version + b->gamma->version + b->beta->version + b->mean->version + b->var->version;
    }
    return stamp;
}

static void plan_free(sp__tower_plan *p, int nconv)
{
    if (!p)
        return;
    for (int i = 0; i < nconv; i++) {
        if (p->conv)
            sp__nn_destroy_primitive(&p->conv[i]);
        if (p->pd)
            sp__nn_destroy_pd(&p->pd[i]);
        if (p->weights)
            sp__wcache_release(&p->weights[i]);
    }
    free(p->conv);
    free(p->pd);
    free(p->weights);
    sp__nn_destroy_memory(&p->buf[0]);
    sp__nn_destroy_memory(&p->buf[1]);
    sp__nn_destroy_memory(&p->in_cvt);
    sp__nn_destroy_primitive(&p->in_reorder);
    sp__nn_destroy_primitive(&p->out_reorder);
    free(p);
}

void sp__tower_infer_release(sp__tower *t);
void sp__tower_infer_release(sp__tower *t)
{
    for (int i = 0; i < SP__TOWER_PLANS; i++) {
        plan_free(t->plan[i], conv_count(t));
        t->plan[i] = NULL;
    }
    if (t->folded_w)
        for (int i = 0; i < conv_count(t); i++) {
            sp__nn_destroy_memory(&t->folded_w[i]);
            sp__nn_destroy_memory(&t->folded_b[i]);
        }
    free(t->folded_w);
    free(t->folded_b);
    t->folded_w = t->folded_b = NULL;
    t->folded_valid = 0;
}

/* w' = w * gamma / sqrt(var + eps) per output channel; b' = beta - mean * that. */
static int fold(sp__tower *t)
{
    int n = conv_count(t), rc = SP_OK;
    if (!t->folded_w) {
        t->folded_w = calloc((size_t)n, sizeof *t->folded_w);
        t->folded_b = calloc((size_t)n, sizeof *t->folded_b);
        if (!t->folded_w || !t->folded_b)
            return sp__error(SP_ERR_NOMEM, "tower: out of memory");
    }
    for (int i = 0; i < n && !rc; i++) {
        const sp__linear *c;
        const sp__bnorm *b;
        conv_layers(t, i, &c, &b);
        if (!t->folded_w[i]) {
            rc = sp__nn_memory(t->nn, &c->weight->md, &t->folded_w[i]);
            if (!rc)
                rc = sp__nn_memory(t->nn, &b->beta->md, &t->folded_b[i]);
            if (rc)
                break;
        }
        size_t per = c->weight->count / (size_t)c->cout;
        float *w = malloc(c->weight->count * sizeof *w), *stats = malloc(4 * (size_t)c->cout * sizeof *stats);
        if (!w || !stats) {
            free(w);
            free(stats);
            return sp__error(SP_ERR_NOMEM, "tower: out of memory");
        }
        float *gamma = stats, *beta = stats + c->cout, *mean = beta + c->cout, *var = mean + c->cout;
        rc = sp__param_read(c->weight, w);
        if (!rc)
            rc = sp__param_read(b->gamma, gamma);
        if (!rc)
            rc = sp__param_read(b->beta, beta);
        if (!rc)
            rc = sp__param_read(b->mean, mean);
        if (!rc)
            rc = sp__param_read(b->var, var);
        if (!rc) {
            for (int64_t o = 0; o < c->cout; o++) {
                double scale = gamma[o] / sqrt((double)var[o] + b->eps);
                for (size_t j = 0; j < per; j++)
                    w[(size_t)o * per + j] = (float)(w[(size_t)o * per + j] * scale);
                beta[o] = (float)(beta[o] - mean[o] * scale);
            }
            void *ptr;
            rc = sp__nn_map(t->folded_w[i], &ptr);
            if (!rc) {
                memcpy(ptr, w, c->weight->count * sizeof *w);
                sp__nn_unmap(t->folded_w[i], ptr);
                rc = sp__nn_map(t->folded_b[i], &ptr);
            }
            if (!rc) {
                memcpy(ptr, beta, (size_t)c->cout * sizeof *beta);
                sp__nn_unmap(t->folded_b[i], ptr);
            }
        }
        free(w);
        free(stats);
    }
    if (!rc) {
        t->folded_valid = 1;
        t->folded_stamp = params_stamp(t);
    }
    return rc;
}

static int make_conv(sp__tower *t, sp__tower_plan *p, int i, const dnnl_memory_desc_t *src, const dnnl_memory_desc_t *dst)
{
    const sp__linear *c;
    const sp__bnorm *b;
    conv_layers(t, i, &c, &b);
    dnnl_memory_desc_t wmd;
    dnnl_memory_desc_init_by_tag(&wmd, 4, c->weight->dims, p->type, dnnl_format_tag_any);
    dnnl_convolution_desc_t d;
    dnnl_dims_t strides = { 1, 1 }, pad = { 1, 1 };
    dnnl_status_t st = dnnl_convolution_forward_desc_init(&d, dnnl_forward_inference, dnnl_convolution_direct, src,
                                                          &wmd, &b->beta->md, dst, strides, pad, pad);
    if (st != dnnl_success)
        return sp__dnnl_error(st, "fused convolution descriptor");
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    int rc = SP_OK;
    SP__DNNL_TRY(dnnl_primitive_attr_create(&attr), "attributes");
    SP__DNNL_TRY(dnnl_post_ops_create(&ops), "post-ops");
    if (i > 0 && (i - 1) % 2 == 1)
        SP__DNNL_TRY(dnnl_post_ops_append_sum(ops, 1.0f), "sum post-op");
    SP__DNNL_TRY(dnnl_post_ops_append_eltwise(ops, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f), "relu post-op");
    SP__DNNL_TRY(dnnl_primitive_attr_set_post_ops(attr, ops), "post-ops");
    rc = sp__nn_primitive(t->nn, &d, attr, NULL, 1, "fused convolution", &p->pd[i], &p->conv[i]);
fail:
    if (ops)
        dnnl_post_ops_destroy(ops);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    return rc;
}

static int plan_create(sp__tower *t, const sp__tensor *in, dnnl_data_type_t type, sp__tower_plan **out)
{
    int n = conv_count(t);
    sp__tower_plan *p = calloc(1, sizeof *p);
    if (!p)
        return sp__error(SP_ERR_NOMEM, "tower: out of memory");
    p->n = in->n;
    p->h = in->h;
    p->w = in->w;
    p->type = type;
    p->nconv = n;
    p->pd = calloc((size_t)n, sizeof *p->pd);
    p->conv = calloc((size_t)n, sizeof *p->conv);
    p->weights = calloc((size_t)n, sizeof *p->weights);
    int rc = p->pd && p->conv && p->weights ? SP_OK : sp__error(SP_ERR_NOMEM, "tower: out of memory");
    dnnl_memory_desc_t act, src;
    dnnl_dims_t dims = { in->n, t->channels, in->h, in->w }, in_dims = { in->n, t->planes, in->h, in->w };
    dnnl_memory_desc_init_by_tag(&act, 4, dims, type, dnnl_nhwc);
    dnnl_memory_desc_init_by_tag(&src, 4, in_dims, type, dnnl_nhwc);
    for (int b = 0; b < 2 && !rc; b++)
        rc = sp__nn_memory(t->nn, &act, &p->buf[b]);
    if (!rc && type != dnnl_f32) {
        rc = sp__nn_memory(t->nn, &src, &p->in_cvt);
        if (!rc)
            rc = sp__nn_reorder(t->nn, &in->md, &src, 0, &p->in_reorder);
    }
    if (!rc) {
        dnnl_memory_desc_t f32act;
        dnnl_memory_desc_init_by_tag(&f32act, 4, dims, dnnl_f32, dnnl_nhwc);
        rc = sp__nn_reorder(t->nn, &act, &f32act, 0, &p->out_reorder);
    }
    for (int i = 0; i < n && !rc; i++)
        rc = make_conv(t, p, i, i == 0 ? &src : &act, &act);
    if (!rc)
        dnnl_primitive_desc_query(p->pd[n > 1 ? 1 : 0], dnnl_query_impl_info_str, 0, &p->impl);
    if (rc) {
        plan_free(p, n);
        return rc;
    }
    *out = p;
    return SP_OK;
}

static int plan_find(sp__tower *t, const sp__tensor *in, sp__tower_plan **out)
{
    dnnl_data_type_t type = t->nn->precision == SP_PRECISION_BF16 ? dnnl_bf16 : dnnl_f32;
    int victim = 0;
    for (int i = 0; i < SP__TOWER_PLANS; i++) {
        sp__tower_plan *p = t->plan[i];
        if (p && p->n == in->n && p->h == in->h && p->w == in->w && p->type == type) {
            p->used = ++t->plan_clock;
            *out = p;
            return SP_OK;
        }
        if (!p || (t->plan[victim] && p->used < t->plan[victim]->used))
            victim = i;
    }
    plan_free(t->plan[victim], conv_count(t));
    t->plan[victim] = NULL;
    int rc = plan_create(t, in, type, &t->plan[victim]);
    if (rc)
        return rc;
    t->plan[victim]->used = ++t->plan_clock;
    *out = t->plan[victim];
    return SP_OK;
}

int sp__tower_infer(sp__tower *t, const sp__tensor *in, sp__tensor *out)
{
    return sp__tower_infer_blocks(t, in, t->blocks, out);
}

/* The plan is the whole tower's; the stem and every block's second
 * convolution leave their output in buf[0], so stopping after block b's
 * second convolution and reordering buf[0] out gives that block's output. */
int sp__tower_infer_blocks(sp__tower *t, const sp__tensor *in, int64_t blocks, sp__tensor *out)
{
    if (in->c != t->planes || in->h == 0 || in->type != dnnl_f32)
        return sp__error(SP_ERR_INVALID_ARG, "tower: input has %lld planes, the tower takes %lld", (long long)in->c,
                         (long long)t->planes);
    if (blocks < 0 || blocks > t->blocks)
        return sp__error(SP_ERR_INVALID_ARG, "tower: %lld blocks asked of a tower of %lld", (long long)blocks,
                         (long long)t->blocks);
    int rc = SP_OK;
    if (!t->folded_valid || t->folded_stamp != params_stamp(t))
        rc = fold(t);
    sp__tower_plan *p = NULL;
    if (!rc)
        rc = plan_find(t, in, &p);
    if (!rc)
        rc = sp__tensor_ensure(out, t->nn, in->n, t->channels, in->h, in->w);
    if (rc)
        return rc;
    int saved = sp__nn_threads_enter(t->nn);
    dnnl_memory_t src = in->mem;
    if (p->in_reorder) {
        rc = sp__nn_run_reorder(t->nn, p->in_reorder, in->mem, p->in_cvt);
        src = p->in_cvt;
    }
    /* Block b: conv1 buf0 -> buf1 (ReLU), conv2 buf1 -> buf0 (+= skip, ReLU). */
    int nconv = 1 + 2 * (int)blocks;
    for (int i = 0; i < nconv && !rc; i++) {
        const sp__linear *c;
        const sp__bnorm *b;
        conv_layers(t, i, &c, &b);
        dnnl_memory_t w;
        rc = sp__wcache_get_mem(t->nn, &p->weights[i], t->folded_w[i], &c->weight->md, t->folded_stamp,
                                sp__nn_query_md(p->pd[i], dnnl_query_weights_md), &w);
        if (rc)
            break;
        int second = i > 0 && (i - 1) % 2 == 1;
        dnnl_exec_arg_t args[4] = { { DNNL_ARG_SRC, i == 0 ? src : p->buf[second ? 1 : 0] },
                                    { DNNL_ARG_WEIGHTS, w },
                                    { DNNL_ARG_BIAS, t->folded_b[i] },
                                    { DNNL_ARG_DST, p->buf[i == 0 || second ? 0 : 1] } };
        rc = sp__nn_execute(t->nn, p->conv[i], 4, args, "fused convolution");
    }
    if (!rc)
        rc = sp__nn_run_reorder(t->nn, p->out_reorder, p->buf[0], out->mem);
    sp__nn_threads_leave(t->nn, saved);
    t->last_impl = p->impl;
    return rc;
}

const char *sp__tower_infer_impl(const sp__tower *t) { return t->last_impl ? t->last_impl : ""; }

int sp__tower_warm_up(sp__tower *t, int64_t n, int64_t h, int64_t w)
{
    sp__tensor in = { 0 }, out = { 0 };
    int rc = sp__tensor_ensure(&in, t->nn, n, t->planes, h, w);
    if (!rc)
        rc = sp__tensor_zero(&in);
    if (!rc)
        rc = sp__tower_infer(t, &in, &out);
    sp__tensor_release(&in);
    sp__tensor_release(&out);
    return rc;
}
