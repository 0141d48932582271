/* model_search: the model as a searcher model (model.h), over a tiny
 * freshly created network (untrained: legality does not need a good one).
 * Root priors against a softmax over the moves sp_game_is_legal allows;
 * searches over many random positions never choosing an illegal move (both
 * modes, one and two threads); a wrapper round the callbacks that checks
 * every expanded action against its node's mask, every rules-mode mask
 * against the rules, and that every state is released; the ends of games
 * (rules mode; the root's passes in learned mode, which are real games)
 * against go.h's score and initial inference; the
 * learned dynamics against sp_model_recurrent called directly; bad
 * arguments. */
#include <check.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_search.h" /* the learned states' layout */
#include "semiparam.h"
#include "semiparam/model.h"

#define SIZE 5
#define AREA (SIZE * SIZE)
#define ACTIONS (AREA + 1)
#define HISTORY 2

static sp_model *tiny_model(void)
{
    sp_model_options o;
    ck_assert_int_eq(sp_model_options_init(&o, SP_MODEL_OPTIONS_VERSION), SP_OK);
    o.board_size = SIZE;
    o.history = HISTORY;
    o.channels = 8;
    o.repr_blocks = 1;
    o.dyn_blocks = 1;
    o.value_hidden = 8;
    sp_nn_options nn = SP_NN_OPTIONS_INIT;
    nn.backend = SP_BACKEND_CPU;
    nn.threads = 1;
    nn.seed = 7;
    sp_model *m = NULL;
    ck_assert_msg(sp_model_create(&m, &o, &nn) == SP_OK, "%s", sp_last_error());
    return m;
}

/* A game of `moves` random moves (passes at random too, so that the tree
 * meets games one pass from their end). */
static sp_game *random_game(sp_rng *rng, int moves, float komi)
{
    sp_game_options o = SP_GAME_OPTIONS_INIT;
    o.board_size = SIZE;
    o.komi = komi;
    sp_game *g = NULL;
    ck_assert_int_eq(sp_game_create(&g, &o), SP_OK);
    for (int i = 0; i < moves && !sp_game_is_over(g); i++) {
        int move = SP_PASS;
        if (sp_rng_below(rng, 12) != 0)
            ck_assert_int_eq(sp_game_random_move(g, rng, &move), SP_OK);
        if (move == SP_PASS && sp_game_last_move(g) == SP_PASS && sp_game_move_count(g) > 0)
            break; /* keep the game going */
        ck_assert_int_eq(sp_game_play(g, move), SP_OK);
    }
    return g;
}

/* The legal actions by sp_game_is_legal, one point at a time. */
static void legal_by_rules(const sp_game *g, uint8_t *legal)
{
    const int color = sp_game_to_play(g);
    for (int a = 0; a < ACTIONS; a++)
        legal[a] = (uint8_t)sp_game_is_legal(g, color, a == AREA ? SP_PASS : a);
}

/* The softmax of `logits` over the actions `allowed` marks (NULL: all), in double. */
static void reference_softmax(const float *logits, const uint8_t *allowed, double *out)
{
    double top = -INFINITY, sum = 0.0;
    for (int a = 0; a < ACTIONS; a++)
        if ((!allowed || allowed[a]) && logits[a] > top)
            top = logits[a];
    for (int a = 0; a < ACTIONS; a++)
        sum += out[a] = !allowed || allowed[a] ? exp(logits[a] - top) : 0.0;
    for (int a = 0; a < ACTIONS; a++)
        out[a] /= sum;
}

static sp_search_model search_model(sp_model *m, int mode, int max_batch)
{
    sp_model_search_options o;
    ck_assert_int_eq(sp_model_search_options_init(&o, SP_MODEL_SEARCH_OPTIONS_VERSION), SP_OK);
    o.mode = mode;
    o.max_batch = max_batch;
    sp_search_model sm;
    ck_assert_msg(sp_model_search_model(m, &o, &sm) == SP_OK, "%s", sp_last_error());
    return sm;
}

/* ------------------------------------------------------------------------ */
/* A wrapper round the model's callbacks                                    */

typedef struct wrap {
    sp_search_model inner;
    int rules;
    atomic_long live;       /* states handed out and not yet released */
    atomic_int violations;  /* actions expanded that their node's mask forbade */
    atomic_int bad_masks;   /* rules mode: masks that differ from sp_game_is_legal */
    atomic_int bad_priors;  /* rows whose priors are no distribution over their mask */
} wrap;

typedef struct wrapped {
    void *inner;
    int terminal;
    uint8_t mask[ACTIONS];
} wrapped;

/* Check and wrap the rows the inner callback produced, failed or not (the
 * searcher releases whatever states are set). */
static void wrap_rows(wrap *w, size_t n, void **states, const float *priors, const uint8_t *masks,
                     const int32_t *terminal, int root)
{
    for (size_t i = 0; i < n; i++) {
        if (!states[i])
            continue;
        wrapped *s = malloc(sizeof *s);
        ck_assert_ptr_nonnull(s);
        s->inner = states[i];
        s->terminal = terminal[i];
        memcpy(s->mask, masks + i * ACTIONS, ACTIONS);
        states[i] = s;
        atomic_fetch_add(&w->live, 1);
        if (s->terminal)
            continue;
        double sum = 0.0;
        for (int a = 0; a < ACTIONS; a++) {
            const float p = priors[i * ACTIONS + a];
            if (p < 0.0f || (!s->mask[a] && p != 0.0f))
                atomic_fetch_add(&w->bad_priors, 1);
            sum += p;
        }
        if (fabs(sum - 1.0) > 1e-4)
            atomic_fetch_add(&w->bad_priors, 1);
        if (w->rules) {
            /* Rules-mode states are the real games (model_search_eval.c). */
            uint8_t legal[ACTIONS];
            legal_by_rules(s->inner, legal);
            if (memcmp(legal, s->mask, ACTIONS))
                atomic_fetch_add(&w->bad_masks, 1);
        } else {
            /* Learned mode: the root and the nodes reached from it by
             * passes are real games with the rules' mask; below them the
             * model knows no rules. */
            const sp__learned_state *ls = s->inner;
            uint8_t want[ACTIONS];
            ck_assert(!root || ls->real);
            if (ls->real)
                legal_by_rules(ls->real, want);
            else
                memset(want, 1, sizeof want);
            if (memcmp(want, s->mask, ACTIONS))
                atomic_fetch_add(&w->bad_masks, 1);
        }
    }
}

static int wrap_initial(int worker, size_t n, void *const *inputs, void **out_states, float *out_priors,
                        float *out_values, uint8_t *inout_masks, int32_t *out_terminal, void *payload)
{
    wrap *w = payload;
    int rc = w->inner.initial(worker, n, inputs, out_states, out_priors, out_values, inout_masks, out_terminal,
                              w->inner.payload);
    wrap_rows(w, n, out_states, out_priors, inout_masks, out_terminal, 1);
    return rc;
}

static int wrap_recurrent(int worker, size_t n, void *const *states, const int32_t *actions, void **out_states,
                          float *out_rewards, float *out_priors, float *out_values, uint8_t *inout_masks,
                          int32_t *out_terminal, void *payload)
{
    wrap *w = payload;
    void **inner = malloc(n * sizeof *inner);
    ck_assert_ptr_nonnull(inner);
    for (size_t i = 0; i < n; i++) {
        const wrapped *s = states[i];
        if (s->terminal || !s->mask[actions[i]])
            atomic_fetch_add(&w->violations, 1);
        inner[i] = s->inner;
    }
    int rc = w->inner.recurrent(worker, n, inner, actions, out_states, out_rewards, out_priors, out_values,
                                inout_masks, out_terminal, w->inner.payload);
    free(inner);
    wrap_rows(w, n, out_states, out_priors, inout_masks, out_terminal, 0);
    return rc;
}

static void wrap_release(void *state, void *payload)
{
    wrap *w = payload;
    wrapped *s = state;
    w->inner.release(s->inner, w->inner.payload);
    free(s);
    atomic_fetch_sub(&w->live, 1);
}

static sp_search_model wrap_model(wrap *w, sp_search_model inner, int rules)
{
    memset(w, 0, sizeof *w);
    w->inner = inner;
    w->rules = rules;
    sp_search_model m = inner;
    m.initial = wrap_initial;
    m.recurrent = wrap_recurrent;
    m.release = wrap_release;
    m.payload = w;
    return m;
}

static sp_search *make_search(const sp_search_model *m, int kind, int simulations, int threads, uint64_t seed)
{
    sp_search_options o;
    ck_assert_int_eq(sp_search_options_init(&o, SP_SEARCH_OPTIONS_VERSION), SP_OK);
    o.kind = kind;
    o.simulations = simulations;
    o.threads = threads;
    o.batch_size = 4 * threads;
    o.seed = seed;
    o.reuse_tree = 0;
    sp_search *s = NULL;
    ck_assert_msg(sp_search_create(&s, m, &o) == SP_OK, "%s", sp_last_error());
    return s;
}

/* ------------------------------------------------------------------------ */

START_TEST(options_and_arguments)
{
    sp_model_search_options o;
    memset(&o, 0x5a, sizeof o);
    ck_assert_int_eq(sp_model_search_options_init(&o, SP_MODEL_SEARCH_OPTIONS_VERSION), SP_OK);
    ck_assert_uint_eq(o.version, SP_MODEL_SEARCH_OPTIONS_VERSION);
    ck_assert_int_eq(o.mode, SP_MODEL_SEARCH_LEARNED);
    ck_assert_int_eq(o.max_batch, 0);
    ck_assert_int_eq(sp_model_search_options_init(NULL, SP_MODEL_SEARCH_OPTIONS_VERSION), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_model_search_options_init(&o, 0), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_model_search_options_init(&o, SP_MODEL_SEARCH_OPTIONS_VERSION + 1), SP_ERR_VERSION);

    sp_model *m = tiny_model();
    sp_search_model sm;
    ck_assert_int_eq(sp_model_search_model(NULL, NULL, &sm), SP_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "model is NULL"));
    ck_assert_int_eq(sp_model_search_model(m, NULL, NULL), SP_ERR_INVALID_ARG);
    sp_model_search_options_init(&o, SP_MODEL_SEARCH_OPTIONS_VERSION);
    o.mode = 2;
    ck_assert_int_eq(sp_model_search_model(m, &o, &sm), SP_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "mode 2"));
    o.mode = SP_MODEL_SEARCH_RULES;
    o.max_batch = -1;
    ck_assert_int_eq(sp_model_search_model(m, &o, &sm), SP_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "max_batch"));
    o.max_batch = 0;
    o.version = SP_MODEL_SEARCH_OPTIONS_VERSION + 1;
    ck_assert_int_eq(sp_model_search_model(m, &o, &sm), SP_ERR_VERSION);
    o.version = 0;
    ck_assert_int_eq(sp_model_search_model(m, &o, &sm), SP_ERR_INVALID_ARG);

    /* NULL options are the defaults: learned dynamics, as the searcher asks. */
    ck_assert_int_eq(sp_model_search_model(m, NULL, &sm), SP_OK);
    ck_assert_int_eq(sm.num_actions, ACTIONS);
    ck_assert_int_eq(sm.two_player, 1);
    ck_assert_int_eq(sm.max_batch, 0);
    ck_assert_ptr_nonnull(sm.initial);
    ck_assert_ptr_nonnull(sm.recurrent);
    ck_assert_ptr_nonnull(sm.release);
    sp_search_model again = search_model(m, SP_MODEL_SEARCH_LEARNED, 0), rules = search_model(m, 1, 3);
    ck_assert_ptr_eq(again.payload, sm.payload); /* equal options share their payload */
    ck_assert_ptr_ne(rules.payload, sm.payload);
    ck_assert_int_eq(rules.max_batch, 3);

    /* A root of another board size, or none, stops the search with a message. */
    sp_search *s = make_search(&sm, SP_SEARCH_PUCT, 8, 1, 1);
    sp_game *nine = NULL;
    ck_assert_int_eq(sp_game_create(&nine, NULL), SP_OK);
    int32_t action = 7;
    ck_assert_int_eq(sp_search_run(s, nine, NULL, &action), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(action, -1);
    void *input = nine, *state = NULL;
    float priors[ACTIONS], value;
    uint8_t mask[ACTIONS];
    int32_t terminal = 0;
    ck_assert_int_eq(sm.initial(0, 1, &input, &state, priors, &value, mask, &terminal, sm.payload),
                     SP_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "not a 5x5 game"));
    ck_assert_ptr_null(state);
    ck_assert_int_eq(sp_search_run(s, NULL, NULL, &action), SP_ERR_INVALID_ARG);
    sp_search_free(s);
    sp_game_free(nine);
    sp_model_free(m);
}
END_TEST

/* The root's priors are the softmax of the network's logits over the
 * moves the rules allow (eye-filling included, pass always), its value
 * the network's: checked against sp_model_initial and sp_game_is_legal. */
START_TEST(root_priors_are_a_softmax_over_legal_moves)
{
    sp_model *m = tiny_model();
    sp_rng *rng;
    ck_assert_int_eq(sp_rng_create(&rng, 11), SP_OK);
    const int planes_n = sp_go_plane_count(HISTORY) * AREA;
    for (int mode = 0; mode < 2; mode++) {
        sp_search_model sm = search_model(m, mode, 0);
        for (int pos = 0; pos < 25; pos++) {
            sp_game *g = random_game(rng, (int)sp_rng_below(rng, 40), 7.0f);
            if (sp_game_is_over(g)) {
                sp_game_free(g);
                continue;
            }
            float planes[planes_n], logits[ACTIONS], value;
            ck_assert_int_eq(sp_game_planes(g, HISTORY, planes, (size_t)planes_n), SP_OK);
            ck_assert_int_eq(sp_model_initial(m, planes, 1, NULL, logits, &value), SP_OK);
            uint8_t legal[ACTIONS];
            legal_by_rules(g, legal);
            ck_assert_int_eq(legal[AREA], 1);
            double want[ACTIONS];
            reference_softmax(logits, legal, want);

            void *input = g, *state = NULL;
            float priors[ACTIONS], got_value = 9.0f;
            uint8_t mask[ACTIONS];
            int32_t terminal = 0;
            memset(mask, 1, sizeof mask);
            ck_assert_int_eq(sm.initial(0, 1, &input, &state, priors, &got_value, mask, &terminal, sm.payload), SP_OK);
            ck_assert_ptr_nonnull(state);
            ck_assert_int_eq(terminal, 0);
            ck_assert_float_eq_tol(got_value, value, 1e-6f);
            for (int a = 0; a < ACTIONS; a++) {
                ck_assert_int_eq(mask[a], legal[a]);
                ck_assert_msg(fabs(priors[a] - want[a]) < 1e-5, "action %d: prior %g, want %g", a, priors[a], want[a]);
            }
            sm.release(state, sm.payload);

            /* The searcher's root shows the same priors (no noise in play). */
            sp_search *s = make_search(&sm, SP_SEARCH_PUCT, 4, 1, 3);
            float root_priors[ACTIONS];
            ck_assert_int_eq(sp_search_run(s, g, NULL, NULL), SP_OK);
            ck_assert_int_eq(sp_search_root_stats(s, NULL, root_priors, NULL, NULL, ACTIONS), SP_OK);
            for (int a = 0; a < ACTIONS; a++)
                ck_assert_float_eq_tol(root_priors[a], priors[a], 1e-5f);
            sp_search_free(s);
            sp_game_free(g);
        }
    }
    sp_rng_free(rng);
    sp_model_free(m);
}
END_TEST

/* Over many random positions, both modes, one and two threads, both
 * search kinds: the chosen move is legal, no illegal root action gets a
 * visit, no node expands an action its mask forbade, rules-mode masks are
 * the rules' legal moves, every row's priors are a distribution over its
 * mask, the principal variation replays legally (rules mode: all of it),
 * and freeing the search releases every state. */
START_TEST(search_never_chooses_an_illegal_move)
{
    sp_model *m = tiny_model();
    sp_rng *rng;
    ck_assert_int_eq(sp_rng_create(&rng, 5), SP_OK);
    int searched = 0;
    for (int mode = 0; mode < 2; mode++)
        for (int threads = 1; threads <= 2; threads++) {
            wrap w;
            sp_search_model sm = wrap_model(&w, search_model(m, mode, threads == 2 ? 3 : 0), mode);
            for (int pos = 0; pos < 20; pos++) {
                sp_game *g = random_game(rng, (int)sp_rng_below(rng, 60), 6.5f);
                sp_search *s = make_search(&sm, pos % 2, 48, threads, (uint64_t)pos + 1);
                int32_t action = -2, visits[ACTIONS];
                ck_assert_msg(sp_search_run(s, g, NULL, &action) == SP_OK, "%s", sp_last_error());
                uint8_t legal[ACTIONS];
                legal_by_rules(g, legal);
                if (sp_game_is_over(g)) {
                    ck_assert_int_eq(action, -1);
                } else {
                    ck_assert_int_ge(action, 0);
                    ck_assert_msg(legal[action], "mode %d threads %d: illegal root move %d", mode, threads, action);
                    ck_assert_int_eq(sp_search_root_stats(s, visits, NULL, NULL, NULL, ACTIONS), SP_OK);
                    for (int a = 0; a < ACTIONS; a++)
                        ck_assert(legal[a] || visits[a] == 0);
                    int32_t pv[64];
                    size_t len = 0;
                    ck_assert_int_eq(sp_search_pv(s, pv, 64, &len), SP_OK);
                    ck_assert_uint_ge(len, 1);
                    sp_game *replay = NULL;
                    ck_assert_int_eq(sp_game_clone(&replay, g), SP_OK);
                    /* Learned mode: only the root's move is the rules' business. */
                    const size_t checked = mode == SP_MODEL_SEARCH_RULES ? len : 1;
                    for (size_t i = 0; i < checked; i++) {
                        int move;
                        ck_assert_int_eq(sp_action_to_move(SIZE, pv[i], &move), SP_OK);
                        ck_assert_msg(sp_game_play(replay, move) == SP_OK, "pv move %zu (%d): %s", i, pv[i],
                                      sp_last_error());
                    }
                    sp_game_free(replay);
                    searched++;
                }
                sp_search_free(s);
                sp_game_free(g);
                ck_assert_int_eq(atomic_load(&w.live), 0);
            }
            ck_assert_int_eq(atomic_load(&w.violations), 0);
            ck_assert_int_eq(atomic_load(&w.bad_masks), 0);
            ck_assert_int_eq(atomic_load(&w.bad_priors), 0);
        }
    ck_assert_int_gt(searched, 60);
    sp_rng_free(rng);
    sp_model_free(m);
}
END_TEST

static float outcome_for(const sp_game *g, float black_score)
{
    const float black = black_score > 0.0f ? 1.0f : black_score < 0.0f ? -1.0f : 0.0f;
    return sp_game_to_play(g) == SP_BLACK ? black : -black;
}

/* Rules mode: a pass after a pass ends the game, scored by go.h (area,
 * the game's komi) for the player to move. Learned mode knows the same of
 * the root's pass child only. A finished root is terminal in both modes
 * and the search then has no move. */
START_TEST(games_end_by_the_score)
{
    sp_model *m = tiny_model();
    sp_rng *rng;
    ck_assert_int_eq(sp_rng_create(&rng, 9), SP_OK);
    sp_search_model sm = search_model(m, SP_MODEL_SEARCH_RULES, 0);
    const float komis[] = { 0.0f, 7.0f, -7.0f, 0.5f };
    for (int pos = 0; pos < 24; pos++) {
        /* A game whose last move is a pass (an empty board at pos 0). */
        sp_game *g = random_game(rng, pos * 2, komis[pos % 4]);
        if (!sp_game_is_over(g) && (sp_game_move_count(g) == 0 || sp_game_last_move(g) != SP_PASS))
            ck_assert_int_eq(sp_game_play(g, SP_PASS), SP_OK);
        if (sp_game_is_over(g)) {
            sp_game_free(g);
            continue;
        }
        /* The expected end: the same game with a second pass, scored. */
        sp_game *end = NULL;
        float score;
        ck_assert_int_eq(sp_game_clone(&end, g), SP_OK);
        ck_assert_int_eq(sp_game_play(end, SP_PASS), SP_OK);
        ck_assert(sp_game_is_over(end));
        ck_assert_int_eq(sp_game_score(end, &score), SP_OK);
        const float want = outcome_for(end, score);

        void *input = g, *root = NULL, *next = NULL;
        float priors[ACTIONS], value, reward = 9.0f;
        uint8_t mask[ACTIONS];
        int32_t terminal = 0, pass = AREA;
        memset(mask, 1, sizeof mask);
        ck_assert_int_eq(sm.initial(0, 1, &input, &root, priors, &value, mask, &terminal, sm.payload), SP_OK);
        ck_assert_int_eq(terminal, 0);
        ck_assert_int_eq(mask[AREA], 1);
        memset(mask, 1, sizeof mask);
        ck_assert_int_eq(sm.recurrent(0, 1, &root, &pass, &next, &reward, priors, &value, mask, &terminal, sm.payload),
                         SP_OK);
        ck_assert_int_eq(terminal, 1);
        ck_assert_float_eq(reward, 0.0f);
        ck_assert_float_eq(value, want);
        for (int a = 0; a < ACTIONS; a++)
            ck_assert_int_eq(mask[a], 0);

        /* Learned mode knows this one rule at the root too: its pass child
         * ends the game with the same value; any other child does not. */
        sp_search_model lm = search_model(m, SP_MODEL_SEARCH_LEARNED, 0);
        void *lroot = NULL, *lchildren[2] = { NULL, NULL };
        int32_t two[2] = { AREA, 0 }, ends[2] = { 0, 0 };
        float lpriors[2 * ACTIONS], lvalues[2], lrewards[2];
        uint8_t lmasks[2 * ACTIONS];
        memset(lmasks, 1, sizeof lmasks);
        ck_assert_int_eq(lm.initial(0, 1, &input, &lroot, lpriors, lvalues, lmasks, ends, lm.payload), SP_OK);
        ck_assert_int_eq(ends[0], 0);
        two[1] = 0;
        while (!lmasks[two[1]])
            two[1]++; /* a legal point */
        void *parents[2] = { lroot, lroot };
        memset(lmasks, 1, sizeof lmasks);
        ck_assert_int_eq(lm.recurrent(0, 2, parents, two, lchildren, lrewards, lpriors, lvalues, lmasks, ends,
                                      lm.payload), SP_OK);
        ck_assert_int_eq(ends[0], 1);
        ck_assert_float_eq(lvalues[0], want);
        ck_assert_int_eq(ends[1], 0);
        ck_assert_int_eq(lmasks[ACTIONS + AREA], 1);
        for (int k = 0; k < 2; k++)
            lm.release(lchildren[k], lm.payload);
        lm.release(lroot, lm.payload);

        /* The finished game as a root: terminal, the same value, no move. */
        for (int mode = 0; mode < 2; mode++) {
            sp_search_model em = search_model(m, mode, 0);
            void *over = end, *state = NULL;
            memset(mask, 1, sizeof mask);
            terminal = 0;
            ck_assert_int_eq(em.initial(0, 1, &over, &state, priors, &value, mask, &terminal, em.payload), SP_OK);
            ck_assert_int_eq(terminal, 1);
            ck_assert_float_eq(value, outcome_for(end, score));
            em.release(state, em.payload);
            sp_search *s = make_search(&em, SP_SEARCH_GUMBEL, 8, 1, 1);
            int32_t action = 5;
            ck_assert_int_eq(sp_search_run(s, end, NULL, &action), SP_OK);
            ck_assert_int_eq(action, -1);
            sp_search_free(s);
        }
        sm.release(root, sm.payload);
        sm.release(next, sm.payload);
        sp_game_free(end);
        sp_game_free(g);
    }
    /* An action the rules forbid is a broken contract, reported. */
    sp_game_options go = SP_GAME_OPTIONS_INIT;
    go.board_size = SIZE;
    sp_game *g = NULL;
    ck_assert_int_eq(sp_game_create(&g, &go), SP_OK);
    ck_assert_int_eq(sp_game_play(g, 12), SP_OK);
    void *input = g, *root = NULL, *next = NULL;
    float priors[ACTIONS], value, reward;
    uint8_t mask[ACTIONS];
    int32_t terminal = 0, occupied = 12;
    memset(mask, 1, sizeof mask);
    ck_assert_int_eq(sm.initial(0, 1, &input, &root, priors, &value, mask, &terminal, sm.payload), SP_OK);
    ck_assert_int_eq(mask[12], 0);
    ck_assert_int_eq(sm.recurrent(0, 1, &root, &occupied, &next, &reward, priors, &value, mask, &terminal, sm.payload),
                     SP_ERR_ILLEGAL_MOVE);
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "action 12"));
    sm.release(root, sm.payload);
    sm.release(next, sm.payload);
    sp_game_free(g);
    sp_rng_free(rng);
    sp_model_free(m);
}
END_TEST

/* Learned mode: a pass from the root is played by the rules (the dynamics
 * never learnt a pass mid-game): its child is the real position after the
 * pass, evaluated as a root is (initial inference, softmax over the legal
 * moves), a second pass ends the game with go.h's score, and any other
 * action from it goes to the dynamics from its initial state. */
START_TEST(learned_root_pass_child_is_real)
{
    sp_model *m = tiny_model();
    sp_model_info info = SP_MODEL_INFO_INIT;
    ck_assert_int_eq(sp_model_describe(m, &info), SP_OK);
    const size_t S = (size_t)info.state_size;
    const int planes_n = sp_go_plane_count(HISTORY) * AREA;
    sp_search_model lm = search_model(m, SP_MODEL_SEARCH_LEARNED, 0);
    sp_rng *rng;
    ck_assert_int_eq(sp_rng_create(&rng, 21), SP_OK);
    int checked = 0;
    for (int pos = 0; pos < 16; pos++) {
        sp_game *g = random_game(rng, 2 + 3 * pos, pos % 2 ? 7.0f : 0.5f);
        if (sp_game_is_over(g) || (sp_game_move_count(g) > 0 && sp_game_last_move(g) == SP_PASS)) {
            sp_game_free(g);
            continue;
        }
        /* The reference: the game after a pass, through the model directly. */
        sp_game *after = NULL, *end = NULL;
        ck_assert_int_eq(sp_game_clone(&after, g), SP_OK);
        ck_assert_int_eq(sp_game_play(after, SP_PASS), SP_OK);
        ck_assert(!sp_game_is_over(after));
        float planes[planes_n], state[S], logits[ACTIONS], value, score;
        ck_assert_int_eq(sp_game_planes(after, HISTORY, planes, (size_t)planes_n), SP_OK);
        ck_assert_int_eq(sp_model_initial(m, planes, 1, state, logits, &value), SP_OK);
        uint8_t legal[ACTIONS];
        legal_by_rules(after, legal);
        double want[ACTIONS];
        reference_softmax(logits, legal, want);
        ck_assert_int_eq(sp_game_clone(&end, after), SP_OK);
        ck_assert_int_eq(sp_game_play(end, SP_PASS), SP_OK);
        ck_assert_int_eq(sp_game_score(end, &score), SP_OK);

        void *input = g, *root = NULL, *child = NULL, *grand[2] = { NULL, NULL };
        float priors[2 * ACTIONS], values[2], rewards[2];
        uint8_t masks[2 * ACTIONS];
        int32_t terminal[2] = { 0, 0 }, pass = AREA;
        memset(masks, 1, sizeof masks);
        ck_assert_int_eq(lm.initial(0, 1, &input, &root, priors, values, masks, terminal, lm.payload), SP_OK);
        memset(masks, 1, sizeof masks);
        ck_assert_int_eq(lm.recurrent(0, 1, &root, &pass, &child, rewards, priors, values, masks, terminal,
                                      lm.payload), SP_OK);
        const sp__learned_state *c = child;
        ck_assert_ptr_nonnull(c->real);
        ck_assert_uint_eq(sp_game_hash(c->real), sp_game_hash(after));
        ck_assert_int_eq(terminal[0], 0);
        ck_assert_float_eq_tol(values[0], value, 1e-5f);
        ck_assert_int_eq(memcmp(c->hidden, state, S * sizeof(float)), 0);
        for (int a = 0; a < ACTIONS; a++) {
            ck_assert_int_eq(masks[a], legal[a]);
            ck_assert_float_eq_tol(priors[a], want[a], 1e-5);
        }

        /* From the real pass child: a pass ends the game, a point goes to the dynamics. */
        int32_t two[2] = { AREA, 0 };
        while (!legal[two[1]])
            two[1]++;
        void *parents[2] = { child, child };
        memset(masks, 1, sizeof masks);
        ck_assert_int_eq(lm.recurrent(0, 2, parents, two, grand, rewards, priors, values, masks, terminal, lm.payload),
                         SP_OK);
        ck_assert_int_eq(terminal[0], 1);
        ck_assert_float_eq(values[0], outcome_for(end, score));
        float next_state[S], next_value;
        ck_assert_int_eq(sp_model_recurrent(m, state, &two[1], 1, next_state, logits, &next_value), SP_OK);
        const sp__learned_state *below = grand[1];
        ck_assert_ptr_null(below->real);
        ck_assert_int_eq(terminal[1], 0);
        ck_assert_float_eq_tol(values[1], next_value, 1e-5f);
        for (size_t k = 0; k < S; k++)
            ck_assert_float_eq_tol(below->hidden[k], next_state[k], 1e-5f);
        for (int a = 0; a < ACTIONS; a++)
            ck_assert_int_eq(masks[ACTIONS + a], 1);
        for (int k = 0; k < 2; k++)
            lm.release(grand[k], lm.payload);
        lm.release(child, lm.payload);
        lm.release(root, lm.payload);
        sp_game_free(end);
        sp_game_free(after);
        sp_game_free(g);
        checked++;
    }
    ck_assert_int_ge(checked, 8);
    sp_rng_free(rng);
    sp_model_free(m);
}
END_TEST

/* Learned mode below the root: one dynamics step of sp_model_recurrent
 * per row, cut into calls of max_batch rows, priors a softmax over every
 * action, no terminal, reward 0. */
START_TEST(learned_dynamics_follow_the_model)
{
    sp_model *m = tiny_model();
    sp_model_info info = SP_MODEL_INFO_INIT;
    ck_assert_int_eq(sp_model_describe(m, &info), SP_OK);
    const size_t S = (size_t)info.state_size;
    sp_rng *rng;
    ck_assert_int_eq(sp_rng_create(&rng, 3), SP_OK);
    for (int max_batch = 0; max_batch <= 2; max_batch += 2) {
        sp_search_model sm = search_model(m, SP_MODEL_SEARCH_LEARNED, max_batch);
        enum { N = 5 };
        sp_game *games[N];
        void *inputs[N], *roots[N] = { 0 }, *next[N] = { 0 };
        float priors[N * ACTIONS], values[N], rewards[N];
        uint8_t masks[N * ACTIONS];
        int32_t terminal[N] = { 0 }, actions[N];
        for (int i = 0; i < N; i++) {
            games[i] = random_game(rng, 3 + 4 * i, 7.0f);
            inputs[i] = games[i];
            actions[i] = (int32_t)sp_rng_below(rng, ACTIONS);
        }
        memset(masks, 1, sizeof masks);
        ck_assert_int_eq(sm.initial(0, N, inputs, roots, priors, values, masks, terminal, sm.payload), SP_OK);
        memset(masks, 1, sizeof masks);
        ck_assert_int_eq(sm.recurrent(1, N, roots, actions, next, rewards, priors, values, masks, terminal, sm.payload),
                         SP_OK);
        const int planes_n = sp_go_plane_count(HISTORY) * AREA;
        for (int i = 0; i < N; i++) {
            float planes[planes_n], state[S], next_state[S], logits[ACTIONS], value;
            ck_assert_int_eq(sp_game_planes(games[i], HISTORY, planes, (size_t)planes_n), SP_OK);
            ck_assert_int_eq(sp_model_initial(m, planes, 1, state, NULL, NULL), SP_OK);
            ck_assert_int_eq(memcmp(state, ((sp__learned_state *)roots[i])->hidden, S * sizeof(float)), 0);
            ck_assert_int_eq(sp_model_recurrent(m, state, &actions[i], 1, next_state, logits, &value), SP_OK);
            for (size_t k = 0; k < S; k++)
                ck_assert_float_eq_tol(((sp__learned_state *)next[i])->hidden[k], next_state[k], 1e-5f);
            ck_assert_float_eq_tol(values[i], value, 1e-5f);
            ck_assert_int_eq(terminal[i], 0);
            ck_assert_float_eq(rewards[i], 0.0f);
            double want[ACTIONS];
            reference_softmax(logits, NULL, want);
            for (int a = 0; a < ACTIONS; a++) {
                ck_assert_int_eq(masks[i * ACTIONS + a], 1);
                ck_assert_float_eq_tol(priors[i * ACTIONS + a], want[a], 1e-5);
            }
            sm.release(roots[i], sm.payload);
            sm.release(next[i], sm.payload);
            sp_game_free(games[i]);
        }
        /* An action off the board is refused, its row named. */
        sp_game *g = random_game(rng, 4, 7.0f);
        void *input = g, *state = NULL, *child = NULL;
        int32_t bad = ACTIONS;
        memset(masks, 1, sizeof masks);
        ck_assert_int_eq(sm.initial(0, 1, &input, &state, priors, values, masks, terminal, sm.payload), SP_OK);
        ck_assert_int_eq(sm.recurrent(0, 1, &state, &bad, &child, rewards, priors, values, masks, terminal, sm.payload),
                         SP_ERR_INVALID_ARG);
        ck_assert_ptr_nonnull(strstr(sp_last_error(), "row 0"));
        sm.release(state, sm.payload);
        sm.release(child, sm.payload);
        sp_game_free(g);
    }
    sp_rng_free(rng);
    sp_model_free(m);
}
END_TEST

Suite *model_search_suite(void);
Suite *model_search_suite(void)
{
    Suite *s = suite_create("model_search");
    TCase *tc = tcase_create("model_search");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, options_and_arguments);
    tcase_add_test(tc, root_priors_are_a_softmax_over_legal_moves);
    tcase_add_test(tc, search_never_chooses_an_illegal_move);
    tcase_add_test(tc, games_end_by_the_score);
    tcase_add_test(tc, learned_root_pass_child_is_real);
    tcase_add_test(tc, learned_dynamics_follow_the_model);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(model_search_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
