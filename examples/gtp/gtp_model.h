/* sp-gtp with a learned model (model.h): the network's prior and value of a
 * position, the policy-only player (the prior's best legal move, no
 * search), and the commands a model changes: `boardsize` refuses sizes the
 * model was not made for, `sp-top-moves` shows the network's view. */
#ifndef SP_GTP_MODEL_H
#define SP_GTP_MODEL_H

#include "gtp_engine.h"
#include "semiparam/model.h"

/**
 * The network's prior over the legal moves of @p game for its side to move
 * (a softmax of the logits over the rules' legal moves, eye-filling
 * allowed; size*size + 1 entries, pass last, 0 where illegal) and its value
 * for that side, in -1..1. A finished game has no legal move: all zero.
 * @return 0, or -1 (sp_last_error() says why).
 */
int gtp_model_prior(sp_model *model, const sp_game *game, float *out_prior, float *out_value);

/**
 * Register the model's `boardsize` and, for a model without neighbours,
 * `sp-top-moves [N]` (the network's
 * value and its N most likely legal moves for the side to move, default
 * 10): one line "value V" and then one "VERTEX prior P" per move. The
 * model is borrowed: it must outlive the engine.
 * @return 0, or -1 when out of memory.
 */
int gtp_model_attach_commands(gtp_engine *engine, sp_model *model);

/**
 * Make the policy-only player the engine's player: genmove plays the
 * prior's most likely legal move. The model is borrowed.
 * @return 0.
 */
int gtp_model_attach_policy(gtp_engine *engine, sp_model *model);

#endif /* SP_GTP_MODEL_H */
