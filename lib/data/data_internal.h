/* The dataset handle shared by the data module's files: game records laid out
 * as in the .spd file, each array a mapped base plus an in-memory tail, so a
 * loaded file takes appended games without being copied. */
#ifndef SP_DATA_INTERNAL_H
#define SP_DATA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/core_internal.h"
#include "semiparam/dataset.h"

/* One game as stored in the GAMES section (little-endian, 64 bytes). */
typedef struct sp__spd_game {
    uint64_t move_offset;    /* index of its first move in MOVES (entries, not bytes) */
    uint64_t first_position;
    uint64_t key;            /* hash of the move sequence */
    uint64_t text_offset;    /* its texts in TEXT: PB, PW, DT, source, each NUL-terminated */
    uint32_t moves;
    uint32_t text_length;
    float komi;
    float margin;
    float black_rating;
    float white_rating;
    uint8_t result_kind;
    uint8_t winner;
    uint8_t flags;
    uint8_t first_color;
    uint32_t reserved;
} sp__spd_game;

_Static_assert(sizeof(sp__spd_game) == 64, "game records are 64 bytes in the file");

#define SP__SPD_TEXTS 4

/* A byte array: a read-only base (mapped file or NULL) and a growable tail. */
typedef struct sp__seg {
    const uint8_t *base;
    size_t base_len;
    uint8_t *tail;
    size_t tail_len, tail_cap;
} sp__seg;

static inline const uint8_t *sp__seg_at(const sp__seg *s, size_t offset)
{
    return offset < s->base_len ? s->base + offset : s->tail + (offset - s->base_len);
}

static inline size_t sp__seg_len(const sp__seg *s) { return s->base_len + s->tail_len; }

int sp__seg_append(sp__seg *s, const void *data, size_t length);

struct sp_dataset {
    int size;          /* board size */
    int area;          /* size * size; the pass action */
    int move_width;    /* bytes per stored action: 1 when area + 1 fits a byte, else 2 */
    size_t own_bytes;  /* bytes of a game's packed ownership: 2 bits a point */
    uint64_t n_games, n_positions;
    sp__seg games, moves, owners, text;
    const void *map;   /* the mapped file, or NULL */
    size_t map_len;
    uint64_t *dedup;   /* open addressing: game id + 1, 0 = empty */
    size_t dedup_cap, dedup_n;
};

static inline const sp__spd_game *sp__ds_game(const sp_dataset *ds, uint64_t game)
{
    return (const sp__spd_game *)sp__seg_at(&ds->games, (size_t)game * sizeof(sp__spd_game));
}

static inline int sp__ds_move(const sp_dataset *ds, uint64_t index)
{
    const uint8_t *p = sp__seg_at(&ds->moves, (size_t)index * (size_t)ds->move_width);
    return ds->move_width == 1 ? p[0] : p[0] | p[1] << 8;
}

static inline int sp__ds_owner(const sp_dataset *ds, uint64_t game, int point)
{
    const uint8_t *p = sp__seg_at(&ds->owners, (size_t)game * ds->own_bytes);
    return (p[point >> 2] >> ((point & 3) * 2)) & 3;
}

/* Whether a game passes a rating filter: its weaker player rated at least
 * min_rating (both ratings present), or no filter (min_rating <= 0). The
 * import, the sampler and the evaluation share this one reading. */
static inline int sp__game_rated(const sp__spd_game *g, float min_rating)
{
    if (min_rating <= 0)
        return 1;
    /* NaN (a rating missing) fails both comparisons. */
    return g->black_rating >= min_rating && g->white_rating >= min_rating;
}

/* The sampler's position in its stream: the number of the next batch. A
 * checkpoint stores it; setting it back makes the next batch the one an
 * uninterrupted run would have drawn. */
uint64_t sp__sampler_batch_no(const sp_sampler *s);
void sp__sampler_set_batch_no(sp_sampler *s, uint64_t batch_no);

/* Rows [first_row, first_row + b->size) of the current batch, as
 * sp_sampler_next() would draw them at those rows, into rows 0.. of b; the
 * batch number does not move (the caller advances it). Slices of one batch
 * drawn this way make up the whole batch exactly: micro-batches, and the
 * shares of data-parallel replicas. */
int sp__sampler_draw_rows(sp_sampler *s, sp_batch *b, int64_t first_row);

/* A fresh dataset of this board size with nothing in it. */
int sp__ds_init(sp_dataset *ds, int size);

/* Append a game record whose moves (actions, area = pass) are given; fills
 * move_offset, first_position, text and ownership. */
int sp__ds_append(sp_dataset *ds, sp__spd_game *rec, const int32_t *moves, const uint8_t *ownership,
                  const char *const texts[SP__SPD_TEXTS]);

/* Hash of a move sequence (the dedup and split key). */
uint64_t sp__moves_key(int size, const int32_t *moves, size_t n);

/* Id of a game with exactly these moves, or -1. Builds the table on first use. */
int sp__ds_find(sp_dataset *ds, uint64_t key, const int32_t *moves, size_t n, int64_t *out_game);

/* Game holding position p (p < n_positions). */
uint64_t sp__ds_game_of(const sp_dataset *ds, uint64_t position);

/* Replay a game's first `moves` moves into an existing game handle. */
int sp__ds_replay_into(const sp_dataset *ds, uint64_t game, int moves, sp_game *g);

/* Split decisions (split.c): options checked and defaulted, a game's part
 * from its key, whether move `move` of a game is kept, part membership. */
int sp__split_options(const sp_split_options *opts, sp_split_options *o, const char *fn);
int sp__split_part(uint64_t key, uint64_t game, const sp_split_options *o);
int sp__split_kept(uint64_t key, uint32_t move, const sp_split_options *o);
int sp__split_in_part(int game_part, int part);
/* The retrieval half (0 or 1) of game `game` of a dataset: the one definition
 * the split, the retriever (sp_retriever_game_half) and the neighbour
 * pre-computation share. It hashes the game id because a retriever knows its
 * keys' games only by id; .spi files depend on it, so it never changes. */
uint32_t sp__game_half(uint64_t game);
/* Count (out NULL) or list the kept positions of a part. */
int sp__ds_part_positions(const sp_dataset *ds, int part, const sp_split_options *o, uint64_t *out,
                          size_t capacity, size_t *count);

/* Replay a game to before move t on the bare board, keeping the colours of
 * positions t, t-1, ..., t-keep+1 (those that exist): position m goes to
 * ring + (m % keep) * area. SP_ERR_FORMAT when a stored move is illegal. */
int sp__ds_replay_boards(const sp_dataset *ds, uint64_t game, uint32_t t, int keep, uint8_t *ring);

/* The planes of sp_game_planes() for position t of a game (history H,
 * sp_go_plane_count(H) planes), each point p written at map[p] (a board
 * symmetry; NULL for none); ring holds H * area bytes of scratch. The one
 * definition the sampler and the evaluation (lib/train) share. */
int sp__ds_position_planes(const sp_dataset *ds, uint64_t game, uint32_t t, int history, const int *map,
                           uint8_t *ring, float *planes);

/* Streams of decompressed bytes from a plain, gzip or xz file. */
typedef struct sp__stream sp__stream;
int sp__stream_open(sp__stream **out, const char *path);
/* Up to cap bytes into buf; *out_n = 0 at the end. */
int sp__stream_read(sp__stream *s, void *buf, size_t cap, size_t *out_n);
/* Compressed bytes consumed so far and the file's size. */
void sp__stream_position(const sp__stream *s, uint64_t *done, uint64_t *total);
void sp__stream_close(sp__stream *s);

#endif
