/* The model network: set-up, the K-step training unroll with MuZero's loss
 * and gradient scaling, and the inference entry points. */
#include <stdlib.h>
#include <string.h>

#include "model_encode.h"
#include "model_net.h"

void sp__model_arch_default(sp__model_arch *a)
{
    *a = (sp__model_arch){ .board_size = 9, .input_planes = 18, .channels = 64, .repr_blocks = 6,
                           .dyn_blocks = 6, .policy_channels = 2, .value_channels = 1, .value_hidden = 64,
                           .value_kind = SP__VALUE_TANH };
}

int sp__model_arch_check(const sp__model_arch *a)
{
    if (a->board_size < 2 || a->board_size > 19 || a->input_planes < 1 || a->input_planes > 1024 ||
        a->channels < 1 || a->channels > 4096 || a->repr_blocks < 0 || a->repr_blocks > 100 ||
        a->dyn_blocks < 0 || a->dyn_blocks > 100 || a->policy_channels < 1 || a->policy_channels > 256 ||
        a->value_channels < 1 || a->value_channels > 256 || a->value_hidden < 1 || a->value_hidden > 4096 ||
        a->value_kind != SP__VALUE_TANH || a->neighbours < 0 || a->neighbours > 256 ||
        (a->neighbours > 0 && (a->neighbour_planes < 1 || a->neighbour_planes > 1024 || a->neighbour_channels < 1 ||
                               a->neighbour_channels >= a->channels || a->neighbour_blocks < 0 ||
                               a->neighbour_blocks > 100)))
        return sp__error(SP_ERR_INVALID_ARG,
                         "model architecture: board %lld, %lld planes, %lld channels, %lld + %lld blocks, heads "
                         "%lld / %lld / %lld, value kind %d, %lld neighbours of %lld planes into %lld channels "
                         "(%lld blocks) is out of range",
                         (long long)a->board_size, (long long)a->input_planes, (long long)a->channels,
                         (long long)a->repr_blocks, (long long)a->dyn_blocks, (long long)a->policy_channels,
                         (long long)a->value_channels, (long long)a->value_hidden, a->value_kind,
                         (long long)a->neighbours, (long long)a->neighbour_planes,
                         (long long)a->neighbour_channels, (long long)a->neighbour_blocks);
    return SP_OK;
}

static void step_release(sp__model_step *s)
{
    sp__tensor_release(&s->action);
    sp__concat_release(&s->concat);
    sp__tower_release(&s->dyn);
    sp__minmax_release(&s->norm);
    sp__model_heads_release(&s->heads);
    sp__add_release(&s->dstate);
    sp__tensor_release(&s->dnext);
    sp__tensor_release(&s->dlogits);
    sp__tensor_release(&s->dvalue);
}

/* Step k > 0 applies the dynamics of step 1 and every step the heads of
 * step 0 (shared parameters, own activations). */
static int step_setup(sp__model_net *m, int64_t k)
{
    sp__model_step *s = &m->step[k];
    sp__concat_setup(&s->concat, m->nn);
    sp__minmax_setup(&s->norm, m->nn, SP__MINMAX_EPS);
    sp__add_setup(&s->dstate, m->nn);
    int rc = SP_OK;
    if (k == 0)
        rc = sp__model_heads_setup(&s->heads, &m->ps, &m->arch);
    else
        sp__model_heads_share(&s->heads, &m->step[0].heads);
    /* The dynamics tower's stem takes the state and the action planes. */
    if (!rc && k == 1)
        rc = sp__tower_setup(&s->dyn, &m->ps, "dyn", m->arch.channels + SP__MODEL_ACTION_PLANES, m->arch.channels,
                             m->arch.dyn_blocks);
    else if (!rc && k > 1)
        rc = sp__tower_share(&s->dyn, &m->step[1].dyn);
    return rc;
}

/* Steps cost only their structs until an unroll that long runs (tensors
 * are allocated by the forward pass), but a struct per step is still tens
 * of kilobytes, so the array grows on demand. Growing moves the existing
 * steps: every pointer into a step (a layer's remembered input, a tower's
 * output) is set again by the next forward pass, and the activations
 * themselves live on the heap. */
int sp__model_net_reserve(sp__model_net *m, int64_t max_unroll)
{
    if (max_unroll < 1 || max_unroll > SP__MODEL_MAX_UNROLL)
        return sp__error(SP_ERR_INVALID_ARG, "model: unroll of %lld steps (1 to %d)", (long long)max_unroll,
                         SP__MODEL_MAX_UNROLL);
    if (m->step && max_unroll <= m->unroll_capacity)
        return SP_OK;
    sp__model_step *step = calloc((size_t)max_unroll + 1, sizeof *step);
    if (!step)
        return sp__error(SP_ERR_NOMEM, "model: out of memory");
    int64_t first = 0;
    if (m->step) {
        first = m->unroll_capacity + 1;
        memcpy(step, m->step, (size_t)first * sizeof *step);
        free(m->step);
    }
    m->step = step;
    m->unrolled = 0;
    int rc = SP_OK;
    for (int64_t k = first; k <= max_unroll; k++) {
        m->unroll_capacity = k;
        rc = step_setup(m, k);
        if (rc) {
            step_release(&m->step[k]);
            m->unroll_capacity = k - 1;
            break;
        }
    }
    return rc;
}

int sp__model_net_setup(sp__model_net *m, sp__nn *nn, const sp__model_arch *arch, int64_t max_unroll,
                        uint64_t seed)
{
    memset(m, 0, sizeof *m);
    int rc = sp__model_arch_check(arch);
    if (rc)
        return rc;
    if (max_unroll < 1 || max_unroll > SP__MODEL_MAX_UNROLL)
        return sp__error(SP_ERR_INVALID_ARG, "model: unroll of %lld steps (1 to %d)", (long long)max_unroll,
                         SP__MODEL_MAX_UNROLL);
    m->nn = nn;
    m->arch = *arch;
    m->value_weight = 1.0f;
    m->dyn_grad_scale = 0.5f;
    m->unroll_capacity = -1;
    sp__params_setup(&m->ps, nn);
    rc = sp__tower_setup(&m->repr, &m->ps, "repr", arch->input_planes, sp__model_repr_channels(arch),
                         arch->repr_blocks);
    /* The neighbour network p(o_e, x_i) (Eq. 2): a tower over o_e and a
     * neighbour's planes, one application for every neighbour. */
    if (!rc && arch->neighbours > 0)
        rc = sp__tower_setup(&m->nbr, &m->ps, "nbr", sp__model_repr_channels(arch) + arch->neighbour_planes,
                             arch->neighbour_channels, arch->neighbour_blocks);
    if (!rc)
        rc = sp__model_net_reserve(m, max_unroll);
    if (!rc)
        rc = sp__params_initialise(&m->ps, seed);
    if (rc)
        sp__model_net_release(m);
    return rc;
}

void sp__model_net_release(sp__model_net *m)
{
    /* Shared applications first: they borrow the owners' parameters. */
    for (int64_t k = m->step ? m->unroll_capacity : -1; k >= 0; k--)
        step_release(&m->step[k]);
    free(m->step);
    m->step = NULL;
    sp__tower_release(&m->repr);
    sp__tower_release(&m->nbr);
    sp__tensor_release(&m->nbr_in);
    sp__tensor_release(&m->enc);
    sp__tensor_release(&m->doe);
    sp__tensor_release(&m->de);
    sp__tensor_release(&m->dreg);
    sp__tensor_release(&m->dreg_sum);
    free(m->reg_target);
    m->reg_target = NULL;
    sp__tensor_release(&m->planes);
    sp__tensor_release(&m->state_in);
    free(m->scratch);
    m->scratch = NULL;
    sp__params_release(&m->ps);
}

/* dst = scale * src (dst takes src's shape). */
static int scaled_copy(sp__nn *nn, sp__tensor *dst, const sp__tensor *src, float scale)
{
    int rc = sp__tensor_ensure(dst, nn, src->n, src->c, src->h, src->w);
    void *ps, *pd;
    if (!rc)
        rc = sp__nn_map(src->mem, &ps);
    if (rc)
        return rc;
    rc = sp__nn_map(dst->mem, &pd);
    if (!rc) {
        size_t count = sp__tensor_count(src);
        for (size_t i = 0; i < count; i++)
            ((float *)pd)[i] = scale * ((const float *)ps)[i];
        sp__nn_unmap(dst->mem, pd);
    }
    sp__nn_unmap(src->mem, ps);
    return rc;
}

static int scale_in_place(sp__tensor *t, float scale)
{
    void *p;
    int rc = sp__nn_map(t->mem, &p);
    if (rc)
        return rc;
    size_t count = sp__tensor_count(t);
    for (size_t i = 0; i < count; i++)
        ((float *)p)[i] *= scale;
    sp__nn_unmap(t->mem, p);
    return SP_OK;
}

int sp__model_write_actions(sp__nn *nn, int64_t size, sp__tensor *t, const float *action, int64_t n)
{
    int64_t points = size * size;
    int rc = sp__tensor_ensure(t, nn, n, SP__MODEL_ACTION_PLANES, size, size);
    if (rc)
        return rc;
    float *host = calloc((size_t)n * SP__MODEL_ACTION_PLANES * (size_t)points, sizeof *host);
    if (!host)
        return sp__error(SP_ERR_NOMEM, "model: out of memory");
    for (int64_t i = 0; i < n && !rc; i++) {
        float *x = host + (size_t)i * SP__MODEL_ACTION_PLANES * (size_t)points;
        int64_t a = (int64_t)action[i];
        if (a < 0 || a > points || (float)a != action[i])
            rc = sp__error(SP_ERR_INVALID_ARG, "model: action %g is not a point or a pass (0 to %lld)",
                           (double)action[i], (long long)points);
        else if (a == points)
            for (int64_t j = 0; j < points; j++)
                x[points + j] = 1.0f;
        else
            x[a] = 1.0f;
    }
    if (!rc)
        rc = sp__tensor_write(t, host);
    free(host);
    return rc;
}

/* Step k's recurrent forward from the state of step k - 1 (or state_in). */
static int dynamics_forward(sp__model_net *m, int64_t k, const sp__tensor *prev, const float *action, int training)
{
    sp__model_step *s = &m->step[k];
    int rc = sp__model_write_actions(m->nn, m->arch.board_size, &s->action, action, prev->n);
    if (!rc)
        rc = sp__concat_forward(&s->concat, prev, &s->action);
    if (!rc)
        rc = sp__tower_forward(&s->dyn, &s->concat.out, training);
    if (!rc)
        rc = sp__minmax_forward(&s->norm, s->dyn.out);
    if (!rc)
        rc = sp__model_heads_forward(&s->heads, &s->norm.out, training);
    return rc;
}

/* The representation, and with neighbours the encoder of Eq. 2: the
 * state before its normalisation is [o_e, sum_i p(o_e, x_i) / sqrt(N)]. */
static int representation_forward(sp__model_net *m, const float *planes, const float *neighbours, int64_t n,
                                   int training)
{
    int64_t size = m->arch.board_size, count = m->arch.neighbours;
    int rc = sp__tensor_ensure(&m->planes, m->nn, n, m->arch.input_planes, size, size);
    if (!rc)
        rc = sp__tensor_write(&m->planes, planes);
    if (!rc)
        rc = sp__tower_forward(&m->repr, &m->planes, training);
    const sp__tensor *state = m->repr.out;
    if (!rc && count > 0) {
        rc = sp__encode_inputs(m->nn, m->repr.out, neighbours, count, m->arch.neighbour_planes, &m->nbr_in);
        if (!rc)
            rc = sp__tower_forward(&m->nbr, &m->nbr_in, training);
        if (!rc)
            rc = sp__encode_join(m->nn, m->repr.out, m->nbr.out, count, &m->enc);
        state = &m->enc;
    }
    if (!rc)
        rc = sp__minmax_forward(&m->step[0].norm, state);
    if (!rc)
        rc = sp__model_heads_forward(&m->step[0].heads, &m->step[0].norm.out, training);
    return rc;
}

/* Step k's losses, weighted by w; with training, their gradients. Both
 * losses are means over the batch of the masked per-item losses. */
static int step_loss(sp__model_net *m, int64_t k, int64_t n, const sp__model_targets *t, double w, int training,
                     double *policy, double *value)
{
    sp__model_step *s = &m->step[k];
    size_t actions = (size_t)(m->arch.board_size * m->arch.board_size + 1);
    const float *mask = t->mask ? t->mask + k * n : NULL;
    if (m->scratch_capacity < (size_t)n * actions) {
        float *p = realloc(m->scratch, (size_t)n * actions * sizeof *p);
        if (!p)
            return sp__error(SP_ERR_NOMEM, "model: out of memory");
        m->scratch = p;
        m->scratch_capacity = (size_t)n * actions;
    }
    const float *target = t->policy + (size_t)k * (size_t)n * actions;
    for (int64_t i = 0; i < n; i++)
        for (size_t a = 0; a < actions; a++)
            m->scratch[(size_t)i * actions + a] = mask ? mask[i] * target[(size_t)i * actions + a]
                                                       : target[(size_t)i * actions + a];
    int rc = sp__softmax_xent(&s->heads.pdense.out, m->scratch, policy, training ? &s->dlogits : NULL, m->nn);
    if (!rc && training)
        rc = scale_in_place(&s->dlogits, (float)w);
    if (!rc && training)
        rc = sp__tensor_ensure(&s->dvalue, m->nn, n, 1, 0, 0);
    if (rc)
        return rc;
    void *pv, *pd = NULL;
    rc = sp__nn_map(s->heads.vtanh.out.mem, &pv);
    if (!rc && training)
        rc = sp__nn_map(s->dvalue.mem, &pd);
    if (rc) {
        sp__nn_unmap(s->heads.vtanh.out.mem, pv);
        return rc;
    }
    double total = 0.0, grad_scale = 2.0 * w * m->value_weight / (double)n;
    for (int64_t i = 0; i < n; i++) {
        double keep = mask ? mask[i] : 1.0, d = (double)((const float *)pv)[i] - t->value[k * n + i];
        total += keep * d * d;
        if (pd)
            ((float *)pd)[i] = (float)(keep * grad_scale * d);
    }
    *value = total / (double)n;
    if (pd)
        sp__nn_unmap(s->dvalue.mem, pd);
    sp__nn_unmap(s->heads.vtanh.out.mem, pv);
    return SP_OK;
}

/* The neighbour regulariser (§2.3): its target, the normalised initial
 * state with every x_i = 0 under running statistics, computed before the
 * batch's own forward pass (which then overwrites the activations). */
static int regulariser_target(sp__model_net *m, const float *planes, int64_t n)
{
    size_t count = (size_t)n * (size_t)(m->arch.channels * m->arch.board_size * m->arch.board_size);
    if (m->reg_frozen && m->reg_target && m->reg_capacity == count)
        return SP_OK;
    if (m->reg_capacity != count) {
        float *p = realloc(m->reg_target, count * sizeof *p);
        if (!p)
            return sp__error(SP_ERR_NOMEM, "model: out of memory");
        m->reg_target = p;
        m->reg_capacity = count;
    }
    int rc = representation_forward(m, planes, NULL, n, 0);
    return rc ? rc : sp__tensor_read(&m->step[0].norm.out, m->reg_target);
}

/* The regulariser's mean over the batch of the mean squared distance to
 * its target; with a gradient, 2 w (s - target) / (n D) into m->dreg. */
static int regulariser_loss(sp__model_net *m, int gradient, double *out)
{
    const sp__tensor *s = &m->step[0].norm.out;
    size_t count = sp__tensor_count(s), per = count / (size_t)s->n;
    int rc = gradient ? sp__tensor_ensure(&m->dreg, m->nn, s->n, s->c, s->h, s->w) : SP_OK;
    float *state = malloc(count * sizeof *state), *grad = gradient ? malloc(count * sizeof *grad) : NULL;
    if (!rc && (!state || (gradient && !grad)))
        rc = sp__error(SP_ERR_NOMEM, "model: out of memory");
    if (!rc)
        rc = sp__tensor_read(s, state);
    double sum = 0.0, scale = 2.0 * m->reg_weight / (double)count;
    for (size_t i = 0; i < count && !rc; i++) {
        double d = (double)state[i] - m->reg_target[i];
        sum += d * d;
        if (grad)
            grad[i] = (float)(scale * d);
    }
    /* Both host arrays are NCHW: the state's and the gradient's order. */
    if (!rc && grad)
        rc = sp__tensor_write(&m->dreg, grad);
    *out = rc ? 0.0 : sum / (double)s->n / (double)per;
    free(state);
    free(grad);
    return rc;
}

/* dst = a + b, elementwise over mapped buffers of the same shape. */
static int add_into(sp__nn *nn, sp__tensor *dst, const sp__tensor *a, const sp__tensor *b)
{
    int rc = sp__tensor_ensure(dst, nn, a->n, a->c, a->h, a->w);
    void *pa, *pb, *pd;
    if (rc || (rc = sp__nn_map(a->mem, &pa)))
        return rc;
    if ((rc = sp__nn_map(b->mem, &pb))) {
        sp__nn_unmap(a->mem, pa);
        return rc;
    }
    if (!(rc = sp__nn_map(dst->mem, &pd))) {
        size_t count = sp__tensor_count(a);
        for (size_t i = 0; i < count; i++)
            ((float *)pd)[i] = ((const float *)pa)[i] + ((const float *)pb)[i];
        sp__nn_unmap(dst->mem, pd);
    }
    sp__nn_unmap(b->mem, pb);
    sp__nn_unmap(a->mem, pa);
    return rc;
}

/* From the gradient of the state before its normalisation to the
 * representation's and the neighbour network's parameters. */
static int representation_backward(sp__model_net *m, const sp__tensor *dstate)
{
    int64_t count = m->arch.neighbours;
    if (count == 0)
        return sp__tower_backward(&m->repr, dstate, 0);
    int rc = sp__encode_join_backward(m->nn, dstate, m->repr.out->c, count, &m->doe, &m->de);
    if (!rc)
        rc = sp__tower_backward(&m->nbr, &m->de, 1);
    if (!rc)
        rc = sp__encode_inputs_backward(m->nbr.dsrc, count, &m->doe);
    if (!rc)
        rc = sp__tower_backward(&m->repr, &m->doe, 0);
    return rc;
}

static int regularised(const sp__model_net *m) { return m->arch.neighbours > 0 && m->reg_weight > 0; }

static int unroll_backward(sp__model_net *m, int64_t k_max)
{
    int rc = SP_OK;
    for (int64_t k = k_max; k >= 0 && !rc; k--) {
        sp__model_step *s = &m->step[k];
        rc = sp__model_heads_backward(&s->heads, &s->dlogits, &s->dvalue);
        const sp__tensor *dstate = &s->heads.join.out;
        if (!rc && k < k_max) {
            rc = sp__add_forward(&s->dstate, dstate, &m->step[k + 1].dnext);
            dstate = &s->dstate.out;
        }
        if (!rc && k == 0 && regularised(m)) {
            rc = add_into(m->nn, &m->dreg_sum, dstate, &m->dreg);
            dstate = &m->dreg_sum;
        }
        if (!rc)
            rc = sp__minmax_backward(&s->norm, dstate);
        if (rc)
            break;
        if (k == 0) {
            rc = representation_backward(m, &s->norm.dsrc);
            break;
        }
        rc = sp__tower_backward(&s->dyn, &s->norm.dsrc, 1);
        if (!rc)
            rc = sp__concat_backward(&s->concat, s->dyn.dsrc);
        /* MuZero: the gradient into each dynamics step's input state is halved. */
        if (!rc)
            rc = scaled_copy(m->nn, &s->dnext, &s->concat.dx, m->dyn_grad_scale);
    }
    return rc;
}

int sp__model_net_unroll(sp__model_net *m, const float *planes, const float *neighbours, int64_t n, int64_t k,
                         const sp__model_targets *t, int mode, sp__model_losses *out)
{
    int training = mode != SP__MODEL_INFER, backward = mode == SP__MODEL_TRAIN;
    if (mode < SP__MODEL_INFER || mode > SP__MODEL_TRAIN || n < 1 || k < 0 || k > m->unroll_capacity || !planes || !t || !t->policy || !t->value ||
        (k > 0 && !t->action) || !out)
        return sp__error(SP_ERR_INVALID_ARG, "model unroll: %lld positions, %lld steps (at most %lld), or targets "
                         "missing", (long long)n, (long long)k, (long long)m->unroll_capacity);
    int saved = sp__nn_threads_enter(m->nn);
    int rc = training && regularised(m) ? regulariser_target(m, planes, n) : SP_OK;
    if (!rc)
        rc = representation_forward(m, planes, neighbours, n, training);
    for (int64_t j = 1; j <= k && !rc; j++)
        rc = dynamics_forward(m, j, &m->step[j - 1].norm.out, t->action + (j - 1) * n, training);
    memset(out, 0, sizeof *out);
    for (int64_t j = 0; j <= k && !rc; j++) {
        /* MuZero: the recurrent steps' losses are scaled by 1/K. */
        double w = j == 0 ? 1.0 : 1.0 / (double)k;
        rc = step_loss(m, j, n, t, w, backward, &out->policy[j], &out->value[j]);
        out->total += w * (out->policy[j] + m->value_weight * out->value[j]);
    }
    if (!rc && training && regularised(m)) {
        rc = regulariser_loss(m, backward, &out->regulariser);
        out->total += m->reg_weight * out->regulariser;
    }
    m->unrolled = rc ? 0 : k;
    if (!rc && backward)
        rc = unroll_backward(m, k);
    sp__nn_threads_leave(m->nn, saved);
    return rc;
}

static int read_heads(const sp__model_heads *h, float *logits, float *value)
{
    int rc = sp__tensor_read(&h->pdense.out, logits);
    if (!rc)
        rc = sp__tensor_read(&h->vtanh.out, value);
    return rc;
}

int sp__model_net_initial(sp__model_net *m, const float *planes, const float *neighbours, int64_t n, float *state,
                          float *logits, float *value)
{
    if (n < 1 || !planes || !state || !logits || !value)
        return sp__error(SP_ERR_INVALID_ARG, "model initial inference: %lld positions or an output missing",
                         (long long)n);
    int saved = sp__nn_threads_enter(m->nn);
    int rc = representation_forward(m, planes, neighbours, n, 0);
    if (!rc)
        rc = sp__tensor_read(&m->step[0].norm.out, state);
    if (!rc)
        rc = read_heads(&m->step[0].heads, logits, value);
    sp__nn_threads_leave(m->nn, saved);
    return rc;
}

int sp__model_net_recurrent(sp__model_net *m, const float *state, const float *action, int64_t n,
                            float *next_state, float *logits, float *value)
{
    if (n < 1 || !state || !action || !next_state || !logits || !value)
        return sp__error(SP_ERR_INVALID_ARG, "model recurrent inference: %lld positions or an output missing",
                         (long long)n);
    int64_t size = m->arch.board_size;
    int saved = sp__nn_threads_enter(m->nn);
    int rc = sp__tensor_ensure(&m->state_in, m->nn, n, m->arch.channels, size, size);
    if (!rc)
        rc = sp__tensor_write(&m->state_in, state);
    if (!rc)
        rc = dynamics_forward(m, 1, &m->state_in, action, 0);
    if (!rc)
        rc = sp__tensor_read(&m->step[1].norm.out, next_state);
    if (!rc)
        rc = read_heads(&m->step[1].heads, logits, value);
    sp__nn_threads_leave(m->nn, saved);
    return rc;
}
