/* The fast board under every Go function: stones, groups with pseudo-liberty
 * counts, the list of empty points, a Zobrist hash and simple ko. It knows
 * nothing of history or superko; game.c adds those. */
#ifndef SP_GO_BOARD_H
#define SP_GO_BOARD_H

#include <stdint.h>

#include "core/core_internal.h"
#include "semiparam/go.h"

/* Board vertices carry a border: rows 0 and size+1 are off the board, and
 * column 0 serves as the border on both sides (the stride is size + 1, so
 * the point right of the last column is the next row's column 0). */
#define SP__OFF 3
#define SP__MAX_STRIDE (SP_GO_MAX_SIZE + 1)
#define SP__MAX_VERTS ((SP_GO_MAX_SIZE + 2) * SP__MAX_STRIDE + 1)
#define SP__NO_VERTEX 0 /* vertex 0 is always border */
#if SP__MAX_VERTS > 512
#error "sp__lib_keys needs a row per vertex"
#endif

/* Per-group data, stored at the group's root vertex. Pseudo-liberties count
 * (stone, empty neighbour) pairs; with the sum and the sum of squares of
 * those liberty vertices, "exactly one distinct liberty" is
 * count * sum2 == sum * sum (every pseudo-liberty is the same vertex).
 * The three sums share one word, so that adding or removing a liberty, or
 * merging two groups, is one addition: the count in bits 0-10, the sum in
 * bits 11-30, the sum of squares from bit 31. On 19x19 a group has at most
 * 4 * 361 pseudo-liberties at vertices below 400, so no field can carry
 * into the next (and none goes below zero). */
#define SP__LIB_COUNT_BITS 11
#define SP__LIB_SUM_BITS 20
typedef struct sp__group {
    uint64_t libs;
    uint32_t stones;
} sp__group;

/* The word that one pseudo-liberty at vertex v adds to sp__group.libs
 * (sp__lib_keys[v]), tabled because every move needs five of them. */
#define SP__LIB_KEY(v) \
    (1 | (uint64_t)(v) << SP__LIB_COUNT_BITS | (uint64_t)(v) * (uint64_t)(v) << (SP__LIB_COUNT_BITS + SP__LIB_SUM_BITS))
extern const uint64_t sp__lib_keys[512];

static inline uint64_t sp__lib_key(int v) { return sp__lib_keys[v]; }

static inline int sp__lib_count(uint64_t libs) { return (int)(libs & ((1u << SP__LIB_COUNT_BITS) - 1)); }

typedef struct sp__board {
    int size;
    int stride;
    int to_play;
    int ko;            /* vertex where ko_color may not play, or SP__NO_VERTEX */
    int ko_color;
    int passes;        /* consecutive passes just played */
    int last_move;     /* vertex, or SP__NO_VERTEX for a pass / no move */
    int captures[3];   /* stones of each colour captured so far */
    int n_empty;
    uint64_t hash;
    uint8_t color[SP__MAX_VERTS];
    /* Root vertex of the stone's group; 0 on empty and border points, whose
     * groups[0] is scratch that absorbs updates meant only for stones. */
    uint16_t group[SP__MAX_VERTS];
    uint16_t next[SP__MAX_VERTS];    /* circular list of a group's stones */
    uint16_t empty[SP__MAX_VERTS];   /* the empty points, in any order */
    uint16_t empty_pos[SP__MAX_VERTS];
    sp__group groups[SP__MAX_VERTS];
} sp__board;

extern uint64_t sp__zobrist[3][SP__MAX_VERTS];

static inline int sp__opponent(int color) { return 3 - color; }

static inline int sp__vertex(const sp__board *b, int point)
{
    return (point / b->size + 1) * b->stride + point % b->size + 1;
}

static inline int sp__point(const sp__board *b, int vertex)
{
    return (vertex / b->stride - 1) * b->size + vertex % b->stride - 1;
}

void sp__board_init(sp__board *b, int size);
/* Rebuild a board from a size*size colour array (row-major, from the top).
 * Returns 0, or -1 when a group has no liberty. */
int sp__board_set_colors(sp__board *b, int size, const uint8_t *colors);
/* Copy only the part of the arrays a board of this size uses. */
void sp__board_copy(sp__board *dst, const sp__board *src);

static inline int sp__group_in_atari(const sp__board *b, int root)
{
    const uint64_t libs = b->groups[root].libs;
    const uint64_t sum = (libs >> SP__LIB_COUNT_BITS) & ((1u << SP__LIB_SUM_BITS) - 1);
    return (uint64_t)sp__lib_count(libs) * (libs >> (SP__LIB_COUNT_BITS + SP__LIB_SUM_BITS)) == sum * sum;
}

/* Does neighbour n leave a stone of `color` at an empty vertex a liberty?
 * Yes when n is empty, an own group with a liberty besides the new stone's
 * point (not in atari), or an opponent group the stone captures (in atari). */
static inline int sp__gives_liberty(const sp__board *b, int n, int color)
{
    int c = b->color[n];
    if (c == SP_EMPTY)
        return 1;
    if (c == SP__OFF)
        return 0;
    return (c == color) != sp__group_in_atari(b, b->group[n]);
}

/* Empty vertex v: would a stone of `color` there have no liberty after captures? */
static inline int sp__is_suicide(const sp__board *b, int v, int color)
{
    const int s = b->stride;
    return !(sp__gives_liberty(b, v - s, color) || sp__gives_liberty(b, v - 1, color)
             || sp__gives_liberty(b, v + 1, color) || sp__gives_liberty(b, v + s, color));
}

/* For each pattern of the four diagonal colours (two bits each, as
 * sp__is_eye packs them), bit `color` is set when those diagonals let a
 * point enclosed by `color` be an eye: at most one opponent diagonal in the
 * middle of the board, none at the edge. A table because the direct count
 * costs about forty instructions and the playout asks on every eye-shaped
 * candidate. */
extern const uint8_t sp__eye_diagonals[256];

/* Single-point eye of `color` at empty vertex v (see sp_game_is_eye()).
 * With EMPTY=0, BLACK=1, WHITE=2 and OFF=3, a neighbour is own-or-border
 * exactly when it shares the colour's bit. */
static inline int sp__is_eye(const sp__board *b, int v, int color)
{
    const int s = b->stride;
    const uint8_t *col = b->color;
    if (!(col[v - s] & col[v - 1] & col[v + 1] & col[v + s] & color))
        return 0;
    int diagonals = col[v - s - 1] | col[v - s + 1] << 2 | col[v + s - 1] << 4 | col[v + s + 1] << 6;
    return (sp__eye_diagonals[diagonals] & color) != 0;
}

/* Plain legality on this board: empty, not the simple-ko point, not suicide. */
static inline int sp__is_legal_simple(const sp__board *b, int v, int color)
{
    return b->color[v] == SP_EMPTY && !(v == b->ko && color == b->ko_color)
           && !sp__is_suicide(b, v, color);
}

/* Hash of the board after `color` plays at empty vertex v (captures applied). */
uint64_t sp__board_hash_after(const sp__board *b, int v, int color);

/* Put a stone of `color` at v, which must satisfy sp__is_legal_simple();
 * removes captured groups, updates ko, hash and the side to move. */
void sp__board_play(sp__board *b, int v, int color);

/* A pass by `color`: clears ko, counts passes, hands the move over. */
void sp__board_pass(sp__board *b, int color);

/* Tromp-Taylor area ownership into owner[size*size] and the score
 * (Black minus White, komi not included). */
int sp__board_area(const sp__board *b, uint8_t *owner);

/* Play `b` out at random to two passes (or max_moves), never filling the
 * mover's own single-point eyes (playout.c); the area ownership into
 * owner[size*size], the area score returned. b's hash goes stale. */
int sp__board_playout(sp__board *b, sp_rng *rng, int max_moves, uint8_t *owner);

#endif
