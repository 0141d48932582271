/* ReLU and tanh (backward from the output) and the residual add. */
#include <string.h>

#include "layers.h"

void sp__act_setup(sp__act *a, sp__nn *nn, int kind)
{
    memset(a, 0, sizeof *a);
    a->nn = nn;
    a->kind = kind;
}

static void act_drop(sp__act *a)
{
    sp__nn_destroy_primitive(&a->fwd);
    sp__nn_destroy_primitive(&a->bwd);
    sp__nn_destroy_pd(&a->fwd_pd);
    sp__nn_destroy_pd(&a->bwd_pd);
}

void sp__act_release(sp__act *a)
{
    act_drop(a);
    sp__tensor_release(&a->out);
    sp__tensor_release(&a->dsrc);
}

static dnnl_alg_kind_t act_alg(const sp__act *a)
{
    return a->kind == SP__ACT_TANH ? dnnl_eltwise_tanh_use_dst_for_bwd : dnnl_eltwise_relu_use_dst_for_bwd;
}

int sp__act_forward(sp__act *a, const sp__tensor *in)
{
    if (in->type != dnnl_f32)
        return sp__error(SP_ERR_INVALID_ARG, "activation: input is not f32");
    if (in->n != a->n || in->c != a->c || in->h != a->h || in->w != a->w) {
        act_drop(a);
        a->n = in->n;
        a->c = in->c;
        a->h = in->h;
        a->w = in->w;
    }
    int rc = sp__tensor_ensure(&a->out, a->nn, in->n, in->c, in->h, in->w);
    if (rc)
        return rc;
    if (!a->fwd) {
        dnnl_eltwise_desc_t d;
        dnnl_status_t st = dnnl_eltwise_forward_desc_init(&d, dnnl_forward_training, act_alg(a), &in->md, 0.0f, 0.0f);
        if (st != dnnl_success)
            return sp__dnnl_error(st, "activation descriptor");
        rc = sp__nn_primitive(a->nn, &d, NULL, NULL, 0, "activation forward", &a->fwd_pd, &a->fwd);
        if (rc)
            return rc;
    }
    dnnl_exec_arg_t args[2] = { { DNNL_ARG_SRC, in->mem }, { DNNL_ARG_DST, a->out.mem } };
    return sp__nn_execute(a->nn, a->fwd, 2, args, "activation");
}

int sp__act_backward(sp__act *a, const sp__tensor *dout)
{
    if (!a->fwd)
        return sp__error(SP_ERR_MISUSE, "activation backward without a forward pass");
    if (!sp__tensor_same_shape(dout, &a->out))
        return sp__error(SP_ERR_INVALID_ARG, "activation backward: gradient shape differs from the output's");
    int rc = sp__tensor_ensure(&a->dsrc, a->nn, a->n, a->c, a->h, a->w);
    if (rc)
        return rc;
    if (!a->bwd) {
        dnnl_eltwise_desc_t d;
        dnnl_status_t st = dnnl_eltwise_backward_desc_init(&d, act_alg(a), &a->dsrc.md, &a->out.md, 0.0f, 0.0f);
        if (st != dnnl_success)
            return sp__dnnl_error(st, "activation backward descriptor");
        rc = sp__nn_primitive(a->nn, &d, NULL, a->fwd_pd, 0, "activation backward", &a->bwd_pd, &a->bwd);
        if (rc)
            return rc;
    }
    dnnl_exec_arg_t args[3] = { { DNNL_ARG_DST, a->out.mem }, { DNNL_ARG_DIFF_DST, dout->mem },
                                { DNNL_ARG_DIFF_SRC, a->dsrc.mem } };
    return sp__nn_execute(a->nn, a->bwd, 3, args, "activation backward");
}

void sp__add_setup(sp__add *a, sp__nn *nn)
{
    memset(a, 0, sizeof *a);
    a->nn = nn;
}

void sp__add_release(sp__add *a)
{
    sp__nn_destroy_primitive(&a->prim);
    sp__nn_destroy_pd(&a->pd);
    sp__tensor_release(&a->out);
}

int sp__add_forward(sp__add *a, const sp__tensor *x, const sp__tensor *y)
{
    if (!sp__tensor_same_shape(x, y) || x->type != dnnl_f32 || y->type != dnnl_f32)
        return sp__error(SP_ERR_INVALID_ARG, "residual add: the inputs differ in shape");
    if (x->n != a->n || x->c != a->c || x->h != a->h || x->w != a->w) {
        sp__nn_destroy_primitive(&a->prim);
        sp__nn_destroy_pd(&a->pd);
        a->n = x->n;
        a->c = x->c;
        a->h = x->h;
        a->w = x->w;
    }
    int rc = sp__tensor_ensure(&a->out, a->nn, x->n, x->c, x->h, x->w);
    if (rc)
        return rc;
    if (!a->prim) {
        dnnl_binary_desc_t d;
        dnnl_status_t st = dnnl_binary_desc_init(&d, dnnl_binary_add, &x->md, &y->md, &a->out.md);
        if (st != dnnl_success)
            return sp__dnnl_error(st, "residual add descriptor");
        rc = sp__nn_primitive(a->nn, &d, NULL, NULL, 0, "residual add", &a->pd, &a->prim);
        if (rc)
            return rc;
    }
    dnnl_exec_arg_t args[3] = { { DNNL_ARG_SRC_0, x->mem }, { DNNL_ARG_SRC_1, y->mem }, { DNNL_ARG_DST, a->out.mem } };
    return sp__nn_execute(a->nn, a->prim, 3, args, "residual add");
}
