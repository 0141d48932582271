/* The .spd dataset file (docs/file-formats.md): a 160-byte header with a
 * section table, then GAMES, MOVES, OWNERSHIP and TEXT, each 8-byte aligned
 * with its own CRC-32. The loader maps the file and checks every byte it
 * will later trust, so a corrupt file fails here and never in a reader. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/file.h"
#include "data_internal.h"

/* Version 2 (0.1) added the game flag SP_GAME_OWNERSHIP_MONTE_CARLO; a
 * version 1 file is read as it is, and rewritten as version 2 when saved. */
#define SPD_VERSION 2
#define SPD_ENDIAN 0x01020304u
#define SPD_HEADER 160
#define SPD_SECTIONS 4
#define SPD_CRC_AT 60

static const uint8_t spd_magic[8] = { 0x89, 'S', 'P', 'D', '\r', '\n', 0x1a, '\n' };

enum { SEC_GAMES = 1, SEC_MOVES = 2, SEC_OWNERS = 3, SEC_TEXT = 4 };

/* zlib's CRC-32 is the one core/file.h computes, only table-sliced and faster
 * on the tens of megabytes of a large dataset. zlib answers 0 for a NULL
 * buffer (its way to ask for the initial value), which would drop the CRC so
 * far when a loaded dataset with nothing appended (tail NULL) is saved. */
static uint32_t crc_of(uint32_t crc, const void *p, size_t n) { return n ? (uint32_t)crc32_z(crc, p, n) : crc; }

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static size_t align8(size_t n) { return (n + 7) & ~(size_t)7; }

int sp_dataset_save(const sp_dataset *ds, const char *path)
{
    if (!ds || !path)
        return sp__error(SP_ERR_INVALID_ARG, "sp_dataset_save: %s is NULL", ds ? "path" : "dataset");
    const sp__seg *segs[SPD_SECTIONS] = { &ds->games, &ds->moves, &ds->owners, &ds->text };
    uint8_t header[SPD_HEADER];
    memset(header, 0, sizeof header);
    memcpy(header, spd_magic, 8);
    put32(header + 8, SPD_VERSION);
    put32(header + 12, SPD_ENDIAN);
    put32(header + 16, (uint32_t)ds->size);
    put32(header + 20, (uint32_t)ds->move_width);
    put32(header + 24, (uint32_t)ds->own_bytes);
    put32(header + 28, SPD_SECTIONS);
    put64(header + 32, ds->n_games);
    put64(header + 40, ds->n_positions);
    size_t offset = SPD_HEADER;
    for (int i = 0; i < SPD_SECTIONS; i++) {
        const sp__seg *s = segs[i];
        uint8_t *e = header + 64 + 24 * i;
        uint32_t crc = crc_of(0, s->base, s->base_len);
        crc = crc_of(crc, s->tail, s->tail_len);
        offset = align8(offset);
        put32(e, (uint32_t)(i + 1));
        put32(e + 4, crc);
        put64(e + 8, offset);
        put64(e + 16, sp__seg_len(s));
        offset += sp__seg_len(s);
    }
    put32(header + SPD_CRC_AT, crc_of(0, header, sizeof header));
    sp__atomic_file f;
    int rc = sp__atomic_open(&f, path);
    if (rc)
        return rc;
    rc = sp__atomic_write(&f, header, sizeof header);
    offset = SPD_HEADER;
    static const uint8_t zeros[8];
    for (int i = 0; i < SPD_SECTIONS && !rc; i++) {
        const sp__seg *s = segs[i];
        rc = sp__atomic_write(&f, zeros, align8(offset) - offset);
        offset = align8(offset) + sp__seg_len(s);
        if (!rc && s->base_len)
            rc = sp__atomic_write(&f, s->base, s->base_len);
        if (!rc && s->tail_len)
            rc = sp__atomic_write(&f, s->tail, s->tail_len);
    }
    if (rc) {
        sp__atomic_abort(&f);
        return rc;
    }
    return sp__atomic_commit(&f);
}

#define BAD(...) sp__error(SP_ERR_FORMAT, __VA_ARGS__)

/* Every game record: contiguous moves, texts with their four NULs, enums and
 * flags in range (a Monte-Carlo estimate is an estimate, and version 2's). */
static int check_games(const sp_dataset *ds, const uint8_t *text, size_t text_len, uint32_t version)
{
    const unsigned max_flags = version >= 2 ? 15 : 7;
    uint64_t moves = 0, text_at = 0;
    for (uint64_t i = 0; i < ds->n_games; i++) {
        const sp__spd_game *g = sp__ds_game(ds, i);
        if (g->move_offset != moves || g->first_position != moves || g->moves == 0)
            return BAD("dataset game %llu: moves not where the index says", (unsigned long long)i);
        moves += g->moves;
        if (g->text_offset != text_at || g->text_length < SP__SPD_TEXTS || g->text_length > text_len - text_at)
            return BAD("dataset game %llu: texts out of bounds", (unsigned long long)i);
        int nuls = 0;
        for (uint32_t k = 0; k < g->text_length; k++)
            nuls += text[text_at + k] == 0;
        if (nuls != SP__SPD_TEXTS || text[text_at + g->text_length - 1] != 0)
            return BAD("dataset game %llu: malformed texts", (unsigned long long)i);
        text_at += g->text_length;
        if (g->result_kind >= SP_RESULT_KIND_COUNT || g->winner > SP_WHITE || g->flags > max_flags
            || ((g->flags & SP_GAME_OWNERSHIP_MONTE_CARLO) && !(g->flags & SP_GAME_OWNERSHIP_ESTIMATED))
            || (g->first_color != SP_BLACK && g->first_color != SP_WHITE) || g->reserved != 0
            || !isfinite(g->komi) || fabsf(g->komi) > 1000)
            return BAD("dataset game %llu: a field is out of range", (unsigned long long)i);
    }
    if (moves != ds->n_positions || text_at != text_len)
        return BAD("dataset: games and sections disagree on sizes");
    return SP_OK;
}

static int check_contents(const sp_dataset *ds)
{
    const uint8_t *m = ds->moves.base;
    size_t n = ds->moves.base_len;
    if (ds->move_width == 1) {
        for (size_t i = 0; i < n; i++)
            if (m[i] > ds->area)
                return BAD("dataset: move %zu is off the board", i);
    } else {
        for (size_t i = 0; i + 1 < n; i += 2)
            if ((m[i] | m[i + 1] << 8) > ds->area)
                return BAD("dataset: move %zu is off the board", i / 2);
    }
    for (uint64_t g = 0; g < ds->n_games; g++) {
        const uint8_t *o = ds->owners.base + g * ds->own_bytes;
        for (int p = 0; p < (int)ds->own_bytes * 4; p++) {
            int v = (o[p >> 2] >> ((p & 3) * 2)) & 3;
            if (v > SP_WHITE || (p >= ds->area && v))
                return BAD("dataset game %llu: bad ownership value", (unsigned long long)g);
        }
    }
    return SP_OK;
}

static int parse(sp_dataset *ds, const uint8_t *d, size_t length)
{
    if (length < SPD_HEADER)
        return BAD("dataset: %zu bytes, shorter than its header", length);
    if (memcmp(d, spd_magic, 8) != 0)
        return BAD("not a .spd dataset (bad magic)");
    uint8_t header[SPD_HEADER];
    memcpy(header, d, sizeof header);
    put32(header + SPD_CRC_AT, 0);
    uint32_t want = get32(d + SPD_CRC_AT);
    if (crc_of(0, header, sizeof header) != want) {
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
        return BAD("dataset: header checksum mismatch");
#endif
    }
    if (get32(d + 12) != SPD_ENDIAN)
        return get32(d + 12) == 0x04030201u
                   ? sp__error(SP_ERR_UNSUPPORTED, "dataset written on a machine of the other byte order")
                   : BAD("dataset: bad byte-order mark");
    uint32_t version = get32(d + 8);
    if (version == 0)
        return BAD("dataset: format version 0");
    if (version > SPD_VERSION)
        return sp__error(SP_ERR_VERSION, "dataset format version %u is newer than this library's %u", version,
                         SPD_VERSION);
    uint32_t size = get32(d + 16);
    if (size < SP_GO_MIN_SIZE || size > SP_GO_MAX_SIZE)
        return BAD("dataset: board size %u", size);
    sp__ds_init(ds, (int)size);
    if (get32(d + 20) != (uint32_t)ds->move_width || get32(d + 24) != ds->own_bytes
        || get32(d + 28) != SPD_SECTIONS || get32(d + 56) != 0 || get64(d + 48) != 0)
        return BAD("dataset: header fields disagree with the board size");
    ds->n_games = get64(d + 32);
    ds->n_positions = get64(d + 40);
    sp__seg *segs[SPD_SECTIONS] = { &ds->games, &ds->moves, &ds->owners, &ds->text };
    size_t end = SPD_HEADER;
    for (int i = 0; i < SPD_SECTIONS; i++) {
        const uint8_t *e = d + 64 + 24 * i;
        uint64_t off = get64(e + 8), len = get64(e + 16);
        if (get32(e) != (uint32_t)(i + 1) || off != align8(end) || off > length || len > length - off)
            return BAD("dataset: section %d out of place or cut off (file of %zu bytes)", i + 1, length);
        for (size_t k = end; k < off; k++)
            if (d[k])
                return BAD("dataset: padding before section %d is not zero", i + 1);
        if (crc_of(0, d + off, len) != get32(e + 4)) {
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
            return BAD("dataset: section %d checksum mismatch", i + 1);
#endif
        }
        segs[i]->base = d + off;
        segs[i]->base_len = len;
        end = off + len;
    }
    if (end != length)
        return BAD("dataset: %zu bytes after the last section", length - end);
    if (ds->n_games > length / sizeof(sp__spd_game) || ds->games.base_len != ds->n_games * sizeof(sp__spd_game)
        || ds->owners.base_len != ds->n_games * ds->own_bytes || ds->n_positions > length
        || ds->moves.base_len != ds->n_positions * (uint64_t)ds->move_width)
        return BAD("dataset: section sizes disagree with %llu games and %llu positions",
                   (unsigned long long)ds->n_games, (unsigned long long)ds->n_positions);
    int rc = check_games(ds, ds->text.base, ds->text.base_len, version);
    return rc ? rc : check_contents(ds);
}

int sp_dataset_load_memory(sp_dataset **out, const void *data, size_t length)
{
    if (!out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_dataset_load_memory: out is NULL");
    *out = NULL;
    if (!data && length)
        return sp__error(SP_ERR_INVALID_ARG, "sp_dataset_load_memory: data is NULL");
    if ((uintptr_t)data & 7)
        return sp__error(SP_ERR_INVALID_ARG, "sp_dataset_load_memory: data must be 8-byte aligned");
    sp_dataset *ds = calloc(1, sizeof *ds);
    if (!ds)
        return sp__error(SP_ERR_NOMEM, "out of memory loading a dataset");
    int rc = parse(ds, data, length);
    if (rc) {
        sp_dataset_free(ds);
        return rc;
    }
    *out = ds;
    return SP_OK;
}

int sp_dataset_load(sp_dataset **out, const char *path)
{
    if (!out || !path)
        return sp__error(SP_ERR_INVALID_ARG, "sp_dataset_load: %s is NULL", out ? "path" : "out");
    *out = NULL;
    const void *map;
    size_t length;
    int rc = sp__file_map(path, &map, &length);
    if (rc)
        return rc;
    if (length < SPD_HEADER) {
        sp__file_unmap(map, length);
        return BAD("%s: %zu bytes, shorter than a dataset header", path, length);
    }
    sp_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) {
        sp__file_unmap(map, length);
        return sp__error(SP_ERR_NOMEM, "out of memory loading %s", path);
    }
    rc = parse(ds, map, length);
    ds->map = map;
    ds->map_len = length;
    if (rc) {
        char detail[512];
        snprintf(detail, sizeof detail, "%s", sp_last_error());
        sp_dataset_free(ds);
        return sp__error(rc, "%s: %s", path, detail);
    }
    *out = ds;
    return SP_OK;
}
