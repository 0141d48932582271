/* sp-gtp's commands and player over a learned model. The network's view of
 * a position is the model's own root evaluation as a searcher model, so
 * that sp-top-moves and --policy-only show exactly what a search starts
 * from. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gtp_internal.h"
#include "gtp_model.h"
#include "gtp_search.h"

#define TOP_DEFAULT 10

static int model_size(sp_model *model)
{
    sp_model_options o;
    if (sp_model_options_init(&o, SP_MODEL_OPTIONS_VERSION) || sp_model_get_options(model, &o))
        return -1;
    return o.board_size;
}

int gtp_model_prior(sp_model *model, const sp_game *game, float *out_prior, float *out_value)
{
    sp_search_model root;
    if (sp_model_search_model(model, NULL, &root))
        return -1;
    const size_t actions = (size_t)root.num_actions;
    uint8_t *mask = malloc(actions);
    if (!mask)
        return -1;
    memset(mask, 1, actions);
    void *input = (void *)game, *state = NULL;
    int32_t terminal = 0;
    int rc = root.initial(0, 1, &input, &state, out_prior, out_value, mask, &terminal, root.payload);
    if (state)
        root.release(state, root.payload);
    if (!rc && terminal)
        memset(out_prior, 0, actions * sizeof *out_prior);
    free(mask);
    return rc ? -1 : 0;
}

/* The legal action of highest prior, or -1 when none has any. */
static int best_action(const float *prior, int actions)
{
    int best = -1;
    for (int a = 0; a < actions; a++)
        if (prior[a] > 0.0f && (best < 0 || prior[a] > prior[best]))
            best = a;
    return best;
}

static int with_prior(sp_model *model, const sp_game *game, int (*use)(gtp_engine *, const sp_game *, const float *,
                                                                         float, void *),
                      gtp_engine *engine, void *arg)
{
    const int size = sp_game_size(game);
    float *prior = malloc((size_t)(size * size + 1) * sizeof *prior), value = 0.0f;
    int rc = prior ? gtp_model_prior(model, game, prior, &value) : -1;
    if (!rc)
        rc = use(engine, game, prior, value, arg);
    free(prior);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Commands                                                                 */
/* ------------------------------------------------------------------------ */

/* A model plays on the board it was trained for: other sizes are refused
 * with GTP's "unacceptable size", naming the model's. */
static int cmd_boardsize(gtp_engine *e, int argc, char **args, void *payload)
{
    const int model = model_size(payload);
    int size;
    if (argc != 1 || gtp__parse_int(args[0], -1000000, 1000000, &size))
        return gtp__fail(e, "syntax error");
    if (size != model) {
        gtp_printf(e, "unacceptable size: the model plays %dx%d only", model, model);
        return -1;
    }
    gtp__game_ends(e);
    return sp_game_set_size(gtp_engine_game(e), size) == SP_OK ? 0 : gtp__fail(e, "unacceptable size");
}

static int write_top(gtp_engine *e, const sp_game *game, const float *prior, float value, void *arg)
{
    const int top = *(const int *)arg, size = sp_game_size(game), actions = size * size + 1;
    float *left = malloc((size_t)actions * sizeof *left);
    if (!left)
        return gtp__fail(e, "out of memory");
    memcpy(left, prior, (size_t)actions * sizeof *left);
    gtp_printf(e, "value %+.3f", (double)value);
    for (int shown = 0, a; shown < top && (a = best_action(left, actions)) >= 0; shown++) {
        char vertex[8];
        int move;
        sp_action_to_move(size, a, &move);
        sp_move_to_gtp(size, move, vertex, sizeof vertex);
        gtp_printf(e, "\n%-5s prior %.4f", vertex, (double)left[a]);
        left[a] = 0.0f;
    }
    free(left);
    return 0;
}

/* sp-top-moves [N]: the network's value and N most likely legal moves for
 * the side to move in the current position. */
static int cmd_top_moves(gtp_engine *e, int argc, char **args, void *payload)
{
    int top = TOP_DEFAULT;
    if (argc > 1 || (argc == 1 && gtp__parse_int(args[0], 1, 400, &top)))
        return gtp__fail(e, "syntax error");
    if (with_prior(payload, gtp_engine_game(e), write_top, e, &top)) {
        gtp_printf(e, "cannot evaluate the position: %s", sp_last_error());
        return -1;
    }
    return 0;
}

int gtp_model_attach_commands(gtp_engine *engine, sp_model *model)
{
    sp_model_options o;
    if (sp_model_options_init(&o, SP_MODEL_OPTIONS_VERSION) || sp_model_get_options(model, &o))
        return -1;
    if (gtp_engine_register(engine, "boardsize", cmd_boardsize, model))
        return -1;
    /* A retrieval model's view needs the neighbours only the agent
     * retrieves: the search's sp-top-moves stays. */
    return o.neighbours == 0 && gtp_engine_register(engine, "sp-top-moves", cmd_top_moves, model) ? -1 : 0;
}

/* ------------------------------------------------------------------------ */
/* The policy-only player                                                   */
/* ------------------------------------------------------------------------ */

static int take_best(gtp_engine *e, const sp_game *game, const float *prior, float value, void *arg)
{
    const int size = sp_game_size(game), action = best_action(prior, size * size + 1);
    int *move = arg;
    if (action < 0 || sp_action_to_move(size, action, move))
        *move = SP_PASS;
    return 0;
}

static int policy_genmove(void *payload, const sp_game *game, int color, const gtp_clock *clock, int *out_move)
{
    sp_game *position = gtp_search_position(game, color);
    if (!position)
        return -1;
    int rc = with_prior(payload, position, take_best, NULL, out_move);
    sp_game_free(position);
    return rc;
}

int gtp_model_attach_policy(gtp_engine *engine, sp_model *model)
{
    gtp_player player = { "semiparam-policy", policy_genmove, NULL, model };
    gtp_engine_set_player(engine, &player);
    return 0;
}
