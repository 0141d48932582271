/* Board mechanics: placing stones, merging groups, captures, ko and the
 * Zobrist hash, all incremental and without allocation. */
#include <pthread.h>
#include <string.h>

#include "board.h"

uint64_t sp__zobrist[3][SP__MAX_VERTS];

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

static inline void empty_add(sp__board *b, int v)
{
    b->empty_pos[v] = (uint16_t)b->n_empty;
    b->empty[b->n_empty++] = (uint16_t)v;
}

static inline void empty_remove(sp__board *b, int v)
{
    int last = b->empty[--b->n_empty];
    int pos = b->empty_pos[v];
    b->empty[pos] = (uint16_t)last;
    b->empty_pos[last] = (uint16_t)pos;
}

static inline void lib_add(sp__group *g, int v)
{
    g->libs++;
    g->lib_sum += (uint32_t)v;
    g->lib_sum2 += (uint32_t)(v * v);
}

static inline void lib_remove(sp__group *g, int v)
{
    g->libs--;
    g->lib_sum -= (uint32_t)v;
    g->lib_sum2 -= (uint32_t)(v * v);
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
    for (int row = 0; row < size; row++)
        for (int col = 0; col < size; col++) {
            int v = (row + 1) * b->stride + col + 1;
            b->color[v] = SP_EMPTY;
            empty_add(b, v);
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

/* Join the groups rooted at a and b; the larger keeps its root. */
static int merge(sp__board *b, int a, int r)
{
    if (b->groups[a].stones < b->groups[r].stones) {
        int t = a;
        a = r;
        r = t;
    }
    int v = r;
    do {
        b->group[v] = (uint16_t)a;
        v = b->next[v];
    } while (v != r);
    uint16_t t = b->next[a];
    b->next[a] = b->next[r];
    b->next[r] = t;
    sp__group *ga = &b->groups[a];
    const sp__group *gr = &b->groups[r];
    ga->libs += gr->libs;
    ga->stones += gr->stones;
    ga->lib_sum += gr->lib_sum;
    ga->lib_sum2 += gr->lib_sum2;
    return a;
}

/* Remove the group rooted at r; returns the number of stones taken. */
static int capture(sp__board *b, int r)
{
    const int s = b->stride;
    int color = b->color[r], count = 0;
    int v = r;
    do {
        int next = b->next[v];
        b->color[v] = SP_EMPTY;
        b->hash ^= sp__zobrist[color][v];
        empty_add(b, v);
        const int nb[4] = { v - s, v - 1, v + 1, v + s };
        for (int k = 0; k < 4; k++) {
            int c = b->color[nb[k]];
            if (c == SP_BLACK || c == SP_WHITE)
                lib_add(&b->groups[b->group[nb[k]]], v);
        }
        count++;
        v = next;
    } while (v != r);
    b->captures[color] += count;
    return count;
}

void sp__board_play(sp__board *b, int v, int color)
{
    const int s = b->stride;
    const int nb[4] = { v - s, v - 1, v + 1, v + s };
    const int opp = sp__opponent(color);

    b->color[v] = (uint8_t)color;
    b->group[v] = (uint16_t)v;
    b->next[v] = (uint16_t)v;
    b->groups[v] = (sp__group){ 0, 1, 0, 0 };
    empty_remove(b, v);
    b->hash ^= sp__zobrist[color][v];

    /* One pass over the neighbours: liberties, merges, and the opponent
     * groups left without liberty. Captures wait until the pass is over, so
     * that a captured neighbour is not also counted as an empty one. */
    int root = v, dead[4], n_dead = 0;
    for (int k = 0; k < 4; k++) {
        int n = nb[k], c = b->color[n];
        if (c == SP_EMPTY) {
            lib_add(&b->groups[root], n);
            continue;
        }
        if (c == SP__OFF)
            continue;
        int r = b->group[n];
        lib_remove(&b->groups[r], v);
        if (c == color) {
            if (r != root)
                root = merge(b, root, r);
        } else if (b->groups[r].libs == 0) {
            /* Reached only at the group's last adjacency to v: listed once. */
            dead[n_dead++] = r;
        }
    }

    int captured = 0, ko = SP__NO_VERTEX;
    for (int i = 0; i < n_dead; i++) {
        if (b->groups[dead[i]].stones == 1)
            ko = dead[i];
        captured += capture(b, dead[i]);
    }

    const sp__group *mine = &b->groups[root];
    if (captured == 1 && mine->stones == 1 && mine->libs == 1) {
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
        *g = (sp__group){ 0, 1, 0, 0 };
        empty_remove(b, v);
        b->hash ^= sp__zobrist[c][v];
        for (int k = 0; k < 4; k++) {
            int nc = b->color[nb[k]];
            if (nc == SP_EMPTY)
                lib_add(g, nb[k]);
            else if (nc != SP__OFF)
                lib_remove(&b->groups[b->group[nb[k]]], v);
        }
        int root = v;
        for (int k = 0; k < 4; k++)
            if (b->color[nb[k]] == c && b->group[nb[k]] != root)
                root = merge(b, root, b->group[nb[k]]);
    }
    for (int p = 0; p < size * size; p++) {
        int v = sp__vertex(b, p);
        if (b->color[v] != SP_EMPTY && b->groups[b->group[v]].libs == 0)
            return -1;
    }
    return 0;
}

int sp__board_area(const sp__board *b, uint8_t *owner)
{
    const int size = b->size, s = b->stride;
    uint16_t stack[SP__MAX_VERTS];
    uint8_t seen[SP__MAX_VERTS];
    memset(seen, 0, sizeof seen);
    int score = 0;
    for (int p = 0; p < size * size; p++) {
        int v = sp__vertex(b, p);
        int c = b->color[v];
        if (c != SP_EMPTY) {
            owner[p] = (uint8_t)c;
            score += c == SP_BLACK ? 1 : -1;
            continue;
        }
        if (seen[v])
            continue;
        /* A point whose neighbours are all one colour (or border) is a region
         * of its own: after a playout that is most empty points. */
        int all = b->color[v - s] & b->color[v - 1] & b->color[v + 1] & b->color[v + s];
        if (all & (SP_BLACK | SP_WHITE)) {
            owner[p] = (uint8_t)(all & SP_BLACK ? SP_BLACK : SP_WHITE);
            score += all & SP_BLACK ? 1 : -1;
            continue;
        }
        /* Flood the empty region from v; note which colours it reaches. */
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
        if (who != SP_EMPTY)
            score += (who == SP_BLACK ? 1 : -1) * n_region;
    }
    return score;
}
