/* The callbacks of the model as a searcher model. Learned mode (MuZero):
 * the root is a real game, read through its planes and legal moves; below
 * it the dynamics network plays on hidden states and knows no rules (but
 * for passes from the root, model_search.h). Rules
 * mode (AlphaZero): every node is a real game, evaluated by initial
 * inference, with its legal moves and its real end. A retrieval model's
 * initial inference reads the neighbours its callback gives for each real
 * position; a callback's negative status (and message) passes through. */
#include <math.h>
#include <string.h>

#include "core/core_internal.h"
#include "go/game_internal.h"
#include "model_search.h"

/* Softmax of one row of logits over the actions `mask` allows (NULL: all);
 * forbidden actions get 0. */
static void softmax(const float *logits, const uint8_t *mask, int actions, float *out)
{
    float top = -INFINITY;
    for (int a = 0; a < actions; a++)
        if ((!mask || mask[a]) && logits[a] > top)
            top = logits[a];
    double sum = 0.0;
    for (int a = 0; a < actions; a++) {
        out[a] = !mask || mask[a] ? expf(logits[a] - top) : 0.0f;
        sum += out[a];
    }
    const float scale = sum > 0.0 ? (float)(1.0 / sum) : 0.0f;
    for (int a = 0; a < actions; a++)
        out[a] *= scale;
}

/* The outcome of a finished game for its player to move: the real score
 * (area, the game's komi) after two passes, the winner after a resignation. */
static int final_value(const sp_game *g, float *out)
{
    const int to_play = sp_game_to_play(g);
    int winner;
    if (sp_game_end_reason(g) == SP_END_RESIGN) {
        winner = sp_game_winner(g);
    } else {
        float score;
        int rc = sp_game_score(g, &score);
        if (rc)
            return rc;
        winner = score > 0.0f ? SP_BLACK : score < 0.0f ? SP_WHITE : SP_EMPTY;
    }
    *out = winner == SP_EMPTY ? 0.0f : winner == to_play ? 1.0f : -1.0f;
    return SP_OK;
}

static size_t rows_per_call(const sp__model_search *p, size_t n)
{
    size_t limit = p->opts.max_batch > 0 ? (size_t)p->opts.max_batch : SP__MODEL_SEARCH_MAX_ROWS;
    return n < limit ? n : limit;
}

/* Priors, values, masks and terminal flags of n real positions, the
 * unfinished ones in batched initial inference; with `roots` (learned
 * mode) each position's hidden state goes to roots[i]. */
static int evaluate_games(sp__model_search *p, size_t n, const sp_game *const *games, sp__learned_state *const *roots,
                          float *priors, float *values, uint8_t *masks, int32_t *terminal)
{
    const size_t A = (size_t)p->actions, P = p->plane_floats, S = p->state_floats;
    const size_t chunk = rows_per_call(p, n), X = p->neighbour_floats;
    sp__search_scratch *s = sp__model_search_borrow_scratch(p, chunk * (P + A + 1 + (roots ? S : 0) + X), chunk,
                                                            X ? chunk : 0);
    if (!s)
        return sp__error(SP_ERR_NOMEM, "model search: out of memory for a batch of %zu positions", chunk);
    float *planes = s->floats, *logits = planes + chunk * P, *value = logits + chunk * A, *state = value + chunk;
    float *neighbours = X ? state + (roots ? chunk * S : 0) : NULL;
    int32_t *rows = s->ints;
    int rc = SP_OK;
    for (size_t first = 0; first < n && !rc;) {
        size_t k = 0, i = first;
        for (; i < n && k < chunk && !rc; i++) {
            const sp_game *g = games[i];
            uint8_t *mask = masks + i * A;
            if (sp_game_is_over(g)) {
                terminal[i] = 1;
                memset(mask, 0, A);
                memset(priors + i * A, 0, A * sizeof *priors);
                if (roots)
                    memset(roots[i]->hidden, 0, S * sizeof(float));
                rc = final_value(g, &values[i]);
                continue;
            }
            rc = sp_game_legal_mask(g, mask, A);
            if (!rc)
                rc = sp_game_planes(g, p->history, planes + k * P, P);
            if (X)
                s->games[k] = g;
            rows[k++] = (int32_t)i;
        }
        first = i;
        if (!rc && k && X && (rc = p->opts.neighbours(k, s->games, neighbours, p->opts.neighbours_payload)) > 0)
            rc = sp__error(SP_ERR_CANCELLED, "model search: the neighbours callback returned %d", rc);
        if (!rc && k)
            rc = sp_model_initial_neighbours(p->model, planes, neighbours, (int32_t)k, roots ? state : NULL, logits,
                                             value);
        for (size_t j = 0; j < k && !rc; j++) {
            const size_t row = (size_t)rows[j];
            softmax(logits + j * A, masks + row * A, (int)A, priors + row * A);
            values[row] = value[j];
            if (roots)
                memcpy(roots[row]->hidden, state + j * S, S * sizeof(float));
        }
    }
    sp__model_search_return_scratch(p, s);
    return rc;
}

static int check_root(const sp__model_search *p, const sp_game *root)
{
    if (!root || sp_game_size(root) != p->size)
        return sp__error(SP_ERR_INVALID_ARG, "model search: the root is not a %dx%d game (the model's board)",
                         p->size, p->size);
    return SP_OK;
}

int sp__model_search_initial(int worker, size_t n, void *const *inputs, void **out_states, float *out_priors,
                             float *out_values, uint8_t *inout_masks, int32_t *out_terminal, void *payload)
{
    (void)worker; /* every call borrows its own buffers */
    sp__model_search *p = payload;
    const int rules = p->opts.mode == SP_MODEL_SEARCH_RULES;
    for (size_t i = 0; i < n; i++) {
        int rc = check_root(p, inputs[i]);
        if (rc)
            return rc;
        /* The searcher owns (and releases) each state from here on, even
         * when a later row fails. */
        if (!(out_states[i] = sp__model_search_take_state(p)))
            return sp__error(SP_ERR_NOMEM, "model search: out of memory for a state");
        if (rules && (rc = sp__game_copy_position(out_states[i], inputs[i])))
            return rc;
        if (!rules && (rc = sp_game_clone(&((sp__learned_state *)out_states[i])->real, inputs[i])))
            return rc;
    }
    return evaluate_games(p, n, (const sp_game *const *)(rules ? (void *const *)out_states : inputs),
                          rules ? NULL : (sp__learned_state *const *)out_states, out_priors, out_values, inout_masks,
                          out_terminal);
}

/* Rules mode: each state is a copy of its parent's game with the action played. */
static int rules_recurrent(sp__model_search *p, size_t n, void *const *states, const int32_t *actions,
                           void **out_states, float *out_priors, float *out_values, uint8_t *inout_masks,
                           int32_t *out_terminal)
{
    for (size_t i = 0; i < n; i++) {
        sp_game *g = out_states[i] = sp__model_search_take_state(p);
        if (!g)
            return sp__error(SP_ERR_NOMEM, "model search: out of memory for a state");
        int move, rc = sp__game_copy_position(g, states[i]);
        if (!rc)
            rc = sp_action_to_move(p->size, actions[i], &move);
        /* The masks keep illegal actions out of the tree: one arriving
         * here is a broken contract, not a move to score. */
        if (!rc && sp_game_play(g, move) != SP_OK)
            return sp__error(SP_ERR_ILLEGAL_MOVE, "model search (rules mode): action %d is illegal in its node: %s",
                             (int)actions[i], sp_last_error());
        if (rc)
            return rc;
    }
    return evaluate_games(p, n, (const sp_game *const *)out_states, NULL, out_priors, out_values, inout_masks,
                          out_terminal);
}

/* Learned mode: a pass from a real node (sp__learned_state) played by the
 * rules on a copy of its game, which becomes the child's, and evaluated as
 * a root is: initial inference and the legal mask, or the score when the
 * pass ended the game. */
static int learned_real_pass(sp__model_search *p, const sp__learned_state *parent, sp__learned_state *child,
                             float *priors, float *value, uint8_t *mask, int32_t *terminal)
{
    int rc = sp_game_clone(&child->real, parent->real);
    if (!rc)
        rc = sp_game_play(child->real, SP_PASS);
    if (!rc)
        rc = evaluate_games(p, 1, (const sp_game *const *)&child->real, &child, priors, value, mask, terminal);
    return rc;
}

/* Learned mode: one batched dynamics step per call of at most max_batch
 * rows, but for passes from real nodes (learned_real_pass). */
static int learned_recurrent(sp__model_search *p, size_t n, void *const *states, const int32_t *actions,
                             void **out_states, float *out_priors, float *out_values, uint8_t *inout_masks,
                             int32_t *out_terminal)
{
    const size_t A = (size_t)p->actions, S = p->state_floats;
    const size_t chunk = rows_per_call(p, n);
    for (size_t i = 0; i < n; i++) {
        if (actions[i] < 0 || actions[i] >= p->actions)
            return sp__error(SP_ERR_INVALID_ARG, "model search: action %d of row %zu is outside 0..%d",
                             (int)actions[i], i, p->actions - 1);
        if (!(out_states[i] = sp__model_search_take_state(p)))
            return sp__error(SP_ERR_NOMEM, "model search: out of memory for a state");
    }
    sp__search_scratch *s = sp__model_search_borrow_scratch(p, chunk * (2 * S + A + 1), 2 * chunk, 0);
    if (!s)
        return sp__error(SP_ERR_NOMEM, "model search: out of memory for a batch of %zu states", chunk);
    float *in = s->floats, *next = in + chunk * S, *logits = next + chunk * S, *value = logits + chunk * A;
    int32_t *rows = s->ints, *moves = rows + chunk;
    int rc = SP_OK;
    for (size_t first = 0; first < n && !rc;) {
        size_t k = 0, i = first;
        for (; i < n && k < chunk && !rc; i++) {
            const sp__learned_state *parent = states[i];
            sp__learned_state *child = out_states[i];
            if (parent->real && actions[i] == p->area) {
                rc = learned_real_pass(p, parent, child, out_priors + i * A, out_values + i, inout_masks + i * A,
                                       out_terminal + i);
                continue;
            }
            memcpy(in + k * S, parent->hidden, S * sizeof(float));
            moves[k] = actions[i];
            rows[k++] = (int32_t)i;
        }
        first = i;
        if (k && !rc)
            rc = sp_model_recurrent(p->model, in, moves, (int32_t)k, next, logits, value);
        for (size_t j = 0; j < k && !rc; j++) {
            const size_t row = (size_t)rows[j];
            memcpy(((sp__learned_state *)out_states[row])->hidden, next + j * S, S * sizeof(float));
            /* Below the root the model knows no rules: every action stays open. */
            softmax(logits + j * A, NULL, (int)A, out_priors + row * A);
            out_values[row] = value[j];
        }
    }
    sp__model_search_return_scratch(p, s);
    return rc;
}

int sp__model_search_recurrent(int worker, size_t n, void *const *states, const int32_t *actions,
                               void **out_states, float *out_rewards, float *out_priors, float *out_values,
                               uint8_t *inout_masks, int32_t *out_terminal, void *payload)
{
    (void)worker;
    sp__model_search *p = payload;
    /* Go scores only at the end: every transition's reward is 0. */
    memset(out_rewards, 0, n * sizeof *out_rewards);
    if (p->opts.mode == SP_MODEL_SEARCH_RULES)
        return rules_recurrent(p, n, states, actions, out_states, out_priors, out_values, inout_masks,
                               out_terminal);
    return learned_recurrent(p, n, states, actions, out_states, out_priors, out_values, inout_masks, out_terminal);
}
