/* Min-max normalisation of the hidden state, per position, on the host
 * view of the tensor (an item is contiguous in both nhwc and (n, c)). */
#include <stdlib.h>
#include <string.h>

#include "model_net.h"

void sp__minmax_setup(sp__minmax *m, sp__nn *nn, float eps)
{
    memset(m, 0, sizeof *m);
    m->nn = nn;
    m->eps = eps;
}

void sp__minmax_release(sp__minmax *m)
{
    free(m->arg);
    m->arg = NULL;
    m->arg_capacity = 0;
    sp__tensor_release(&m->out);
    sp__tensor_release(&m->dsrc);
}

int sp__minmax_forward(sp__minmax *m, const sp__tensor *in)
{
    if (in->type != dnnl_f32)
        return sp__error(SP_ERR_INVALID_ARG, "min-max normalisation: input is not f32");
    if (m->arg_capacity < (size_t)in->n) {
        int64_t *arg = realloc(m->arg, (size_t)in->n * 2 * sizeof *arg);
        if (!arg)
            return sp__error(SP_ERR_NOMEM, "min-max normalisation: out of memory");
        m->arg = arg;
        m->arg_capacity = (size_t)in->n;
    }
    int rc = sp__tensor_ensure(&m->out, m->nn, in->n, in->c, in->h, in->w);
    if (rc)
        return rc;
    void *px, *py;
    rc = sp__nn_map(in->mem, &px);
    if (rc)
        return rc;
    rc = sp__nn_map(m->out.mem, &py);
    if (rc) {
        sp__nn_unmap(in->mem, px);
        return rc;
    }
    size_t per = sp__tensor_count(in) / (size_t)in->n;
    for (int64_t b = 0; b < in->n; b++) {
        const float *x = (const float *)px + (size_t)b * per;
        float *y = (float *)py + (size_t)b * per;
        size_t lo = 0, hi = 0;
        for (size_t i = 1; i < per; i++) {
            lo = x[i] < x[lo] ? i : lo;
            hi = x[i] > x[hi] ? i : hi;
        }
        float scale = 1.0f / (x[hi] - x[lo] + m->eps);
        for (size_t i = 0; i < per; i++)
            y[i] = (x[i] - x[lo]) * scale;
        m->arg[2 * b] = (int64_t)lo;
        m->arg[2 * b + 1] = (int64_t)hi;
    }
    sp__nn_unmap(m->out.mem, py);
    sp__nn_unmap(in->mem, px);
    m->in = in;
    return SP_OK;
}

/* With r = max - min + eps and y_i = (x_i - min) / r:
 * dx_i = dy_i / r, then dmin = -sum dy_i (1 - y_i) / r and
 * dmax = -sum dy_i y_i / r go to the arg-min and arg-max elements. */
int sp__minmax_backward(sp__minmax *m, const sp__tensor *dout)
{
    if (!m->in || !sp__tensor_same_shape(dout, &m->out))
        return sp__error(SP_ERR_MISUSE, "min-max normalisation backward without a matching forward");
    const sp__tensor *in = m->in;
    int rc = sp__tensor_ensure(&m->dsrc, m->nn, in->n, in->c, in->h, in->w);
    if (rc)
        return rc;
    void *px, *py, *pdy, *pdx;
    rc = sp__nn_map(in->mem, &px);
    if (rc)
        return rc;
    rc = sp__nn_map(m->out.mem, &py);
    if (!rc) {
        rc = sp__nn_map(dout->mem, &pdy);
        if (!rc) {
            rc = sp__nn_map(m->dsrc.mem, &pdx);
            if (!rc) {
                size_t per = sp__tensor_count(in) / (size_t)in->n;
                for (int64_t b = 0; b < in->n; b++) {
                    const float *x = (const float *)px + (size_t)b * per;
                    const float *y = (const float *)py + (size_t)b * per;
                    const float *dy = (const float *)pdy + (size_t)b * per;
                    float *dx = (float *)pdx + (size_t)b * per;
                    size_t lo = (size_t)m->arg[2 * b], hi = (size_t)m->arg[2 * b + 1];
                    double inv = 1.0 / ((double)x[hi] - x[lo] + m->eps), dmin = 0.0, dmax = 0.0;
                    for (size_t i = 0; i < per; i++) {
                        dx[i] = (float)(dy[i] * inv);
                        dmin -= dy[i] * (1.0 - y[i]) * inv;
                        dmax -= dy[i] * y[i] * inv;
                    }
                    dx[lo] += (float)dmin;
                    dx[hi] += (float)dmax;
                }
                sp__nn_unmap(m->dsrc.mem, pdx);
            }
            sp__nn_unmap(dout->mem, pdy);
        }
        sp__nn_unmap(m->out.mem, py);
    }
    sp__nn_unmap(in->mem, px);
    return rc;
}
