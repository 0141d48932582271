/* Convolution (k x k, stride 1, same padding) and inner product: forward in
 * training or inference mode, backward for data and weights. Activations are
 * channels-last; weights take whatever blocked format oneDNN prefers. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "layers.h"

static int linear_params(sp__linear *l, sp__params *ps, const char *name, int64_t *wdims, int wnd,
                         float std, int bias)
{
    char full[SP__PARAM_NAME_MAX + 16];
    snprintf(full, sizeof full, "%s.weight", name);
    int rc = sp__params_add(ps, &l->weight, full, wnd, wdims, SP__PARAM_DECAY, SP__INIT_NORMAL, std);
    if (!rc && bias) {
        snprintf(full, sizeof full, "%s.bias", name);
        rc = sp__params_add(ps, &l->bias, full, 1, &l->cout, 0, SP__INIT_ZERO, 0.0f);
    }
    return rc;
}

int sp__conv_setup(sp__linear *l, sp__params *ps, const char *name, int64_t cin, int64_t cout, int64_t k,
                   int bias)
{
    memset(l, 0, sizeof *l);
    if (cin <= 0 || cout <= 0 || k <= 0 || k % 2 == 0)
        return sp__error(SP_ERR_INVALID_ARG, "conv '%s': %lldx%lld kernel %lld is invalid", name,
                         (long long)cin, (long long)cout, (long long)k);
    l->nn = ps->nn;
    l->kind = SP__LINEAR_CONV;
    l->cin = cin;
    l->cout = cout;
    l->k = k;
    int64_t dims[4] = { cout, cin, k, k };
    return linear_params(l, ps, name, dims, 4, (float)sqrt(2.0 / (double)(cin * k * k)), bias);
}

int sp__dense_setup(sp__linear *l, sp__params *ps, const char *name, int64_t cin, int64_t ih, int64_t iw,
                    int64_t cout, int bias)
{
    memset(l, 0, sizeof *l);
    if (cin <= 0 || cout <= 0 || ih < 0 || iw < 0 || (ih == 0) != (iw == 0))
        return sp__error(SP_ERR_INVALID_ARG, "dense '%s': shape is invalid", name);
    l->nn = ps->nn;
    l->kind = SP__LINEAR_DENSE;
    l->cin = cin;
    l->ih = ih;
    l->iw = iw;
    l->cout = cout;
    int64_t dims[4] = { cout, cin, ih, iw };
    int64_t fan_in = cin * (ih ? ih * iw : 1);
    return linear_params(l, ps, name, dims, ih ? 4 : 2, (float)sqrt(1.0 / (double)fan_in), bias);
}

static void drop_primitives(sp__linear *l)
{
    for (int t = 0; t < 2; t++) {
        sp__nn_destroy_primitive(&l->fwd[t]);
        sp__nn_destroy_pd(&l->fwd_pd[t]);
    }
    sp__nn_destroy_primitive(&l->bwd_data);
    sp__nn_destroy_primitive(&l->bwd_weights);
    sp__nn_destroy_pd(&l->bwd_data_pd);
    sp__nn_destroy_pd(&l->bwd_weights_pd);
}

void sp__linear_release(sp__linear *l)
{
    drop_primitives(l);
    for (int t = 0; t < 2; t++)
        sp__wcache_release(&l->wfwd[t]);
    sp__wcache_release(&l->wbwd);
    sp__gacc_release(&l->gw);
    sp__gacc_release(&l->gb);
    sp__tensor_release(&l->out);
    sp__tensor_release(&l->dsrc);
}

void sp__linear_share(sp__linear *l, const sp__linear *from)
{
    memset(l, 0, sizeof *l);
    l->nn = from->nn;
    l->kind = from->kind;
    l->weight = from->weight;
    l->bias = from->bias;
    l->cin = from->cin;
    l->cout = from->cout;
    l->k = from->k;
    l->ih = from->ih;
    l->iw = from->iw;
}

static void weights_any(const sp__linear *l, dnnl_memory_desc_t *md)
{
    dnnl_memory_desc_init_by_tag(md, l->weight->ndims, l->weight->dims, dnnl_f32, dnnl_format_tag_any);
}

static int make_forward(sp__linear *l, const sp__tensor *in, int training)
{
    dnnl_memory_desc_t wmd;
    weights_any(l, &wmd);
    dnnl_prop_kind_t prop = training ? dnnl_forward_training : dnnl_forward_inference;
    const dnnl_memory_desc_t *bmd = l->bias ? &l->bias->md : NULL;
    union {
        dnnl_convolution_desc_t conv;
        dnnl_inner_product_desc_t ip;
    } d;
    dnnl_status_t st;
    if (l->kind == SP__LINEAR_CONV) {
        dnnl_dims_t strides = { 1, 1 }, pad = { l->k / 2, l->k / 2 };
        st = dnnl_convolution_forward_desc_init(&d.conv, prop, dnnl_convolution_direct, &in->md, &wmd, bmd,
                                                &l->out.md, strides, pad, pad);
    } else {
        st = dnnl_inner_product_forward_desc_init(&d.ip, prop, &in->md, &wmd, bmd, &l->out.md);
    }
    if (st != dnnl_success)
        return sp__dnnl_error(st, l->kind == SP__LINEAR_CONV ? "convolution descriptor" : "inner product descriptor");
    return sp__nn_primitive(l->nn, &d, NULL, NULL, l->kind == SP__LINEAR_CONV,
                            l->kind == SP__LINEAR_CONV ? "convolution forward" : "inner product forward",
                            &l->fwd_pd[training], &l->fwd[training]);
}

int sp__linear_forward(sp__linear *l, const sp__tensor *in, int training)
{
    training = training ? 1 : 0;
    int conv = l->kind == SP__LINEAR_CONV;
    if (in->type != dnnl_f32 || in->c != l->cin || (conv ? in->h == 0 : (in->h != l->ih || in->w != l->iw)))
        return sp__error(SP_ERR_INVALID_ARG, "%s: input %lldx%lldx%lldx%lld does not fit the layer (%lld channels)",
                         conv ? "conv" : "dense", (long long)in->n, (long long)in->c, (long long)in->h,
                         (long long)in->w, (long long)l->cin);
    if (in->n != l->n || (conv && (in->h != l->h || in->w != l->w))) {
        drop_primitives(l);
        l->n = in->n;
        l->h = in->h;
        l->w = in->w;
    }
    int rc = conv ? sp__tensor_ensure(&l->out, l->nn, in->n, l->cout, in->h, in->w)
                  : sp__tensor_ensure(&l->out, l->nn, in->n, l->cout, 0, 0);
    if (!rc && !l->fwd[training])
        rc = make_forward(l, in, training);
    dnnl_memory_t wmem = NULL;
    if (!rc)
        rc = sp__wcache_get(l->nn, &l->wfwd[training], l->weight,
                            sp__nn_query_md(l->fwd_pd[training], dnnl_query_weights_md), &wmem);
    if (rc)
        return rc;
    dnnl_exec_arg_t args[4] = { { DNNL_ARG_SRC, in->mem }, { DNNL_ARG_WEIGHTS, wmem },
                                { DNNL_ARG_DST, l->out.mem }, { DNNL_ARG_BIAS, l->bias ? l->bias->value : NULL } };
    rc = sp__nn_execute(l->nn, l->fwd[training], l->bias ? 4 : 3, args, conv ? "convolution" : "inner product");
    l->in = in;
    l->last_training = training;
    return rc;
}

static int make_backward(sp__linear *l)
{
    int conv = l->kind == SP__LINEAR_CONV;
    dnnl_memory_desc_t wmd, bmd;
    weights_any(l, &wmd);
    if (l->bias)
        bmd = l->bias->md;
    union {
        dnnl_convolution_desc_t conv;
        dnnl_inner_product_desc_t ip;
    } d;
    dnnl_status_t st;
    dnnl_dims_t strides = { 1, 1 }, pad = { l->k / 2, l->k / 2 };
    if (conv)
        st = dnnl_convolution_backward_data_desc_init(&d.conv, dnnl_convolution_direct, &l->dsrc.md, &wmd,
                                                      &l->out.md, strides, pad, pad);
    else
        st = dnnl_inner_product_backward_data_desc_init(&d.ip, &l->dsrc.md, &wmd, &l->out.md);
    if (st != dnnl_success)
        return sp__dnnl_error(st, "backward data descriptor");
    int rc = sp__nn_primitive(l->nn, &d, NULL, l->fwd_pd[1], conv,
                              conv ? "convolution backward data" : "inner product backward data", &l->bwd_data_pd,
                              &l->bwd_data);
    if (rc)
        return rc;
    if (conv)
        st = dnnl_convolution_backward_weights_desc_init(&d.conv, dnnl_convolution_direct, &l->in->md, &wmd,
                                                         l->bias ? &bmd : NULL, &l->out.md, strides, pad, pad);
    else
        st = dnnl_inner_product_backward_weights_desc_init(&d.ip, &l->in->md, &wmd, l->bias ? &bmd : NULL,
                                                           &l->out.md);
    if (st != dnnl_success)
        return sp__dnnl_error(st, "backward weights descriptor");
    return sp__nn_primitive(l->nn, &d, NULL, l->fwd_pd[1], conv,
                            conv ? "convolution backward weights" : "inner product backward weights",
                            &l->bwd_weights_pd, &l->bwd_weights);
}

int sp__linear_backward(sp__linear *l, const sp__tensor *dout, int need_dsrc)
{
    if (!l->in || !l->last_training || !l->fwd[1])
        return sp__error(SP_ERR_MISUSE, "backward without a training forward pass");
    if (!sp__tensor_same_shape(dout, &l->out))
        return sp__error(SP_ERR_INVALID_ARG, "backward: gradient shape differs from the output's");
    const sp__tensor *in = l->in;
    int rc = sp__tensor_ensure(&l->dsrc, l->nn, in->n, in->c, in->h, in->w);
    if (!rc && !l->bwd_data)
        rc = make_backward(l);
    if (rc)
        return rc;
    if (need_dsrc) {
        dnnl_memory_t wmem;
        rc = sp__wcache_get(l->nn, &l->wbwd, l->weight, sp__nn_query_md(l->bwd_data_pd, dnnl_query_weights_md),
                            &wmem);
        if (rc)
            return rc;
        dnnl_exec_arg_t args[3] = { { DNNL_ARG_DIFF_DST, dout->mem }, { DNNL_ARG_WEIGHTS, wmem },
                                    { DNNL_ARG_DIFF_SRC, l->dsrc.mem } };
        rc = sp__nn_execute(l->nn, l->bwd_data, 3, args, "backward data");
        if (rc)
            return rc;
    }
    rc = sp__gacc_prepare(l->nn, &l->gw, l->weight, sp__nn_query_md(l->bwd_weights_pd, dnnl_query_diff_weights_md));
    if (!rc && l->bias)
        rc = sp__gacc_prepare(l->nn, &l->gb, l->bias,
                              dnnl_primitive_desc_query_md(l->bwd_weights_pd, dnnl_query_diff_weights_md, 1));
    if (rc)
        return rc;
    dnnl_exec_arg_t args[4] = { { DNNL_ARG_SRC, in->mem }, { DNNL_ARG_DIFF_DST, dout->mem },
                                { DNNL_ARG_DIFF_WEIGHTS, l->gw.tmp }, { DNNL_ARG_DIFF_BIAS, l->bias ? l->gb.tmp : NULL } };
    rc = sp__nn_execute(l->nn, l->bwd_weights, l->bias ? 4 : 3, args, "backward weights");
    if (!rc)
        rc = sp__gacc_commit(l->nn, &l->gw, l->weight);
    if (!rc && l->bias)
        rc = sp__gacc_commit(l->nn, &l->gb, l->bias);
    return rc;
}
