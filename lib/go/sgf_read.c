/* SGF FF[4] reader: the main line of the first game tree into an sp_game.
 * Hand-written and bounded by the data's length at every step (the input need
 * not be NUL-terminated); loops, not recursion, so nesting depth is free. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "game_internal.h"
#include "semiparam/sgf.h"
#include "sgf_internal.h"

#define ID_MAX 8 /* longest identifier kept; longer ones are read and ignored */

/* What a property does, in the order a node applies them (see apply_node). */
enum kind {
    K_IGNORED, K_SIZE, K_GAME, K_KOMI, K_INFO, K_REMOVE, K_ADD_BLACK, K_ADD_WHITE, K_PLAYER, K_BLACK, K_WHITE
};
static const int phase_of[] = { -1, 0, 1, 1, 1, 2, 3, 3, 4, 5, 5 };

typedef struct prop {
    char id[ID_MAX + 1]; /* upper-case letters; "" when longer than ID_MAX */
    int kind;
    size_t at;           /* offset of the identifier */
    size_t values;       /* offset of the first '[' */
    size_t end;          /* offset just past the last ']' */
} prop;

typedef struct parser {
    const char *p;
    size_t n;     /* end of the current game tree: nothing past it is read */
    sp_game *game;
    char *text;   /* the current value, unescaped, NUL-terminated */
    size_t text_len, text_cap;
    prop *props;  /* properties of the current node */
    size_t n_props, cap_props;
} parser;

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
static int is_upper(char c) { return c >= 'A' && c <= 'Z'; }
static int is_lower(char c) { return c >= 'a' && c <= 'z'; }

static size_t skip_blanks(const parser *ps, size_t pos)
{
    while (pos < ps->n && is_blank(ps->p[pos]))
        pos++;
    return pos;
}

/* Describe the byte at pos for an error message. */
static const char *show(const char *p, size_t n, size_t pos, char buf[8])
{
    if (pos >= n)
        return "the end of the data";
    unsigned char c = (unsigned char)p[pos];
    if (c >= 0x21 && c < 0x7f)
        snprintf(buf, 8, "'%c'", c);
    else
        snprintf(buf, 8, "0x%02x", c);
    return buf;
}

/* Fail with status at byte pos of the data that starts at p, said as an
 * editor shows it: line and column (in bytes, from 1), then the offset. */
static int fail_at(const char *p, size_t pos, int status, const char *fmt, ...) SP__PRINTF(4, 5);
static int fail_at(const char *p, size_t pos, int status, const char *fmt, ...)
{
    size_t line = 1, column = 1;
    for (size_t i = 0; i < pos; i++, column++)
        if (p[i] == '\n') {
            line++;
            column = 0;
        }
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return sp__error(status, "line %zu, column %zu (byte %zu): %s", line, column, pos, what);
}

/* p[pos] is '['; find the offset just past its closing ']', honouring '\'.
 * Returns 0, or -1 when the data ends first. */
static int value_end(const char *p, size_t n, size_t pos, size_t *end)
{
    for (pos++; pos < n; pos++) {
        if (p[pos] == '\\')
            pos++;
        else if (p[pos] == ']') {
            *end = pos + 1;
            return 0;
        }
    }
    return -1;
}

/* From the '(' at `start`, the offset just past its matching ')', reading
 * only brackets and parentheses: where a game tree ends even when its
 * content turns out to be malformed. */
static int tree_end(const char *p, size_t n, size_t start, size_t *end)
{
    size_t depth = 0;
    for (size_t pos = start; pos < n; pos++) {
        char c = p[pos];
        if (c == '[') {
            size_t e;
            if (value_end(p, n, pos, &e))
                return fail_at(p, pos, SP_ERR_FORMAT, "value not closed by ']' before the end of the data");
            pos = e - 1;
        } else if (c == '(') {
            depth++;
        } else if (c == ')' && --depth == 0) {
            *end = pos + 1;
            return SP_OK;
        }
    }
    return fail_at(p, start, SP_ERR_FORMAT, "game tree not closed by ')' before the end of the data");
}

/* Skip the rest of the open game trees, `depth` of them, starting at a ')'
 * or '(' at pos: the variations that are not on the main line. */
static int skip_variations(const parser *ps, size_t pos, size_t depth)
{
    char shown[8];
    for (; pos < ps->n; pos++) {
        char c = ps->p[pos];
        if (c == '[') {
            size_t e;
            if (value_end(ps->p, ps->n, pos, &e))
                return fail_at(ps->p, pos, SP_ERR_FORMAT, "value not closed by ']'");
            pos = e - 1;
        } else if (c == '(') {
            depth++;
        } else if (c == ')') {
            if (--depth == 0)
                return SP_OK;
        } else if (!is_blank(c) && !is_upper(c) && !is_lower(c) && c != ';') {
            return fail_at(ps->p, pos, SP_ERR_FORMAT, "unexpected %s in a variation",
                           show(ps->p, ps->n, pos, shown));
        }
    }
    return fail_at(ps->p, ps->n, SP_ERR_FORMAT, "variation not closed by ')'");
}

static int text_push(parser *ps, char c)
{
    if (ps->text_len + 1 >= ps->text_cap) {
        size_t cap = ps->text_cap ? ps->text_cap * 2 : 256;
        char *t = realloc(ps->text, cap);
        if (!t)
            return sp__error(SP_ERR_NOMEM, "out of memory reading SGF");
        ps->text = t;
        ps->text_cap = cap;
    }
    ps->text[ps->text_len++] = c;
    ps->text[ps->text_len] = '\0';
    return SP_OK;
}

/* Length of the line break starting at pos (\n, \r, \r\n or \n\r), or 0. */
static size_t line_break(const char *p, size_t end, size_t pos)
{
    if (pos >= end || (p[pos] != '\n' && p[pos] != '\r'))
        return 0;
    if (pos + 1 < end && (p[pos + 1] == '\n' || p[pos + 1] == '\r') && p[pos + 1] != p[pos])
        return 2;
    return 1;
}

/* Unescape the value whose '[' is at `open` into ps->text, as FF[4] says:
 * '\' takes the next byte literally, an escaped line break disappears (a soft
 * break), white space other than line breaks becomes a space even when
 * escaped, and simple text (keep_breaks == 0) turns line breaks into spaces. */
static int unescape(parser *ps, size_t open, int keep_breaks)
{
    size_t end = 0;
    value_end(ps->p, ps->n, open, &end); /* checked when the node was scanned */
    end--;                                /* the ']' */
    ps->text_len = 0;
    int rc = text_push(ps, '\0');
    ps->text_len = 0;
    for (size_t pos = open + 1; !rc && pos < end; pos++) {
        int escaped = ps->p[pos] == '\\';
        pos += (size_t)escaped;
        char c = ps->p[pos];
        size_t br = line_break(ps->p, end, pos);
        if (br) {
            pos += br - 1;
            if (!escaped)
                rc = keep_breaks ? text_push(ps, '\n') : text_push(ps, ' ');
        } else {
            rc = text_push(ps, is_blank(c) ? ' ' : c);
        }
    }
    return rc;
}

static int classify(const char *id, int root)
{
    static const struct {
        const char *id;
        int kind, root_only;
    } rules[] = {
        { "B", K_BLACK, 0 },       { "W", K_WHITE, 0 },       { "AB", K_ADD_BLACK, 0 }, { "AW", K_ADD_WHITE, 0 },
        { "AE", K_REMOVE, 0 },     { "PL", K_PLAYER, 0 },     { "KM", K_KOMI, 0 },      { "SZ", K_SIZE, 1 },
        { "GM", K_GAME, 1 },
    };
    if (id[0] == '\0')
        return K_IGNORED;
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (id[0] == rules[i].id[0] && strcmp(id, rules[i].id) == 0)
            return rules[i].root_only && !root ? K_IGNORED : rules[i].kind;
    return sp__sgf_is_info_key(id, root) ? K_INFO : K_IGNORED;
}

/* Read the properties of the node whose ';' is at *pos into ps->props. */
static int scan_node(parser *ps, size_t *pos, int root)
{
    char shown[8];
    size_t at = *pos + 1;
    ps->n_props = 0;
    for (;;) {
        at = skip_blanks(ps, at);
        if (at >= ps->n || (!is_upper(ps->p[at]) && !is_lower(ps->p[at])))
            break;
        prop pr = { .at = at };
        size_t upper = 0;
        /* FF[3] allowed lower-case letters inside identifiers
         * ("AddBlack" is AB); they carry no meaning and are dropped. */
        for (; at < ps->n && (is_upper(ps->p[at]) || is_lower(ps->p[at])); at++) {
            if (!is_upper(ps->p[at]))
                continue;
            if (upper < ID_MAX)
                pr.id[upper] = ps->p[at];
            upper++;
        }
        if (upper == 0)
            return fail_at(ps->p, pr.at, SP_ERR_FORMAT, "property name without an upper-case letter");
        if (upper > ID_MAX)
            pr.id[0] = '\0';
        at = skip_blanks(ps, at);
        if (at >= ps->n || ps->p[at] != '[')
            return fail_at(ps->p, pr.at, SP_ERR_FORMAT, "property %.*s has no value ('[' expected, found %s)",
                           (int)(at - pr.at < 20 ? at - pr.at : 20), ps->p + pr.at, show(ps->p, ps->n, at, shown));
        pr.values = at;
        while (at < ps->n && ps->p[at] == '[') {
            if (value_end(ps->p, ps->n, at, &at))
                return fail_at(ps->p, pr.values, SP_ERR_FORMAT, "value not closed by ']'");
            pr.end = at;
            at = skip_blanks(ps, at);
        }
        if (ps->n_props == ps->cap_props) {
            size_t cap = ps->cap_props ? ps->cap_props * 2 : 16;
            prop *grown = realloc(ps->props, cap * sizeof *grown);
            if (!grown)
                return sp__error(SP_ERR_NOMEM, "out of memory reading SGF");
            ps->props = grown;
            ps->cap_props = cap;
        }
        pr.kind = classify(pr.id, root);
        ps->props[ps->n_props++] = pr;
    }
    *pos = at;
    return SP_OK;
}

/* The offset of the '[' after the value opened at `open`, or pr->end after its last value. */
static size_t next_value(const parser *ps, const prop *pr, size_t open)
{
    size_t end = 0;
    value_end(ps->p, ps->n, open, &end);
    end = skip_blanks(ps, end);
    return end < pr->end ? end : pr->end;
}

static int parse_int(const char *s, size_t n, long *out)
{
    long v = 0;
    while (n > 0 && is_blank(*s)) {
        s++;
        n--;
    }
    while (n > 0 && is_blank(s[n - 1]))
        n--;
    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        if (v < 1000000)
            v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* SZ: "9" or "9:9"; only square boards of 2..19 are playable here. */
static int apply_size(parser *ps, const prop *pr)
{
    int rc = unescape(ps, pr->values, 0);
    if (rc)
        return rc;
    const char *t = ps->text;
    size_t n = ps->text_len, colon = n;
    for (size_t i = 0; i < n; i++)
        if (t[i] == ':') {
            colon = i;
            break;
        }
    long cols, rows;
    if (parse_int(t, colon, &cols) || (colon < n ? parse_int(t + colon + 1, n - colon - 1, &rows) : (rows = cols, 0)))
        return fail_at(ps->p, pr->values, SP_ERR_FORMAT, "SZ[%.20s] is not a board size", t);
    if (cols < 1 || rows < 1 || cols > 52 || rows > 52)
        return fail_at(ps->p, pr->values, SP_ERR_FORMAT, "SZ[%.20s] is outside the SGF range 1..52", t);
    if (cols != rows || cols < SP_GO_MIN_SIZE || cols > SP_GO_MAX_SIZE)
        return fail_at(ps->p, pr->values, SP_ERR_UNSUPPORTED, "board size %ldx%ld is not supported (square 2..19 only)",
                       cols, rows);
    return sp_game_set_size(ps->game, (int)cols);
}

static int apply_komi(parser *ps, const prop *pr)
{
    int rc = unescape(ps, pr->values, 0);
    if (rc)
        return rc;
    double k;
    if (sp__sgf_parse_real(ps->text, ps->text_len, &k) || !(fabs(k) <= 1000.0))
        return fail_at(ps->p, pr->values, SP_ERR_FORMAT, "KM[%.20s] is not a komi (a number within +-1000)",
                       ps->text);
    return sp_game_set_komi(ps->game, (float)k);
}

static int apply_game_type(parser *ps, const prop *pr)
{
    int rc = unescape(ps, pr->values, 0);
    if (rc)
        return rc;
    long gm;
    if (parse_int(ps->text, ps->text_len, &gm) || gm != 1)
        return fail_at(ps->p, pr->values, SP_ERR_UNSUPPORTED, "GM[%.20s] is not the game of Go (GM[1])",
                       ps->text);
    return SP_OK;
}

/* A point "ab" (column, row from the top-left) of the current board, the
 * `len` bytes at t, into *out; *out = SP_PASS for "" or "tt" when pass_ok. */
static int parse_point(const parser *ps, size_t at, const char *t, size_t len, int pass_ok, int *out)
{
    int size = sp_game_size(ps->game);
    if (pass_ok && (len == 0 || (len == 2 && t[0] == 't' && t[1] == 't' && size <= 19))) {
        *out = SP_PASS;
        return SP_OK;
    }
    if (len != 2 || !is_lower(t[0]) || !is_lower(t[1]) || t[0] - 'a' >= size || t[1] - 'a' >= size)
        return fail_at(ps->p, at, SP_ERR_FORMAT, "[%.*s] is not a point of the %dx%d board",
                       (int)(len < 20 ? len : 20), t, size, size);
    *out = (t[1] - 'a') * size + (t[0] - 'a');
    return SP_OK;
}

/* AB/AW/AE: points and compressed rectangles "aa:cc". */
static int apply_setup(parser *ps, const prop *pr, int color)
{
    int size = sp_game_size(ps->game);
    for (size_t v = pr->values; v < pr->end; v = next_value(ps, pr, v)) {
        int rc = unescape(ps, v, 0);
        if (rc)
            return rc;
        const char *t = ps->text, *colon = memchr(t, ':', ps->text_len);
        size_t first = colon ? (size_t)(colon - t) : ps->text_len;
        int a = 0, b;
        rc = parse_point(ps, v, t, first, 0, &a);
        b = a;
        if (!rc && colon)
            rc = parse_point(ps, v, colon + 1, ps->text_len - first - 1, 0, &b);
        if (rc)
            return rc;
        int r0 = a / size, r1 = b / size, c0 = a % size, c1 = b % size;
        for (int r = r0 < r1 ? r0 : r1; r <= (r0 < r1 ? r1 : r0); r++)
            for (int c = c0 < c1 ? c0 : c1; c <= (c0 < c1 ? c1 : c0); c++) {
                rc = sp_game_setup(ps->game, r * size + c, color);
                if (rc == SP_ERR_ILLEGAL_MOVE)
                    return fail_at(ps->p, v, rc, "setup %s leaves a group without liberties", pr->id);
                if (rc)
                    return rc;
            }
    }
    return SP_OK;
}

static int apply_move(parser *ps, const prop *pr, int color)
{
    if (next_value(ps, pr, pr->values) < pr->end)
        return fail_at(ps->p, pr->values, SP_ERR_FORMAT, "move %s has more than one value", pr->id);
    int move = SP_PASS, rc = unescape(ps, pr->values, 0);
    if (!rc)
        rc = parse_point(ps, pr->values, ps->text, ps->text_len, 1, &move);
    if (rc)
        return rc;
    int number = sp_game_move_count(ps->game) + 1;
    rc = sp_game_play_as(ps->game, color, move);
    if (rc == SP_ERR_ILLEGAL_MOVE)
        return fail_at(ps->p, pr->values, rc, "move %d %s[%s]: %s", number, pr->id, ps->text, sp_last_error());
    return rc;
}

static int apply_info(parser *ps, const prop *pr)
{
    int rc = unescape(ps, pr->values, strcmp(pr->id, "GC") == 0);
    return rc ? rc : sp_game_set_info(ps->game, pr->id, ps->text);
}

static int apply_player(parser *ps, const prop *pr)
{
    int rc = unescape(ps, pr->values, 0);
    char c = ps->text_len == 1 ? ps->text[0] : '?';
    if (!rc && c != 'B' && c != 'W' && c != 'b' && c != 'w')
        rc = fail_at(ps->p, pr->values, SP_ERR_FORMAT, "PL[%.20s] is neither B nor W", ps->text);
    return rc ? rc : sp_game_set_to_play(ps->game, c == 'B' || c == 'b' ? SP_BLACK : SP_WHITE);
}

/* Apply one node in an order that makes the result independent of the order
 * of its properties: size, game type, komi and information first, then
 * removed stones, added stones, the player to move and finally the move. */
static int apply_node(parser *ps)
{
    int rc = SP_OK;
    if (sp_game_move_count(ps->game) > 0)
        for (size_t i = 0; i < ps->n_props; i++) {
            const prop *pr = &ps->props[i];
            if (pr->kind >= K_REMOVE && pr->kind <= K_PLAYER)
                return fail_at(ps->p, pr->at, SP_ERR_UNSUPPORTED, "setup property %s after the first move",
                               pr->id);
        }
    const prop *move = NULL;
    for (int phase = 0; phase < 6 && !rc; phase++)
        for (size_t i = 0; i < ps->n_props && !rc; i++) {
            const prop *pr = &ps->props[i];
            if (phase_of[pr->kind] != phase)
                continue;
            switch (pr->kind) {
            case K_SIZE: rc = apply_size(ps, pr); break;
            case K_GAME: rc = apply_game_type(ps, pr); break;
            case K_KOMI: rc = apply_komi(ps, pr); break;
            case K_INFO: rc = apply_info(ps, pr); break;
            case K_REMOVE: rc = apply_setup(ps, pr, SP_EMPTY); break;
            case K_ADD_BLACK: rc = apply_setup(ps, pr, SP_BLACK); break;
            case K_ADD_WHITE: rc = apply_setup(ps, pr, SP_WHITE); break;
            case K_PLAYER: rc = apply_player(ps, pr); break;
            default:
                if (move)
                    rc = fail_at(ps->p, pr->at, SP_ERR_FORMAT, "a second move in one node");
                else
                    rc = apply_move(ps, move = pr, pr->kind == K_BLACK ? SP_BLACK : SP_WHITE);
            }
        }
    return rc;
}

/* Parse the main line of the game tree that spans [start, ps->n). */
static int parse_tree(parser *ps, size_t start)
{
    char shown[8];
    size_t pos = start + 1, depth = 1;
    int root = 1;
    for (;;) {
        pos = skip_blanks(ps, pos);
        if (pos >= ps->n || ps->p[pos] != ';')
            return fail_at(ps->p, pos, SP_ERR_FORMAT, "expected ';' to start a node, found %s",
                           show(ps->p, ps->n, pos, shown));
        while (pos < ps->n && ps->p[pos] == ';') {
            int rc = scan_node(ps, &pos, root);
            if (!rc)
                rc = apply_node(ps);
            if (rc)
                return rc;
            root = 0;
        }
        if (pos < ps->n && ps->p[pos] == '(') { /* the first variation continues the main line */
            pos++;
            depth++;
            continue;
        }
        if (pos < ps->n && ps->p[pos] == ')')
            return depth > 1 ? skip_variations(ps, pos + 1, depth - 1) : SP_OK;
        return fail_at(ps->p, pos, SP_ERR_FORMAT, "unexpected %s (a property, ';', '(' or ')' expected)",
                       show(ps->p, ps->n, pos, shown));
    }
}

int sp_sgf_parse(sp_game **out, const char *data, size_t length, size_t *out_consumed)
{
    if (out_consumed)
        *out_consumed = 0;
    if (!out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_sgf_parse: out is NULL");
    *out = NULL;
    if (!data && length)
        return sp__error(SP_ERR_INVALID_ARG, "sp_sgf_parse: data is NULL");
    size_t start = 0;
    while (start < length && data[start] != '(')
        start++;
    if (out_consumed)
        *out_consumed = length;
    if (start >= length)
        return fail_at(data, length, SP_ERR_FORMAT, "no game tree ('(') in the data");
    size_t end = 0;
    int rc = tree_end(data, length, start, &end);
    if (rc)
        return rc;
    if (out_consumed)
        *out_consumed = end;
    /* SGF's defaults for Go: 19x19 and, with no KM, no komi. */
    sp_game_options opts = SP_GAME_OPTIONS_INIT;
    opts.board_size = 19;
    opts.komi = 0.0f;
    parser ps = { .p = data, .n = end };
    rc = sp_game_create(&ps.game, &opts);
    if (!rc)
        rc = parse_tree(&ps, start);
    free(ps.text);
    free(ps.props);
    if (rc) {
        sp_game_free(ps.game);
        return rc;
    }
    *out = ps.game;
    return SP_OK;
}

int sp_sgf_load(sp_game **out, const char *path)
{
    if (out)
        *out = NULL;
    if (!out || !path)
        return sp__error(SP_ERR_INVALID_ARG, "sp_sgf_load: %s is NULL", out ? "path" : "out");
    char *data;
    size_t length;
    int rc = sp__file_read(path, &data, &length);
    if (rc)
        return rc;
    rc = sp_sgf_parse(out, data, length, NULL);
    free(data);
    /* "file: line L, column C ...", as compilers say it (sp__error may wrap
     * the message it replaces). */
    if (rc != SP_OK && rc != SP_ERR_NOMEM)
        rc = sp__error(rc, "%s: %s", path, sp_last_error());
    return rc;
}
