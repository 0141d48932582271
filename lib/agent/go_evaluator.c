/* The model-free Go model: search states are games on the full rules
 * (superko included), the value is the mean result of random playouts.
 * Games come from a free list so that a search in steady state reuses the
 * history buffers of the states it released. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/core_internal.h"
#include "go/game_internal.h"
#include "semiparam/go_evaluator.h"

/* One generator per worker, each on its own cache line: workers update
 * theirs on every random move, and shared lines would ping-pong between cores. */
typedef struct worker_rng {
    _Alignas(64) struct sp_rng rng;
} worker_rng;

struct sp_go_evaluator {
    sp_go_evaluator_options opts;
    int area;
    worker_rng *rngs;
    pthread_mutex_t lock;
    sp_game **free_games;
    int n_free, cap_free;
};

static const sp_go_evaluator_options evaluator_defaults = SP_GO_EVALUATOR_OPTIONS_INIT;
static const sp__options_type evaluator_options_type = { "sp_go_evaluator_options", SP_GO_EVALUATOR_OPTIONS_VERSION,
                                                         sizeof(sp_go_evaluator_options), &evaluator_defaults, { 0 } };

int sp_go_evaluator_options_init(sp_go_evaluator_options *opts, uint32_t version)
{
    return sp__options_init(opts, version, &evaluator_options_type, "sp_go_evaluator_options_init");
}

int sp_go_evaluator_seed(sp_go_evaluator *ev, uint64_t seed)
{
    if (!ev)
        return sp__error(SP_ERR_INVALID_ARG, "sp_go_evaluator_seed: evaluator is NULL");
    for (int i = 0; i < ev->opts.threads; i++)
        sp__rng_seed(&ev->rngs[i].rng, seed + 0x632be59bd9b4e019ULL * (uint64_t)i);
    return SP_OK;
}

int sp_go_evaluator_create(sp_go_evaluator **out, const sp_go_evaluator_options *opts)
{
    if (!out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_go_evaluator_create: out is NULL");
    *out = NULL;
    sp_go_evaluator_options o;
    int rc = sp__options_read(&o, opts, &evaluator_options_type, "sp_go_evaluator_create");
    if (rc != SP_OK)
        return rc;
    if (o.board_size < SP_GO_MIN_SIZE || o.board_size > SP_GO_MAX_SIZE || o.playouts < 1 || o.playouts > 1000000 ||
        o.max_moves < 0 || o.threads < 1 || o.threads > 256)
        return sp__error(SP_ERR_INVALID_ARG, "sp_go_evaluator_create: need board_size 2..19, playouts >= 1, "
                                             "max_moves >= 0 and threads 1..256");
    sp_go_evaluator *ev = calloc(1, sizeof *ev);
    if (!ev || !(ev->rngs = aligned_alloc(64, (size_t)o.threads * sizeof *ev->rngs))) {
        free(ev);
        return sp__error(SP_ERR_NOMEM, "sp_go_evaluator_create: out of memory");
    }
    ev->opts = o;
    ev->area = o.board_size * o.board_size;
    pthread_mutex_init(&ev->lock, NULL);
    sp_go_evaluator_seed(ev, o.seed);
    *out = ev;
    return SP_OK;
}

void sp_go_evaluator_free(sp_go_evaluator *ev)
{
    if (!ev)
        return;
    for (int i = 0; i < ev->n_free; i++)
        sp_game_free(ev->free_games[i]);
    free(ev->free_games);
    free(ev->rngs);
    pthread_mutex_destroy(&ev->lock);
    free(ev);
}

/* ---------------------------------------------------------------------- */

static void release_state(void *state, void *payload)
{
    sp_go_evaluator *ev = payload;
    sp_game *g = state;
    pthread_mutex_lock(&ev->lock);
    if (ev->n_free == ev->cap_free) {
        int cap = ev->cap_free ? 2 * ev->cap_free : 64;
        sp_game **p = realloc(ev->free_games, (size_t)cap * sizeof *p);
        if (!p) {
            pthread_mutex_unlock(&ev->lock);
            sp_game_free(g);
            return;
        }
        ev->free_games = p;
        ev->cap_free = cap;
    }
    ev->free_games[ev->n_free++] = g;
    pthread_mutex_unlock(&ev->lock);
}

/* A copy of `src` without its record information, in a recycled game when
 * one is free; room is left for the move about to be played. */
static sp_game *copy_state(sp_go_evaluator *ev, const sp_game *src)
{
    sp_game *g = NULL;
    pthread_mutex_lock(&ev->lock);
    if (ev->n_free)
        g = ev->free_games[--ev->n_free];
    pthread_mutex_unlock(&ev->lock);
    if (!g && !(g = calloc(1, sizeof *g)))
        return NULL;
    if (sp__game_copy_position(g, src) != SP_OK) {
        sp_game_free(g);
        return NULL;
    }
    return g;
}

/* +1 when the player to move in `g` wins the scored board, -1 when it loses. */
static float outcome(float black_score, int to_play)
{
    float black = black_score > 0.0f ? 1.0f : black_score < 0.0f ? -1.0f : 0.0f;
    return to_play == SP_BLACK ? black : -black;
}

/* Prior, mask, value and terminal flag of the position in `g`. */
static int evaluate(sp_go_evaluator *ev, int worker, const sp_game *g, float *prior, float *value, uint8_t *mask,
                    int32_t *terminal)
{
    const int to_play = sp_game_to_play(g);
    if (sp_game_is_over(g)) {
        float score;
        int rc = sp_game_score(g, &score);
        if (rc)
            return rc;
        *value = outcome(score, to_play);
        *terminal = 1;
        memset(mask, 0, (size_t)ev->area + 1);
        return SP_OK;
    }
    int rc = sp_game_legal_mask(g, mask, (size_t)ev->area + 1);
    if (rc)
        return rc;
    for (int p = 0; p < ev->area; p++) {
        if (mask[p] && sp_game_is_eye(g, p, to_play))
            mask[p] = 0;
        prior[p] = 1.0f;
    }
    prior[ev->area] = 1.0f;
    struct sp_rng *rng = &ev->rngs[worker].rng;
    double sum = 0.0;
    for (int i = 0; i < ev->opts.playouts; i++) {
        float score;
        rc = sp_game_playout(g, rng, ev->opts.max_moves, &score, NULL, 0);
        if (rc)
            return rc;
        sum += outcome(score, to_play);
    }
    *value = (float)(sum / ev->opts.playouts);
    return SP_OK;
}

static int check_worker(const sp_go_evaluator *ev, int worker)
{
    if (worker < 0 || worker >= ev->opts.threads)
        return sp__error(SP_ERR_INVALID_ARG, "go evaluator: worker %d but the evaluator was made for %d threads",
                         worker, ev->opts.threads);
    return SP_OK;
}

static int initial(int worker, size_t n, void *const *inputs, void **out_states, float *out_priors,
                   float *out_values, uint8_t *inout_masks, int32_t *out_terminal, void *payload)
{
    sp_go_evaluator *ev = payload;
    const size_t A = (size_t)ev->area + 1;
    int rc = check_worker(ev, worker);
    for (size_t i = 0; i < n && !rc; i++) {
        const sp_game *root = inputs[i];
        if (!root || sp_game_size(root) != ev->opts.board_size)
            return sp__error(SP_ERR_INVALID_ARG, "go evaluator: the root is not a %dx%d game", ev->opts.board_size,
                             ev->opts.board_size);
        sp_game *g = copy_state(ev, root);
        if (!g)
            return sp__error(SP_ERR_NOMEM, "go evaluator: out of memory for a state");
        out_states[i] = g;
        rc = evaluate(ev, worker, g, out_priors + i * A, &out_values[i], inout_masks + i * A, &out_terminal[i]);
    }
    return rc;
}

static int recurrent(int worker, size_t n, void *const *states, const int32_t *actions, void **out_states,
                     float *out_rewards, float *out_priors, float *out_values, uint8_t *inout_masks,
                     int32_t *out_terminal, void *payload)
{
    sp_go_evaluator *ev = payload;
    const size_t A = (size_t)ev->area + 1;
    int rc = check_worker(ev, worker);
    for (size_t i = 0; i < n && !rc; i++) {
        sp_game *g = copy_state(ev, states[i]);
        if (!g)
            return sp__error(SP_ERR_NOMEM, "go evaluator: out of memory for a state");
        out_states[i] = g;
        out_rewards[i] = 0.0f;
        int move;
        rc = sp_action_to_move(ev->opts.board_size, actions[i], &move);
        if (!rc)
            rc = sp_game_play(g, move);
        if (!rc)
            rc = evaluate(ev, worker, g, out_priors + i * A, &out_values[i], inout_masks + i * A, &out_terminal[i]);
    }
    return rc;
}

int sp_go_evaluator_model(sp_go_evaluator *ev, sp_search_model *out)
{
    if (!ev || !out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_go_evaluator_model: %s is NULL", ev ? "out" : "evaluator");
    *out = (sp_search_model)SP_SEARCH_MODEL_INIT;
    out->num_actions = ev->area + 1;
    out->two_player = 1;
    /* A row is a position played out on its own: calls of one row cost
     * nothing more and let the searcher's threads share a batch evenly. */
    out->max_batch = 1;
    out->initial = initial;
    out->recurrent = recurrent;
    out->release = release_state;
    out->payload = ev;
    return SP_OK;
}
