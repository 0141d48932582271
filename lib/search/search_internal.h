/* The search tree (a node and an edge arena addressed by index, so growing
 * them never invalidates anything), the leaf batches that go to the model,
 * and the thread pool that calls it. Never exported. */
#ifndef SP_SEARCH_INTERNAL_H
#define SP_SEARCH_INTERNAL_H

#include <pthread.h>

#include "core/core_internal.h"
#include "semiparam/search.h"

/* An action of an expanded node; only legal actions get one. */
typedef struct sp__edge {
    int32_t action;
    int32_t child; /* node index, or -1 before the first visit */
    float prior;
} sp__edge;

/* A node's statistics are for the player to move in it; the parent reads
 * them as reward + discount * sign * mean. */
typedef struct sp__node {
    void *state;
    double value_sum;
    double mean;        /* value_sum / visits, kept by backup so selection divides less */
    int32_t visits;
    int32_t pending;    /* simulations in flight through it (virtual loss) */
    int32_t first_edge;
    int32_t n_edges;
    /* Edges with a child come first, so pUCT need only score them and the
     * best of the rest (prefix_ok; see sp__tree_note_child). */
    int32_t n_expanded;
    int32_t best_unexpanded; /* edge offset of the highest prior without a child, -1 when none,
                                SP__BEST_UNKNOWN until computed */
    float value;        /* the model's own estimate */
    float reward;       /* of the transition into this node, for the parent's player */
    uint8_t ready;      /* evaluated; 0 while its leaf is in flight */
    uint8_t terminal;
    uint8_t prefix_ok;
} sp__node;

#define SP__BEST_UNKNOWN (-2)

/* A run ends early rather than let its tree outgrow this (about a million
 * nodes of a 9x9 game): long time limits must not take the machine's memory. */
#define SP__MAX_TREE_BYTES ((size_t)1 << 30)

/* Tree-wide min-max of the Q values seen, to put them into [0, 1]. */
typedef struct sp__minmax {
    double min, max;
} sp__minmax;

typedef struct sp__tree {
    sp__node *nodes;
    sp__edge *edges;
    int32_t n_nodes, cap_nodes;
    int32_t n_edges, cap_edges;
} sp__tree;

/* One simulation in flight: its path from the root and, when it ends at a
 * new node, the (state, action) to evaluate. */
typedef struct sp__leaf {
    struct sp_search *search;
    int32_t path_start; /* into search->path */
    int32_t depth;      /* nodes on the path, root included */
    int32_t edge;       /* edge whose child is new, or -1 for a terminal leaf */
    int32_t slot;       /* row in the model batch, or -1 */
} sp__leaf;

/* The leaves of one batch, from selection to backup, with their paths. A
 * search has two: with threads > 1 the next batch is selected while the
 * model evaluates the current one (run.c). */
typedef struct sp__flight {
    sp__leaf *leaves;
    int32_t n_leaves;
    int32_t *path;
    int32_t path_len, path_cap;
    int32_t nodes_before; /* the tree's size before this batch, for a rollback */
} sp__flight;

/* Rows of one model call; rows are filled by the workers. */
typedef struct sp__batch {
    int32_t cap, n, num_actions;
    void **in_states;
    int32_t *actions;
    void **out_states;
    float *rewards;
    float *priors;
    float *values;
    uint8_t *masks;
    int32_t *terminal;
} sp__batch;

typedef struct sp__pool sp__pool;

struct sp_search {
    sp_search_model model;
    sp_search_options opts;
    sp__tree tree, spare; /* spare receives the kept subtree on advance */
    sp__minmax minmax;
    struct sp_rng rng;
    sp__pool *pool;
    int batch_size;
    size_t max_tree_bytes; /* a run stops growing the tree here (SP__MAX_TREE_BYTES; tests lower it) */

    /* The run in progress and its results. */
    int has_run;
    int32_t sims_started, sims_done, sims_target;
    int32_t action;
    sp__flight flight[2];
    sp__batch batch[2]; /* the second only with threads > 1 */

    /* Gumbel state of the root for this run, per root edge. */
    float *gumbel;
    float *logits;
    int32_t *schedule; /* considered visit count for each simulation */
    int32_t schedule_len;
    int32_t *action_child; /* num_actions entries, for re-rooting a kept tree */
    float *scratch;    /* num_actions floats for the completed-Q transform */
    float *scratch2;
};

/* run.c: one run of n searches stepped together, model rows in b[0] and,
 * when the searches have a pool, b[1] (two batches in flight). */
int sp__search_run(struct sp_search *const *searches, size_t n, void *const *inputs, const uint8_t *const *masks,
                   sp__batch *const b[2]);

/* tree.c */
int sp__tree_reserve(sp__tree *t, int32_t nodes, int32_t edges);
void sp__tree_release_all(struct sp_search *s, sp__tree *t);
void sp__tree_free(sp__tree *t);
int sp__tree_keep_subtree(struct sp_search *s, int32_t new_root);
/* Both check the room reserved (sp__tree_reserve) and fail with
 * SP_ERR_INTERNAL rather than write past it: -1 and an error status. */
int32_t sp__tree_new_node(sp__tree *t);
int sp__tree_expand(struct sp_search *s, int32_t node, const float *prior, const uint8_t *mask);
/* A child is about to hang from edge `ei` of `node`: keep the expanded
 * edges a prefix (swapping edges). Returns the edge's index afterwards. */
int32_t sp__tree_note_child(struct sp_search *s, int32_t node, int32_t ei);
/* Recompute best_unexpanded after the priors changed (root noise). */
void sp__tree_refresh_best(struct sp_search *s, int32_t node);

static inline double sp__node_mean(const sp__node *n) { return n->mean; }

/* Q of an edge's child for the player to move at the parent. */
static inline double sp__child_q(const struct sp_search *s, const sp__node *c)
{
    double sign = s->model.two_player ? -1.0 : 1.0;
    return c->reward + s->opts.discount * sign * sp__node_mean(c);
}

static inline void sp__minmax_update(sp__minmax *m, double v)
{
    if (v < m->min)
        m->min = v;
    if (v > m->max)
        m->max = v;
}

static inline double sp__minmax_normalize(const sp__minmax *m, double v)
{
    return m->max > m->min ? (v - m->min) / (m->max - m->min) : v;
}

/* select.c */
int32_t sp__select_puct(struct sp_search *s, int32_t node);
int32_t sp__select_gumbel_root(struct sp_search *s);
int32_t sp__select_gumbel_inner(struct sp_search *s, int32_t node);
void sp__completed_q(const struct sp_search *s, int32_t node, float *out_sigma);
int sp__gumbel_prepare(struct sp_search *s);
int32_t sp__gumbel_final_action(struct sp_search *s);

/* noise.c */
void sp__dirichlet(struct sp_rng *rng, float alpha, int n, float *out);
float sp__gumbel_sample(struct sp_rng *rng);
static inline double sp__uniform(struct sp_rng *rng) { return (double)(sp__rng_next(rng) >> 11) * 0x1.0p-53; }

/* batch.c */
int sp__batch_reserve(sp__batch *b, int32_t rows, int32_t num_actions);
void sp__batch_free(sp__batch *b);
void sp__batch_reset_rows(sp__batch *b, int32_t n);
int sp__pool_create(sp__pool **out, int threads);
void sp__pool_free(sp__pool *p);
/* Run the model on all rows of `b` on the calling thread, as worker 0. */
int sp__batch_recurrent(const sp_search_model *m, sp__batch *b);
/* The same on a pool, in two steps so that the caller can select the next
 * batch in between: sp__pool_launch() hands `b` (n >= 1 rows) to the
 * workers and returns; the caller then runs rows itself in
 * sp__pool_finish(), which returns when all of b's rows are done. At most
 * two batches are in flight, finished in the order they were launched. */
void sp__pool_launch(sp__pool *p, const sp_search_model *m, sp__batch *b);
int sp__pool_finish(sp__pool *p, sp__batch *b);
int sp__callback_status(int rc, const char *what);

#endif
