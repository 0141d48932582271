/* Inference on a model several threads share: each call borrows a
 * workspace from the model's pool (made on demand, returned after the
 * call), so concurrent calls never share a oneDNN stream, a cached
 * primitive, a folded weight or an activation buffer. The parameters are
 * shared and only read. */
#include <stdlib.h>
#include <string.h>

#include "model_encode.h"
#include "model_internal.h"

/* sp__tower_share and sp__model_heads_share give the copy the owner's
 * sp__nn; the copy's layers hold no oneDNN object yet, so pointing them at
 * the workspace's sp__nn makes every primitive and stream use its own. */
static void tower_bind(sp__tower *t, sp__nn *nn)
{
    t->nn = t->stem.nn = t->stem_bn.nn = t->stem_relu.nn = nn;
    for (int64_t b = 0; b < t->blocks; b++) {
        sp__resblock *r = &t->block[b];
        r->conv1.nn = r->conv2.nn = r->bn1.nn = r->bn2.nn = nn;
        r->relu1.nn = r->relu2.nn = r->skip.nn = r->grad_sum.nn = nn;
    }
}

static void heads_bind(sp__model_heads *h, sp__nn *nn)
{
    h->pconv.nn = h->pdense.nn = h->vconv.nn = h->vdense1.nn = h->vdense2.nn = nn;
    h->pbn.nn = h->vbn.nn = nn;
    h->prelu.nn = h->vrelu1.nn = h->vrelu2.nn = h->vtanh.nn = h->join.nn = nn;
}

static void workspace_free(sp__model_workspace *ws)
{
    if (!ws)
        return;
    sp__tower_release(&ws->repr);
    sp__tower_release(&ws->dyn);
    sp__tower_release(&ws->nbr);
    sp__tensor_release(&ws->nbr_in);
    sp__tensor_release(&ws->nbr_out);
    sp__tensor_release(&ws->enc);
    sp__model_heads_release(&ws->heads);
    sp__minmax_release(&ws->norm);
    sp__concat_release(&ws->concat);
    sp__tensor_release(&ws->planes);
    sp__tensor_release(&ws->state);
    sp__tensor_release(&ws->action);
    sp__tensor_release(&ws->hidden);
    if (ws->nn.stream)
        dnnl_stream_destroy(ws->nn.stream);
    free(ws->actions);
    free(ws);
}

static int workspace_create(sp_model *m, sp__model_workspace **out)
{
    *out = NULL;
    sp__model_workspace *ws = calloc(1, sizeof *ws);
    if (!ws)
        return sp__error(SP_ERR_NOMEM, "model inference: out of memory");
    ws->nn = *m->nn;
    ws->nn.stream = NULL;
    int rc = SP_OK;
    dnnl_status_t st = dnnl_stream_create(&ws->nn.stream, ws->nn.engine, dnnl_stream_default_flags);
    if (st != dnnl_success) {
        ws->nn.stream = NULL;
        rc = sp__dnnl_error(st, "inference stream creation");
    }
    if (!rc)
        rc = sp__tower_share(&ws->repr, &m->net.repr);
    if (!rc)
        rc = sp__tower_share(&ws->dyn, &m->net.step[1].dyn);
    if (!rc && m->arch.neighbours > 0 && (rc = sp__tower_share(&ws->nbr, &m->net.nbr)) == SP_OK)
        tower_bind(&ws->nbr, &ws->nn);
    if (!rc) {
        tower_bind(&ws->repr, &ws->nn);
        tower_bind(&ws->dyn, &ws->nn);
        sp__model_heads_share(&ws->heads, &m->net.step[0].heads);
        heads_bind(&ws->heads, &ws->nn);
        sp__minmax_setup(&ws->norm, &ws->nn, SP__MINMAX_EPS);
        sp__concat_setup(&ws->concat, &ws->nn);
    }
    if (rc) {
        workspace_free(ws);
        return rc;
    }
    *out = ws;
    return SP_OK;
}

/* A workspace for one call: from the pool, or a new one. Refused while a
 * trainer or an evaluation holds the model (it writes the parameters). */
int sp__model_workspace_take(sp_model *m, const char *fn, sp__model_workspace **out)
{
    *out = NULL;
    pthread_mutex_lock(&m->lock);
    if (m->busy) {
        pthread_mutex_unlock(&m->lock);
        return sp__error(SP_ERR_MISUSE, "%s: a trainer or an evaluation holds the model (free the trainer first)",
                         fn);
    }
    sp__model_workspace *ws = m->free_count ? m->free_ws[--m->free_count] : NULL;
    m->in_use++;
    pthread_mutex_unlock(&m->lock);
    int rc = ws ? SP_OK : workspace_create(m, &ws);
    if (rc) {
        pthread_mutex_lock(&m->lock);
        m->in_use--;
        pthread_mutex_unlock(&m->lock);
        return rc;
    }
    *out = ws;
    return SP_OK;
}

void sp__model_workspace_give_back(sp_model *m, sp__model_workspace *ws)
{
    pthread_mutex_lock(&m->lock);
    m->in_use--;
    if (m->free_count == m->free_capacity) {
        size_t cap = m->free_capacity ? 2 * m->free_capacity : 4;
        sp__model_workspace **grown = realloc(m->free_ws, cap * sizeof *grown);
        if (grown) {
            m->free_ws = grown;
            m->free_capacity = cap;
        }
    }
    if (m->free_count < m->free_capacity) {
        m->free_ws[m->free_count++] = ws;
        ws = NULL;
    }
    pthread_mutex_unlock(&m->lock);
    workspace_free(ws); /* the pool could not grow: no harm, the next call makes another */
}

void sp__model_workspaces_free(sp_model *m)
{
    for (size_t i = 0; i < m->free_count; i++)
        workspace_free(m->free_ws[i]);
    free(m->free_ws);
    m->free_ws = NULL;
    m->free_count = m->free_capacity = 0;
}

/* Layers refresh their copies when a parameter's version moves; moving
 * every version makes all of them (the training layers' weight caches, the
 * workspaces' folded towers and head caches) read the new values. */
void sp__model_params_changed(sp_model *m)
{
    for (size_t i = 0; i < m->net.ps.count; i++)
        m->net.ps.items[i]->version++;
}

int sp__model_warm_up(sp_model *m)
{
    sp__model_workspace *ws;
    int rc = sp__model_workspace_take(m, "sp_model_create", &ws);
    if (rc)
        return rc;
    int64_t size = m->arch.board_size;
    rc = sp__tower_warm_up(&ws->repr, 1, size, size);
    if (!rc)
        rc = sp__tower_warm_up(&ws->dyn, 1, size, size);
    if (!rc && m->arch.neighbours > 0)
        rc = sp__tower_warm_up(&ws->nbr, m->arch.neighbours, size, size);
    sp__model_workspace_give_back(m, ws);
    return rc;
}

int sp__model_represent(sp_model *m, sp__model_workspace *ws, const float *planes, int32_t n, int64_t blocks)
{
    int64_t size = m->arch.board_size;
    int rc = sp__tensor_ensure(&ws->planes, &ws->nn, n, m->arch.input_planes, size, size);
    if (!rc)
        rc = sp__tensor_write(&ws->planes, planes);
    if (!rc)
        rc = sp__tower_infer_blocks(&ws->repr, &ws->planes, blocks, &ws->hidden);
    return rc;
}

/* The state before its normalisation: the representation's output, and
 * with neighbours the join of Eq. 2 (model_encode.h), into *out. */
static int encode(sp_model *m, sp__model_workspace *ws, const float *planes, const float *neighbours, int32_t n,
                  const sp__tensor **out)
{
    int rc = sp__model_represent(m, ws, planes, n, m->arch.repr_blocks);
    *out = &ws->hidden;
    if (rc || m->arch.neighbours == 0)
        return rc;
    int64_t count = m->arch.neighbours;
    rc = sp__encode_inputs(&ws->nn, &ws->hidden, neighbours, count, m->arch.neighbour_planes, &ws->nbr_in);
    if (!rc)
        rc = sp__tower_infer(&ws->nbr, &ws->nbr_in, &ws->nbr_out);
    if (!rc)
        rc = sp__encode_join(&ws->nn, &ws->hidden, &ws->nbr_out, count, &ws->enc);
    *out = &ws->enc;
    return rc;
}

/* From the hidden state before its normalisation to the caller's outputs. */
static int finish(sp__model_workspace *ws, const sp__tensor *hidden, float *state, float *logits, float *value)
{
    int rc = sp__minmax_forward(&ws->norm, hidden);
    if (!rc && state)
        rc = sp__tensor_read(&ws->norm.out, state);
    if (!rc && (logits || value))
        rc = sp__model_heads_forward(&ws->heads, &ws->norm.out, 0);
    if (!rc && logits)
        rc = sp__tensor_read(&ws->heads.pdense.out, logits);
    if (!rc && value)
        rc = sp__tensor_read(&ws->heads.vtanh.out, value);
    return rc;
}

static int initial(sp_model *m, const float *planes, const float *neighbours, int32_t n, float *state,
                   float *logits, float *value, const char *fn)
{
    if (!m || !planes)
        return sp__error(SP_ERR_INVALID_ARG, "%s: %s is NULL", fn, m ? "planes" : "model");
    if (n < 1 || n > SP__MODEL_MAX_BATCH)
        return sp__error(SP_ERR_INVALID_ARG, "%s: n = %d positions (1..%d)", fn, (int)n, SP__MODEL_MAX_BATCH);
    if (neighbours && m->arch.neighbours == 0)
        return sp__error(SP_ERR_INVALID_ARG, "%s: neighbours given to a model that reads none", fn);
    sp__model_workspace *ws;
    int rc = sp__model_workspace_take(m, fn, &ws);
    if (rc)
        return rc;
    int saved = sp__nn_threads_enter(&ws->nn);
    const sp__tensor *hidden;
    rc = encode(m, ws, planes, neighbours, n, &hidden);
    if (!rc)
        rc = finish(ws, hidden, state, logits, value);
    sp__nn_threads_leave(&ws->nn, saved);
    sp__model_workspace_give_back(m, ws);
    if (rc)
        return sp__error(rc, "%s: %s", fn, sp_last_error());
    return SP_OK;
}

int sp_model_initial(sp_model *m, const float *planes, int32_t n, float *state, float *logits, float *value)
{
    return initial(m, planes, NULL, n, state, logits, value, "sp_model_initial");
}

int sp_model_initial_neighbours(sp_model *m, const float *planes, const float *neighbours, int32_t n, float *state,
                                float *logits, float *value)
{
    return initial(m, planes, neighbours, n, state, logits, value, "sp_model_initial_neighbours");
}

int sp_model_initial_ids(sp_model *m, const float *planes, const sp_dataset *ds, const uint64_t *ids, int32_t n,
                         float *state, float *logits, float *value)
{
    static const char fn[] = "sp_model_initial_ids";
    if (!m || !planes || !ds || !ids)
        return sp__error(SP_ERR_INVALID_ARG, "%s: %s is NULL", fn,
                         !m ? "model" : !planes ? "planes" : !ds ? "dataset" : "ids");
    if (m->arch.neighbours == 0)
        return sp__error(SP_ERR_INVALID_ARG, "%s: the model reads no neighbours", fn);
    if (n < 1 || n > SP__MODEL_MAX_BATCH)
        return sp__error(SP_ERR_INVALID_ARG, "%s: n = %d positions (1..%d)", fn, (int)n, SP__MODEL_MAX_BATCH);
    if (sp_dataset_board_size(ds) != m->opts.board_size)
        return sp__error(SP_ERR_INVALID_ARG, "%s: the dataset's board is %dx%d, the model's %dx%d", fn,
                         sp_dataset_board_size(ds), sp_dataset_board_size(ds), (int)m->opts.board_size,
                         (int)m->opts.board_size);
    size_t count = (size_t)n * (size_t)m->arch.neighbours, each = (size_t)m->arch.neighbour_planes *
                                                                   (size_t)(m->arch.board_size * m->arch.board_size);
    uint64_t positions = sp_dataset_position_count(ds);
    for (size_t i = 0; i < count; i++)
        if (ids[i] != UINT64_MAX && ids[i] >= positions)
            return sp__error(SP_ERR_INVALID_ARG, "%s: ids[%zu] (observation %zu, neighbour %zu) = %llu is past the "
                             "dataset's %llu positions", fn, i, i / (size_t)m->arch.neighbours,
                             i % (size_t)m->arch.neighbours, (unsigned long long)ids[i],
                             (unsigned long long)positions);
    float *x = calloc(count * each, sizeof *x);
    if (!x)
        return sp__error(SP_ERR_NOMEM, "%s: out of memory for %zu neighbours' planes", fn, count);
    int rc = SP_OK;
    for (size_t i = 0; i < count && !rc; i++)
        if (ids[i] != UINT64_MAX)
            rc = sp_dataset_neighbour_planes(ds, ids[i], 0, x + i * each, each);
    if (!rc)
        rc = initial(m, planes, x, n, state, logits, value, fn);
    free(x);
    return rc;
}

int sp_model_recurrent(sp_model *m, const float *state, const int32_t *actions, int32_t n, float *next_state,
                       float *logits, float *value)
{
    if (!m || !state || !actions)
        return sp__error(SP_ERR_INVALID_ARG, "sp_model_recurrent: %s is NULL",
                         !m ? "model" : !state ? "state" : "actions");
    if (n < 1 || n > SP__MODEL_MAX_BATCH)
        return sp__error(SP_ERR_INVALID_ARG, "sp_model_recurrent: n = %d pairs (1..%d)", (int)n, SP__MODEL_MAX_BATCH);
    int64_t size = m->arch.board_size, num_actions = size * size + 1;
    for (int32_t i = 0; i < n; i++)
        if (actions[i] < 0 || actions[i] >= num_actions)
            return sp__error(SP_ERR_INVALID_ARG, "sp_model_recurrent: actions[%d] = %d is not an action (0..%lld)",
                             (int)i, (int)actions[i], (long long)(num_actions - 1));
    sp__model_workspace *ws;
    int rc = sp__model_workspace_take(m, "sp_model_recurrent", &ws);
    if (rc)
        return rc;
    if (ws->actions_capacity < (size_t)n) {
        float *grown = realloc(ws->actions, (size_t)n * sizeof *grown);
        if (grown) {
            ws->actions = grown;
            ws->actions_capacity = (size_t)n;
        } else {
            rc = sp__error(SP_ERR_NOMEM, "out of memory");
        }
    }
    for (int32_t i = 0; i < n && !rc; i++)
        ws->actions[i] = (float)actions[i];
    int saved = sp__nn_threads_enter(&ws->nn);
    if (!rc)
        rc = sp__tensor_ensure(&ws->state, &ws->nn, n, m->arch.channels, size, size);
    if (!rc)
        rc = sp__tensor_write(&ws->state, state);
    if (!rc)
        rc = sp__model_write_actions(&ws->nn, size, &ws->action, ws->actions, n);
    if (!rc)
        rc = sp__concat_forward(&ws->concat, &ws->state, &ws->action);
    if (!rc)
        rc = sp__tower_infer(&ws->dyn, &ws->concat.out, &ws->hidden);
    if (!rc)
        rc = finish(ws, &ws->hidden, next_state, logits, value);
    sp__nn_threads_leave(&ws->nn, saved);
    sp__model_workspace_give_back(m, ws);
    if (rc)
        return sp__error(rc, "sp_model_recurrent: %s", sp_last_error());
    return SP_OK;
}
