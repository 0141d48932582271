/* A run: evaluate the root, then batches of simulations (select with
 * virtual loss, one model call for the whole batch, expand and back up)
 * until the budget is spent, for one tree or for many stepped together. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "search_internal.h"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int push_path(sp__flight *f, int32_t node)
{
    if (f->path_len == f->path_cap) {
        int32_t cap = f->path_cap ? 2 * f->path_cap : 256;
        int32_t *p = realloc(f->path, (size_t)cap * sizeof *p);
        if (!p)
            return sp__error(SP_ERR_NOMEM, "search: out of memory for a search path");
        f->path = p;
        f->path_cap = cap;
    }
    f->path[f->path_len++] = node;
    return SP_OK;
}

/* Install the evaluated root. A kept root keeps its children and statistics
 * but takes the fresh state, value and legal actions. */
static int setup_root(struct sp_search *s, sp__batch *b, int32_t row, const uint8_t *root_mask)
{
    const int A = s->model.num_actions;
    sp__tree *t = &s->tree;
    uint8_t *mask = b->masks + (size_t)row * A;
    s->sims_target = s->opts.simulations;
    if (root_mask)
        for (int a = 0; a < A; a++)
            mask[a] = mask[a] && root_mask[a];
    int kept = t->n_nodes > 0;
    int rc = sp__tree_reserve(t, 1, A);
    if (rc)
        return rc;
    if (!kept) {
        if (sp__tree_new_node(t) < 0)
            return SP_ERR_INTERNAL;
        t->nodes[0].visits = 1;
        t->nodes[0].value_sum = b->values[row];
        t->nodes[0].mean = b->values[row];
    } else if (t->nodes[0].state && s->model.release) {
        s->model.release(t->nodes[0].state, s->model.payload);
    }
    sp__node *root = &t->nodes[0];
    root->state = b->out_states[row];
    b->out_states[row] = NULL;
    root->value = b->values[row];
    root->terminal = b->terminal[row] != 0;
    root->ready = 1;
    /* Children of actions still legal stay attached; the rest are dropped
     * from the tree and released at the next advance or reset. */
    if (kept) {
        for (int a = 0; a < A; a++)
            s->action_child[a] = -1;
        for (int32_t k = 0; k < root->n_edges; k++) {
            const sp__edge *old = &t->edges[root->first_edge + k];
            s->action_child[old->action] = old->child;
        }
    }
    root->n_edges = 0;
    if (!root->terminal && (rc = sp__tree_expand(s, 0, b->priors + (size_t)row * A, mask)))
        return rc;
    root = &t->nodes[0];
    for (int32_t k = 0; kept && k < root->n_edges; k++) {
        sp__edge *e = &t->edges[root->first_edge + k];
        e->child = s->action_child[e->action];
    }
    /* Edges with children are no longer a prefix, and Gumbel picks root
     * actions its own way: the root is scanned in full. */
    if (kept || s->opts.kind == SP_SEARCH_GUMBEL)
        root->prefix_ok = 0;
    if (root->n_edges == 0)
        root->terminal = 1;

    s->sims_started = s->sims_done = 0;
    s->minmax = (sp__minmax){ INFINITY, -INFINITY };
    s->action = -1;
    s->has_run = 1;
    if (root->terminal)
        return SP_OK;
    if (s->opts.kind == SP_SEARCH_PUCT && s->opts.dirichlet_fraction > 0.0f) {
        sp__edge *e = &t->edges[root->first_edge];
        const float f = s->opts.dirichlet_fraction;
        sp__dirichlet(&s->rng, s->opts.dirichlet_alpha, root->n_edges, s->scratch);
        for (int32_t k = 0; k < root->n_edges; k++)
            e[k].prior = (1.0f - f) * e[k].prior + f * s->scratch[k];
        sp__tree_refresh_best(s, 0);
    }
    if (s->opts.kind == SP_SEARCH_GUMBEL)
        return sp__gumbel_prepare(s);
    return SP_OK;
}

/* Walk from the root to a leaf, adding virtual loss on the way.
 * Returns 1 with a leaf queued in flight f, 0 when the walk met a leaf
 * already in flight (the batch is then full enough), or an error. */
static int collect_one(struct sp_search *s, sp__flight *f, sp__batch *b)
{
    sp__tree *t = &s->tree;
    const int32_t start = f->path_len;
    sp__leaf leaf = { s, start, 0, -1, -1 };
    int32_t node = 0;
    int rc = push_path(f, 0);
    if (rc)
        return rc;
    for (;;) {
        sp__node *n = &t->nodes[node];
        if (n->terminal)
            break;
        int32_t ei;
        if (s->opts.kind == SP_SEARCH_GUMBEL)
            ei = node == 0 ? sp__select_gumbel_root(s) : sp__select_gumbel_inner(s, node);
        else
            ei = sp__select_puct(s, node);
        sp__edge *e = &t->edges[ei];
        if (e->child < 0) {
            ei = sp__tree_note_child(s, node, ei);
            e = &t->edges[ei];
            int32_t c = sp__tree_new_node(t);
            if (c < 0)
                return SP_ERR_INTERNAL;
            e->child = c;
            if ((rc = push_path(f, c)))
                return rc;
            leaf.edge = ei;
            leaf.slot = b->n++;
            b->out_states[leaf.slot] = NULL;
            b->in_states[leaf.slot] = t->nodes[node].state;
            b->actions[leaf.slot] = e->action;
            break;
        }
        if (!t->nodes[e->child].ready) {
            f->path_len = start;
            return 0;
        }
        node = e->child;
        if ((rc = push_path(f, node)))
            return rc;
    }
    leaf.depth = f->path_len - start;
    for (int32_t i = start; i < f->path_len; i++)
        t->nodes[f->path[i]].pending++;
    f->leaves[f->n_leaves++] = leaf;
    s->sims_started++;
    return 1;
}

/* Take back flight f after a failed model call: no statistics change. */
static void rollback(struct sp_search *s, sp__flight *f, sp__batch *b)
{
    sp__tree *t = &s->tree;
    for (int32_t l = 0; l < f->n_leaves; l++) {
        const sp__leaf *leaf = &f->leaves[l];
        for (int32_t i = 0; i < leaf->depth; i++)
            t->nodes[f->path[leaf->path_start + i]].pending--;
        if (leaf->edge >= 0) {
            t->edges[leaf->edge].child = -1;
            if (b->out_states[leaf->slot] && s->model.release)
                s->model.release(b->out_states[leaf->slot], s->model.payload);
            b->out_states[leaf->slot] = NULL;
        }
    }
    s->sims_started -= f->n_leaves;
    f->n_leaves = 0;
    f->path_len = 0;
    t->n_nodes = f->nodes_before;
}

/* Returns SP_OK, or the arena check's error after backing up every leaf
 * (a leaf that could not be expanded counts as terminal, so the tree stays
 * walkable until the run drops it). */
static int backup(struct sp_search *s, sp__flight *f, sp__batch *b)
{
    int rc = SP_OK;
    sp__tree *t = &s->tree;
    const size_t A = (size_t)s->model.num_actions;
    const double sign = s->model.two_player ? -1.0 : 1.0;
    for (int32_t l = 0; l < f->n_leaves; l++) {
        const sp__leaf *leaf = &f->leaves[l];
        const int32_t *path = f->path + leaf->path_start;
        const int32_t last = path[leaf->depth - 1];
        if (leaf->edge >= 0) {
            sp__node *n = &t->nodes[last];
            n->state = b->out_states[leaf->slot];
            b->out_states[leaf->slot] = NULL;
            n->value = b->values[leaf->slot];
            n->reward = b->rewards[leaf->slot];
            n->terminal = b->terminal[leaf->slot] != 0;
            n->ready = 1;
            if (!n->terminal) {
                int r = sp__tree_expand(s, last, b->priors + (size_t)leaf->slot * A, b->masks + (size_t)leaf->slot * A);
                if (r && !rc)
                    rc = r;
                if (t->nodes[last].n_edges == 0)
                    t->nodes[last].terminal = 1;
            }
        }
        double g = t->nodes[last].value;
        for (int32_t i = leaf->depth - 1; i >= 0; i--) {
            sp__node *n = &t->nodes[path[i]];
            n->value_sum += g;
            n->visits++;
            n->mean = n->value_sum / n->visits;
            n->pending--;
            if (i > 0) {
                sp__minmax_update(&s->minmax, sp__child_q(s, n));
                g = n->reward + s->opts.discount * sign * g;
            }
        }
        s->sims_done++;
    }
    f->n_leaves = 0;
    f->path_len = 0;
    return rc;
}

static int32_t pick_puct_action(struct sp_search *s)
{
    const sp__node *root = &s->tree.nodes[0];
    const sp__edge *e = &s->tree.edges[root->first_edge];
    const float temperature = s->opts.temperature;
    int32_t best = 0, best_visits = -1;
    double total = 0.0;
    for (int32_t k = 0; k < root->n_edges; k++) {
        int32_t v = e[k].child >= 0 ? s->tree.nodes[e[k].child].visits : 0;
        if (v > best_visits) {
            best_visits = v;
            best = k;
        }
        if (temperature > 0.0f && v > 0)
            total += pow((double)v, 1.0 / temperature);
    }
    if (temperature > 0.0f && total > 0.0 && isfinite(total)) {
        double u = sp__uniform(&s->rng) * total;
        for (int32_t k = 0; k < root->n_edges; k++) {
            int32_t v = e[k].child >= 0 ? s->tree.nodes[e[k].child].visits : 0;
            if (v > 0 && (u -= pow((double)v, 1.0 / temperature)) < 0.0)
                return e[k].action;
        }
    }
    return e[best].action;
}

static void finish(struct sp_search *s)
{
    const sp__node *root = &s->tree.nodes[0];
    if (root->terminal || root->n_edges == 0)
        s->action = -1;
    else if (s->opts.kind == SP_SEARCH_GUMBEL)
        s->action = sp__gumbel_final_action(s);
    else
        s->action = pick_puct_action(s);
}

/* Room in the arena for a batch of `want` leaves selected into flight f.
 * A leaf's node is made when it is selected but its edges only when it is
 * backed up, and with two flights the other one is backed up first: so the
 * edges reserved here cover that flight's leaves as well as these (the
 * worst case of both, every action legal). Returns 1 when the tree would
 * outgrow max_tree_bytes (or memory runs out) once the root has visited
 * children (simulations of this run or of a kept tree), so that the run ends
 * with what it has instead of failing. */
static int tree_room(struct sp_search *s, int f, int32_t want)
{
    const sp__tree *t = &s->tree;
    const int64_t A = s->model.num_actions;
    const int64_t expanding = (int64_t)want + s->flight[1 - f].n_leaves;
    const double bytes = (double)(t->n_nodes + want + 1) * sizeof(sp__node) +
                         (double)(t->n_edges + expanding * A) * sizeof(sp__edge);
    const int has_result = s->sims_done > 0 || t->nodes[0].visits > 1;
    if (bytes > (double)s->max_tree_bytes || (double)t->n_edges + (double)(expanding * A) > (double)INT32_MAX / 2) {
        if (has_result)
            return 1;
        return sp__error(SP_ERR_NOMEM, "search: the tree would outgrow %zu bytes", s->max_tree_bytes);
    }
    int rc = sp__tree_reserve(&s->tree, want + 1, (int32_t)(expanding * A));
    if (rc == SP_ERR_NOMEM && has_result) {
        sp_clear_error();
        return 1;
    }
    return rc;
}

static int active(const struct sp_search *s, double start)
{
    if (s->tree.nodes[0].terminal || s->sims_started >= s->sims_target)
        return 0;
    return !(s->opts.max_seconds > 0.0 && s->sims_done > 0 && now_seconds() - start >= s->opts.max_seconds);
}

/* Select the next batch of every search into its flight f, the rows to
 * evaluate into b. On an error the caller rolls flight f back. */
static int collect_batch(struct sp_search *const *searches, size_t n, int f, sp__batch *b, double start,
                         int32_t *out_leaves)
{
    *out_leaves = 0;
    b->n = 0;
    for (size_t i = 0; i < n; i++) {
        sp__flight *fl = &searches[i]->flight[f];
        fl->nodes_before = searches[i]->tree.n_nodes;
        fl->n_leaves = 0;
        fl->path_len = 0;
    }
    for (size_t i = 0; i < n; i++) {
        struct sp_search *s = searches[i];
        if (!active(s, start))
            continue;
        int32_t want = s->batch_size;
        if (want > s->sims_target - s->sims_started)
            want = s->sims_target - s->sims_started;
        int rc = tree_room(s, f, want);
        if (rc == 1) {
            /* The tree is as large as it may grow: end this run here. */
            s->sims_target = s->sims_started;
            continue;
        }
        if (rc)
            return rc;
        for (int32_t j = 0; j < want; j++) {
            int r = collect_one(s, &s->flight[f], b);
            if (r < 0)
                return r;
            if (r == 0)
                break;
        }
        *out_leaves += s->flight[f].n_leaves;
    }
    /* Collection filled the inputs; clear the outputs. */
    sp__batch_reset_rows(b, b->n);
    return SP_OK;
}

static void rollback_all(struct sp_search *const *searches, size_t n, int f, sp__batch *b)
{
    for (size_t i = 0; i < n; i++)
        rollback(searches[i], &searches[i]->flight[f], b);
}

static int backup_all(struct sp_search *const *searches, size_t n, int f, sp__batch *b)
{
    int rc = SP_OK;
    for (size_t i = 0; i < n; i++) {
        int r = backup(searches[i], &searches[i]->flight[f], b);
        if (r && !rc)
            rc = r;
    }
    return rc;
}

/* One thread: select a batch, evaluate it, back it up, and again. */
static int run_in_turn(struct sp_search *const *searches, size_t n, sp__batch *b, double start)
{
    const sp_search_model *m = &searches[0]->model;
    for (;;) {
        int32_t leaves;
        int rc = collect_batch(searches, n, 0, b, start, &leaves);
        if (!rc && leaves == 0)
            return SP_OK;
        if (!rc && b->n > 0)
            rc = sp__batch_recurrent(m, b);
        if (rc) {
            rollback_all(searches, n, 0, b);
            return rc;
        }
        if ((rc = backup_all(searches, n, 0, b)))
            return rc;
    }
}

/* Select into flight f with nothing else in flight and hand its rows to the
 * pool; a failed selection is taken back at once. */
static int select_and_launch(struct sp_search *const *searches, size_t n, int f, sp__batch *b, sp__pool *pool,
                             double start, int32_t *out_leaves)
{
    int rc = collect_batch(searches, n, f, b, start, out_leaves);
    if (rc) {
        rollback_all(searches, n, f, b);
        return rc;
    }
    if (b->n > 0)
        sp__pool_launch(pool, &searches[0]->model, b);
    return SP_OK;
}

/* With a pool, two batches are in flight: while the workers evaluate batch
 * k (flight `cur`), this thread selects batch k + 1 with k's leaves still
 * counted as virtual loss, then joins the evaluation of both, then backs k
 * up. Selection, expansion and backup are about a tenth of a playout
 * simulation and would otherwise leave the other workers waiting. Results
 * stay reproducible for a given thread count: the order of selections and
 * backups is fixed, and each row goes to the same worker index in the same
 * order (batch.c). */
static int run_pipelined(struct sp_search *const *searches, size_t n, sp__batch *const b[2], sp__pool *pool,
                         double start)
{
    const sp_search_model *m = &searches[0]->model;
    int cur = 0;
    int32_t leaves = 0;
    int rc = select_and_launch(searches, n, cur, b[cur], pool, start, &leaves);
    while (!rc && leaves > 0) {
        const int next = 1 - cur;
        int32_t next_leaves = 0;
        int rc_next = collect_batch(searches, n, next, b[next], start, &next_leaves);
        if (!rc_next && b[next]->n > 0)
            sp__pool_launch(pool, m, b[next]);
        rc = b[cur]->n > 0 ? sp__pool_finish(pool, b[cur]) : SP_OK;
        const int backed_up = !rc && !rc_next;
        if (backed_up)
            rc = backup_all(searches, n, cur, b[cur]);
        if (rc || rc_next) {
            /* Nothing of either batch may be running when they are taken
             * back, the later one first (its nodes are the newer ones). */
            if (!rc_next && b[next]->n > 0)
                sp__pool_finish(pool, b[next]);
            rollback_all(searches, n, next, b[next]);
            if (!backed_up)
                rollback_all(searches, n, cur, b[cur]);
            return rc ? rc : rc_next;
        }
        cur = next;
        leaves = next_leaves;
        /* Nothing was selected while the last batch was in flight (every
         * walk met one of its leaves, or the run is over): try again now
         * that it is backed up. */
        if (leaves == 0)
            rc = select_and_launch(searches, n, cur, b[cur], pool, start, &leaves);
    }
    return rc;
}

int sp__search_run(struct sp_search *const *searches, size_t n, void *const *inputs, const uint8_t *const *masks,
                   sp__batch *const batches[2])
{
    sp__batch *b = batches[0];
    const sp_search_model *m = &searches[0]->model;
    const double start = now_seconds();
    /* Root inference for every tree in calls of at most max_batch. */
    sp__batch_reset_rows(b, (int32_t)n);
    const size_t A = (size_t)m->num_actions;
    const size_t step = m->max_batch > 0 ? (size_t)m->max_batch : n;
    for (size_t i = 0; i < n; i += step) {
        size_t k = n - i < step ? n - i : step;
        int rc = m->initial(0, k, inputs + i, b->out_states + i, b->priors + i * A, b->values + i, b->masks + i * A,
                            b->terminal + i, m->payload);
        if (rc) {
            for (size_t j = 0; j < n; j++)
                if (b->out_states[j] && m->release)
                    m->release(b->out_states[j], m->payload);
            return sp__callback_status(rc, "initial");
        }
    }
    int rc = SP_OK;
    for (size_t i = 0; i < n; i++) {
        int r = setup_root(searches[i], b, (int32_t)i, masks ? masks[i] : NULL);
        if (r && !rc)
            rc = r;
        if (b->out_states[i] && m->release)
            m->release(b->out_states[i], m->payload);
    }
    if (rc)
        return rc;

    sp__pool *pool = searches[0]->pool;
    rc = pool ? run_pipelined(searches, n, batches, pool, start) : run_in_turn(searches, n, b, start);
    for (size_t i = 0; i < n; i++) {
        finish(searches[i]);
        /* After an arena check failed the tree holds a leaf taken for
         * terminal: no later run may reuse it. */
        if (rc == SP_ERR_INTERNAL)
            sp__tree_release_all(searches[i], &searches[i]->tree);
    }
    return rc;
}
