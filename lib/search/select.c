/* Action selection: MuZero's pUCT rule, and Gumbel MuZero's sequential
 * halving at the root with its deterministic rule below (Danihelka et al.
 * 2022, as mctx implements them). Nodes in flight count as visits that have
 * not (yet) brought any value: the virtual loss that spreads a batch. */
#include <math.h>
#include <stdlib.h>

#include "search_internal.h"

/* Per-selection constants of the pUCT score. */
typedef struct puct_ctx {
    const sp__node *nodes;
    double unvisited, factor, sign_discount, lo, inv_range;
} puct_ctx;

static inline double puct_score(const puct_ctx *p, const sp__edge *e)
{
    if (e->child < 0)
        return p->unvisited + e->prior * p->factor; /* the common case deep in the tree: no division */
    const sp__node *c = &p->nodes[e->child];
    const int32_t count = c->visits + c->pending;
    double q = p->unvisited;
    if (c->visits > 0) {
        q = (c->reward + p->sign_discount * c->mean - p->lo) * p->inv_range;
        if (c->pending)
            q = q * c->visits / count;
    }
    return q + e->prior * p->factor / (1.0 + count);
}

int32_t sp__select_puct(struct sp_search *s, int32_t node)
{
    if (s->tree.nodes[node].prefix_ok && s->tree.nodes[node].best_unexpanded == SP__BEST_UNKNOWN)
        sp__tree_refresh_best(s, node);
    const sp__node *n = &s->tree.nodes[node];
    const sp__edge *e = &s->tree.edges[n->first_edge];
    const double N = (double)(n->visits + n->pending);
    const double c2 = s->opts.c2;
    puct_ctx p;
    p.nodes = s->tree.nodes;
    p.factor = sqrt(N) * (s->opts.c1 + log((N + c2 + 1.0) / c2));
    p.sign_discount = (s->model.two_player ? -1.0 : 1.0) * s->opts.discount;
    /* Min-max normalisation, or raw values until two distinct ones were seen. */
    p.lo = s->minmax.max > s->minmax.min ? s->minmax.min : 0.0;
    p.inv_range = s->minmax.max > s->minmax.min ? 1.0 / (s->minmax.max - s->minmax.min) : 1.0;
    /* Unvisited actions: MuZero counts them as the worst value seen (0 once
     * normalised); the parent variant gives them the parent's mean. */
    p.unvisited = 0.0;
    if (s->opts.fpu == SP_SEARCH_FPU_PARENT && n->visits > 0)
        p.unvisited = (n->mean - p.lo) * p.inv_range;
    double best = -INFINITY;
    int32_t best_k = 0;
    if (n->prefix_ok) {
        /* Only the expanded edges and the best unexpanded one can win. */
        for (int32_t k = 0; k < n->n_expanded; k++) {
            double score = puct_score(&p, &e[k]);
            if (score > best) {
                best = score;
                best_k = k;
            }
        }
        if (n->best_unexpanded >= 0 && p.unvisited + e[n->best_unexpanded].prior * p.factor > best)
            best_k = n->best_unexpanded;
        return n->first_edge + best_k;
    }
    /* Ties (equal priors, nothing visited) go to a random action rather
     * than the lowest index: scan from a random place. */
    const int32_t start = n->n_edges > 1 ? (int32_t)sp__rng_below(&s->rng, (uint32_t)n->n_edges) : 0;
    for (int32_t i = 0, k = start; i < n->n_edges; i++, k = k + 1 == n->n_edges ? 0 : k + 1) {
        double score = puct_score(&p, &e[k]);
        if (score > best) {
            best = score;
            best_k = k;
        }
    }
    return n->first_edge + best_k;
}

/* sigma(completed Q) of every edge of `node`: visited actions keep their Q,
 * the others get the mixed value of the node's own estimate and the
 * prior-weighted Q of the visited ones; then rescaled to [0, 1] over the node
 * and scaled by (c_visit + max visits) * c_scale. */
void sp__completed_q(const struct sp_search *s, int32_t node, float *out_sigma)
{
    const sp__node *nodes = s->tree.nodes;
    const sp__node *n = &nodes[node];
    const sp__edge *e = &s->tree.edges[n->first_edge];
    double sum_visits = 0.0, max_visits = 0.0, wq = 0.0, wp = 0.0;
    for (int32_t k = 0; k < n->n_edges; k++) {
        if (e[k].child < 0 || nodes[e[k].child].visits == 0)
            continue;
        const sp__node *c = &nodes[e[k].child];
        double q = sp__child_q(s, c);
        out_sigma[k] = (float)q;
        sum_visits += c->visits;
        if (c->visits > max_visits)
            max_visits = c->visits;
        wq += e[k].prior * q;
        wp += e[k].prior;
    }
    double mixed = n->value;
    if (sum_visits > 0.0 && wp > 0.0)
        mixed = (n->value + sum_visits * (wq / wp)) / (sum_visits + 1.0);
    double lo = INFINITY, hi = -INFINITY;
    for (int32_t k = 0; k < n->n_edges; k++) {
        if (e[k].child < 0 || nodes[e[k].child].visits == 0)
            out_sigma[k] = (float)mixed;
        if (out_sigma[k] < lo)
            lo = out_sigma[k];
        if (out_sigma[k] > hi)
            hi = out_sigma[k];
    }
    const double range = hi - lo > 1e-8 ? hi - lo : 1e-8;
    const double scale = (s->opts.gumbel_c_visit + max_visits) * s->opts.gumbel_c_scale;
    for (int32_t k = 0; k < n->n_edges; k++)
        out_sigma[k] = (float)(scale * (out_sigma[k] - lo) / range);
}

static int32_t edge_count(const struct sp_search *s, const sp__edge *e, int pending)
{
    if (e->child < 0)
        return 0;
    const sp__node *c = &s->tree.nodes[e->child];
    return c->visits + (pending ? c->pending : 0);
}

/* mctx's get_sequence_of_considered_visits: the visit count an action
 * must have to be chosen at each simulation, halving the considered set
 * after each phase. */
static void considered_schedule(int32_t m, int32_t n, int32_t *out)
{
    if (m <= 1) {
        for (int32_t i = 0; i < n; i++)
            out[i] = i;
        return;
    }
    int32_t log2max = 0;
    while ((1 << log2max) < m)
        log2max++;
    int32_t len = 0, considered = m, visits = 0;
    while (len < n) {
        int32_t extra = n / (log2max * considered);
        if (extra < 1)
            extra = 1;
        for (int32_t r = 0; r < extra && len < n; r++, visits++)
            for (int32_t i = 0; i < considered && len < n; i++)
                out[len++] = visits;
        considered = considered / 2 > 2 ? considered / 2 : 2;
    }
}

int sp__gumbel_prepare(struct sp_search *s)
{
    const sp__node *root = &s->tree.nodes[0];
    const sp__edge *e = &s->tree.edges[root->first_edge];
    if (s->schedule_len < s->sims_target) {
        int32_t *p = realloc(s->schedule, (size_t)s->sims_target * sizeof *p);
        if (!p)
            return sp__error(SP_ERR_NOMEM, "search: out of memory for the Gumbel schedule");
        s->schedule = p;
        s->schedule_len = s->sims_target;
    }
    for (int32_t k = 0; k < root->n_edges; k++) {
        s->gumbel[k] = sp__gumbel_sample(&s->rng);
        s->logits[k] = logf(e[k].prior > 1e-30f ? e[k].prior : 1e-30f);
    }
    int32_t m = s->opts.gumbel_considered < root->n_edges ? s->opts.gumbel_considered : root->n_edges;
    considered_schedule(m, s->sims_target, s->schedule);
    return SP_OK;
}

int32_t sp__select_gumbel_root(struct sp_search *s)
{
    const sp__node *root = &s->tree.nodes[0];
    const sp__edge *e = &s->tree.edges[root->first_edge];
    int32_t i = s->sims_started < s->sims_target ? s->sims_started : s->sims_target - 1;
    int32_t considered = s->schedule[i];
    sp__completed_q(s, 0, s->scratch);
    double best = -INFINITY, fallback = -INFINITY;
    int32_t best_k = -1, fallback_k = 0;
    for (int32_t k = 0; k < root->n_edges; k++) {
        double score = s->gumbel[k] + s->logits[k] + s->scratch[k];
        int32_t count = edge_count(s, &e[k], 1);
        if (count == considered && score > best) {
            best = score;
            best_k = k;
        }
        /* A batch can leave no action at the scheduled count: take the least visited. */
        double penalised = score - 1e6 * count;
        if (penalised > fallback) {
            fallback = penalised;
            fallback_k = k;
        }
    }
    return root->first_edge + (best_k >= 0 ? best_k : fallback_k);
}

int32_t sp__select_gumbel_inner(struct sp_search *s, int32_t node)
{
    const sp__node *n = &s->tree.nodes[node];
    const sp__edge *e = &s->tree.edges[n->first_edge];
    float *sigma = s->scratch, *probs = s->scratch2;
    sp__completed_q(s, node, sigma);
    double hi = -INFINITY, sum = 0.0, total = 0.0;
    for (int32_t k = 0; k < n->n_edges; k++) {
        probs[k] = logf(e[k].prior > 1e-30f ? e[k].prior : 1e-30f) + sigma[k];
        if (probs[k] > hi)
            hi = probs[k];
        total += edge_count(s, &e[k], 1);
    }
    for (int32_t k = 0; k < n->n_edges; k++) {
        probs[k] = expf((float)(probs[k] - hi));
        sum += probs[k];
    }
    double best = -INFINITY;
    int32_t best_k = 0;
    for (int32_t k = 0; k < n->n_edges; k++) {
        double score = probs[k] / sum - edge_count(s, &e[k], 1) / (1.0 + total);
        if (score > best) {
            best = score;
            best_k = k;
        }
    }
    return n->first_edge + best_k;
}

int32_t sp__gumbel_final_action(struct sp_search *s)
{
    const sp__node *root = &s->tree.nodes[0];
    const sp__edge *e = &s->tree.edges[root->first_edge];
    int32_t most = 0;
    for (int32_t k = 0; k < root->n_edges; k++)
        if (edge_count(s, &e[k], 0) > most)
            most = edge_count(s, &e[k], 0);
    sp__completed_q(s, 0, s->scratch);
    double best = -INFINITY;
    int32_t best_k = 0;
    for (int32_t k = 0; k < root->n_edges; k++) {
        double score = s->gumbel[k] + s->logits[k] + s->scratch[k];
        if (edge_count(s, &e[k], 0) == most && score > best) {
            best = score;
            best_k = k;
        }
    }
    return e[best_k].action;
}
