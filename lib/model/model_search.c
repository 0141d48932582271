/* The model as a searcher model: its options, the payloads the callbacks
 * share (one per model and distinct options, freed with the model),
 * and their free lists of states and call buffers. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/core_internal.h"
#include "go/game_internal.h"
#include "model_internal.h" /* sp__model_search_release_all */
#include "model_search.h"
#include "model_search_release.h"

static const sp_model_search_options search_defaults = SP_MODEL_SEARCH_OPTIONS_INIT;
static const sp__options_type search_options_type = {
    "sp_model_search_options", SP_MODEL_SEARCH_OPTIONS_VERSION, sizeof(sp_model_search_options), &search_defaults,
    { offsetof(sp_model_search_options, neighbours) }
};

/* Released states kept for reuse, in bytes: a finished search hands its
 * whole tree back at once, and the next one takes it again; past this the
 * memory goes back to the allocator. */
#define FREE_STATE_BYTES ((size_t)64 << 20)

int sp_model_search_options_init(sp_model_search_options *opts, uint32_t version)
{
    return sp__options_init(opts, version, &search_options_type, "sp_model_search_options_init");
}

static void free_state(const sp__model_search *p, void *state)
{
    if (p->opts.mode == SP_MODEL_SEARCH_RULES) {
        sp_game_free(state);
    } else {
        sp_game_free(((sp__learned_state *)state)->real);
        free(state);
    }
}

void *sp__model_search_take_state(sp__model_search *p)
{
    void *state = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->n_free_states)
        state = p->free_states[--p->n_free_states];
    pthread_mutex_unlock(&p->lock);
    if (state)
        return state;
    if (p->opts.mode == SP_MODEL_SEARCH_RULES)
        return calloc(1, sizeof(sp_game)); /* sp__game_copy_position gives it its buffers */
    sp__learned_state *fresh = malloc(sizeof(sp__learned_state) + p->state_floats * sizeof(float));
    if (fresh)
        fresh->real = NULL;
    return fresh;
}

void sp__model_search_release_state(void *state, void *payload)
{
    sp__model_search *p = payload;
    if (!state)
        return;
    if (p->opts.mode == SP_MODEL_SEARCH_LEARNED) {
        /* Kept states hold no game: the next node's own is set when needed. */
        sp__learned_state *st = state;
        sp_game_free(st->real);
        st->real = NULL;
    }
    const size_t bytes = p->opts.mode == SP_MODEL_SEARCH_RULES ? sizeof(sp_game) + (size_t)p->area * 64
                                                                : sizeof(sp__learned_state) + p->state_floats * sizeof(float);
    const size_t keep = FREE_STATE_BYTES / bytes > 64 ? FREE_STATE_BYTES / bytes : 64;
    pthread_mutex_lock(&p->lock);
    if (p->n_free_states == p->cap_free_states && p->cap_free_states < keep) {
        size_t cap = p->cap_free_states ? 2 * p->cap_free_states : 64;
        cap = cap < keep ? cap : keep;
        void **grown = realloc(p->free_states, cap * sizeof *grown);
        if (grown) {
            p->free_states = grown;
            p->cap_free_states = cap;
        }
    }
    if (p->n_free_states < p->cap_free_states) {
        p->free_states[p->n_free_states++] = state;
        state = NULL;
    }
    pthread_mutex_unlock(&p->lock);
    if (state)
        free_state(p, state);
}

static void free_scratch(sp__search_scratch *s)
{
    if (s) {
        free(s->floats);
        free(s->ints);
        free(s->games);
        free(s);
    }
}

/* A buffer of at least `count` items of `item` bytes: `buf` when its
 * `*capacity` suffices, else a fresh one (buf freed, contents not kept);
 * NULL when out of memory, *capacity then 0. */
static void *reserve(void *buf, size_t *capacity, size_t count, size_t item)
{
    if (*capacity >= count)
        return buf;
    free(buf);
    buf = malloc(count * item);
    *capacity = buf ? count : 0;
    return buf;
}

sp__search_scratch *sp__model_search_borrow_scratch(sp__model_search *p, size_t floats, size_t ints, size_t games)
{
    sp__search_scratch *s = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->n_free_scratch)
        s = p->free_scratch[--p->n_free_scratch];
    pthread_mutex_unlock(&p->lock);
    if (!s && !(s = calloc(1, sizeof *s)))
        return NULL;
    s->floats = reserve(s->floats, &s->float_capacity, floats, sizeof *s->floats);
    s->ints = reserve(s->ints, &s->int_capacity, ints, sizeof *s->ints);
    s->games = reserve(s->games, &s->game_capacity, games, sizeof *s->games);
    if ((floats && !s->floats) || (ints && !s->ints) || (games && !s->games)) {
        free_scratch(s);
        return NULL;
    }
    return s;
}

void sp__model_search_return_scratch(sp__model_search *p, sp__search_scratch *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&p->lock);
    if (p->n_free_scratch == p->cap_free_scratch) {
        size_t cap = p->cap_free_scratch ? 2 * p->cap_free_scratch : 4;
        void *grown = realloc(p->free_scratch, cap * sizeof *p->free_scratch);
        if (grown) {
            p->free_scratch = grown;
            p->cap_free_scratch = cap;
        }
    }
    if (p->n_free_scratch < p->cap_free_scratch) {
        p->free_scratch[p->n_free_scratch++] = s;
        s = NULL;
    }
    pthread_mutex_unlock(&p->lock);
    free_scratch(s);
}

static void payload_free(sp__model_search *p)
{
    for (size_t i = 0; i < p->n_free_states; i++)
        free_state(p, p->free_states[i]);
    for (size_t i = 0; i < p->n_free_scratch; i++)
        free_scratch(p->free_scratch[i]);
    free(p->free_states);
    free(p->free_scratch);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* The payloads of every model, found by model: kept here rather than in
 * the handle so that the model's own files need only call
 * sp__model_search_release_all() when they free it. */
static pthread_mutex_t payloads_lock = PTHREAD_MUTEX_INITIALIZER;
static sp__model_search *payloads;

/* Free the payloads of model m, or only those whose neighbours callback
 * reads `neighbours_payload` when it is not NULL. */
static void release_payloads(sp_model *m, const void *neighbours_payload)
{
    pthread_mutex_lock(&payloads_lock);
    sp__model_search **link = &payloads, *mine = NULL;
    while (*link) {
        sp__model_search *p = *link;
        if (p->model == m && (!neighbours_payload || p->opts.neighbours_payload == neighbours_payload)) {
            *link = p->next;
            p->next = mine;
            mine = p;
        } else {
            link = &p->next;
        }
    }
    pthread_mutex_unlock(&payloads_lock);
    while (mine) {
        sp__model_search *next = mine->next;
        payload_free(mine);
        mine = next;
    }
}

void sp__model_search_release_all(sp_model *m) { release_payloads(m, NULL); }

void sp__model_search_release_neighbours(sp_model *m, const void *neighbours_payload)
{
    if (neighbours_payload)
        release_payloads(m, neighbours_payload);
}

static int payload_create(sp_model *m, const sp_model_search_options *o, sp__model_search **out)
{
    sp_model_options mo;
    sp_model_info info = SP_MODEL_INFO_INIT;
    int rc = sp_model_options_init(&mo, SP_MODEL_OPTIONS_VERSION);
    if (!rc)
        rc = sp_model_get_options(m, &mo);
    if (!rc)
        rc = sp_model_describe(m, &info);
    if (rc)
        return rc;
    sp__model_search *p = calloc(1, sizeof *p);
    if (!p)
        return sp__error(SP_ERR_NOMEM, "sp_model_search_model: out of memory");
    p->model = m;
    p->opts = *o;
    p->size = mo.board_size;
    p->area = mo.board_size * mo.board_size;
    p->actions = info.num_actions;
    p->history = mo.history;
    p->plane_floats = (size_t)info.input_planes * (size_t)p->area;
    p->state_floats = (size_t)info.state_size;
    p->neighbours = mo.neighbours;
    p->neighbour_floats = (size_t)mo.neighbours * SP_NEIGHBOUR_PLANES * (size_t)p->area;
    pthread_mutex_init(&p->lock, NULL);
    *out = p;
    return SP_OK;
}

int sp_model_search_model(sp_model *m, const sp_model_search_options *opts, sp_search_model *out)
{
    if (!m || !out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_model_search_model: %s is NULL", m ? "out" : "model");
    sp_model_search_options o;
    int rc = sp__options_read(&o, opts, &search_options_type, "sp_model_search_model");
    if (rc)
        return rc;
    if (o.mode != SP_MODEL_SEARCH_LEARNED && o.mode != SP_MODEL_SEARCH_RULES)
        return sp__error(SP_ERR_INVALID_ARG, "sp_model_search_model: mode %d is neither SP_MODEL_SEARCH_LEARNED (0) "
                                             "nor SP_MODEL_SEARCH_RULES (1)", (int)o.mode);
    if (o.max_batch < 0 || o.max_batch > SP__MODEL_SEARCH_MAX_ROWS)
        return sp__error(SP_ERR_INVALID_ARG, "sp_model_search_model: max_batch %d is outside 0..%d",
                         (int)o.max_batch, SP__MODEL_SEARCH_MAX_ROWS);
    /* Without its neighbours the search would evaluate every node with
     * x_i = 0, the baseline: the caller (the agent) retrieves them. */
    if (m->opts.neighbours > 0 && !o.neighbours)
        return sp__error(SP_ERR_UNSUPPORTED,
                         "sp_model_search_model: the model reads %d neighbours; searching it needs a neighbours "
                         "callback (sp_model_search_options.neighbours, as the agent of agent.h sets)",
                         (int)m->opts.neighbours);
    if (m->opts.neighbours == 0 && o.neighbours)
        return sp__error(SP_ERR_INVALID_ARG,
                         "sp_model_search_model: a neighbours callback for a model that reads no neighbours");
    /* Engines ask again for every new search: equal options share one
     * payload, so the model holds at most one per mode, batch size and
     * neighbours callback. */
    o.version = SP_MODEL_SEARCH_OPTIONS_VERSION;
    pthread_mutex_lock(&payloads_lock);
    sp__model_search *p = payloads;
    while (p && (p->model != m || p->opts.mode != o.mode || p->opts.max_batch != o.max_batch ||
                 p->opts.neighbours != o.neighbours || p->opts.neighbours_payload != o.neighbours_payload))
        p = p->next;
    if (!p && (rc = payload_create(m, &o, &p)) == SP_OK) {
        p->next = payloads;
        payloads = p;
    }
    pthread_mutex_unlock(&payloads_lock);
    if (rc)
        return rc;
    *out = (sp_search_model)SP_SEARCH_MODEL_INIT;
    out->num_actions = p->actions;
    out->two_player = 1;
    out->max_batch = o.max_batch;
    out->initial = sp__model_search_initial;
    out->recurrent = sp__model_search_recurrent;
    out->release = sp__model_search_release_state;
    out->payload = p;
    return SP_OK;
}
