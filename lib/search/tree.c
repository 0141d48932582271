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
    int32_t i = t->n_nodes++;
    t->nodes[i] = (sp__node){ .first_edge = 0, .n_edges = 0 };
    return i;
}

/* Give `node` one edge per legal action, with the prior renormalised over
 * them (uniform when the model gives them no mass). */
void sp__tree_expand(struct sp_search *s, int32_t node, const float *prior, const uint8_t *mask)
{
    sp__tree *t = &s->tree;
    const int A = s->model.num_actions;
    sp__node *n = &t->nodes[node];
    n->first_edge = t->n_edges;
    double sum = 0.0;
    int count = 0;
    for (int a = 0; a < A; a++)
        if (mask[a]) {
            float p = prior[a] > 0.0f && prior[a] == prior[a] ? prior[a] : 0.0f;
            t->edges[t->n_edges + count] = (sp__edge){ a, -1, p };
            sum += p;
            count++;
        }
    sp__edge *e = &t->edges[t->n_edges];
    for (int i = 0; i < count; i++)
        e[i].prior = sum > 0.0 ? (float)(e[i].prior / sum) : 1.0f / (float)count;
    n->n_edges = count;
    t->n_edges += count;
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
