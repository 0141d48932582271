/* Losses on (batch, outputs) tensors, accumulated in double: log-softmax
 * cross-entropy with soft targets, and squared error. */
#include <math.h>
#include <stdlib.h>

#include "layers.h"

static int map_pair(const sp__tensor *x, sp__tensor *dx, sp__nn *nn, const float **px, float **pdx)
{
    if (x->h != 0 || x->type != dnnl_f32)
        return sp__error(SP_ERR_INVALID_ARG, "loss: input must be an f32 (batch, outputs) tensor");
    void *p;
    int rc = sp__nn_map(x->mem, &p);
    if (rc)
        return rc;
    *px = p;
    *pdx = NULL;
    if (dx) {
        rc = sp__tensor_ensure(dx, nn, x->n, x->c, 0, 0);
        if (!rc)
            rc = sp__nn_map(dx->mem, &p);
        if (rc) {
            sp__nn_unmap(x->mem, (void *)*px);
            return rc;
        }
        *pdx = p;
    }
    return SP_OK;
}

int sp__softmax_xent(const sp__tensor *logits, const float *targets, double *loss, sp__tensor *dlogits,
                     sp__nn *nn)
{
    const float *z = NULL;
    float *dz = NULL;
    int rc = map_pair(logits, dlogits, nn, &z, &dz);
    if (rc)
        return rc;
    int64_t n = logits->n, a = logits->c;
    double total = 0.0;
    for (int64_t b = 0; b < n; b++) {
        const float *row = z + b * a, *t = targets + b * a;
        double max = row[0], sum = 0.0, tsum = 0.0, dot = 0.0;
        for (int64_t j = 1; j < a; j++)
            max = row[j] > max ? row[j] : max;
        for (int64_t j = 0; j < a; j++) {
            sum += exp(row[j] - max);
            tsum += t[j];
        }
        double lse = max + log(sum);
        for (int64_t j = 0; j < a; j++)
            dot += t[j] * (row[j] - lse);
        total -= dot;
        if (dz)
            for (int64_t j = 0; j < a; j++)
                dz[b * a + j] = (float)((exp(row[j] - lse) * tsum - t[j]) / (double)n);
    }
    if (loss)
        *loss = total / (double)n;
    if (dz)
        sp__nn_unmap(dlogits->mem, dz);
    sp__nn_unmap(logits->mem, (void *)z);
    return SP_OK;
}

int sp__mse(const sp__tensor *pred, const float *targets, double *loss, sp__tensor *dpred, sp__nn *nn)
{
    const float *p = NULL;
    float *dp = NULL;
    int rc = map_pair(pred, dpred, nn, &p, &dp);
    if (rc)
        return rc;
    size_t count = sp__tensor_count(pred);
    double total = 0.0, n = (double)pred->n;
    for (size_t i = 0; i < count; i++) {
        double d = (double)p[i] - targets[i];
        total += d * d;
        if (dp)
            dp[i] = (float)(2.0 * d / n);
    }
    if (loss)
        *loss = total / n;
    if (dp)
        sp__nn_unmap(dpred->mem, dp);
    sp__nn_unmap(pred->mem, (void *)p);
    return SP_OK;
}
