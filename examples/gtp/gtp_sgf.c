/* loadsgf and printsgf through the library's SGF reader and writer. */
#include <stdio.h>
#include <stdlib.h>

#include "gtp_internal.h"

/* loadsgf file [move_number]: the position before move_number is played
 * (the whole game without it), with the file's board size and komi. */
static int cmd_loadsgf(gtp_engine *e, int argc, char **args, void *payload)
{
    int move_number = 0;
    if (argc < 1 || argc > 2 || (argc == 2 && gtp__parse_int(args[1], 1, 1000000000, &move_number)))
        return gtp__fail(e, "syntax error");
    sp_game *game = NULL;
    if (sp_sgf_load(&game, args[0]) != SP_OK) {
        /* The text GTP 2 prescribes, then what is wrong and where. */
        char message[600];
        snprintf(message, sizeof message, "cannot load file: %s", sp_last_error());
        return gtp__fail(e, message);
    }
    while (move_number > 0 && sp_game_move_count(game) >= move_number)
        sp_game_undo(game);
    gtp__game_ends(e);
    sp_game_free(e->game);
    e->game = game;
    return 0;
}

/* printsgf: the game as SGF text (GNU Go's extension; its form that writes
 * a file is left out, so no command line can write files). */
static int cmd_printsgf(gtp_engine *e, int argc, char **args, void *payload)
{
    if (argc)
        return gtp__fail(e, "syntax error");
    char probe[1];
    size_t needed = 0;
    int rc = sp_sgf_write(e->game, probe, sizeof probe, &needed);
    if (rc != SP_OK && rc != SP_ERR_BUFFER_TOO_SMALL)
        return gtp__fail(e, "cannot write SGF");
    char *text = malloc(needed + 1);
    if (!text)
        return gtp__fail(e, "out of memory");
    rc = sp_sgf_write(e->game, text, needed + 1, NULL);
    if (rc == SP_OK)
        gtp_printf(e, "%s", text);
    free(text);
    return rc == SP_OK ? 0 : gtp__fail(e, "cannot write SGF");
}

int gtp__register_sgf(gtp_engine *e)
{
    return gtp_engine_register(e, "loadsgf", cmd_loadsgf, NULL)
        || gtp_engine_register(e, "printsgf", cmd_printsgf, NULL);
}
