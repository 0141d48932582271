/* The sp_model handle: its options and their checks, create and free, the
 * trainer's hold, and describe (sizes, parameter count, FLOPs, hash). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"
#include "semiparam/dataset.h"

static const sp_model_options model_defaults = SP_MODEL_OPTIONS_INIT;
static const sp__options_type model_options_type = { "sp_model_options", SP_MODEL_OPTIONS_VERSION,
                                                     sizeof(sp_model_options), &model_defaults,
                                                     { offsetof(sp_model_options, neighbour_channels) } };

static const sp_model_info info_defaults = SP_MODEL_INFO_INIT;
static const sp__options_type model_info_type = { "sp_model_info", SP_MODEL_INFO_VERSION, sizeof(sp_model_info),
                                                  &info_defaults, { 0 } };

/* The ranges are those the network supports and a 9x9 to 19x19 agent
 * needs; the history is the go module's (sp_go_plane_count). */
#define FIELD(f, lo, hi) { #f, offsetof(sp_model_options, f), lo, hi }
const sp__model_field sp__model_fields[SP__MODEL_FIELDS] = {
    FIELD(board_size, 2, 19),     FIELD(history, 1, 16),        FIELD(channels, 1, 1024),
    FIELD(repr_blocks, 0, 64),    FIELD(dyn_blocks, 0, 64),     FIELD(policy_channels, 1, 256),
    FIELD(value_channels, 1, 256), FIELD(value_hidden, 1, 4096), FIELD(value_kind, SP_VALUE_TANH, SP_VALUE_TANH),
    FIELD(neighbours, 0, 64),
    FIELD(neighbour_channels, 1, 1023), FIELD(neighbour_blocks, 0, 64),
};
#undef FIELD

int sp_model_options_init(sp_model_options *opts, uint32_t version)
{
    return sp__options_init(opts, version, &model_options_type, "sp_model_options_init");
}

int sp__model_options_read(sp_model_options *out, const sp_model_options *in, const char *fn)
{
    return sp__options_read(out, in, &model_options_type, fn);
}

int sp__model_field_count(const sp_model_options *o)
{
    return o->neighbours > 0 ? SP__MODEL_FIELDS : SP__MODEL_FIELDS_BASE;
}

int sp__model_arch_from_options(const sp_model_options *o, sp__model_arch *out)
{
    for (int i = 0; i < sp__model_field_count(o); i++) {
        const sp__model_field *f = &sp__model_fields[i];
        int32_t v = sp__model_field_get(o, i);
        if (v < f->lo || v > f->hi)
            return sp__error(SP_ERR_INVALID_ARG, "model options: %s = %d is out of range (%d..%d)", f->name, (int)v,
                             (int)f->lo, (int)f->hi);
    }
    if (o->neighbours > 0 && o->neighbour_channels >= o->channels)
        return sp__error(SP_ERR_INVALID_ARG,
                         "model options: neighbour_channels = %d leaves no channel of the %d for the representation",
                         (int)o->neighbour_channels, (int)o->channels);
    if (sp_go_plane_count(o->history) < 1)
        return sp__error(SP_ERR_INVALID_ARG, "model options: history = %d has no feature planes in the go module",
                         (int)o->history);
    *out = (sp__model_arch){ .board_size = o->board_size,
                             .input_planes = sp_go_plane_count(o->history),
                             .channels = o->channels,
                             .repr_blocks = o->repr_blocks,
                             .dyn_blocks = o->dyn_blocks,
                             .policy_channels = o->policy_channels,
                             .value_channels = o->value_channels,
                             .value_hidden = o->value_hidden,
                             .value_kind = SP__VALUE_TANH,
                             .neighbours = o->neighbours,
                             .neighbour_planes = o->neighbours > 0 ? SP_NEIGHBOUR_PLANES : 0,
                             .neighbour_channels = o->neighbours > 0 ? o->neighbour_channels : 0,
                             .neighbour_blocks = o->neighbours > 0 ? o->neighbour_blocks : 0 };
    return sp__model_arch_check(out);
}

int sp__model_create_from(sp_model **out, const sp_model_options *opts, const sp_nn_options *nn_opts, const char *fn)
{
    *out = NULL;
    sp__model_arch arch;
    int rc = sp__model_arch_from_options(opts, &arch);
    if (rc)
        return rc;
    sp_model *m = calloc(1, sizeof *m);
    if (!m)
        return sp__error(SP_ERR_NOMEM, "%s: out of memory", fn);
    if (pthread_mutex_init(&m->lock, NULL)) {
        free(m);
        return sp__error(SP_ERR_NOMEM, "%s: cannot create a mutex", fn);
    }
    m->opts = *opts;
    m->opts.version = SP_MODEL_OPTIONS_VERSION;
    m->arch = arch;
    rc = sp__nn_create(&m->nn, nn_opts);
    /* Inference needs one dynamics step; the trainer reserves more. */
    if (!rc)
        rc = sp__model_net_setup(&m->net, m->nn, &arch, 1, m->nn->seed);
    if (!rc && m->nn->precision == SP_PRECISION_BF16 && (rc = sp__model_warm_up(m)) != SP_OK)
        rc = sp__error(rc, "%s: bf16 inference: %s", fn, sp_last_error());
    if (rc) {
        sp_model_free(m);
        return rc;
    }
    *out = m;
    return SP_OK;
}

int sp_model_create(sp_model **out, const sp_model_options *opts, const sp_nn_options *nn)
{
    if (!out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_model_create: out is NULL");
    *out = NULL;
    sp_model_options o;
    int rc = sp__model_options_read(&o, opts, "sp_model_create");
    if (rc)
        return rc;
    return sp__model_create_from(out, &o, nn, "sp_model_create");
}

void sp_model_free(sp_model *m)
{
    if (!m)
        return;
    sp__model_search_release_all(m);
    sp__model_workspaces_free(m);
    /* A net whose setup failed has already released itself. */
    if (m->net.step)
        sp__model_net_release(&m->net);
    sp__nn_free(m->nn);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

int sp_model_get_options(const sp_model *m, sp_model_options *out)
{
    if (!m || !out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_model_get_options: %s is NULL", m ? "out" : "model");
    return sp__options_write(out, &m->opts, &model_options_type, "sp_model_get_options");
}

int sp__model_reserve_unroll(sp_model *m, int64_t k)
{
    return sp__model_net_reserve(&m->net, k);
}

int sp__model_hold(sp_model *m, const char *who)
{
    pthread_mutex_lock(&m->lock);
    int busy = m->busy;
    size_t in_use = m->in_use;
    if (!busy && !in_use)
        m->busy = 1;
    pthread_mutex_unlock(&m->lock);
    if (busy)
        return sp__error(SP_ERR_MISUSE, "%s: the model is already held by a trainer or an evaluation", who);
    if (in_use)
        return sp__error(SP_ERR_MISUSE, "%s: %zu inference calls are running on the model", who, in_use);
    return SP_OK;
}

void sp__model_unhold(sp_model *m)
{
    pthread_mutex_lock(&m->lock);
    m->busy = 0;
    pthread_mutex_unlock(&m->lock);
}

/* ------------------------------------------------------------------------ */
/* Describe */

/* Multiply-adds x 2 of a k x k convolution over a board of `points`
 * points, and of the heads; batch norm, activations and biases are not
 * multiply-adds and are left out (they are a few percent at most). */
static uint64_t conv_flops(int64_t points, int64_t cin, int64_t cout, int64_t k)
{
    return 2u * (uint64_t)points * (uint64_t)cin * (uint64_t)cout * (uint64_t)(k * k);
}

static uint64_t tower_flops(int64_t points, int64_t planes, int64_t channels, int64_t blocks)
{
    return conv_flops(points, planes, channels, 3) + 2u * (uint64_t)blocks * conv_flops(points, channels, channels, 3);
}

static uint64_t heads_flops(const sp__model_arch *a)
{
    int64_t points = a->board_size * a->board_size;
    return conv_flops(points, a->channels, a->policy_channels, 1) +
           2u * (uint64_t)(a->policy_channels * points) * (uint64_t)(points + 1) +
           conv_flops(points, a->channels, a->value_channels, 1) +
           2u * (uint64_t)(a->value_channels * points) * (uint64_t)a->value_hidden + 2u * (uint64_t)a->value_hidden;
}

static uint64_t hash_word(uint64_t h, uint64_t word) { return sp__mix64(h ^ word); }

/* The architecture, then every parameter's name and values (running
 * statistics too: they change the outputs) in registration order. */
static int content_hash(const sp_model *m, uint64_t *out)
{
    /* A model without neighbours hashes as before the neighbour fields
     * existed, so the embedders made from it keep their ids. */
    uint64_t h = 0x736d6f64656c3031ull;
    for (int i = 0; i < sp__model_field_count(&m->opts); i++)
        h = hash_word(h, (uint64_t)(uint32_t)sp__model_field_get(&m->opts, i));
    if (m->opts.neighbours > 0)
        h = hash_word(h, m->embedder_id);
    const sp__params *ps = &m->net.ps;
    size_t max = 1;
    for (size_t i = 0; i < ps->count; i++)
        max = ps->items[i]->count > max ? ps->items[i]->count : max;
    float *v = malloc(max * sizeof *v);
    if (!v)
        return sp__error(SP_ERR_NOMEM, "sp_model_describe: out of memory");
    int rc = SP_OK;
    for (size_t i = 0; i < ps->count && !rc; i++) {
        const sp__param *p = ps->items[i];
        for (const char *c = p->name; *c; c++)
            h = hash_word(h, (unsigned char)*c);
        rc = sp__param_read(p, v);
        for (size_t j = 0; j < p->count && !rc; j++) {
            uint32_t bits;
            memcpy(&bits, &v[j], sizeof bits);
            h = hash_word(h, bits);
        }
    }
    free(v);
    *out = h;
    return rc;
}

int sp_model_describe(const sp_model *m, sp_model_info *out)
{
    if (!m || !out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_model_describe: %s is NULL", m ? "out" : "model");
    int rc = sp__options_check(out->version, &model_info_type, "sp_model_describe", NULL);
    if (rc)
        return rc;
    const sp__model_arch *a = &m->arch;
    int64_t points = a->board_size * a->board_size;
    sp_model_info info = SP_MODEL_INFO_INIT;
    info.input_planes = (int32_t)a->input_planes;
    info.num_actions = (int32_t)(points + 1);
    info.state_size = (int32_t)(a->channels * points);
    for (size_t i = 0; i < m->net.ps.count; i++)
        if (!(m->net.ps.items[i]->flags & SP__PARAM_BUFFER))
            info.parameters += m->net.ps.items[i]->count;
    int64_t repr = sp__model_repr_channels(a);
    info.flops_initial = tower_flops(points, a->input_planes, repr, a->repr_blocks) + heads_flops(a);
    if (a->neighbours > 0)
        info.flops_initial += (uint64_t)a->neighbours *
                              tower_flops(points, repr + a->neighbour_planes, a->neighbour_channels, a->neighbour_blocks);
    info.flops_recurrent =
        tower_flops(points, a->channels + SP__MODEL_ACTION_PLANES, a->channels, a->dyn_blocks) + heads_flops(a);
    rc = content_hash(m, &info.content_hash);
    if (rc)
        return rc;
    return sp__options_write(out, &info, &model_info_type, "sp_model_describe");
}

/* ------------------------------------------------------------------------ */
/* The embedder a retrieval model reads */

int sp_model_set_embedder(sp_model *m, uint64_t embedder_id)
{
    if (!m)
        return sp__error(SP_ERR_INVALID_ARG, "sp_model_set_embedder: model is NULL");
    if (m->opts.neighbours == 0 || embedder_id == 0)
        return sp__error(SP_ERR_INVALID_ARG, "sp_model_set_embedder: %s",
                         embedder_id ? "the model reads no neighbours (neighbours = 0)" : "embedder id 0");
    int rc = sp__model_hold(m, "sp_model_set_embedder");
    if (rc)
        return rc;
    m->embedder_id = embedder_id;
    sp__model_unhold(m);
    return SP_OK;
}

uint64_t sp_model_embedder_id(const sp_model *m) { return m ? m->embedder_id : 0; }

int sp_model_check_retrieval(const sp_model *m, uint64_t embedder_id, int32_t neighbours)
{
    if (!m)
        return sp__error(SP_ERR_INVALID_ARG, "sp_model_check_retrieval: model is NULL");
    if (neighbours != m->opts.neighbours)
        return sp__error(SP_ERR_INVALID_ARG, "the model reads %d neighbours, asked to run with %d",
                         (int)m->opts.neighbours, (int)neighbours);
    if (m->embedder_id && embedder_id != m->embedder_id)
        return sp__error(SP_ERR_INVALID_ARG,
                         "the model was trained on neighbours of embedder %016llx, asked to run with embedder %016llx",
                         (unsigned long long)m->embedder_id, (unsigned long long)embedder_id);
    return SP_OK;
}
