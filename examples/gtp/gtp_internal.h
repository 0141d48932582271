/* The engine's state, shared by the protocol loop (gtp_engine.c) and the
 * standard commands (gtp_commands.c, gtp_sgf.c). */
#ifndef SP_GTP_INTERNAL_H
#define SP_GTP_INTERNAL_H

#include "gtp_engine.h"

typedef struct gtp_command {
    char *name;
    gtp_command_fn fn;
    void *payload;
} gtp_command;

typedef struct gtp_buffer {
    char *data;
    size_t length, capacity;
    int failed; /* an allocation failed: the text is incomplete */
} gtp_buffer;

struct gtp_engine {
    sp_game *game;
    sp_rng *rng;
    gtp_player player;
    gtp_clock clock[3]; /* indexed by SP_BLACK / SP_WHITE; settings are shared */
    gtp_command *commands;
    int n_commands, commands_capacity;
    int quit;
    gtp_buffer text;     /* the handler's response text */
    gtp_buffer response; /* the framed response handed back */
    char line[GTP_MAX_LINE + 1];
    /* A streaming response (gtp_engine_stream): its step and payload, NULL when none. */
    gtp_stream_fn stream;
    void *stream_payload;
    /* Called with the game about to be cleared or replaced (gtp_engine_on_game_end). */
    gtp_game_end_fn game_end;
    void *game_end_payload;
};

/* Tell the game-end hook (if any) that the engine's game is about to go:
 * call before clearing, resizing or replacing it. */
void gtp__game_ends(gtp_engine *engine);

/* Add the standard GTP commands; 0 or -1 when out of memory. */
int gtp__register_standard(gtp_engine *engine);
int gtp__register_meta(gtp_engine *engine);
int gtp__register_sgf(gtp_engine *engine);
int gtp__register_status(gtp_engine *engine);

/* Write @p message as the response text and return -1, the error result. */
int gtp__fail(gtp_engine *engine, const char *message);

/* Strict decimal integer in [min, max]; 0 or -1 when malformed or out of range. */
int gtp__parse_int(const char *text, long min, long max, int *out);

#endif /* SP_GTP_INTERNAL_H */
