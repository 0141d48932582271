/* Game results as SGF writes them (RE), and the names of result kinds and
 * skip reasons for reports. */
#include <ctype.h>
#include <math.h>
#include <string.h>
#include <strings.h>

#include "data_internal.h"
#include "go/sgf_internal.h"

const char *sp_result_kind_name(int kind)
{
    static const char *const names[SP_RESULT_KIND_COUNT] = {
        "none", "score", "resign", "time", "illegal", "draw", "forfeit", "other", "void",
    };
    return kind >= 0 && kind < SP_RESULT_KIND_COUNT ? names[kind] : "unknown";
}

const char *sp_skip_reason_name(int reason)
{
    static const char *const names[SP_SKIP_REASON_COUNT] = {
        "broken", "board-size", "no-moves", "illegal-move", "unsupported",
        "duplicate", "rating", "komi", "result", "too-long",
    };
    return reason >= 0 && reason < SP_SKIP_REASON_COUNT ? names[reason] : "unknown";
}

/* Case-insensitive: is the reason text one of the words (prefix of at least one letter). */
static int word_is(const char *s, size_t n, const char *word)
{
    return n > 0 && n <= strlen(word) && strncasecmp(s, word, n) == 0;
}

int sp_result_parse(const char *text, int *out_kind, int *out_winner, float *out_margin)
{
    if (!out_kind || !out_winner)
        return sp__error(SP_ERR_INVALID_ARG, "sp_result_parse: %s is NULL", out_kind ? "out_winner" : "out_kind");
    *out_kind = SP_RESULT_NONE;
    *out_winner = SP_EMPTY;
    if (out_margin)
        *out_margin = NAN;
    if (!text)
        return SP_OK;
    while (isspace((unsigned char)*text))
        text++;
    size_t n = strlen(text);
    while (n > 0 && isspace((unsigned char)text[n - 1]))
        n--;
    if (n == 0)
        return SP_OK;
    if ((n == 1 && text[0] == '0') || word_is(text, n, "draw") || word_is(text, n, "jigo")) {
        *out_kind = SP_RESULT_DRAW;
        return SP_OK;
    }
    if ((n == 1 && text[0] == '?') || (n >= 2 && word_is(text, n, "void"))) {
        *out_kind = SP_RESULT_VOID;
        return SP_OK;
    }
    int c = toupper((unsigned char)text[0]);
    if (n < 2 || (c != 'B' && c != 'W') || text[1] != '+')
        return SP_OK;
    *out_winner = c == 'B' ? SP_BLACK : SP_WHITE;
    const char *r = text + 2;
    size_t rn = n - 2;
    if (rn == 0 || (rn == 1 && r[0] == '?')) {
        *out_kind = SP_RESULT_OTHER;
        return SP_OK;
    }
    if (word_is(r, rn, "resign")) {
        *out_kind = SP_RESULT_RESIGN;
    } else if (word_is(r, rn, "time")) {
        *out_kind = SP_RESULT_TIME;
    } else if (word_is(r, rn, "forfeit")) {
        *out_kind = SP_RESULT_FORFEIT;
    } else if (word_is(r, rn, "illegal")) {
        *out_kind = SP_RESULT_ILLEGAL;
    } else {
        /* A counted margin: digits with an optional fraction, nothing else. */
        char buf[32];
        size_t i = 0, digits = 0;
        for (; i < rn && i < sizeof buf - 1; i++) {
            if (isdigit((unsigned char)r[i]))
                digits++;
            else if (r[i] != '.')
                break;
            buf[i] = r[i];
        }
        buf[i] = '\0';
        if (i != rn || digits == 0) {
            *out_kind = SP_RESULT_OTHER;
            return SP_OK;
        }
        *out_kind = SP_RESULT_SCORE;
        double margin;
        if (out_margin && sp__sgf_parse_real(buf, i, &margin) == 0)
            *out_margin = (float)margin;
    }
    return SP_OK;
}
