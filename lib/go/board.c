/* Board mechanics: placing stones, merging groups, captures, ko and the
 * Zobrist hash, all incremental and without allocation. */
#include <pthread.h>
#include <string.h>

#include "board_play.h"

uint64_t sp__zobrist[3][SP__MAX_VERTS];

/* The eye rule of sp__is_eye, evaluated by the compiler for all 256
 * diagonal patterns: d(i, k) is the k-th diagonal of pattern i. */
#define EYE_D(i, k) (((i) >> (2 * (k))) & 3)
#define EYE_OPPONENTS(i, c) \
    ((EYE_D(i, 0) == 3 - (c)) + (EYE_D(i, 1) == 3 - (c)) + (EYE_D(i, 2) == 3 - (c)) + (EYE_D(i, 3) == 3 - (c)))
#define EYE_AT_EDGE(i) \
    (EYE_D(i, 0) == SP__OFF || EYE_D(i, 1) == SP__OFF || EYE_D(i, 2) == SP__OFF || EYE_D(i, 3) == SP__OFF)
#define EYE_OK(i, c) (EYE_OPPONENTS(i, c) + EYE_AT_EDGE(i) < 2 ? (c) : 0)
#define EYE_1(i) (EYE_OK(i, SP_BLACK) | EYE_OK(i, SP_WHITE))
#define EYE_4(i) EYE_1(i), EYE_1((i) + 1), EYE_1((i) + 2), EYE_1((i) + 3)
#define EYE_16(i) EYE_4(i), EYE_4((i) + 4), EYE_4((i) + 8), EYE_4((i) + 12)
#define EYE_64(i) EYE_16(i), EYE_16((i) + 16), EYE_16((i) + 32), EYE_16((i) + 48)

const uint8_t sp__eye_diagonals[256] = { EYE_64(0), EYE_64(64), EYE_64(128), EYE_64(192) };

#define KEY_4(v) SP__LIB_KEY(v), SP__LIB_KEY((v) + 1), SP__LIB_KEY((v) + 2), SP__LIB_KEY((v) + 3)
#define KEY_16(v) KEY_4(v), KEY_4((v) + 4), KEY_4((v) + 8), KEY_4((v) + 12)
#define KEY_64(v) KEY_16(v), KEY_16((v) + 16), KEY_16((v) + 32), KEY_16((v) + 48)
#define KEY_256(v) KEY_64(v), KEY_64((v) + 64), KEY_64((v) + 128), KEY_64((v) + 192)

const uint64_t sp__lib_keys[512] = { KEY_256(0), KEY_256(256) };

static void zobrist_fill(void)
{
    struct sp_rng rng;
    sp__rng_seed(&rng, 0x5eed0f90ULL);
    for (int c = 1; c < 3; c++)
        for (int v = 0; v < SP__MAX_VERTS; v++)
            sp__zobrist[c][v] = sp__rng_next(&rng);
}

static void zobrist_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, zobrist_fill);
}

static int vertex_count(int size) { return (size + 2) * (size + 1) + 1; }

void sp__board_init(sp__board *b, int size)
{
    zobrist_init();
    b->size = size;
    b->stride = size + 1;
    b->to_play = SP_BLACK;
    b->ko = SP__NO_VERTEX;
    b->ko_color = SP_EMPTY;
    b->passes = 0;
    b->last_move = SP__NO_VERTEX;
    b->captures[0] = b->captures[1] = b->captures[2] = 0;
    b->n_empty = 0;
    b->hash = 0;
    int n = vertex_count(size);
    memset(b->color, SP__OFF, (size_t)n);
    memset(b->group, 0, (size_t)n * sizeof b->group[0]);
    for (int row = 0; row < size; row++)
        for (int col = 0; col < size; col++) {
            int v = (row + 1) * b->stride + col + 1;
            b->color[v] = SP_EMPTY;
            sp__empty_add(b, v);
        }
}

void sp__board_copy(sp__board *dst, const sp__board *src)
{
    size_t n = (size_t)vertex_count(src->size);
    memcpy(dst, src, offsetof(sp__board, color));
    memcpy(dst->color, src->color, n * sizeof src->color[0]);
    memcpy(dst->group, src->group, n * sizeof src->group[0]);
    memcpy(dst->next, src->next, n * sizeof src->next[0]);
    memcpy(dst->empty, src->empty, (size_t)src->n_empty * sizeof src->empty[0]);
    memcpy(dst->empty_pos, src->empty_pos, n * sizeof src->empty_pos[0]);
    memcpy(dst->groups, src->groups, n * sizeof src->groups[0]);
}

/* Remove the group rooted at r; returns the number of stones taken. Out
 * of line: captures are rare next to plain moves. */
int sp__board_capture(sp__board *b, int r, int keep_hash)
{
    const int s = b->stride;
    int color = b->color[r], count = 0;
    int v = r;
    do {
        int next = b->next[v];
        b->color[v] = SP_EMPTY;
        b->group[v] = 0;
        if (keep_hash)
            b->hash ^= sp__zobrist[color][v];
        sp__empty_add(b, v);
        const int nb[4] = { v - s, v - 1, v + 1, v + s };
        for (int k = 0; k < 4; k++)
            sp__lib_add(&b->groups[b->group[nb[k]]], v); /* scratch group 0 for non-stones */
        count++;
        v = next;
    } while (v != r);
    b->captures[color] += count;
    return count;
}

void sp__board_play(sp__board *b, int v, int color) { sp__board_play_inline(b, v, color, 1); }

void sp__board_pass(sp__board *b, int color)
{
    b->ko = SP__NO_VERTEX;
    b->ko_color = SP_EMPTY;
    b->passes++;
    b->last_move = SP__NO_VERTEX;
    b->to_play = sp__opponent(color);
}

uint64_t sp__board_hash_after(const sp__board *b, int v, int color)
{
    const int s = b->stride;
    const int nb[4] = { v - s, v - 1, v + 1, v + s };
    const int opp = sp__opponent(color);
    uint64_t h = b->hash ^ sp__zobrist[color][v];
    int taken[4], n_taken = 0;
    for (int k = 0; k < 4; k++) {
        if (b->color[nb[k]] != opp)
            continue;
        int r = b->group[nb[k]];
        if (!sp__group_in_atari(b, r))
            continue;
        int seen = 0;
        for (int j = 0; j < n_taken; j++)
            seen |= taken[j] == r;
        if (seen)
            continue;
        taken[n_taken++] = r;
        int u = r;
        do {
            h ^= sp__zobrist[opp][u];
            u = b->next[u];
        } while (u != r);
    }
    return h;
}

int sp__board_set_colors(sp__board *b, int size, const uint8_t *colors)
{
    sp__board_init(b, size);
    for (int p = 0; p < size * size; p++) {
        int c = colors[p];
        if (c != SP_BLACK && c != SP_WHITE)
            continue;
        int v = sp__vertex(b, p);
        /* Placing stones one by one would capture; build groups instead:
         * the new stone joins its neighbours' groups with plain pseudo-liberty
         * bookkeeping, and liberty-less groups are reported at the end. */
        const int s = b->stride;
        const int nb[4] = { v - s, v - 1, v + 1, v + s };
        b->color[v] = (uint8_t)c;
        b->group[v] = (uint16_t)v;
        b->next[v] = (uint16_t)v;
        sp__group *g = &b->groups[v];
        *g = (sp__group){ 0, 1 };
        sp__empty_remove(b, v);
        b->hash ^= sp__zobrist[c][v];
        for (int k = 0; k < 4; k++) {
            int nc = b->color[nb[k]];
            if (nc == SP_EMPTY)
                sp__lib_add(g, nb[k]);
            else if (nc != SP__OFF)
                sp__lib_remove(&b->groups[b->group[nb[k]]], v);
        }
        int root = v;
        for (int k = 0; k < 4; k++)
            if (b->color[nb[k]] == c && b->group[nb[k]] != root)
                root = sp__board_merge(b, root, b->group[nb[k]]);
    }
    for (int p = 0; p < size * size; p++) {
        int v = sp__vertex(b, p);
        if (b->color[v] != SP_EMPTY && b->groups[b->group[v]].libs == 0)
            return -1;
    }
    return 0;
}

/* Flood the empty region from v, mark it in `seen`, give its points the
 * colour that alone borders it (or none) in `owner`; returns its score. */
static int flood_region(const sp__board *b, int v, uint8_t *seen, uint16_t *stack, uint8_t *owner)
{
    const int s = b->stride;
    int top = 0, reach = 0;
    uint16_t region[SP__MAX_VERTS];
    int n_region = 0;
    stack[top++] = (uint16_t)v;
    seen[v] = 1;
    while (top > 0) {
        int u = stack[--top];
        region[n_region++] = (uint16_t)u;
        const int nb[4] = { u - s, u - 1, u + 1, u + s };
        for (int k = 0; k < 4; k++) {
            int nc = b->color[nb[k]];
            if (nc == SP_EMPTY) {
                if (!seen[nb[k]]) {
                    seen[nb[k]] = 1;
                    stack[top++] = (uint16_t)nb[k];
                }
            } else if (nc != SP__OFF) {
                reach |= nc;
            }
        }
    }
    int who = reach == SP_BLACK ? SP_BLACK : reach == SP_WHITE ? SP_WHITE : SP_EMPTY;
    for (int i = 0; i < n_region; i++)
        owner[sp__point(b, region[i])] = (uint8_t)who;
    return who == SP_EMPTY ? 0 : (who == SP_BLACK ? 1 : -1) * n_region;
}

int sp__board_area(const sp__board *b, uint8_t *owner)
{
    const int size = b->size, s = b->stride;
    uint16_t stack[SP__MAX_VERTS];
    uint8_t seen[SP__MAX_VERTS];
    memset(seen, 0, sizeof seen);
    int score = 0;
    /* Row by row, so that no point costs a division (sp__vertex). */
    for (int row = 0; row < size; row++)
        for (int col = 0; col < size; col++) {
            const int p = row * size + col, v = (row + 1) * s + col + 1;
            int c = b->color[v];
            if (c != SP_EMPTY) {
                owner[p] = (uint8_t)c;
                score += c == SP_BLACK ? 1 : -1;
                continue;
            }
            if (seen[v])
                continue;
            /* A point whose neighbours are all one colour (or border) is a
             * region of its own: after a playout that is most empty points. */
            int all = b->color[v - s] & b->color[v - 1] & b->color[v + 1] & b->color[v + s];
            if (all & (SP_BLACK | SP_WHITE)) {
                owner[p] = (uint8_t)(all & SP_BLACK ? SP_BLACK : SP_WHITE);
                score += all & SP_BLACK ? 1 : -1;
                continue;
            }
            score += flood_region(b, v, seen, stack, owner);
        }
    return score;
}
