/* The dataset in memory: appending games, deduplication by move sequence,
 * and the read accessors every other part of the module builds on. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "data_internal.h"
#include "go/game_internal.h"

int sp__seg_append(sp__seg *s, const void *data, size_t length)
{
    if (s->tail_len + length > s->tail_cap) {
        size_t cap = s->tail_cap ? s->tail_cap : 4096;
        while (cap < s->tail_len + length)
            cap *= 2;
        uint8_t *p = realloc(s->tail, cap);
        if (!p)
            return sp__error(SP_ERR_NOMEM, "out of memory growing a dataset to %zu bytes", cap);
        s->tail = p;
        s->tail_cap = cap;
    }
    if (length)
        memcpy(s->tail + s->tail_len, data, length);
    s->tail_len += length;
    return SP_OK;
}

int sp__ds_init(sp_dataset *ds, int size)
{
    memset(ds, 0, sizeof *ds);
    ds->size = size;
    ds->area = size * size;
    ds->move_width = ds->area + 1 <= 255 ? 1 : 2;
    ds->own_bytes = (size_t)(ds->area + 3) / 4;
    return SP_OK;
}

int sp_dataset_create(sp_dataset **out, int board_size)
{
    if (!out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_dataset_create: out is NULL");
    *out = NULL;
    if (board_size < SP_GO_MIN_SIZE || board_size > SP_GO_MAX_SIZE)
        return sp__error(SP_ERR_INVALID_ARG, "sp_dataset_create: board size %d is not in %d..%d", board_size,
                         SP_GO_MIN_SIZE, SP_GO_MAX_SIZE);
    sp_dataset *ds = malloc(sizeof *ds);
    if (!ds)
        return sp__error(SP_ERR_NOMEM, "out of memory creating a dataset");
    sp__ds_init(ds, board_size);
    *out = ds;
    return SP_OK;
}

void sp_dataset_free(sp_dataset *ds)
{
    if (!ds)
        return;
    free(ds->games.tail);
    free(ds->moves.tail);
    free(ds->owners.tail);
    free(ds->text.tail);
    free(ds->dedup);
    sp__file_unmap(ds->map, ds->map_len);
    free(ds);
}

uint64_t sp__moves_key(int size, const int32_t *moves, size_t n)
{
    uint64_t h = sp__mix64((uint64_t)size * 0x100000001b3ull + n);
    for (size_t i = 0; i < n; i++)
        h = sp__mix64(h ^ (uint64_t)(uint32_t)moves[i]);
    return h;
}

static int same_moves(const sp_dataset *ds, uint64_t game, const int32_t *moves, size_t n)
{
    const sp__spd_game *g = sp__ds_game(ds, game);
    if (g->moves != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (sp__ds_move(ds, g->move_offset + i) != moves[i])
            return 0;
    return 1;
}

static int dedup_insert(sp_dataset *ds, uint64_t game)
{
    if ((ds->dedup_n + 1) * 2 > ds->dedup_cap) {
        size_t cap = ds->dedup_cap ? ds->dedup_cap * 2 : 1024;
        uint64_t *t = calloc(cap, sizeof *t);
        if (!t)
            return sp__error(SP_ERR_NOMEM, "out of memory growing the duplicate table");
        for (size_t i = 0; i < ds->dedup_cap; i++) {
            if (!ds->dedup[i])
                continue;
            size_t j = sp__ds_game(ds, ds->dedup[i] - 1)->key & (cap - 1);
            while (t[j])
                j = (j + 1) & (cap - 1);
            t[j] = ds->dedup[i];
        }
        free(ds->dedup);
        ds->dedup = t;
        ds->dedup_cap = cap;
    }
    size_t j = sp__ds_game(ds, game)->key & (ds->dedup_cap - 1);
    while (ds->dedup[j])
        j = (j + 1) & (ds->dedup_cap - 1);
    ds->dedup[j] = game + 1;
    ds->dedup_n++;
    return SP_OK;
}

int sp__ds_find(sp_dataset *ds, uint64_t key, const int32_t *moves, size_t n, int64_t *out_game)
{
    *out_game = -1;
    while (ds->dedup_n < ds->n_games) { /* games loaded from a file, or added without dedup */
        int rc = dedup_insert(ds, ds->dedup_n);
        if (rc)
            return rc;
    }
    if (!ds->dedup_cap)
        return SP_OK;
    for (size_t j = key & (ds->dedup_cap - 1); ds->dedup[j]; j = (j + 1) & (ds->dedup_cap - 1)) {
        uint64_t game = ds->dedup[j] - 1;
        if (sp__ds_game(ds, game)->key == key && same_moves(ds, game, moves, n)) {
            *out_game = (int64_t)game;
            return SP_OK;
        }
    }
    return SP_OK;
}

int sp__ds_append(sp_dataset *ds, sp__spd_game *rec, const int32_t *moves, const uint8_t *ownership,
                  const char *const texts[SP__SPD_TEXTS])
{
    uint8_t packed[(SP_GO_MAX_SIZE * SP_GO_MAX_SIZE + 3) / 4];
    memset(packed, 0, sizeof packed);
    for (int p = 0; p < ds->area; p++)
        packed[p >> 2] |= (uint8_t)((ownership[p] & 3) << ((p & 3) * 2));
    rec->move_offset = sp__seg_len(&ds->moves) / (size_t)ds->move_width;
    rec->first_position = ds->n_positions;
    rec->text_offset = sp__seg_len(&ds->text);
    rec->text_length = 0;
    rec->reserved = 0;
    size_t text_mark = ds->text.tail_len, move_mark = ds->moves.tail_len, own_mark = ds->owners.tail_len;
    int rc = SP_OK;
    for (int i = 0; i < SP__SPD_TEXTS && !rc; i++) {
        const char *t = texts[i] ? texts[i] : "";
        size_t n = strnlen(t, 4096); /* long texts are cut: they are labels, not data */
        rc = sp__seg_append(&ds->text, t, n);
        if (!rc)
            rc = sp__seg_append(&ds->text, "", 1);
        rec->text_length += (uint32_t)n + 1;
    }
    for (uint32_t i = 0; i < rec->moves && !rc; i++) {
        uint8_t b[2] = { (uint8_t)(moves[i] & 0xff), (uint8_t)(moves[i] >> 8) };
        rc = sp__seg_append(&ds->moves, b, (size_t)ds->move_width);
    }
    if (!rc)
        rc = sp__seg_append(&ds->owners, packed, ds->own_bytes);
    if (!rc)
        rc = sp__seg_append(&ds->games, rec, sizeof *rec);
    if (rc) { /* leave the dataset as it was */
        ds->text.tail_len = text_mark;
        ds->moves.tail_len = move_mark;
        ds->owners.tail_len = own_mark;
        return rc;
    }
    ds->n_games++;
    ds->n_positions += rec->moves;
    if (ds->dedup_n + 1 == ds->n_games && ds->dedup_cap)
        return dedup_insert(ds, ds->n_games - 1);
    return SP_OK;
}

uint64_t sp__ds_game_of(const sp_dataset *ds, uint64_t position)
{
    uint64_t lo = 0, hi = ds->n_games; /* the last game whose first position <= position */
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (sp__ds_game(ds, mid)->first_position <= position)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

int sp_dataset_board_size(const sp_dataset *ds) { return ds ? ds->size : 0; }
uint64_t sp_dataset_game_count(const sp_dataset *ds) { return ds ? ds->n_games : 0; }
uint64_t sp_dataset_position_count(const sp_dataset *ds) { return ds ? ds->n_positions : 0; }

static int check_game(const sp_dataset *ds, uint64_t game, const char *fn)
{
    if (!ds)
        return sp__error(SP_ERR_INVALID_ARG, "%s: dataset is NULL", fn);
    if (game >= ds->n_games)
        return sp__error(SP_ERR_INVALID_ARG, "%s: game %llu is not in 0..%llu", fn, (unsigned long long)game,
                         (unsigned long long)ds->n_games);
    return SP_OK;
}

static const sp_dataset_game_info game_info_zero = { SP_DATASET_GAME_INFO_VERSION, 0, 0, 0, 0, 0.0f, 0.0f, 0.0f, 0.0f,
                                                      0, 0, 0 };
static const sp__options_type game_info_type = { "sp_dataset_game_info", SP_DATASET_GAME_INFO_VERSION,
                                                 sizeof(sp_dataset_game_info), &game_info_zero, { 0 } };

int sp_dataset_game_info_get(const sp_dataset *ds, uint64_t game, sp_dataset_game_info *caller_out)
{
    int rc = check_game(ds, game, "sp_dataset_game_info_get");
    if (rc)
        return rc;
    if (!caller_out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_dataset_game_info_get: out is NULL");
    /* Filled whole here, handed back as far as the caller's version goes
     * (sp__options_write checks that version). */
    sp_dataset_game_info info, *out = &info;
    const sp__spd_game *g = sp__ds_game(ds, game);
    out->moves = g->moves;
    out->first_position = g->first_position;
    out->result_kind = g->result_kind;
    out->winner = g->winner;
    out->margin = g->margin;
    out->komi = g->komi;
    out->black_rating = g->black_rating;
    out->white_rating = g->white_rating;
    out->flags = g->flags;
    out->first_color = g->first_color;
    out->key = g->key;
    return sp__options_write(caller_out, out, &game_info_type, "sp_dataset_game_info_get");
}

int sp_dataset_game_text(const sp_dataset *ds, uint64_t game, int field, char *buf, size_t capacity)
{
    int rc = check_game(ds, game, "sp_dataset_game_text");
    if (rc)
        return rc;
    if (field < 0 || field >= SP__SPD_TEXTS || !buf)
        return sp__error(SP_ERR_INVALID_ARG, "sp_dataset_game_text: %s", buf ? "unknown field" : "buf is NULL");
    const sp__spd_game *g = sp__ds_game(ds, game);
    const char *t = (const char *)sp__seg_at(&ds->text, g->text_offset);
    for (int i = 0; i < field; i++) /* the loader checked the NULs are there */
        t += strlen(t) + 1;
    size_t n = strlen(t);
    if (n + 1 > capacity)
        return sp__error(SP_ERR_BUFFER_TOO_SMALL, "sp_dataset_game_text: needs %zu bytes", n + 1);
    memcpy(buf, t, n + 1);
    return SP_OK;
}

int sp_dataset_game_moves(const sp_dataset *ds, uint64_t game, int32_t *out, size_t capacity, size_t *out_count)
{
    if (out_count)
        *out_count = 0;
    int rc = check_game(ds, game, "sp_dataset_game_moves");
    if (rc)
        return rc;
    const sp__spd_game *g = sp__ds_game(ds, game);
    if (out_count)
        *out_count = g->moves;
    if (capacity < g->moves || (!out && g->moves))
        return sp__error(SP_ERR_BUFFER_TOO_SMALL, "sp_dataset_game_moves: needs %u moves", g->moves);
    for (uint32_t i = 0; i < g->moves; i++)
        out[i] = sp__ds_move(ds, g->move_offset + i);
    return SP_OK;
}

int sp_dataset_game_ownership(const sp_dataset *ds, uint64_t game, uint8_t *out, size_t capacity)
{
    int rc = check_game(ds, game, "sp_dataset_game_ownership");
    if (rc)
        return rc;
    if (!out || capacity < (size_t)ds->area)
        return sp__error(out ? SP_ERR_BUFFER_TOO_SMALL : SP_ERR_INVALID_ARG,
                         "sp_dataset_game_ownership: needs %d bytes", ds->area);
    for (int p = 0; p < ds->area; p++)
        out[p] = (uint8_t)sp__ds_owner(ds, game, p);
    return SP_OK;
}

int sp_dataset_position_locate(const sp_dataset *ds, uint64_t position, uint64_t *out_game, uint32_t *out_move)
{
    if (!ds || position >= ds->n_positions)
        return sp__error(SP_ERR_INVALID_ARG, "sp_dataset_position_locate: %s",
                         ds ? "position out of range" : "dataset is NULL");
    uint64_t game = sp__ds_game_of(ds, position);
    if (out_game)
        *out_game = game;
    if (out_move)
        *out_move = (uint32_t)(position - sp__ds_game(ds, game)->first_position);
    return SP_OK;
}

int sp__ds_replay_into(const sp_dataset *ds, uint64_t game, int moves, sp_game *g)
{
    const sp__spd_game *r = sp__ds_game(ds, game);
    if (moves < 0 || (uint32_t)moves > r->moves)
        moves = (int)r->moves;
    int rc = sp_game_clear(g);
    if (!rc)
        rc = sp_game_set_komi(g, isfinite(r->komi) && fabsf(r->komi) <= 1000 ? r->komi : 0.0f);
    if (!rc)
        rc = sp_game_set_to_play(g, r->first_color);
    for (int i = 0; i < moves && !rc; i++) {
        int move;
        rc = sp_action_to_move(ds->size, sp__ds_move(ds, r->move_offset + (uint64_t)i), &move);
        if (!rc)
            rc = sp_game_play(g, move);
    }
    if (rc)
        return sp__error(SP_ERR_FORMAT, "game %llu of the dataset does not replay: %s", (unsigned long long)game,
                         sp_last_error());
    return SP_OK;
}

int sp_dataset_game_replay(const sp_dataset *ds, uint64_t game, int moves, sp_game **out)
{
    if (out)
        *out = NULL;
    int rc = check_game(ds, game, "sp_dataset_game_replay");
    if (rc)
        return rc;
    if (!out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_dataset_game_replay: out is NULL");
    sp_game_options opts = SP_GAME_OPTIONS_INIT;
    opts.board_size = ds->size;
    sp_game *g;
    rc = sp_game_create(&g, &opts);
    if (rc)
        return rc;
    rc = sp__ds_replay_into(ds, game, moves, g);
    const sp__spd_game *r = sp__ds_game(ds, game);
    char buf[64];
    if (!rc && r->result_kind != SP_RESULT_NONE) {
        const char *w = r->winner == SP_BLACK ? "B+" : "W+";
        switch (r->result_kind) {
        case SP_RESULT_SCORE: snprintf(buf, sizeof buf, "%s%g", w, (double)r->margin); break;
        case SP_RESULT_RESIGN: snprintf(buf, sizeof buf, "%sResign", w); break;
        case SP_RESULT_TIME: snprintf(buf, sizeof buf, "%sTime", w); break;
        case SP_RESULT_ILLEGAL: snprintf(buf, sizeof buf, "%sIllegal", w); break;
        case SP_RESULT_FORFEIT: snprintf(buf, sizeof buf, "%sForfeit", w); break;
        case SP_RESULT_DRAW: snprintf(buf, sizeof buf, "Draw"); break;
        case SP_RESULT_VOID: snprintf(buf, sizeof buf, "Void"); break;
        default: snprintf(buf, sizeof buf, "%s", r->winner == SP_EMPTY ? "?" : w); break;
        }
        rc = sp_game_set_info(g, "RE", buf);
    }
    static const char *const keys[SP__SPD_TEXTS] = { "PB", "PW", "DT", NULL };
    char text[4100];
    for (int i = 0; i < SP__SPD_TEXTS && !rc; i++)
        if (keys[i] && sp_dataset_game_text(ds, game, i, text, sizeof text) == SP_OK && text[0])
            rc = sp_game_set_info(g, keys[i], text);
    const float ratings[2] = { r->black_rating, r->white_rating };
    for (int i = 0; i < 2 && !rc; i++)
        if (!isnan(ratings[i])) {
            snprintf(buf, sizeof buf, "%g%s", (double)ratings[i], r->flags & (1u << i) ? "?" : "");
            rc = sp_game_set_info(g, i ? "WR" : "BR", buf);
        }
    if (rc) {
        sp_game_free(g);
        return rc;
    }
    *out = g;
    return SP_OK;
}
