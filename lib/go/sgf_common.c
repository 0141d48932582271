/* SGF pieces used by both the reader and the writer: which properties are
 * record information, and a locale-free parser for SGF Real numbers. */
#include <string.h>

#include "sgf_internal.h"

/* FF[4] game-info properties (plus HA for Go); KM is a rule, kept apart. */
static const char *const game_info[] = {
    "AN", "BR", "BT", "CP", "DT", "EV", "GN", "GC", "ON", "OT", "PB",
    "PC", "PW", "RE", "RO", "RU", "SO", "TM", "US", "WR", "WT", "HA",
};

/* Properties that describe rules, moves, the position or a single node:
 * never record information, even in the root. CA is left out too: values
 * pass through as bytes and the writer always declares UTF-8. */
static const char *const not_info[] = {
    "B", "W", "KO", "MN", "AB", "AE", "AW", "PL", "C", "DM", "GB", "GW", "HO", "N", "UC", "V",
    "BM", "DO", "IT", "TE", "AR", "CR", "DD", "LB", "LN", "MA", "SL", "SQ", "TR", "FF", "GM",
    "ST", "SZ", "KM", "CA", "BL", "OB", "OW", "WL", "FG", "PM", "VW", "TB", "TW",
};

static int in_list(const char *id, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(id, list[i]) == 0)
            return 1;
    return 0;
}

int sp__sgf_is_info_key(const char *id, int root_node)
{
    if (root_node)
        return !in_list(id, not_info, sizeof not_info / sizeof not_info[0]);
    return in_list(id, game_info, sizeof game_info / sizeof game_info[0]);
}

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

int sp__sgf_parse_real(const char *s, size_t n, double *out)
{
    size_t i = 0;
    while (i < n && is_blank(s[i]))
        i++;
    while (n > i && is_blank(s[n - 1]))
        n--;
    int negative = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        negative = s[i++] == '-';
    /* Keep the first 19 significant digits exactly in an integer and count
     * the power of ten; both saturate so that no input overflows them. */
    unsigned long long mantissa = 0;
    int significant = 0, exp10 = 0, digits = 0, seen_point = 0;
    for (; i < n; i++) {
        char c = s[i];
        if (c == '.' && !seen_point) {
            seen_point = 1;
            continue;
        }
        if (c < '0' || c > '9')
            return -1;
        digits++;
        if (significant < 19) {
            mantissa = mantissa * 10 + (unsigned)(c - '0');
            if (mantissa)
                significant++;
            if (seen_point && exp10 > -400)
                exp10--;
        } else if (!seen_point && exp10 < 400) {
            exp10++;
        }
    }
    if (digits == 0)
        return -1;
    double scale = 1.0;
    for (int k = 0; k < (exp10 < 0 ? -exp10 : exp10); k++)
        scale *= 10.0;
    double v = exp10 < 0 ? (double)mantissa / scale : (double)mantissa * scale;
    *out = negative ? -v : v;
    return 0;
}
