/* Batch normalisation: training statistics with running averages, global
 * statistics for inference, backward for data, scale and shift. */
#include <stdio.h>
#include <string.h>

#include "layers.h"

int sp__bnorm_setup(sp__bnorm *b, sp__params *ps, const char *name, int64_t c)
{
    memset(b, 0, sizeof *b);
    b->nn = ps->nn;
    b->c = c;
    b->eps = 1e-5f;
    b->momentum = 0.1f;
    char full[SP__PARAM_NAME_MAX + 16];
    static const char *suffix[4] = { "gamma", "beta", "mean", "var" };
    sp__param **slot[4] = { &b->gamma, &b->beta, &b->mean, &b->var };
    static const int flags[4] = { 0, 0, SP__PARAM_BUFFER, SP__PARAM_BUFFER };
    static const int init[4] = { SP__INIT_ONE, SP__INIT_ZERO, SP__INIT_ZERO, SP__INIT_ONE };
    for (int i = 0; i < 4; i++) {
        snprintf(full, sizeof full, "%s.%s", name, suffix[i]);
        int rc = sp__params_add(ps, slot[i], full, 1, &c, flags[i], init[i], 0.0f);
        if (rc)
            return rc;
    }
    return SP_OK;
}

void sp__bnorm_share(sp__bnorm *b, const sp__bnorm *from)
{
    memset(b, 0, sizeof *b);
    b->nn = from->nn;
    b->c = from->c;
    b->eps = from->eps;
    b->momentum = from->momentum;
    b->gamma = from->gamma;
    b->beta = from->beta;
    b->mean = from->mean;
    b->var = from->var;
}

static void drop(sp__bnorm *b)
{
    for (int t = 0; t < 2; t++) {
        sp__nn_destroy_primitive(&b->fwd[t]);
        sp__nn_destroy_pd(&b->fwd_pd[t]);
    }
    sp__nn_destroy_primitive(&b->bwd);
    sp__nn_destroy_pd(&b->bwd_pd);
}

void sp__bnorm_release(sp__bnorm *b)
{
    drop(b);
    sp__nn_destroy_memory(&b->batch_mean);
    sp__nn_destroy_memory(&b->batch_var);
    sp__nn_destroy_memory(&b->dgamma);
    sp__nn_destroy_memory(&b->dbeta);
    sp__tensor_release(&b->out);
    sp__tensor_release(&b->dsrc);
}

static int blend_running(sp__bnorm *b)
{
    dnnl_memory_t batch[2] = { b->batch_mean, b->batch_var };
    sp__param *run[2] = { b->mean, b->var };
    for (int i = 0; i < 2; i++) {
        void *src, *dst;
        int rc = sp__nn_map(batch[i], &src);
        if (rc)
            return rc;
        rc = sp__nn_map(run[i]->value, &dst);
        if (rc) {
            sp__nn_unmap(batch[i], src);
            return rc;
        }
        const float *s = src;
        float *d = dst;
        for (int64_t c = 0; c < b->c; c++)
            d[c] = (1.0f - b->momentum) * d[c] + b->momentum * s[c];
        sp__nn_unmap(run[i]->value, dst);
        sp__nn_unmap(batch[i], src);
        run[i]->version++;
    }
    return SP_OK;
}

int sp__bnorm_forward(sp__bnorm *b, const sp__tensor *in, int training)
{
    training = training ? 1 : 0;
    if (in->c != b->c || in->type != dnnl_f32)
        return sp__error(SP_ERR_INVALID_ARG, "batch norm: input has %lld channels, the layer %lld",
                         (long long)in->c, (long long)b->c);
    if (in->n != b->n || in->h != b->h || in->w != b->w) {
        drop(b);
        b->n = in->n;
        b->h = in->h;
        b->w = in->w;
    }
    int rc = sp__tensor_ensure(&b->out, b->nn, in->n, in->c, in->h, in->w);
    if (!rc && !b->batch_mean) {
        rc = sp__nn_memory(b->nn, &b->mean->md, &b->batch_mean);
        if (!rc)
            rc = sp__nn_memory(b->nn, &b->var->md, &b->batch_var);
    }
    if (rc)
        return rc;
    if (!b->fwd[training]) {
        dnnl_batch_normalization_desc_t d;
        unsigned flags = dnnl_use_scale | dnnl_use_shift | (training ? 0 : dnnl_use_global_stats);
        dnnl_status_t st = dnnl_batch_normalization_forward_desc_init(
            &d, training ? dnnl_forward_training : dnnl_forward_inference, &in->md, b->eps, flags);
        if (st != dnnl_success)
            return sp__dnnl_error(st, "batch norm descriptor");
        rc = sp__nn_primitive(b->nn, &d, NULL, NULL, 0, "batch norm forward", &b->fwd_pd[training], &b->fwd[training]);
        if (rc)
            return rc;
    }
    dnnl_exec_arg_t args[6] = {
        { DNNL_ARG_SRC, in->mem },
        { DNNL_ARG_DST, b->out.mem },
        { DNNL_ARG_SCALE, b->gamma->value },
        { DNNL_ARG_SHIFT, b->beta->value },
        { DNNL_ARG_MEAN, training ? b->batch_mean : b->mean->value },
        { DNNL_ARG_VARIANCE, training ? b->batch_var : b->var->value },
    };
    rc = sp__nn_execute(b->nn, b->fwd[training], 6, args, "batch norm");
    if (!rc && training)
        rc = blend_running(b);
    b->in = training ? in : NULL;
    return rc;
}

int sp__bnorm_backward(sp__bnorm *b, const sp__tensor *dout)
{
    if (!b->in || !b->fwd[1])
        return sp__error(SP_ERR_MISUSE, "batch norm backward without a training forward pass");
    if (!sp__tensor_same_shape(dout, &b->out))
        return sp__error(SP_ERR_INVALID_ARG, "batch norm backward: gradient shape differs from the output's");
    int rc = sp__tensor_ensure(&b->dsrc, b->nn, b->n, b->c, b->h, b->w);
    if (!rc && !b->dgamma) {
        rc = sp__nn_memory(b->nn, &b->gamma->md, &b->dgamma);
        if (!rc)
            rc = sp__nn_memory(b->nn, &b->beta->md, &b->dbeta);
    }
    if (rc)
        return rc;
    if (!b->bwd) {
        dnnl_batch_normalization_desc_t d;
        dnnl_status_t st = dnnl_batch_normalization_backward_desc_init(&d, dnnl_backward, &b->dsrc.md, &b->in->md,
                                                                       b->eps, dnnl_use_scale | dnnl_use_shift);
        if (st != dnnl_success)
            return sp__dnnl_error(st, "batch norm backward descriptor");
        rc = sp__nn_primitive(b->nn, &d, NULL, b->fwd_pd[1], 0, "batch norm backward", &b->bwd_pd, &b->bwd);
        if (rc)
            return rc;
    }
    dnnl_exec_arg_t args[9] = {
        { DNNL_ARG_SRC, b->in->mem },       { DNNL_ARG_MEAN, b->batch_mean },
        { DNNL_ARG_VARIANCE, b->batch_var }, { DNNL_ARG_DIFF_DST, dout->mem },
        { DNNL_ARG_SCALE, b->gamma->value }, { DNNL_ARG_SHIFT, b->beta->value },
        { DNNL_ARG_DIFF_SRC, b->dsrc.mem },  { DNNL_ARG_DIFF_SCALE, b->dgamma },
        { DNNL_ARG_DIFF_SHIFT, b->dbeta },
    };
    rc = sp__nn_execute(b->nn, b->bwd, 9, args, "batch norm backward");
    /* Gradients of gamma and beta are added on the host: C numbers each. */
    dnnl_memory_t from[2] = { b->dgamma, b->dbeta };
    sp__param *to[2] = { b->gamma, b->beta };
    for (int i = 0; i < 2 && !rc; i++) {
        void *src, *dst;
        rc = sp__nn_map(from[i], &src);
        if (rc)
            break;
        rc = sp__nn_map(to[i]->grad, &dst);
        if (!rc) {
            for (int64_t c = 0; c < b->c; c++)
                ((float *)dst)[c] += ((const float *)src)[c];
            sp__nn_unmap(to[i]->grad, dst);
        }
        sp__nn_unmap(from[i], src);
    }
    return rc;
}
