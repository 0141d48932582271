/* The game handle: a board plus the history that superko, undo and the
 * feature planes need, and the record information of SGF root properties. */
#ifndef SP_GO_GAME_INTERNAL_H
#define SP_GO_GAME_INTERNAL_H

#include "board.h"

/* Everything but the stones about the position after some number of moves. */
typedef struct sp__snapshot {
    uint64_t hash;
    int16_t ko, ko_color, passes, to_play;
    int32_t captures[3];
    int32_t most_stones; /* stones on the fullest board of positions 0..this one */
} sp__snapshot;

typedef struct sp__move {
    int8_t color;
    int16_t move; /* point, SP_PASS or SP_RESIGN */
} sp__move;

typedef struct sp__info {
    char *key;
    char *value;
} sp__info;

struct sp_game {
    sp__board board;
    float komi;
    int end;             /* sp_game_end */
    int n_moves;
    int capacity;        /* moves the history arrays can hold */
    sp__move *moves;     /* n_moves */
    sp__snapshot *snaps; /* n_moves + 1: snaps[i] is the position after i moves */
    uint8_t *boards;     /* (n_moves + 1) * size * size colours, as snaps */
    int n_info;
    sp__info *info;
};

/* The stones after `moves` moves (0 = the set-up position). */
static inline const uint8_t *sp__game_board_at(const sp_game *g, int moves)
{
    return g->boards + (size_t)moves * (size_t)(g->board.size * g->board.size);
}

/* Validation shared by every public entry point. */
int sp__check_game(const sp_game *g, const char *fn);
int sp__check_color(int color, const char *fn);

/* Copy src's position and history, not its record information, into dst,
 * reusing dst's buffers (any board size) and leaving room for one more move.
 * On failure dst holds no usable position: free it or copy into it again. */
int sp__game_copy_position(sp_game *dst, const sp_game *src);

/* Monte-Carlo ownership of g's current position (ownership_estimate.c):
 * `playouts` random playouts from it, played on even after the game ended,
 * each point to the colour holding it (stone or area) in more than half of
 * them, else SP_EMPTY; a function of (position, playouts, seed) only.
 * out has size*size bytes; playouts must be positive. */
void sp__game_ownership_estimate(const sp_game *g, uint32_t playouts, uint64_t seed, uint8_t *out);

void sp__info_free(sp_game *g);
int sp__info_copy(sp_game *dst, const sp_game *src);

#endif
