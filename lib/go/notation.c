/* GTP vertex notation ("D4", "pass", "resign") and flat point indices. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/core_internal.h"
#include "semiparam/go.h"

static const char columns[] = "ABCDEFGHJKLMNOPQRST"; /* GTP skips I */

int sp_point(int size, int row, int col)
{
    if (size < SP_GO_MIN_SIZE || size > SP_GO_MAX_SIZE || row < 0 || col < 0 || row >= size || col >= size)
        return -1;
    return row * size + col;
}

int sp_move_to_gtp(int size, int move, char *buf, size_t capacity)
{
    if (!buf)
        return sp__error(SP_ERR_INVALID_ARG, "sp_move_to_gtp: buf is NULL");
    if (size < SP_GO_MIN_SIZE || size > SP_GO_MAX_SIZE)
        return sp__error(SP_ERR_INVALID_ARG, "sp_move_to_gtp: board size %d outside 2..19", size);
    char text[16]; /* room for any int, though rows stop at 19 */
    if (move == SP_PASS)
        strcpy(text, "pass");
    else if (move == SP_RESIGN)
        strcpy(text, "resign");
    else if (move >= 0 && move < size * size)
        snprintf(text, sizeof text, "%c%d", columns[move % size], size - move / size);
    else
        return sp__error(SP_ERR_INVALID_ARG, "sp_move_to_gtp: move %d is off the %dx%d board", move, size, size);
    size_t n = strlen(text) + 1;
    if (capacity < n)
        return sp__error(SP_ERR_BUFFER_TOO_SMALL, "sp_move_to_gtp: %zu bytes needed", n);
    memcpy(buf, text, n);
    return SP_OK;
}

int sp_move_from_gtp(int size, const char *text, int *out_move)
{
    if (!text || !out_move)
        return sp__error(SP_ERR_INVALID_ARG, "sp_move_from_gtp: %s is NULL", text ? "out_move" : "text");
    if (size < SP_GO_MIN_SIZE || size > SP_GO_MAX_SIZE)
        return sp__error(SP_ERR_INVALID_ARG, "sp_move_from_gtp: board size %d outside 2..19", size);
    if (strcasecmp(text, "pass") == 0) {
        *out_move = SP_PASS;
        return SP_OK;
    }
    if (strcasecmp(text, "resign") == 0) {
        *out_move = SP_RESIGN;
        return SP_OK;
    }
    const char *col = text[0] ? strchr(columns, toupper((unsigned char)text[0])) : NULL;
    if (!col)
        return sp__error(SP_ERR_INVALID_ARG, "sp_move_from_gtp: \"%.16s\" is not a vertex", text);
    int row = 0, digits = 0;
    for (const char *p = text + 1; *p && digits < 3; p++, digits++) {
        if (!isdigit((unsigned char)*p))
            break;
        row = row * 10 + (*p - '0');
    }
    if (digits == 0 || text[1 + digits] != '\0' || text[1] == '0' || (col - columns) >= size || row < 1
        || row > size)
        return sp__error(SP_ERR_INVALID_ARG, "sp_move_from_gtp: \"%.16s\" is not a vertex of a %dx%d board", text,
                         size, size);
    *out_move = (size - row) * size + (int)(col - columns);
    return SP_OK;
}
