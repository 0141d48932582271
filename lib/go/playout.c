/* Random play: the fast playout loop that search and benchmarks run
 * millions of times, and one random move that honours the full rules. */
#include "board_play.h"
#include "game_internal.h"

/* The playouts' own generator, a 64-bit linear congruential one (Knuth's
 * MMIX constants) whose high half feeds the draws. It is seeded once per
 * call from the caller's sp_rng, so results stay a function of that seed,
 * and a step costs a multiply and an add where xoshiro takes a dozen
 * operations: a playout draws about two hundred candidates. */
static inline uint32_t draw_below(uint64_t *state, uint32_t bound)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(((*state >> 32) * (uint64_t)bound) >> 32);
}

/* May `color` play at empty vertex v without filling its own eye? Most
 * candidates have an empty neighbour, which makes the move legal and not an
 * eye (and not the ko point, whose neighbours are all stones): one test
 * settles them before the eye, ko and suicide rules are asked. */
static inline int playable(const sp__board *b, int v, int color)
{
    const int s = b->stride;
    const uint8_t *col = b->color;
    if ((col[v - s] == SP_EMPTY) | (col[v - 1] == SP_EMPTY) | (col[v + 1] == SP_EMPTY) | (col[v + s] == SP_EMPTY))
        return 1;
    return !(v == b->ko && color == b->ko_color) && !sp__is_eye(b, v, color) && !sp__is_suicide(b, v, color);
}

/* A uniformly random vertex among the empty points where `color` may play
 * (simple ko, no suicide) without filling its own eye, or SP__NO_VERTEX.
 * Points found unplayable are swapped behind the shrinking candidate range,
 * so every candidate is tried at most once and the pick stays uniform. */
static inline int random_vertex(sp__board *b, uint64_t *rng, int color)
{
    for (int k = b->n_empty; k > 0; k--) {
        int i = (int)draw_below(rng, (uint32_t)k);
        int v = b->empty[i];
        if (playable(b, v, color))
            return v;
        int last = b->empty[k - 1];
        b->empty[i] = (uint16_t)last;
        b->empty_pos[last] = (uint16_t)i;
        b->empty[k - 1] = (uint16_t)v;
        b->empty_pos[v] = (uint16_t)(k - 1);
    }
    return SP__NO_VERTEX;
}

int sp__board_playout(sp__board *b, sp_rng *rng, int max_moves, uint8_t *owner)
{
    uint64_t state = sp__rng_next(rng);
    for (int n = 0; n < max_moves && b->passes < 2; n++) {
        int color = b->to_play;
        int v = random_vertex(b, &state, color);
        if (v == SP__NO_VERTEX)
            sp__board_pass(b, color);
        else
            sp__board_play_inline(b, v, color, 0); /* b's hash goes stale: only the area is read */
    }
    return sp__board_area(b, owner);
}

int sp_game_playout(const sp_game *game, sp_rng *rng, int max_moves, float *out_score, uint8_t *out_ownership,
                    size_t capacity)
{
    int rc = sp__check_game(game, "sp_game_playout");
    if (rc)
        return rc;
    if (!rng)
        return sp__error(SP_ERR_INVALID_ARG, "sp_game_playout: rng is NULL");
    if (max_moves < 0)
        return sp__error(SP_ERR_INVALID_ARG, "sp_game_playout: max_moves %d is negative", max_moves);
    const int area = game->board.size * game->board.size;
    if (out_ownership && capacity < (size_t)area)
        return sp__error(SP_ERR_BUFFER_TOO_SMALL, "sp_game_playout: %d bytes of ownership needed", area);
    if (max_moves == 0)
        max_moves = 3 * area;
    sp__board b;
    sp__board_copy(&b, &game->board);
    if (game->end != SP_END_NONE)
        max_moves = 0;
    uint8_t owner[SP_GO_MAX_SIZE * SP_GO_MAX_SIZE];
    int score = sp__board_playout(&b, rng, max_moves, out_ownership ? out_ownership : owner);
    if (out_score)
        *out_score = (float)score - game->komi;
    return SP_OK;
}

int sp_game_random_move(const sp_game *game, sp_rng *rng, int *out_move)
{
    int rc = sp__check_game(game, "sp_game_random_move");
    if (rc)
        return rc;
    if (!rng || !out_move)
        return sp__error(SP_ERR_INVALID_ARG, "sp_game_random_move: %s is NULL", rng ? "out_move" : "rng");
    if (game->end != SP_END_NONE)
        return sp__error(SP_ERR_MISUSE, "sp_game_random_move: the game is over");
    sp__board b;
    sp__board_copy(&b, &game->board);
    const int color = b.to_play;
    uint64_t state = sp__rng_next(rng);
    /* Draw among the simply-legal candidates until one also passes superko. */
    for (;;) {
        int v = random_vertex(&b, &state, color);
        if (v == SP__NO_VERTEX) {
            *out_move = SP_PASS;
            return SP_OK;
        }
        int point = sp__point(&b, v);
        if (sp_game_is_legal(game, color, point)) {
            *out_move = point;
            return SP_OK;
        }
        /* Superko forbids it: drop it from the candidates and draw again. */
        sp__empty_remove(&b, v);
    }
}
