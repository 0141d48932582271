/* Fuzz the SGF reader on collections: every call must make progress, fail
 * with an offset in its message or give a game, and every game read must
 * survive writer -> reader unchanged (and the writer's text be a fixed point). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "go/game_internal.h"
#include "semiparam/sgf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        abort();
}

static char *write_text(const sp_game *g)
{
    size_t need = 0, length = 0;
    check(sp_sgf_write(g, NULL, 0, &need) == SP_ERR_BUFFER_TOO_SMALL);
    char *text = malloc(need);
    check(text != NULL);
    check(sp_sgf_write(g, text, need, &length) == SP_OK && length + 1 == need && strlen(text) == length);
    return text;
}

static void check_same(const sp_game *a, const sp_game *b)
{
    int size = sp_game_size(a);
    check(size == sp_game_size(b) && sp_game_komi(a) == sp_game_komi(b));
    check(memcmp(sp__game_board_at(a, 0), sp__game_board_at(b, 0), (size_t)(size * size)) == 0);
    check(a->snaps[0].to_play == b->snaps[0].to_play && sp_game_to_play(a) == sp_game_to_play(b));
    check(sp_game_move_count(a) == sp_game_move_count(b));
    for (int i = 0; i < sp_game_move_count(a); i++)
        check(a->moves[i].color == b->moves[i].color && a->moves[i].move == b->moves[i].move);
    check(sp_game_info_count(a) == sp_game_info_count(b));
    for (int i = 0; i < sp_game_info_count(a); i++) {
        const char *key, *value, *other_key, *other;
        sp_game_info_at(a, i, &key, &value);
        sp_game_info_at(b, i, &other_key, &other);
        check(strcmp(key, other_key) == 0 && strcmp(value, other) == 0);
    }
    check(sp_game_hash(a) == sp_game_hash(b) && sp_game_is_over(a) == sp_game_is_over(b));
}

static void round_trip(const sp_game *g)
{
    char *text = write_text(g);
    sp_game *back = NULL;
    size_t used = 0, length = strlen(text);
    check(sp_sgf_parse(&back, text, length, &used) == SP_OK);
    check(used == length - 1); /* everything but the final newline */
    check_same(g, back);
    char *again = write_text(back);
    check(strcmp(text, again) == 0);
    free(again);
    free(text);
    sp_game_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    size_t offset = 0;
    for (int games = 0; offset < size && games < 32; games++) {
        sp_game *g = (sp_game *)&offset;
        size_t used = 0;
        int rc = sp_sgf_parse(&g, text + offset, size - offset, &used);
        check(used > 0 && used <= size - offset);
        if (rc == SP_OK) {
            check(g != NULL);
            round_trip(g);
            sp_game_free(g);
        } else {
            check(g == NULL);
            check(rc == SP_ERR_FORMAT || rc == SP_ERR_ILLEGAL_MOVE || rc == SP_ERR_UNSUPPORTED
                  || rc == SP_ERR_NOMEM);
            check(rc == SP_ERR_NOMEM || strncmp(sp_last_error(), "line ", 5) == 0);
        }
        offset += used;
    }
    return 0;
}
