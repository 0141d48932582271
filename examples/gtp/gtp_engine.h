/* A GTP version 2 engine over the public libsemiparam API: one command line
 * in, one response out. The move choice sits behind gtp_player so that a
 * searcher can replace the default random player. */
#ifndef SP_GTP_ENGINE_H
#define SP_GTP_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <semiparam.h>

/** Longest command line accepted (bytes, newline excluded); longer ones get an error. */
#define GTP_MAX_LINE 8192

typedef struct gtp_engine gtp_engine;

/** Time settings (time_settings) and the clock of one colour (time_left), in seconds. */
typedef struct gtp_clock {
    int main_time;       /**< main time per player; 0 with byo_yomi_time 0 means no limit */
    int byo_yomi_time;   /**< length of a byo-yomi period */
    int byo_yomi_stones; /**< stones per period; 0 with byo_yomi_time > 0 means no limit */
    int time_left;       /**< last time_left for this colour, -1 when none was given */
    int stones_left;     /**< stones left in the current period (0 = still in main time) */
} gtp_clock;

/**
 * What chooses moves for genmove. genmove gets the game (read-only) and the
 * colour to move for, which need not be the side to move in @p game (GTP
 * lets a colour move twice), and must store a move legal for that colour,
 * SP_PASS or SP_RESIGN in *out_move; a non-zero return is reported as a GTP
 * error. release (optional) frees the payload when the engine is freed or
 * the player replaced.
 */
typedef struct gtp_player {
    const char *name;
    int (*genmove)(void *payload, const sp_game *game, int color, const gtp_clock *clock, int *out_move);
    void (*release)(void *payload);
    void *payload;
} gtp_player;

/**
 * A command handler: @p args holds the @p argc arguments after the command
 * name. Write the response text with gtp_printf(); return 0 for success or
 * -1 for an error (the text written is then the error message).
 */
typedef int (*gtp_command_fn)(gtp_engine *engine, int argc, char **args, void *payload);

typedef struct gtp_engine_options {
    uint64_t seed;   /**< seed of the engine's random generator */
    int board_size;  /**< 2..19 */
    float komi;
} gtp_engine_options;

#define GTP_ENGINE_OPTIONS_INIT { 1, 9, 7.0f }

/** Create an engine with a new game and the random player. 0, or -1 on bad options or no memory. */
int gtp_engine_create(gtp_engine **out, const gtp_engine_options *opts);

/** Free an engine (and its player's payload); NULL is a no-op. */
void gtp_engine_free(gtp_engine *engine);

/**
 * Process one command line of @p length bytes (it may hold NUL bytes and
 * need not end in a newline; text after a newline is ignored). *out_response
 * receives the full response ("=id text\n\n" or "?id message\n\n"), borrowed
 * from the engine until the next call, or "" when the line holds no command.
 * @return 1 after quit, 0 otherwise.
 */
int gtp_engine_handle(gtp_engine *engine, const char *line, size_t length, const char **out_response);

/**
 * One update of a streaming response (lz-analyze): write one line to @p out.
 * @return 0 to go on, non-zero to end the stream.
 */
typedef int (*gtp_stream_fn)(gtp_engine *engine, FILE *out, void *payload);

/**
 * Called by a command handler that succeeds: its response stays open after
 * the handler returns ("=id" and one newline, no closing blank line), and
 * the program calls gtp_engine_stream_step() until input arrives, then
 * gtp_engine_stream_end(), which writes the blank line that closes it.
 */
void gtp_engine_stream(gtp_engine *engine, gtp_stream_fn step, void *payload);

/** Whether a streaming response is open. */
int gtp_engine_streaming(const gtp_engine *engine);

/**
 * One update of the open stream to @p out, flushed. When the step ends the
 * stream (or none is open) the stream is closed as gtp_engine_stream_end() does.
 * @return 1 while the stream stays open, 0 once it is closed.
 */
int gtp_engine_stream_step(gtp_engine *engine, FILE *out);

/** Close the open stream (if any): write the closing blank line to @p out and flush. */
void gtp_engine_stream_end(gtp_engine *engine, FILE *out);

/** Called with the engine's game just before it is cleared, resized or replaced, and when the engine is freed. */
typedef void (*gtp_game_end_fn)(gtp_engine *engine, const sp_game *game, void *payload);

/** Set (or with NULL remove) the game-end hook; one at a time. */
void gtp_engine_on_game_end(gtp_engine *engine, gtp_game_end_fn fn, void *payload);

/** Replace the move chooser; the engine releases the old one. NULL restores the random player. */
void gtp_engine_set_player(gtp_engine *engine, const gtp_player *player);

/**
 * Add (or replace) command @p name, which list_commands then lists. For
 * extensions, use a dashed name ("sp-xxx"), as the GTP spec advises.
 * @return 0, or -1 on bad arguments or no memory.
 */
int gtp_engine_register(gtp_engine *engine, const char *name, gtp_command_fn fn, void *payload);

/** The engine's game, for extension commands. */
sp_game *gtp_engine_game(gtp_engine *engine);

/** The engine's random generator. */
sp_rng *gtp_engine_rng(gtp_engine *engine);

/** Append text to the response being built. */
void gtp_printf(gtp_engine *engine, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Parse a GTP colour ("b", "black", "w", "white", any case) into SP_BLACK/SP_WHITE; -1 when malformed. */
int gtp_parse_color(const char *text);

#endif /* SP_GTP_ENGINE_H */
