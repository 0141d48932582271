/* Key files (.spk) of `sp-index embed`: the keys of dataset positions with
 * their position and game ids and the id of the embedder that made them, so
 * `sp-index build --keys` indexes them without embedding again. Written
 * under a temporary name and renamed; read back whole with every field,
 * size and CRC checked. Layout in docs/file-formats.md ("Key files"). */
#ifndef SP_INDEX_KEYS_FILE_H
#define SP_INDEX_KEYS_FILE_H

#include <stddef.h>
#include <stdint.h>

#define KEYS_FILE_VERSION 1u
#define KEYS_FILE_HEADER 64u

typedef struct keys_file {
    uint32_t dim;         /* floats per key */
    int32_t board_size;   /* board size of the positions */
    uint64_t count;       /* keys */
    uint64_t embedder_id; /* sp_embedder_id() of the embedder that made them */
    uint64_t *positions;  /* count position ids */
    uint32_t *games;      /* count game ids */
    float *keys;          /* count x dim floats */
} keys_file;

/* Write `k` to `path` (through PATH.tmp.PID.XXXXXX, flushed, synced and
 * renamed; on any failure the temporary is removed and `path` is left as it
 * was). Returns 0, or -1 with a message naming the file in `err`. */
int keys_file_write(const keys_file *k, const char *path, char *err, size_t err_size);

/* Read `path` whole into `out` (its arrays malloc'ed; keys_file_free()).
 * Refuses a foreign, truncated, oversized or corrupted file, or one of
 * another version or byte order. Returns 0, or -1 with a message naming the
 * file and what is wrong where in `err` (and `out` empty). */
int keys_file_read(keys_file *out, const char *path, char *err, size_t err_size);

/* Free the arrays of a keys_file read by keys_file_read(); zeroes it. */
void keys_file_free(keys_file *k);

/* The keys of given positions, looked up by position id: `keys` (n x dim)
 * and `games` (n; may be NULL) of positions[i] for every i. For sp-index
 * recall, whose exact index must hold the very keys the index was built
 * from. Returns 0, -1 with "out of memory" in `err`, or -1 naming the first
 * position the file lacks. */
int keys_file_lookup(const keys_file *k, const uint64_t *positions, uint64_t n, float *keys, uint32_t *games,
                     char *err, size_t err_size);

#endif
