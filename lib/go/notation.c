/* GTP vertex notation ("D4", "pass", "resign"), flat point indices, and the
 * action numbers of searches and datasets (points, then pass). */
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

/* The checks every conversion starts with: an output and a board size. */
static int check_args(int size, const void *out, const char *fn, const char *out_name)
{
    if (!out)
        return sp__error(SP_ERR_INVALID_ARG, "%s: %s is NULL", fn, out_name);
    if (size < SP_GO_MIN_SIZE || size > SP_GO_MAX_SIZE)
        return sp__error(SP_ERR_INVALID_ARG, "%s: board size %d outside %d..%d", fn, size, SP_GO_MIN_SIZE,
                         SP_GO_MAX_SIZE);
    return SP_OK;
}

int sp_action_to_move(int size, int action, int *out_move)
{
    int rc = check_args(size, out_move, "sp_action_to_move", "out_move");
    if (rc)
        return rc;
    const int area = size * size;
    if (action < 0 || action > area)
        return sp__error(SP_ERR_INVALID_ARG, "sp_action_to_move: action %d outside 0..%d (%d is pass)", action, area,
                         area);
    *out_move = action == area ? SP_PASS : action;
    return SP_OK;
}

int sp_move_to_action(int size, int move, int *out_action)
{
    int rc = check_args(size, out_action, "sp_move_to_action", "out_action");
    if (rc)
        return rc;
    const int area = size * size;
    if (move != SP_PASS && (move < 0 || move >= area))
        return sp__error(SP_ERR_INVALID_ARG, "sp_move_to_action: move %d is neither a point of the %dx%d board nor "
                                             "SP_PASS (resigning has no action)", move, size, size);
    *out_action = move == SP_PASS ? area : move;
    return SP_OK;
}

int sp_move_to_gtp(int size, int move, char *buf, size_t capacity)
{
    int rc = check_args(size, buf, "sp_move_to_gtp", "buf");
    if (rc)
        return rc;
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
    if (!text)
        return sp__error(SP_ERR_INVALID_ARG, "sp_move_from_gtp: text is NULL");
    int rc = check_args(size, out_move, "sp_move_from_gtp", "out_move");
    if (rc)
        return rc;
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
