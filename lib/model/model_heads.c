/* Policy and value heads on a hidden state; one struct per application,
 * the applications after the first sharing the first one's parameters. */
#include <string.h>

#include "model_heads.h"

int sp__model_heads_setup(sp__model_heads *h, sp__params *ps, const sp__model_arch *a)
{
    memset(h, 0, sizeof *h);
    int64_t c = a->channels, s = a->board_size, points = s * s;
    int rc = sp__conv_setup(&h->pconv, ps, "policy.conv", c, a->policy_channels, 1, 0);
    if (!rc)
        rc = sp__bnorm_setup(&h->pbn, ps, "policy.bn", a->policy_channels);
    if (!rc)
        rc = sp__dense_setup(&h->pdense, ps, "policy.dense", a->policy_channels, s, s, points + 1, 1);
    if (!rc)
        rc = sp__conv_setup(&h->vconv, ps, "value.conv", c, a->value_channels, 1, 0);
    if (!rc)
        rc = sp__bnorm_setup(&h->vbn, ps, "value.bn", a->value_channels);
    if (!rc)
        rc = sp__dense_setup(&h->vdense1, ps, "value.dense1", a->value_channels, s, s, a->value_hidden, 1);
    if (!rc)
        rc = sp__dense_setup(&h->vdense2, ps, "value.dense2", a->value_hidden, 0, 0, 1, 1);
    sp__act_setup(&h->prelu, ps->nn, SP__ACT_RELU);
    sp__act_setup(&h->vrelu1, ps->nn, SP__ACT_RELU);
    sp__act_setup(&h->vrelu2, ps->nn, SP__ACT_RELU);
    sp__act_setup(&h->vtanh, ps->nn, SP__ACT_TANH);
    sp__add_setup(&h->join, ps->nn);
    return rc;
}

void sp__model_heads_share(sp__model_heads *h, const sp__model_heads *from)
{
    memset(h, 0, sizeof *h);
    sp__nn *nn = from->pconv.nn;
    sp__linear_share(&h->pconv, &from->pconv);
    sp__bnorm_share(&h->pbn, &from->pbn);
    sp__linear_share(&h->pdense, &from->pdense);
    sp__linear_share(&h->vconv, &from->vconv);
    sp__bnorm_share(&h->vbn, &from->vbn);
    sp__linear_share(&h->vdense1, &from->vdense1);
    sp__linear_share(&h->vdense2, &from->vdense2);
    sp__act_setup(&h->prelu, nn, SP__ACT_RELU);
    sp__act_setup(&h->vrelu1, nn, SP__ACT_RELU);
    sp__act_setup(&h->vrelu2, nn, SP__ACT_RELU);
    sp__act_setup(&h->vtanh, nn, SP__ACT_TANH);
    sp__add_setup(&h->join, nn);
}

void sp__model_heads_release(sp__model_heads *h)
{
    sp__linear_release(&h->pconv);
    sp__linear_release(&h->pdense);
    sp__linear_release(&h->vconv);
    sp__linear_release(&h->vdense1);
    sp__linear_release(&h->vdense2);
    sp__bnorm_release(&h->pbn);
    sp__bnorm_release(&h->vbn);
    sp__act_release(&h->prelu);
    sp__act_release(&h->vrelu1);
    sp__act_release(&h->vrelu2);
    sp__act_release(&h->vtanh);
    sp__add_release(&h->join);
}

int sp__model_heads_policy_conv(sp__model_heads *h, const sp__tensor *state, int training)
{
    int rc = sp__linear_forward(&h->pconv, state, training);
    if (!rc)
        rc = sp__bnorm_forward(&h->pbn, &h->pconv.out, training);
    if (!rc)
        rc = sp__act_forward(&h->prelu, &h->pbn.out);
    return rc;
}

int sp__model_heads_value_hidden(sp__model_heads *h, const sp__tensor *state, int training)
{
    int rc = sp__linear_forward(&h->vconv, state, training);
    if (!rc)
        rc = sp__bnorm_forward(&h->vbn, &h->vconv.out, training);
    if (!rc)
        rc = sp__act_forward(&h->vrelu1, &h->vbn.out);
    if (!rc)
        rc = sp__linear_forward(&h->vdense1, &h->vrelu1.out, training);
    if (!rc)
        rc = sp__act_forward(&h->vrelu2, &h->vdense1.out);
    return rc;
}

int sp__model_heads_forward(sp__model_heads *h, const sp__tensor *state, int training)
{
    int rc = sp__model_heads_policy_conv(h, state, training);
    if (!rc)
        rc = sp__linear_forward(&h->pdense, &h->prelu.out, training);
    if (!rc)
        rc = sp__model_heads_value_hidden(h, state, training);
    if (!rc)
        rc = sp__linear_forward(&h->vdense2, &h->vrelu2.out, training);
    if (!rc)
        rc = sp__act_forward(&h->vtanh, &h->vdense2.out);
    return rc;
}

int sp__model_heads_backward(sp__model_heads *h, const sp__tensor *dlogits, const sp__tensor *dvalue)
{
    int rc = sp__linear_backward(&h->pdense, dlogits, 1);
    if (!rc)
        rc = sp__act_backward(&h->prelu, &h->pdense.dsrc);
    if (!rc)
        rc = sp__bnorm_backward(&h->pbn, &h->prelu.dsrc);
    if (!rc)
        rc = sp__linear_backward(&h->pconv, &h->pbn.dsrc, 1);
    if (!rc)
        rc = sp__act_backward(&h->vtanh, dvalue);
    if (!rc)
        rc = sp__linear_backward(&h->vdense2, &h->vtanh.dsrc, 1);
    if (!rc)
        rc = sp__act_backward(&h->vrelu2, &h->vdense2.dsrc);
    if (!rc)
        rc = sp__linear_backward(&h->vdense1, &h->vrelu2.dsrc, 1);
    if (!rc)
        rc = sp__act_backward(&h->vrelu1, &h->vdense1.dsrc);
    if (!rc)
        rc = sp__bnorm_backward(&h->vbn, &h->vrelu1.dsrc);
    if (!rc)
        rc = sp__linear_backward(&h->vconv, &h->vbn.dsrc, 1);
    if (!rc)
        rc = sp__add_forward(&h->join, &h->pconv.dsrc, &h->vconv.dsrc);
    return rc;
}
