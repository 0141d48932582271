/* The node and edge arenas: growth between batches (never inside one, so a
 * simulation allocates nothing), expansion, and the subtree kept on advance. */
#include <stdlib.h>

#include "search_internal.h"

static int grow(void **array, int32_t *cap, int32_t need, size_t elem)
{
    if (need <= *cap)
        return SP_OK;
    int64_t n = *cap ? *cap : 256;
    while (n < need)
        n *= 2;
    if (n > INT32_MAX)
        return sp__error(SP_ERR_NOMEM, "search: the tree would exceed 2^31 entries");
    void *p = realloc(*array, (size_t)n * elem);
    if (!p)
        return sp__error(SP_ERR_NOMEM, "search: out of memory for %lld tree entries", (long long)n);
    *array = p;
    *cap = (int32_t)n;
    return SP_OK;
}

int sp__tree_reserve(sp__tree *t, int32_t nodes, int32_t edges)
{
    int rc = grow((void **)&t->nodes, &t->cap_nodes, t->n_nodes + nodes, sizeof *t->nodes);
    if (!rc)
        rc = grow((void **)&t->edges, &t->cap_edges, t->n_edges + edges, sizeof *t->edges);
    return rc;
}

void sp__tree_release_all(struct sp_search *s, sp__tree *t)
{
    if (s->model.release)
        for (int32_t i = 0; i < t->n_nodes; i++)
            if (t->nodes[i].state)
                s->model.release(t->nodes[i].state, s->model.payload);
    t->n_nodes = 0;
    t->n_edges = 0;
}

void sp__tree_free(sp__tree *t)
{
    free(t->nodes);
    free(t->edges);
    t->nodes = NULL;
    t->edges = NULL;
    t->cap_nodes = t->cap_edges = t->n_nodes = t->n_edges = 0;
}

int32_t sp__tree_new_node(sp__tree *t)
{
    /* The run reserves before every batch; a full arena here is a bug in that
     * reservation, which must fail the run rather than write past the end. */
    if (t->n_nodes >= t->cap_nodes) {
        sp__error(SP_ERR_INTERNAL, "search: node %d would be past the node arena (%d reserved)", t->n_nodes,
                  t->cap_nodes);
        return -1;
    }
    int32_t i = t->n_nodes++;
    t->nodes[i] = (sp__node){ .first_edge = 0, .n_edges = 0 };
    return i;
}

/* Give `node` one edge per legal action, with the prior renormalised over
 * them (uniform when the model gives them no mass). */
int sp__tree_expand(struct sp_search *s, int32_t node, const float *prior, const uint8_t *mask)
{
    sp__tree *t = &s->tree;
    const int A = s->model.num_actions;
    /* Room for every action, as the run reserves, not just the legal ones:
     * a short reservation then fails here whatever the position. */
    if (t->n_edges > t->cap_edges - A)
        return sp__error(SP_ERR_INTERNAL,
                         "search: expanding node %d would pass the edge arena (%d of %d used, %d actions)", node,
                         t->n_edges, t->cap_edges, A);
    sp__node *n = &t->nodes[node];
    sp__edge *e = &t->edges[t->n_edges];
    float sum = 0.0f;
    int count = 0;
    for (int a = 0; a < A; a++) {
        if (!mask[a])
            continue;
        float p = prior[a] > 0.0f && prior[a] <= 3.4e38f ? prior[a] : 0.0f; /* also drops NaN */
        e[count].action = a;
        e[count].child = -1;
        e[count].prior = p;
        sum += p;
        count++;
    }
    if (sum > 0.0f && sum < 3.4e38f) {
        const float scale = 1.0f / sum;
        for (int i = 0; i < count; i++)
            e[i].prior *= scale;
    } else {
        for (int i = 0; i < count; i++)
            e[i].prior = 1.0f / (float)count;
    }
    n->first_edge = t->n_edges;
    n->n_edges = count;
    n->n_expanded = 0;
    n->prefix_ok = 1;
    t->n_edges += count;
    /* Most leaves are never passed through again: find their best
     * unexpanded edge only when selection first needs it. */
    n->best_unexpanded = SP__BEST_UNKNOWN;
    return SP_OK;
}

void sp__tree_refresh_best(struct sp_search *s, int32_t node)
{
    sp__node *n = &s->tree.nodes[node];
    const sp__edge *e = &s->tree.edges[n->first_edge];
    const int32_t lo = n->n_expanded, hi = n->n_edges;
    n->best_unexpanded = -1;
    if (hi <= lo)
        return;
    /* Equal priors (a flat model) go to a random one: scan from a random place. */
    const int32_t start = lo + (hi - lo > 1 ? (int32_t)sp__rng_below(&s->rng, (uint32_t)(hi - lo)) : 0);
    float best = -1.0f;
    int32_t best_k = -1;
    for (int32_t k = start; k < hi; k++)
        if (e[k].prior > best && e[k].child < 0) {
            best = e[k].prior;
            best_k = k;
        }
    for (int32_t k = lo; k < start; k++)
        if (e[k].prior > best && e[k].child < 0) {
            best = e[k].prior;
            best_k = k;
        }
    n->best_unexpanded = best_k;
}

int32_t sp__tree_note_child(struct sp_search *s, int32_t node, int32_t ei)
{
    sp__node *n = &s->tree.nodes[node];
    if (!n->prefix_ok)
        return ei;
    int32_t k = ei - n->first_edge;
    if (k < n->n_expanded)
        return ei; /* a prefix edge whose child a failed batch took back */
    sp__edge *e = &s->tree.edges[n->first_edge];
    int32_t to = n->n_expanded++;
    sp__edge swap = e[k];
    e[k] = e[to];
    e[to] = swap;
    n->best_unexpanded = SP__BEST_UNKNOWN;
    return n->first_edge + to;
}

int sp__tree_keep_subtree(struct sp_search *s, int32_t new_root)
{
    sp__tree *old = &s->tree, *kept = &s->spare;
    kept->n_nodes = kept->n_edges = 0;
    int rc = sp__tree_reserve(kept, old->n_nodes, old->n_edges);
    if (rc)
        return rc;
    /* Breadth-first copy: the kept nodes themselves are the queue. */
    kept->nodes[kept->n_nodes++] = old->nodes[new_root];
    old->nodes[new_root].state = NULL;
    for (int32_t i = 0; i < kept->n_nodes; i++) {
        sp__node *n = &kept->nodes[i];
        const sp__edge *src = &old->edges[n->first_edge];
        n->first_edge = kept->n_edges;
        for (int32_t k = 0; k < n->n_edges; k++) {
            sp__edge e = src[k];
            if (e.child >= 0) {
                kept->nodes[kept->n_nodes] = old->nodes[e.child];
                old->nodes[e.child].state = NULL;
                e.child = kept->n_nodes++;
            }
            kept->edges[kept->n_edges++] = e;
        }
    }
    /* Whatever kept no state now is outside the subtree. */
    sp__tree_release_all(s, old);
    sp__tree swap = *old;
    *old = *kept;
    *kept = swap;
    return SP_OK;
}
