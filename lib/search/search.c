/* The public face of the searcher: options, creation, runs, tree reuse
 * and the results of the latest run. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "search_internal.h"

static const sp_search_options search_defaults = SP_SEARCH_OPTIONS_INIT;
static const sp__options_type search_options_type = { "sp_search_options", SP_SEARCH_OPTIONS_VERSION,
                                                      sizeof(sp_search_options), &search_defaults, { 0 } };
static const sp_search_model model_defaults = SP_SEARCH_MODEL_INIT;
static const sp__options_type search_model_type = { "sp_search_model", SP_SEARCH_MODEL_VERSION,
                                                    sizeof(sp_search_model), &model_defaults, { 0 } };

int sp_search_options_init(sp_search_options *opts, uint32_t version)
{
    return sp__options_init(opts, version, &search_options_type, "sp_search_options_init");
}

static int check_model(const sp_search_model *m)
{
    if (m->num_actions < 1 || m->num_actions > SP_SEARCH_MAX_ACTIONS)
        return sp__error(SP_ERR_INVALID_ARG, "sp_search_create: num_actions %d is not in 1..%d", m->num_actions,
                         SP_SEARCH_MAX_ACTIONS);
    if (!m->initial || !m->recurrent)
        return sp__error(SP_ERR_INVALID_ARG, "sp_search_create: the model needs initial and recurrent callbacks");
    if (m->two_player != 0 && m->two_player != 1)
        return sp__error(SP_ERR_INVALID_ARG, "sp_search_create: two_player must be 0 or 1");
    if (m->max_batch < 0)
        return sp__error(SP_ERR_INVALID_ARG, "sp_search_create: max_batch %d is negative", m->max_batch);
    return SP_OK;
}

static int check_options(const sp_search_options *o)
{
#define REQUIRE(cond, what)                                                                                         \
    if (!(cond))                                                                                                    \
    return sp__error(SP_ERR_INVALID_ARG, "sp_search_create: %s", what)
    REQUIRE(o->kind == SP_SEARCH_PUCT || o->kind == SP_SEARCH_GUMBEL, "kind is not an sp_search_kind");
    REQUIRE(o->simulations >= 1, "simulations must be at least 1");
    REQUIRE(o->max_seconds >= 0.0 && isfinite(o->max_seconds), "max_seconds must be finite and >= 0");
    REQUIRE(o->threads >= 1 && o->threads <= 256, "threads must be in 1..256");
    REQUIRE(o->batch_size >= 0 && o->batch_size <= 65536, "batch_size must be in 0..65536");
    REQUIRE(o->c1 >= 0.0f && isfinite(o->c1), "c1 must be finite and >= 0");
    REQUIRE(o->c2 > 0.0f && isfinite(o->c2), "c2 must be finite and > 0");
    REQUIRE(o->discount > 0.0f && o->discount <= 1.0f, "discount must be in (0, 1]");
    REQUIRE(o->dirichlet_alpha > 0.0f && isfinite(o->dirichlet_alpha), "dirichlet_alpha must be > 0");
    REQUIRE(o->dirichlet_fraction >= 0.0f && o->dirichlet_fraction <= 1.0f, "dirichlet_fraction must be in [0, 1]");
    REQUIRE(o->temperature >= 0.0f && isfinite(o->temperature), "temperature must be finite and >= 0");
    REQUIRE(o->gumbel_considered >= 1, "gumbel_considered must be at least 1");
    REQUIRE(o->gumbel_c_visit >= 0.0f && isfinite(o->gumbel_c_visit), "gumbel_c_visit must be >= 0");
    REQUIRE(o->gumbel_c_scale >= 0.0f && isfinite(o->gumbel_c_scale), "gumbel_c_scale must be >= 0");
    REQUIRE(o->reuse_tree == 0 || o->reuse_tree == 1, "reuse_tree must be 0 or 1");
    REQUIRE(o->fpu == SP_SEARCH_FPU_ZERO || o->fpu == SP_SEARCH_FPU_PARENT, "fpu is not an sp_search_fpu");
#undef REQUIRE
    return SP_OK;
}

void sp_search_free(sp_search *s)
{
    if (!s)
        return;
    sp__tree_release_all(s, &s->tree);
    sp__tree_free(&s->tree);
    sp__tree_free(&s->spare);
    sp__pool_free(s->pool);
    for (int f = 0; f < 2; f++) {
        sp__batch_free(&s->batch[f]);
        free(s->flight[f].leaves);
        free(s->flight[f].path);
    }
    free(s->gumbel);
    free(s->logits);
    free(s->schedule);
    free(s->scratch);
    free(s->action_child);
    free(s->scratch2);
    free(s);
}

int sp_search_create(sp_search **out, const sp_search_model *model, const sp_search_options *opts)
{
    if (!out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_search_create: out is NULL");
    *out = NULL;
    if (!model)
        return sp__error(SP_ERR_INVALID_ARG, "sp_search_create: model is NULL");
    sp_search_model m;
    sp_search_options o;
    int rc = sp__options_read(&m, model, &search_model_type, "sp_search_create");
    if (!rc)
        rc = sp__options_read(&o, opts, &search_options_type, "sp_search_create");
    if (!rc)
        rc = check_model(&m);
    if (!rc)
        rc = check_options(&o);
    if (rc)
        return rc;
    sp_search *s = calloc(1, sizeof *s);
    if (!s)
        return sp__error(SP_ERR_NOMEM, "sp_search_create: out of memory");
    s->model = m;
    s->opts = o;
    s->batch_size = o.batch_size ? o.batch_size : o.threads;
    s->max_tree_bytes = SP__MAX_TREE_BYTES;
    s->action = -1;
    sp__rng_seed(&s->rng, o.seed);
    const size_t A = (size_t)model->num_actions;
    for (int f = 0; f < 2; f++)
        s->flight[f].leaves = malloc((size_t)s->batch_size * sizeof *s->flight[f].leaves);
    s->gumbel = malloc(A * sizeof *s->gumbel);
    s->logits = malloc(A * sizeof *s->logits);
    s->scratch = malloc(A * sizeof *s->scratch);
    s->action_child = malloc(A * sizeof *s->action_child);
    s->scratch2 = malloc(A * sizeof *s->scratch2);
    if (!s->flight[0].leaves || !s->flight[1].leaves || !s->gumbel || !s->logits || !s->scratch || !s->scratch2 ||
        !s->action_child)
        rc = sp__error(SP_ERR_NOMEM, "sp_search_create: out of memory");
    if (!rc)
        rc = sp__batch_reserve(&s->batch[0], s->batch_size, model->num_actions);
    if (!rc && o.threads > 1)
        rc = sp__batch_reserve(&s->batch[1], s->batch_size, model->num_actions);
    if (!rc) {
        int32_t nodes = o.simulations < (1 << 16) ? o.simulations + 2 : (1 << 16);
        rc = sp__tree_reserve(&s->tree, nodes, nodes * (int32_t)(A < 64 ? A : 64));
    }
    if (!rc && o.threads > 1)
        rc = sp__pool_create(&s->pool, o.threads);
    if (rc) {
        sp_search_free(s);
        return rc;
    }
    *out = s;
    return SP_OK;
}

int sp_search_set_limits(sp_search *s, int32_t simulations, double max_seconds)
{
    if (!s)
        return sp__error(SP_ERR_INVALID_ARG, "sp_search_set_limits: search is NULL");
    if (simulations < 1 || !(max_seconds >= 0.0) || !isfinite(max_seconds))
        return sp__error(SP_ERR_INVALID_ARG, "sp_search_set_limits: need simulations >= 1 and max_seconds >= 0");
    s->opts.simulations = simulations;
    s->opts.max_seconds = max_seconds;
    return SP_OK;
}

int sp_search_run(sp_search *s, void *root_input, const uint8_t *root_mask, int32_t *out_action)
{
    if (out_action)
        *out_action = -1;
    if (!s)
        return sp__error(SP_ERR_INVALID_ARG, "sp_search_run: search is NULL");
    sp__batch *const b[2] = { &s->batch[0], &s->batch[1] };
    int rc = sp__search_run(&s, 1, &root_input, root_mask ? &root_mask : NULL, b);
    if (rc)
        s->action = -1;
    if (out_action)
        *out_action = s->action;
    return rc;
}

static int same_model(const sp_search_model *a, const sp_search_model *b)
{
    return a->num_actions == b->num_actions && a->two_player == b->two_player && a->initial == b->initial &&
           a->recurrent == b->recurrent && a->release == b->release && a->payload == b->payload &&
           a->max_batch == b->max_batch;
}

int sp_search_run_many(sp_search *const *searches, size_t n, void *const *root_inputs,
                       const uint8_t *const *root_masks, int32_t *out_actions)
{
    if (!searches || !root_inputs || n == 0)
        return sp__error(SP_ERR_INVALID_ARG, "sp_search_run_many: %s", n ? "searches or root_inputs is NULL" : "n is 0");
    int64_t rows = (int64_t)n;
    int64_t leaves = 0;
    for (size_t i = 0; i < n; i++) {
        if (!searches[i])
            return sp__error(SP_ERR_INVALID_ARG, "sp_search_run_many: searches[%zu] is NULL", i);
        if (!same_model(&searches[i]->model, &searches[0]->model))
            return sp__error(SP_ERR_INVALID_ARG, "sp_search_run_many: searches[%zu] has another model", i);
        for (size_t j = 0; j < i; j++)
            if (searches[j] == searches[i])
                return sp__error(SP_ERR_INVALID_ARG, "sp_search_run_many: searches[%zu] appears twice", i);
        leaves += searches[i]->batch_size;
    }
    if (leaves > rows)
        rows = leaves;
    if (rows > INT32_MAX)
        return sp__error(SP_ERR_INVALID_ARG, "sp_search_run_many: too many searches");
    sp__batch b[2] = { { 0 }, { 0 } };
    int rc = sp__batch_reserve(&b[0], (int32_t)rows, searches[0]->model.num_actions);
    if (!rc && searches[0]->pool)
        rc = sp__batch_reserve(&b[1], (int32_t)(leaves > 0 ? leaves : 1), searches[0]->model.num_actions);
    sp__batch *const pair[2] = { &b[0], &b[1] };
    if (!rc)
        rc = sp__search_run(searches, n, root_inputs, root_masks, pair);
    sp__batch_free(&b[0]);
    sp__batch_free(&b[1]);
    for (size_t i = 0; i < n; i++) {
        if (rc)
            searches[i]->action = -1;
        if (out_actions)
            out_actions[i] = searches[i]->action;
    }
    return rc;
}

int sp_search_reset(sp_search *s)
{
    if (!s)
        return sp__error(SP_ERR_INVALID_ARG, "sp_search_reset: search is NULL");
    sp__tree_release_all(s, &s->tree);
    s->has_run = 0;
    s->action = -1;
    return SP_OK;
}

int sp_search_advance(sp_search *s, int32_t action)
{
    if (!s)
        return sp__error(SP_ERR_INVALID_ARG, "sp_search_advance: search is NULL");
    if (action < 0 || action >= s->model.num_actions)
        return sp__error(SP_ERR_INVALID_ARG, "sp_search_advance: action %d is not in 0..%d", action,
                         s->model.num_actions - 1);
    s->has_run = 0;
    /* Gumbel's schedule counts visits from zero, so its trees start afresh. */
    if (!s->opts.reuse_tree || s->opts.kind == SP_SEARCH_GUMBEL || s->tree.n_nodes == 0)
        return sp_search_reset(s);
    const sp__node *root = &s->tree.nodes[0];
    const sp__edge *e = &s->tree.edges[root->first_edge];
    for (int32_t k = 0; k < root->n_edges; k++)
        if (e[k].action == action && e[k].child >= 0 && s->tree.nodes[e[k].child].ready)
            return sp__tree_keep_subtree(s, e[k].child);
    return sp_search_reset(s);
}

/* ---------------------------------------------------------------------- */

static int check_results(const sp_search *s, const char *fn)
{
    if (!s)
        return sp__error(SP_ERR_INVALID_ARG, "%s: search is NULL", fn);
    if (!s->has_run || s->tree.n_nodes == 0)
        return sp__error(SP_ERR_MISUSE, "%s: no search has run since the tree last changed", fn);
    return SP_OK;
}

int sp_search_root_stats(const sp_search *s, int32_t *out_visits, float *out_priors, float *out_values,
                         float *out_policy, size_t capacity)
{
    int rc = check_results(s, "sp_search_root_stats");
    if (rc)
        return rc;
    const int A = s->model.num_actions;
    if (capacity < (size_t)A)
        return sp__error(SP_ERR_BUFFER_TOO_SMALL, "sp_search_root_stats: %d entries needed", A);
    const sp__node *root = &s->tree.nodes[0];
    const sp__edge *e = &s->tree.edges[root->first_edge];
    for (int a = 0; a < A; a++) {
        if (out_visits)
            out_visits[a] = 0;
        if (out_priors)
            out_priors[a] = 0.0f;
        if (out_values)
            out_values[a] = 0.0f;
        if (out_policy)
            out_policy[a] = 0.0f;
    }
    double total = 0.0;
    float *sigma = NULL;
    if (out_policy && s->opts.kind == SP_SEARCH_GUMBEL) {
        sigma = s->scratch;
        sp__completed_q(s, 0, sigma);
    }
    for (int32_t k = 0; k < root->n_edges; k++) {
        const int a = e[k].action;
        const sp__node *c = e[k].child >= 0 ? &s->tree.nodes[e[k].child] : NULL;
        int32_t visits = c ? c->visits : 0;
        if (out_visits)
            out_visits[a] = visits;
        if (out_priors)
            out_priors[a] = e[k].prior;
        if (out_values && visits > 0)
            out_values[a] = (float)sp__child_q(s, c);
        if (out_policy) {
            double w;
            if (sigma)
                w = logf(e[k].prior > 1e-30f ? e[k].prior : 1e-30f) + sigma[k];
            else if (s->opts.temperature > 0.0f)
                w = visits > 0 ? pow((double)visits, 1.0 / s->opts.temperature) : 0.0;
            else
                w = visits;
            out_policy[a] = (float)w;
        }
    }
    if (out_policy && root->n_edges > 0) {
        if (sigma) {
            /* softmax over the root's actions */
            double hi = -INFINITY;
            for (int32_t k = 0; k < root->n_edges; k++)
                if (out_policy[e[k].action] > hi)
                    hi = out_policy[e[k].action];
            for (int32_t k = 0; k < root->n_edges; k++)
                out_policy[e[k].action] = (float)exp(out_policy[e[k].action] - hi);
        }
        for (int32_t k = 0; k < root->n_edges; k++)
            total += out_policy[e[k].action];
        for (int32_t k = 0; k < root->n_edges; k++)
            out_policy[e[k].action] = total > 0.0 ? (float)(out_policy[e[k].action] / total) : 0.0f;
    }
    return SP_OK;
}

int sp_search_root_value(const sp_search *s, float *out_value, int32_t *out_simulations)
{
    int rc = check_results(s, "sp_search_root_value");
    if (rc)
        return rc;
    if (out_value)
        *out_value = (float)sp__node_mean(&s->tree.nodes[0]);
    if (out_simulations)
        *out_simulations = s->sims_done;
    return SP_OK;
}

int sp_search_pv(const sp_search *s, int32_t *out_actions, size_t capacity, size_t *out_length)
{
    if (out_length)
        *out_length = 0;
    int rc = check_results(s, "sp_search_pv");
    if (rc)
        return rc;
    if (!out_actions && capacity > 0)
        return sp__error(SP_ERR_INVALID_ARG, "sp_search_pv: out_actions is NULL");
    size_t len = 0;
    int32_t node = 0;
    while (len < capacity) {
        const sp__node *n = &s->tree.nodes[node];
        const sp__edge *e = &s->tree.edges[n->first_edge];
        int32_t best = -1, best_visits = 0;
        for (int32_t k = 0; k < n->n_edges && !n->terminal; k++)
            if (e[k].child >= 0 && s->tree.nodes[e[k].child].visits > best_visits) {
                best_visits = s->tree.nodes[e[k].child].visits;
                best = k;
            }
        if (best < 0)
            break;
        /* The root's move is the one the search chose. */
        if (node == 0 && s->action >= 0)
            for (int32_t k = 0; k < n->n_edges; k++)
                if (e[k].action == s->action && e[k].child >= 0)
                    best = k;
        out_actions[len++] = e[best].action;
        node = e[best].child;
    }
    if (out_length)
        *out_length = len;
    return SP_OK;
}
