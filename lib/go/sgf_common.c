/* SGF pieces used by both the reader and the writer: which properties are
 * record information, and a locale-free parser for SGF Real numbers. */
#include "sgf_internal.h"

/* Every listed identifier has one or two letters: they are compared as small
 * integers in a switch, since this runs for every property of every node. */
#define ID(a, b) ((unsigned)(a) << 8 | (unsigned)(b))

static unsigned code(const char *id) { return ID((unsigned char)id[0], (unsigned char)id[1]); }

/* FF[4] game-info properties (plus HA for Go); KM is a rule, kept apart. */
static int is_game_info(unsigned id)
{
    switch (id) {
    case ID('A', 'N'): case ID('B', 'R'): case ID('B', 'T'): case ID('C', 'P'): case ID('D', 'T'):
    case ID('E', 'V'): case ID('G', 'N'): case ID('G', 'C'): case ID('O', 'N'): case ID('O', 'T'):
    case ID('P', 'B'): case ID('P', 'C'): case ID('P', 'W'): case ID('R', 'E'): case ID('R', 'O'):
    case ID('R', 'U'): case ID('S', 'O'): case ID('T', 'M'): case ID('U', 'S'): case ID('W', 'R'):
    case ID('W', 'T'): case ID('H', 'A'):
        return 1;
    default:
        return 0;
    }
}

/* Properties that describe rules, moves, the position or a single node:
 * never record information, even in the root. CA is left out too: values
 * pass through as bytes and the writer always declares UTF-8. */
static int is_not_info(unsigned id)
{
    switch (id) {
    case ID('B', 0): case ID('W', 0): case ID('K', 'O'): case ID('M', 'N'): case ID('A', 'B'):
    case ID('A', 'E'): case ID('A', 'W'): case ID('P', 'L'): case ID('C', 0): case ID('D', 'M'):
    case ID('G', 'B'): case ID('G', 'W'): case ID('H', 'O'): case ID('N', 0): case ID('U', 'C'):
    case ID('V', 0): case ID('B', 'M'): case ID('D', 'O'): case ID('I', 'T'): case ID('T', 'E'):
    case ID('A', 'R'): case ID('C', 'R'): case ID('D', 'D'): case ID('L', 'B'): case ID('L', 'N'):
    case ID('M', 'A'): case ID('S', 'L'): case ID('S', 'Q'): case ID('T', 'R'): case ID('F', 'F'):
    case ID('G', 'M'): case ID('S', 'T'): case ID('S', 'Z'): case ID('K', 'M'): case ID('C', 'A'):
    case ID('B', 'L'): case ID('O', 'B'): case ID('O', 'W'): case ID('W', 'L'): case ID('F', 'G'):
    case ID('P', 'M'): case ID('V', 'W'): case ID('T', 'B'): case ID('T', 'W'):
        return 1;
    default:
        return 0;
    }
}

int sp__sgf_is_info_key(const char *id, int root_node)
{
    if (id[0] == '\0')
        return 0;
    if (id[1] != '\0' && id[2] != '\0') /* three letters or more: none is listed */
        return root_node;
    return root_node ? !is_not_info(code(id)) : is_game_info(code(id));
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
