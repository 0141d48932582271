/* Residual tower, layer by layer: the training path and its backward. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tower.h"

static int conv_bn(sp__linear *conv, sp__bnorm *bn, sp__params *ps, const char *name, int64_t cin, int64_t c)
{
    char full[2 * SP__PARAM_NAME_MAX + 16];
    snprintf(full, sizeof full, "%s.conv", name);
    int rc = sp__conv_setup(conv, ps, full, cin, c, 3, 0);
    if (!rc) {
        snprintf(full, sizeof full, "%s.bn", name);
        rc = sp__bnorm_setup(bn, ps, full, c);
    }
    return rc;
}

int sp__tower_setup(sp__tower *t, sp__params *ps, const char *name, int64_t planes, int64_t channels,
                    int64_t blocks)
{
    memset(t, 0, sizeof *t);
    if (planes <= 0 || channels <= 0 || blocks < 0 || blocks > 1000)
        return sp__error(SP_ERR_INVALID_ARG, "tower '%s': %lld planes, %lld channels, %lld blocks is invalid", name,
                         (long long)planes, (long long)channels, (long long)blocks);
    t->nn = ps->nn;
    t->planes = planes;
    t->channels = channels;
    t->blocks = blocks;
    t->block = calloc((size_t)blocks + 1, sizeof *t->block);
    if (!t->block)
        return sp__error(SP_ERR_NOMEM, "tower: out of memory");
    char part[SP__PARAM_NAME_MAX + 16];
    snprintf(part, sizeof part, "%s.stem", name);
    int rc = conv_bn(&t->stem, &t->stem_bn, ps, part, planes, channels);
    sp__act_setup(&t->stem_relu, t->nn, SP__ACT_RELU);
    for (int64_t b = 0; b < blocks && !rc; b++) {
        sp__resblock *r = &t->block[b];
        snprintf(part, sizeof part, "%s.block%lld.1", name, (long long)b);
        rc = conv_bn(&r->conv1, &r->bn1, ps, part, channels, channels);
        snprintf(part, sizeof part, "%s.block%lld.2", name, (long long)b);
        if (!rc)
            rc = conv_bn(&r->conv2, &r->bn2, ps, part, channels, channels);
        sp__act_setup(&r->relu1, t->nn, SP__ACT_RELU);
        sp__act_setup(&r->relu2, t->nn, SP__ACT_RELU);
        sp__add_setup(&r->skip, t->nn);
        sp__add_setup(&r->grad_sum, t->nn);
    }
    return rc;
}

int sp__tower_share(sp__tower *t, const sp__tower *from)
{
    memset(t, 0, sizeof *t);
    t->nn = from->nn;
    t->planes = from->planes;
    t->channels = from->channels;
    t->blocks = from->blocks;
    t->block = calloc((size_t)t->blocks + 1, sizeof *t->block);
    if (!t->block)
        return sp__error(SP_ERR_NOMEM, "tower: out of memory");
    sp__linear_share(&t->stem, &from->stem);
    sp__bnorm_share(&t->stem_bn, &from->stem_bn);
    sp__act_setup(&t->stem_relu, t->nn, SP__ACT_RELU);
    for (int64_t b = 0; b < t->blocks; b++) {
        sp__resblock *r = &t->block[b];
        const sp__resblock *f = &from->block[b];
        sp__linear_share(&r->conv1, &f->conv1);
        sp__linear_share(&r->conv2, &f->conv2);
        sp__bnorm_share(&r->bn1, &f->bn1);
        sp__bnorm_share(&r->bn2, &f->bn2);
        sp__act_setup(&r->relu1, t->nn, SP__ACT_RELU);
        sp__act_setup(&r->relu2, t->nn, SP__ACT_RELU);
        sp__add_setup(&r->skip, t->nn);
        sp__add_setup(&r->grad_sum, t->nn);
    }
    return SP_OK;
}

void sp__tower_infer_release(sp__tower *t);

void sp__tower_release(sp__tower *t)
{
    if (!t->block)
        return;
    sp__tower_infer_release(t);
    sp__linear_release(&t->stem);
    sp__bnorm_release(&t->stem_bn);
    sp__act_release(&t->stem_relu);
    for (int64_t b = 0; b < t->blocks; b++) {
        sp__resblock *r = &t->block[b];
        sp__linear_release(&r->conv1);
        sp__linear_release(&r->conv2);
        sp__bnorm_release(&r->bn1);
        sp__bnorm_release(&r->bn2);
        sp__act_release(&r->relu1);
        sp__act_release(&r->relu2);
        sp__add_release(&r->skip);
        sp__add_release(&r->grad_sum);
    }
    free(t->block);
    t->block = NULL;
}

int sp__tower_forward(sp__tower *t, const sp__tensor *in, int training)
{
    if (in->c != t->planes || in->h == 0)
        return sp__error(SP_ERR_INVALID_ARG, "tower: input has %lld planes, the tower takes %lld", (long long)in->c,
                         (long long)t->planes);
    int rc = sp__linear_forward(&t->stem, in, training);
    if (!rc)
        rc = sp__bnorm_forward(&t->stem_bn, &t->stem.out, training);
    if (!rc)
        rc = sp__act_forward(&t->stem_relu, &t->stem_bn.out);
    const sp__tensor *x = &t->stem_relu.out;
    for (int64_t b = 0; b < t->blocks && !rc; b++) {
        sp__resblock *r = &t->block[b];
        r->in = x;
        rc = sp__linear_forward(&r->conv1, x, training);
        if (!rc)
            rc = sp__bnorm_forward(&r->bn1, &r->conv1.out, training);
        if (!rc)
            rc = sp__act_forward(&r->relu1, &r->bn1.out);
        if (!rc)
            rc = sp__linear_forward(&r->conv2, &r->relu1.out, training);
        if (!rc)
            rc = sp__bnorm_forward(&r->bn2, &r->conv2.out, training);
        if (!rc)
            rc = sp__add_forward(&r->skip, &r->bn2.out, x);
        if (!rc)
            rc = sp__act_forward(&r->relu2, &r->skip.out);
        x = &r->relu2.out;
    }
    t->out = rc ? NULL : x;
    return rc;
}

int sp__tower_backward(sp__tower *t, const sp__tensor *dout, int need_dsrc)
{
    if (!t->out)
        return sp__error(SP_ERR_MISUSE, "tower backward without a forward pass");
    const sp__tensor *d = dout;
    int rc = SP_OK;
    for (int64_t b = t->blocks - 1; b >= 0 && !rc; b--) {
        sp__resblock *r = &t->block[b];
        rc = sp__act_backward(&r->relu2, d);
        const sp__tensor *dsum = &r->relu2.dsrc;
        if (!rc)
            rc = sp__bnorm_backward(&r->bn2, dsum);
        if (!rc)
            rc = sp__linear_backward(&r->conv2, &r->bn2.dsrc, 1);
        if (!rc)
            rc = sp__act_backward(&r->relu1, &r->conv2.dsrc);
        if (!rc)
            rc = sp__bnorm_backward(&r->bn1, &r->relu1.dsrc);
        if (!rc)
            rc = sp__linear_backward(&r->conv1, &r->bn1.dsrc, 1);
        if (!rc)
            rc = sp__add_forward(&r->grad_sum, &r->conv1.dsrc, dsum);
        d = &r->grad_sum.out;
    }
    if (!rc)
        rc = sp__act_backward(&t->stem_relu, d);
    if (!rc)
        rc = sp__bnorm_backward(&t->stem_bn, &t->stem_relu.dsrc);
    if (!rc)
        rc = sp__linear_backward(&t->stem, &t->stem_bn.dsrc, need_dsrc);
    t->dsrc = !rc && need_dsrc ? &t->stem.dsrc : NULL;
    return rc;
}
