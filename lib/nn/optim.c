/* SGD with momentum, AdamW, clipping and learning-rate schedules. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "optim.h"

void sp__optim_defaults(sp__optim_config *c, int kind)
{
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->lr = kind == SP__OPT_SGD ? 0.1 : 1e-3;
    c->momentum = 0.9;
    c->beta1 = 0.9;
    c->beta2 = 0.999;
    c->eps = 1e-8;
    c->weight_decay = kind == SP__OPT_SGD ? 0.0 : 1e-4;
    c->schedule = SP__LR_CONSTANT;
    c->gamma = 0.1;
}

int sp__optim_check(const sp__optim_config *c)
{
    if (c->kind != SP__OPT_SGD && c->kind != SP__OPT_ADAMW)
        return sp__error(SP_ERR_INVALID_ARG, "optimizer: unknown kind %d", c->kind);
    if (!(c->lr >= 0) || !(c->momentum >= 0 && c->momentum < 1) || !(c->beta1 >= 0 && c->beta1 < 1) ||
        !(c->beta2 >= 0 && c->beta2 < 1) || !(c->eps > 0) || !(c->weight_decay >= 0) || !(c->clip_norm >= 0) ||
        !(c->min_lr >= 0) || !(c->gamma > 0))
        return sp__error(SP_ERR_INVALID_ARG, "optimizer: a hyper-parameter is out of range");
    if (c->schedule < SP__LR_CONSTANT || c->schedule > SP__LR_COSINE)
        return sp__error(SP_ERR_INVALID_ARG, "optimizer: unknown schedule %d", c->schedule);
    if (c->warmup_steps < 0 || c->total_steps < 0 || c->step_size < 0 ||
        (c->schedule == SP__LR_STEP && c->step_size == 0))
        return sp__error(SP_ERR_INVALID_ARG, "optimizer: schedule step counts are invalid");
    return SP_OK;
}

int sp__optim_state_count(int kind) { return kind == SP__OPT_ADAMW ? 2 : 1; }

double sp__optim_lr(const sp__optim_config *c, int64_t step)
{
    switch (c->schedule) {
    case SP__LR_STEP:
        return c->lr * pow(c->gamma, (double)(step / c->step_size));
    case SP__LR_COSINE:
        if (step < c->warmup_steps)
            return c->lr * (double)(step + 1) / (double)c->warmup_steps;
        if (c->total_steps <= c->warmup_steps || step >= c->total_steps)
            return step >= c->total_steps ? c->min_lr : c->lr;
        {
            double progress = (double)(step - c->warmup_steps) / (double)(c->total_steps - c->warmup_steps);
            return c->min_lr + 0.5 * (c->lr - c->min_lr) * (1.0 + cos(3.141592653589793 * progress));
        }
    default:
        return c->lr;
    }
}

int sp__params_grad_norm(const sp__params *ps, double *out)
{
    double sum = 0.0;
    for (size_t i = 0; i < ps->count; i++) {
        const sp__param *p = ps->items[i];
        if (!p->grad)
            continue;
        void *ptr;
        int rc = sp__nn_map(p->grad, &ptr);
        if (rc)
            return rc;
        const float *g = ptr;
        for (size_t j = 0; j < p->count; j++)
            sum += (double)g[j] * g[j];
        sp__nn_unmap(p->grad, ptr);
    }
    *out = sqrt(sum);
    return SP_OK;
}

static int ensure_state(sp__param *p, int kind)
{
    for (int s = 0; s < sp__optim_state_count(kind); s++)
        if (!p->state[s]) {
            p->state[s] = calloc(p->count, sizeof(float));
            if (!p->state[s])
                return sp__error(SP_ERR_NOMEM, "optimizer: out of memory");
        }
    return SP_OK;
}

int sp__optim_step(sp__optim *o, sp__params *ps, double *grad_norm)
{
    const sp__optim_config *c = &o->config;
    int rc = sp__optim_check(c);
    double norm;
    if (!rc)
        rc = sp__params_grad_norm(ps, &norm);
    if (rc)
        return rc;
    if (!isfinite(norm))
        return sp__error(SP_ERR_INVALID_ARG, "optimizer: the gradient is not finite");
    if (grad_norm)
        *grad_norm = norm;
    double scale = c->clip_norm > 0 && norm > c->clip_norm ? c->clip_norm / norm : 1.0;
    double lr = sp__optim_lr(c, o->step);
    double t = (double)(o->step + 1);
    double bias1 = 1.0 - pow(c->beta1, t), bias2 = 1.0 - pow(c->beta2, t);
    for (size_t i = 0; i < ps->count; i++) {
        sp__param *p = ps->items[i];
        if (!p->grad)
            continue;
        rc = ensure_state(p, c->kind);
        void *pv, *pg;
        if (!rc)
            rc = sp__nn_map(p->value, &pv);
        if (rc)
            return rc;
        rc = sp__nn_map(p->grad, &pg);
        if (rc) {
            sp__nn_unmap(p->value, pv);
            return rc;
        }
        float *w = pv, *m = p->state[0], *v = p->state[1];
        const float *g = pg;
        double wd = (p->flags & SP__PARAM_DECAY) ? c->weight_decay : 0.0;
        for (size_t j = 0; j < p->count; j++) {
            double gj = scale * g[j];
            if (c->kind == SP__OPT_SGD) {
                gj += wd * w[j];
                m[j] = (float)(c->momentum * m[j] + gj);
                w[j] = (float)(w[j] - lr * m[j]);
            } else {
                m[j] = (float)(c->beta1 * m[j] + (1.0 - c->beta1) * gj);
                v[j] = (float)(c->beta2 * v[j] + (1.0 - c->beta2) * gj * gj);
                double update = (m[j] / bias1) / (sqrt(v[j] / bias2) + c->eps) + wd * w[j];
                w[j] = (float)(w[j] - lr * update);
            }
        }
        sp__nn_unmap(p->grad, pg);
        sp__nn_unmap(p->value, pv);
        p->version++;
    }
    o->step++;
    return SP_OK;
}
