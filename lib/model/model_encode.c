/* The retrieval encoder's joins (model_encode.h). Tensors are channels-last
 * in the device, so each point's channels are contiguous there: every loop
 * runs over items and points and copies or adds runs of channels. */
#include <math.h>
#include <string.h>

#include "model_encode.h"

/* Up to three mapped tensors; unmapped together. */
typedef struct mapped {
    const sp__tensor *t[3];
    float *p[3];
    int count;
} mapped;

static int map_all(mapped *m)
{
    for (int i = 0; i < m->count; i++) {
        void *p;
        int rc = sp__nn_map(m->t[i]->mem, &p);
        if (rc) {
            while (i-- > 0)
                sp__nn_unmap(m->t[i]->mem, m->p[i]);
            return rc;
        }
        m->p[i] = p;
    }
    return SP_OK;
}

static void unmap_all(mapped *m)
{
    for (int i = 0; i < m->count; i++)
        sp__nn_unmap(m->t[i]->mem, m->p[i]);
}

int sp__encode_inputs(sp__nn *nn, const sp__tensor *oe, const float *x, int64_t neighbours, int64_t planes,
                      sp__tensor *out)
{
    int64_t n = oe->n, co = oe->c, hw = oe->h * oe->w, cin = co + planes;
    int rc = sp__tensor_ensure(out, nn, n * neighbours, cin, oe->h, oe->w);
    mapped m = { { oe, out }, { 0 }, 2 };
    if (rc || (rc = map_all(&m)))
        return rc;
    const float *src = m.p[0];
    float *dst = m.p[1];
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < neighbours; j++) {
            int64_t item = i * neighbours + j;
            const float *xi = x ? x + (size_t)item * (size_t)(planes * hw) : NULL;
            for (int64_t q = 0; q < hw; q++) {
                float *d = dst + (size_t)(item * hw + q) * (size_t)cin;
                memcpy(d, src + (size_t)(i * hw + q) * (size_t)co, (size_t)co * sizeof *d);
                for (int64_t c = 0; c < planes; c++)
                    d[co + c] = xi ? xi[c * hw + q] : 0.0f;
            }
        }
    unmap_all(&m);
    return SP_OK;
}

int sp__encode_join(sp__nn *nn, const sp__tensor *oe, const sp__tensor *e, int64_t neighbours, sp__tensor *out)
{
    int64_t n = oe->n, co = oe->c, ce = e->c, hw = oe->h * oe->w, c = co + ce;
    int rc = sp__tensor_ensure(out, nn, n, c, oe->h, oe->w);
    mapped m = { { oe, e, out }, { 0 }, 3 };
    if (rc || (rc = map_all(&m)))
        return rc;
    const float scale = 1.0f / sqrtf((float)neighbours);
    for (int64_t i = 0; i < n; i++)
        for (int64_t q = 0; q < hw; q++) {
            float *d = m.p[2] + (size_t)(i * hw + q) * (size_t)c;
            memcpy(d, m.p[0] + (size_t)(i * hw + q) * (size_t)co, (size_t)co * sizeof *d);
            for (int64_t k = 0; k < ce; k++)
                d[co + k] = 0.0f;
            for (int64_t j = 0; j < neighbours; j++) {
                const float *s = m.p[1] + (size_t)((i * neighbours + j) * hw + q) * (size_t)ce;
                for (int64_t k = 0; k < ce; k++)
                    d[co + k] += s[k];
            }
            for (int64_t k = 0; k < ce; k++)
                d[co + k] *= scale;
        }
    unmap_all(&m);
    return SP_OK;
}

int sp__encode_join_backward(sp__nn *nn, const sp__tensor *dout, int64_t oe_channels, int64_t neighbours,
                             sp__tensor *doe, sp__tensor *de)
{
    int64_t n = dout->n, c = dout->c, co = oe_channels, ce = c - co, hw = dout->h * dout->w;
    int rc = sp__tensor_ensure(doe, nn, n, co, dout->h, dout->w);
    if (!rc)
        rc = sp__tensor_ensure(de, nn, n * neighbours, ce, dout->h, dout->w);
    mapped m = { { dout, doe, de }, { 0 }, 3 };
    if (rc || (rc = map_all(&m)))
        return rc;
    const float scale = 1.0f / sqrtf((float)neighbours);
    for (int64_t i = 0; i < n; i++)
        for (int64_t q = 0; q < hw; q++) {
            const float *s = m.p[0] + (size_t)(i * hw + q) * (size_t)c;
            memcpy(m.p[1] + (size_t)(i * hw + q) * (size_t)co, s, (size_t)co * sizeof *s);
            for (int64_t j = 0; j < neighbours; j++) {
                float *d = m.p[2] + (size_t)((i * neighbours + j) * hw + q) * (size_t)ce;
                for (int64_t k = 0; k < ce; k++)
                    d[k] = scale * s[co + k];
            }
        }
    unmap_all(&m);
    return SP_OK;
}

int sp__encode_inputs_backward(const sp__tensor *din, int64_t neighbours, sp__tensor *doe)
{
    int64_t n = doe->n, co = doe->c, cin = din->c, hw = doe->h * doe->w;
    mapped m = { { din, doe }, { 0 }, 2 };
    int rc = map_all(&m);
    if (rc)
        return rc;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < neighbours; j++)
            for (int64_t q = 0; q < hw; q++) {
                const float *s = m.p[0] + (size_t)((i * neighbours + j) * hw + q) * (size_t)cin;
                float *d = m.p[1] + (size_t)(i * hw + q) * (size_t)co;
                for (int64_t k = 0; k < co; k++)
                    d[k] += s[k];
            }
    unmap_all(&m);
    return SP_OK;
}
