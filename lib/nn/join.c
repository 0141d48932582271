/* Concatenation on channels, the masked neighbour sum and its companion,
 * repetition along the batch. Both move a few
 * bytes per element, so they run on mapped buffers instead of primitives. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layers.h"

void sp__concat_setup(sp__concat *c, sp__nn *nn)
{
    memset(c, 0, sizeof *c);
    c->nn = nn;
}

void sp__concat_release(sp__concat *c)
{
    sp__tensor_release(&c->out);
    sp__tensor_release(&c->dx);
    sp__tensor_release(&c->dy);
}

/* Pixel-wise copy between a channels-last tensor and a channel slice of
 * another; 2-D tensors are one pixel per row. */
static int copy_slice(const sp__tensor *whole, const sp__tensor *part, int64_t offset, int to_whole)
{
    void *pw, *pp;
    int rc = sp__nn_map(whole->mem, &pw);
    if (rc)
        return rc;
    rc = sp__nn_map(part->mem, &pp);
    if (rc) {
        sp__nn_unmap(whole->mem, pw);
        return rc;
    }
    size_t pixels = (size_t)(whole->n * (whole->h ? whole->h * whole->w : 1));
    size_t cw = (size_t)whole->c, cp = (size_t)part->c;
    float *w = pw, *p = pp;
    for (size_t i = 0; i < pixels; i++) {
        if (to_whole)
            memcpy(w + i * cw + offset, p + i * cp, cp * sizeof(float));
        else
            memcpy(p + i * cp, w + i * cw + offset, cp * sizeof(float));
    }
    sp__nn_unmap(part->mem, pp);
    sp__nn_unmap(whole->mem, pw);
    return SP_OK;
}

int sp__concat_forward(sp__concat *c, const sp__tensor *x, const sp__tensor *y)
{
    if (x->n != y->n || x->h != y->h || x->w != y->w || x->type != dnnl_f32 || y->type != dnnl_f32)
        return sp__error(SP_ERR_INVALID_ARG, "concat: inputs differ in batch or board size");
    c->cx = x->c;
    c->cy = y->c;
    int rc = sp__tensor_ensure(&c->out, c->nn, x->n, x->c + y->c, x->h, x->w);
    if (!rc)
        rc = copy_slice(&c->out, x, 0, 1);
    if (!rc)
        rc = copy_slice(&c->out, y, x->c, 1);
    return rc;
}

int sp__concat_backward(sp__concat *c, const sp__tensor *dout)
{
    if (!sp__tensor_same_shape(dout, &c->out))
        return sp__error(SP_ERR_INVALID_ARG, "concat backward: gradient shape differs from the output's");
    int rc = sp__tensor_ensure(&c->dx, c->nn, dout->n, c->cx, dout->h, dout->w);
    if (!rc)
        rc = sp__tensor_ensure(&c->dy, c->nn, dout->n, c->cy, dout->h, dout->w);
    if (!rc)
        rc = copy_slice(dout, &c->dx, 0, 0);
    if (!rc)
        rc = copy_slice(dout, &c->dy, c->cx, 0);
    return rc;
}

void sp__nbsum_setup(sp__nbsum *s, sp__nn *nn, int64_t k)
{
    memset(s, 0, sizeof *s);
    s->nn = nn;
    s->k = k;
}

void sp__nbsum_release(sp__nbsum *s)
{
    free(s->mask);
    s->mask = NULL;
    sp__tensor_release(&s->out);
    sp__tensor_release(&s->dsrc);
}

/* dst[b] = sum_i w[b][i] * src[b*k + i] when gathering, or
 * dst[b*k + i] = w[b][i] * src[b] when scattering; w = mask * scale (a NULL
 * mask is all ones). */
static int nb_pass(int64_t k, const float *mask, float scale, const sp__tensor *src, sp__tensor *dst, int gather)
{
    void *ps, *pd;
    int rc = sp__nn_map(src->mem, &ps);
    if (rc)
        return rc;
    rc = sp__nn_map(dst->mem, &pd);
    if (rc) {
        sp__nn_unmap(src->mem, ps);
        return rc;
    }
    const float *in = ps;
    float *out = pd;
    int64_t batch = gather ? dst->n : src->n;
    size_t per = (size_t)(src->c * (src->h ? src->h * src->w : 1));
    for (int64_t b = 0; b < batch; b++)
        for (int64_t i = 0; i < k; i++) {
            float wgt = mask ? mask[b * k + i] * scale : scale;
            if (gather) {
                float *o = out + (size_t)b * per;
                const float *x = in + (size_t)(b * k + i) * per;
                if (i == 0)
                    for (size_t j = 0; j < per; j++)
                        o[j] = wgt * x[j];
                else
                    for (size_t j = 0; j < per; j++)
                        o[j] += wgt * x[j];
            } else {
                float *o = out + (size_t)(b * k + i) * per;
                const float *x = in + (size_t)b * per;
                for (size_t j = 0; j < per; j++)
                    o[j] = wgt * x[j];
            }
        }
    sp__nn_unmap(dst->mem, pd);
    sp__nn_unmap(src->mem, ps);
    return SP_OK;
}

int sp__nbsum_forward(sp__nbsum *s, const sp__tensor *in, const float *mask)
{
    if (s->k <= 0 || in->n % s->k != 0 || in->type != dnnl_f32)
        return sp__error(SP_ERR_INVALID_ARG, "neighbour sum: batch %lld is not a multiple of %lld neighbours",
                         (long long)in->n, (long long)s->k);
    size_t count = (size_t)in->n;
    if (count > s->mask_capacity) {
        float *m = realloc(s->mask, count * sizeof *m);
        if (!m)
            return sp__error(SP_ERR_NOMEM, "neighbour sum: out of memory");
        s->mask = m;
        s->mask_capacity = count;
    }
    for (size_t i = 0; i < count; i++)
        s->mask[i] = mask ? mask[i] : 1.0f;
    int rc = sp__tensor_ensure(&s->out, s->nn, in->n / s->k, in->c, in->h, in->w);
    if (!rc)
        rc = nb_pass(s->k, s->mask, (float)(1.0 / sqrt((double)s->k)), in, &s->out, 1);
    return rc;
}

int sp__nbsum_backward(sp__nbsum *s, const sp__tensor *dout)
{
    if (!sp__tensor_same_shape(dout, &s->out))
        return sp__error(SP_ERR_INVALID_ARG, "neighbour sum backward: gradient shape differs from the output's");
    int rc = sp__tensor_ensure(&s->dsrc, s->nn, dout->n * s->k, dout->c, dout->h, dout->w);
    if (!rc)
        rc = nb_pass(s->k, s->mask, (float)(1.0 / sqrt((double)s->k)), dout, &s->dsrc, 0);
    return rc;
}

void sp__repeat_setup(sp__repeat *r, sp__nn *nn, int64_t k)
{
    memset(r, 0, sizeof *r);
    r->nn = nn;
    r->k = k;
}

void sp__repeat_release(sp__repeat *r)
{
    sp__tensor_release(&r->out);
    sp__tensor_release(&r->dsrc);
}

int sp__repeat_forward(sp__repeat *r, const sp__tensor *in)
{
    if (r->k <= 0 || in->type != dnnl_f32)
        return sp__error(SP_ERR_INVALID_ARG, "repeat: bad count %lld or input type", (long long)r->k);
    int rc = sp__tensor_ensure(&r->out, r->nn, in->n * r->k, in->c, in->h, in->w);
    if (!rc)
        rc = nb_pass(r->k, NULL, 1.0f, in, &r->out, 0);
    return rc;
}

int sp__repeat_backward(sp__repeat *r, const sp__tensor *dout)
{
    if (!sp__tensor_same_shape(dout, &r->out))
        return sp__error(SP_ERR_INVALID_ARG, "repeat backward: gradient shape differs from the output's");
    int rc = sp__tensor_ensure(&r->dsrc, r->nn, dout->n / r->k, dout->c, dout->h, dout->w);
    if (!rc)
        rc = nb_pass(r->k, NULL, 1.0f, dout, &r->dsrc, 1);
    return rc;
}
