/* Placing a stone, as an inline function: the playout loop takes its own
 * copy without the Zobrist hash (a playout's board is thrown away after
 * scoring) and without a call per move; board.c wraps the full version. */
#ifndef SP_GO_BOARD_PLAY_H
#define SP_GO_BOARD_PLAY_H

#include "board.h"

static inline void sp__empty_add(sp__board *b, int v)
{
    b->empty_pos[v] = (uint16_t)b->n_empty;
    b->empty[b->n_empty++] = (uint16_t)v;
}

static inline void sp__empty_remove(sp__board *b, int v)
{
    int last = b->empty[--b->n_empty];
    int pos = b->empty_pos[v];
    b->empty[pos] = (uint16_t)last;
    b->empty_pos[last] = (uint16_t)pos;
}

static inline void sp__lib_add(sp__group *g, int v) { g->libs += sp__lib_key(v); }

static inline void sp__lib_remove(sp__group *g, int v) { g->libs -= sp__lib_key(v); }

/* Join the groups rooted at a and r; the larger keeps its root. */
static inline int sp__board_merge(sp__board *b, int a, int r)
{
    /* A conditional swap rather than a branch: which group is larger is a
     * coin toss in random play. */
    const int swap = -(b->groups[a].stones < b->groups[r].stones);
    const int big = a ^ ((a ^ r) & swap), small = r ^ ((a ^ r) & swap);
    int v = small;
    do {
        b->group[v] = (uint16_t)big;
        v = b->next[v];
    } while (v != small);
    uint16_t t = b->next[big];
    b->next[big] = b->next[small];
    b->next[small] = t;
    sp__group *gb = &b->groups[big];
    const sp__group *gs = &b->groups[small];
    gb->libs += gs->libs;
    gb->stones += gs->stones;
    return big;
}

/* Remove the group rooted at r, updating the hash when keep_hash is set;
 * returns the number of stones taken. */
int sp__board_capture(sp__board *b, int r, int keep_hash);

/* sp__board_play(), with the hash updated only when keep_hash is set (a
 * constant at every call, so each copy keeps only its own branch). */
static inline void sp__board_play_inline(sp__board *b, int v, int color, int keep_hash)
{
    const int s = b->stride;
    const int nb[4] = { v - s, v - 1, v + 1, v + s };
    const int opp = sp__opponent(color);

    b->color[v] = (uint8_t)color;
    b->group[v] = (uint16_t)v;
    b->next[v] = (uint16_t)v;
    b->groups[v] = (sp__group){ 0, 1 };
    sp__empty_remove(b, v);
    if (keep_hash)
        b->hash ^= sp__zobrist[color][v];

    /* Random play makes every neighbour's colour a coin toss, so the
     * bookkeeping every neighbour needs runs without branches: empty and
     * border points belong to the scratch group 0 (see sp__board), which
     * absorbs the liberty removals meant only for stones. An enemy group
     * is taken when its last adjacency to v leaves it no pseudo-liberty, so
     * it is marked once however often it touches v. Merges and captures
     * then visit just the neighbours that need them. */
    const uint64_t key = sp__lib_key(v);
    uint64_t libs = 0;
    unsigned own = 0, dead = 0;
    for (int k = 0; k < 4; k++) {
        const int n = nb[k], c = b->color[n];
        libs += sp__lib_key(n) & -(uint64_t)(c == SP_EMPTY);
        const uint64_t left = b->groups[b->group[n]].libs -= key;
        own |= (unsigned)(c == color) << k;
        dead |= (unsigned)((c == opp) & (left == 0)) << k;
    }
    b->groups[v].libs = libs;

    int root = v;
    for (; own; own &= own - 1) {
        const int r = b->group[nb[__builtin_ctz(own)]];
        if (r != root)
            root = sp__board_merge(b, root, r);
    }

    int captured = 0, ko = SP__NO_VERTEX;
    for (; dead; dead &= dead - 1) {
        const int r = b->group[nb[__builtin_ctz(dead)]];
        if (b->groups[r].stones == 1)
            ko = r;
        captured += sp__board_capture(b, r, keep_hash);
    }

    const sp__group *mine = &b->groups[root];
    if (captured == 1 && mine->stones == 1 && sp__lib_count(mine->libs) == 1) {
        b->ko = ko;
        b->ko_color = opp;
    } else {
        b->ko = SP__NO_VERTEX;
        b->ko_color = SP_EMPTY;
    }
    b->passes = 0;
    b->last_move = v;
    b->to_play = opp;
}

#endif
