/* Record information: SGF root properties kept with the game (PB, RE, ...). */
#include <stdlib.h>
#include <string.h>

#include "game_internal.h"

static int valid_key(const char *key)
{
    size_t n = strlen(key);
    if (n == 0 || n > 8)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (key[i] < 'A' || key[i] > 'Z')
            return 0;
    return 1;
}

static char *copy_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (c)
        memcpy(c, s, n);
    return c;
}

void sp__info_free(sp_game *g)
{
    for (int i = 0; i < g->n_info; i++) {
        free(g->info[i].key);
        free(g->info[i].value);
    }
    free(g->info);
    g->info = NULL;
    g->n_info = 0;
}

int sp__info_copy(sp_game *dst, const sp_game *src)
{
    for (int i = 0; i < src->n_info; i++) {
        int rc = sp_game_set_info(dst, src->info[i].key, src->info[i].value);
        if (rc)
            return rc;
    }
    return SP_OK;
}

static int find(const sp_game *g, const char *key)
{
    for (int i = 0; i < g->n_info; i++)
        if (strcmp(g->info[i].key, key) == 0)
            return i;
    return -1;
}

int sp_game_set_info(sp_game *game, const char *key, const char *value)
{
    int rc = sp__check_game(game, "sp_game_set_info");
    if (rc)
        return rc;
    if (!key || !valid_key(key))
        return sp__error(SP_ERR_INVALID_ARG, "sp_game_set_info: key must be 1..8 upper-case letters");
    if (strcmp(key, "SZ") == 0 || strcmp(key, "KM") == 0)
        return sp__error(SP_ERR_INVALID_ARG, "sp_game_set_info: %s is a rule; use sp_game_set_%s", key,
                         key[0] == 'S' ? "size" : "komi");
    int i = find(game, key);
    if (!value) {
        if (i >= 0) {
            free(game->info[i].key);
            free(game->info[i].value);
            memmove(&game->info[i], &game->info[i + 1], (size_t)(game->n_info - i - 1) * sizeof game->info[0]);
            game->n_info--;
        }
        return SP_OK;
    }
    char *v = copy_string(value);
    if (!v)
        return sp__error(SP_ERR_NOMEM, "sp_game_set_info: out of memory");
    if (i >= 0) {
        free(game->info[i].value);
        game->info[i].value = v;
        return SP_OK;
    }
    char *k = copy_string(key);
    sp__info *grown = realloc(game->info, (size_t)(game->n_info + 1) * sizeof *grown);
    if (!k || !grown) {
        free(k);
        free(v);
        if (grown)
            game->info = grown;
        return sp__error(SP_ERR_NOMEM, "sp_game_set_info: out of memory");
    }
    game->info = grown;
    game->info[game->n_info++] = (sp__info){ k, v };
    return SP_OK;
}

const char *sp_game_info(const sp_game *game, const char *key)
{
    if (!game || !key)
        return NULL;
    int i = find(game, key);
    return i >= 0 ? game->info[i].value : NULL;
}

int sp_game_info_count(const sp_game *game) { return game ? game->n_info : 0; }

int sp_game_info_at(const sp_game *game, int index, const char **out_key, const char **out_value)
{
    int rc = sp__check_game(game, "sp_game_info_at");
    if (rc)
        return rc;
    if (index < 0 || index >= game->n_info)
        return sp__error(SP_ERR_INVALID_ARG, "sp_game_info_at: index %d outside 0..%d", index, game->n_info - 1);
    if (out_key)
        *out_key = game->info[index].key;
    if (out_value)
        *out_value = game->info[index].value;
    return SP_OK;
}
