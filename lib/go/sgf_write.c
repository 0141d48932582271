/* SGF FF[4] writer: rules, record information, the set-up position and the
 * moves of a game, in a form sgf_read.c reads back to the same game. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "game_internal.h"
#include "semiparam/sgf.h"
#include "sgf_internal.h"

/* Counts every byte but stores only what fits, so one pass both measures
 * and writes. */
typedef struct out {
    char *buf;
    size_t capacity;
    size_t length;
} out;

static void put(out *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++, o->length++)
        if (o->length < o->capacity)
            o->buf[o->length] = s[i];
}

static void puts_(out *o, const char *s) { put(o, s, strlen(s)); }

static void put_escaped(out *o, const char *s)
{
    for (; *s; s++) {
        if (*s == ']' || *s == '\\')
            put(o, "\\", 1);
        put(o, s, 1);
    }
}

static void put_property(out *o, const char *id, const char *value)
{
    puts_(o, id);
    put(o, "[", 1);
    put_escaped(o, value);
    put(o, "]", 1);
}

/* |value| * 10^decimals rounded, written with that many decimals. */
static size_t format_fixed(double value, int decimals, char *text)
{
    double scaled = fabs(value);
    for (int i = 0; i < decimals; i++)
        scaled *= 10.0;
    unsigned long long digits = (unsigned long long)llround(scaled);
    char rev[80];
    int n = 0;
    do {
        rev[n++] = (char)('0' + digits % 10);
        digits /= 10;
    } while (digits || n <= decimals);
    size_t len = 0;
    if (value < 0 && llround(scaled) != 0)
        text[len++] = '-';
    while (n > 0) {
        if (n == decimals)
            text[len++] = '.';
        text[len++] = rev[--n];
    }
    text[len] = '\0';
    return len;
}

/* The fewest decimals that the reader turns back into exactly this float;
 * formatted by hand because printf's decimal point follows the locale. */
static void put_komi(out *o, float komi)
{
    char text[96];
    size_t len = format_fixed(komi, 0, text);
    for (int decimals = 0; decimals <= 60; decimals++) {
        double scaled = fabs((double)komi);
        for (int i = 0; i < decimals; i++)
            scaled *= 10.0;
        if (scaled >= 1e18)
            break;
        len = format_fixed(komi, decimals, text);
        double back;
        if (sp__sgf_parse_real(text, len, &back) == 0 && (float)back == komi)
            break;
    }
    puts_(o, "KM[");
    put(o, text, len);
    puts_(o, "]");
}

static void put_point(out *o, int size, int point)
{
    char c[2] = { (char)('a' + point % size), (char)('a' + point / size) };
    put(o, c, 2);
}

static void put_setup(out *o, const sp_game *g, const char *id, int color)
{
    int size = g->board.size, first = 1;
    const uint8_t *board = sp__game_board_at(g, 0);
    for (int p = 0; p < size * size; p++) {
        if (board[p] != color)
            continue;
        if (first)
            puts_(o, id);
        first = 0;
        put(o, "[", 1);
        put_point(o, size, p);
        put(o, "]", 1);
    }
}

static void write_game(out *o, const sp_game *g)
{
    int size = g->board.size;
    char number[16] = { 0 };
    puts_(o, "(;FF[4]GM[1]CA[UTF-8]SZ[");
    format_fixed(size, 0, number);
    puts_(o, number);
    puts_(o, "]");
    put_komi(o, g->komi);
    puts_(o, "\n");
    /* A resignation is no SGF move; the result says it instead. */
    int n_moves = g->n_moves;
    int resigned = n_moves > 0 && g->moves[n_moves - 1].move == SP_RESIGN;
    if (resigned)
        n_moves--;
    for (int i = 0; i < g->n_info; i++) {
        const char *key = g->info[i].key;
        if (sp__sgf_is_info_key(key, 1))
            put_property(o, key, g->info[i].value);
    }
    if (resigned && !sp_game_info(g, "RE"))
        put_property(o, "RE", g->moves[g->n_moves - 1].color == SP_BLACK ? "W+R" : "B+R");
    if (g->snaps[0].to_play == SP_WHITE)
        puts_(o, "PL[W]");
    put_setup(o, g, "AB", SP_BLACK);
    put_setup(o, g, "AW", SP_WHITE);
    for (int i = 0; i < n_moves; i++) {
        if (i % 10 == 0)
            puts_(o, "\n");
        puts_(o, g->moves[i].color == SP_BLACK ? ";B[" : ";W[");
        if (g->moves[i].move >= 0)
            put_point(o, size, g->moves[i].move);
        puts_(o, "]");
    }
    puts_(o, ")\n");
}

int sp_sgf_write(const sp_game *game, char *buf, size_t capacity, size_t *out_length)
{
    if (out_length)
        *out_length = 0;
    int rc = sp__check_game(game, "sp_sgf_write");
    if (rc)
        return rc;
    if (!buf && capacity)
        return sp__error(SP_ERR_INVALID_ARG, "sp_sgf_write: buf is NULL");
    out o = { buf, capacity, 0 };
    write_game(&o, game);
    if (o.length >= capacity) {
        if (capacity)
            buf[0] = '\0';
        if (out_length)
            *out_length = o.length + 1;
        return sp__error(SP_ERR_BUFFER_TOO_SMALL, "sp_sgf_write: %zu bytes needed", o.length + 1);
    }
    buf[o.length] = '\0';
    if (out_length)
        *out_length = o.length;
    return SP_OK;
}

int sp_sgf_save(const sp_game *game, const char *path)
{
    int rc = sp__check_game(game, "sp_sgf_save");
    if (rc)
        return rc;
    if (!path)
        return sp__error(SP_ERR_INVALID_ARG, "sp_sgf_save: path is NULL");
    out o = { NULL, 0, 0 };
    write_game(&o, game);
    o.capacity = o.length + 1;
    o.buf = malloc(o.capacity);
    if (!o.buf)
        return sp__error(SP_ERR_NOMEM, "sp_sgf_save: out of memory");
    o.length = 0;
    write_game(&o, game);
    rc = sp__file_write_atomic(path, o.buf, o.length);
    free(o.buf);
    return rc;
}
