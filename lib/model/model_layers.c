/* The layers an embedder reads (model.h): their list, named from the
 * architecture, and their activations, computed on an inference workspace
 * the way sp_model_initial computes the state and the heads (fused towers
 * in the model's precision, normalisation and heads in f32). */
#include <stdio.h>
#include <string.h>

#include "model_internal.h"

static const sp_model_layer layer_defaults = SP_MODEL_LAYER_INIT;
static const sp__options_type layer_type = { "sp_model_layer", SP_MODEL_LAYER_VERSION, sizeof(sp_model_layer),
                                             &layer_defaults, { 0 } };

/* Layer 0 is the hidden state (the embedder's default, and what search and
 * training see); then every representation block's output, early blocks
 * being closer to the board and late ones to the heads; then one layer of
 * each head, whose features are the most specialised. */
enum layer_kind { LAYER_REPR, LAYER_BLOCK, LAYER_POLICY_CONV, LAYER_VALUE_HIDDEN };

typedef struct layer_desc {
    int kind;
    int64_t blocks; /* LAYER_BLOCK: blocks run, 1-based */
    sp_model_layer info;
} layer_desc;

/* A retrieval model has none: its layers depend on its neighbours, and
 * embedders come from models without (paper §2.1.1). */
static int32_t layer_count(const sp__model_arch *a) { return a->neighbours > 0 ? 0 : 3 + (int32_t)a->repr_blocks; }

static void layer_set(layer_desc *d, int kind, int64_t channels, int64_t height, int64_t width)
{
    d->kind = kind;
    d->info.channels = (int32_t)channels;
    d->info.height = (int32_t)height;
    d->info.width = (int32_t)width;
    d->info.size = (uint64_t)channels * (uint64_t)height * (uint64_t)width;
}

/* Layer `index` (in range) of architecture a. */
static void layer_describe(const sp__model_arch *a, int32_t index, layer_desc *d)
{
    int64_t s = a->board_size, blocks = a->repr_blocks;
    *d = (layer_desc){ .info = SP_MODEL_LAYER_INIT };
    if (index == 0) {
        layer_set(d, LAYER_REPR, a->channels, s, s);
        snprintf(d->info.name, sizeof d->info.name, "repr");
    } else if (index <= blocks) {
        layer_set(d, LAYER_BLOCK, a->channels, s, s);
        d->blocks = index;
        snprintf(d->info.name, sizeof d->info.name, "repr.block%d", (int)index);
    } else if (index == blocks + 1) {
        layer_set(d, LAYER_POLICY_CONV, a->policy_channels, s, s);
        snprintf(d->info.name, sizeof d->info.name, "policy.conv");
    } else {
        layer_set(d, LAYER_VALUE_HIDDEN, a->value_hidden, 1, 1);
        snprintf(d->info.name, sizeof d->info.name, "value.hidden");
    }
}

/* By name: the names are few (at most 67), so the list is searched. */
static int layer_find(const sp__model_arch *a, const char *name, layer_desc *d)
{
    if (a->neighbours > 0)
        return sp__error(SP_ERR_INVALID_ARG,
                         "sp_model_activations: a retrieval model (%d neighbours) has no layers to read: embedders "
                         "are made from models without neighbours",
                         (int)a->neighbours);
    for (int32_t i = 0; i < layer_count(a); i++) {
        layer_describe(a, i, d);
        if (strcmp(d->info.name, name) == 0)
            return SP_OK;
    }
    if (a->repr_blocks > 0)
        return sp__error(SP_ERR_INVALID_ARG,
                         "sp_model_activations: this model has no layer \"%.64s\" (its layers: repr, repr.block1 .. "
                         "repr.block%d, policy.conv, value.hidden)",
                         name, (int)a->repr_blocks);
    return sp__error(SP_ERR_INVALID_ARG,
                     "sp_model_activations: this model has no layer \"%.64s\" (its layers: repr, policy.conv, "
                     "value.hidden)",
                     name);
}

int32_t sp_model_layer_count(const sp_model *m) { return m ? layer_count(&m->arch) : 0; }

int sp_model_layer_info(const sp_model *m, int32_t index, sp_model_layer *out)
{
    if (!m || !out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_model_layer_info: %s is NULL", m ? "out" : "model");
    int rc = sp__options_check(out->version, &layer_type, "sp_model_layer_info", NULL);
    if (rc)
        return rc;
    if (index < 0 || index >= layer_count(&m->arch))
        return sp__error(SP_ERR_INVALID_ARG, "sp_model_layer_info: index %d is not a layer (0..%d)", (int)index,
                         (int)layer_count(&m->arch) - 1);
    layer_desc d;
    layer_describe(&m->arch, index, &d);
    return sp__options_write(out, &d.info, &layer_type, "sp_model_layer_info");
}

static int layer_run(sp_model *m, sp__model_workspace *ws, const layer_desc *d, const float *planes, int32_t n,
                     float *out)
{
    int64_t blocks = d->kind == LAYER_BLOCK ? d->blocks : m->arch.repr_blocks;
    int rc = sp__model_represent(m, ws, planes, n, blocks);
    if (rc)
        return rc;
    if (d->kind == LAYER_BLOCK)
        return sp__tensor_read(&ws->hidden, out);
    rc = sp__minmax_forward(&ws->norm, &ws->hidden);
    const sp__tensor *result = &ws->norm.out;
    /* The head layers: the first stages of sp__model_heads_forward, with inference statistics. */
    if (!rc && d->kind == LAYER_POLICY_CONV) {
        rc = sp__model_heads_policy_conv(&ws->heads, &ws->norm.out, 0);
        result = &ws->heads.prelu.out;
    } else if (!rc && d->kind == LAYER_VALUE_HIDDEN) {
        rc = sp__model_heads_value_hidden(&ws->heads, &ws->norm.out, 0);
        result = &ws->heads.vrelu2.out;
    }
    if (!rc)
        rc = sp__tensor_read(result, out);
    return rc;
}

int sp_model_activations(sp_model *m, const char *layer, const float *planes, int32_t n, float *out,
                         size_t capacity)
{
    if (!m || !planes || !out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_model_activations: %s is NULL",
                         !m ? "model" : !planes ? "planes" : "out");
    if (n < 1 || n > SP__MODEL_MAX_BATCH)
        return sp__error(SP_ERR_INVALID_ARG, "sp_model_activations: n = %d positions (1..%d)", (int)n,
                         SP__MODEL_MAX_BATCH);
    layer_desc d;
    int rc = layer_find(&m->arch, layer ? layer : "repr", &d);
    if (rc)
        return rc;
    size_t need = (size_t)n * (size_t)d.info.size;
    if (capacity < need)
        return sp__error(SP_ERR_BUFFER_TOO_SMALL,
                         "sp_model_activations: layer %s of %d positions needs %zu floats, capacity is %zu",
                         d.info.name, (int)n, need, capacity);
    sp__model_workspace *ws;
    rc = sp__model_workspace_take(m, "sp_model_activations", &ws);
    if (rc)
        return rc;
    int saved = sp__nn_threads_enter(&ws->nn);
    rc = layer_run(m, ws, &d, planes, n, out);
    sp__nn_threads_leave(&ws->nn, saved);
    sp__model_workspace_give_back(m, ws);
    if (rc)
        return sp__error(rc, "sp_model_activations: layer %s: %s", d.info.name, sp_last_error());
    return SP_OK;
}
