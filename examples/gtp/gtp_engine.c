/* The GTP protocol loop: line preprocessing, ids, dispatch, response framing
 * and the default random player. The commands live in gtp_commands.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gtp_internal.h"

static const char out_of_memory[] = "? out of memory\n\n";

/* ------------------------------------------------------------------------ */
/* Text buffers                                                             */
/* ------------------------------------------------------------------------ */

static int buffer_reserve(gtp_buffer *b, size_t extra)
{
    if (b->failed)
        return -1;
    if (b->length + extra + 1 <= b->capacity)
        return 0;
    size_t capacity = b->capacity ? b->capacity : 256;
    while (capacity < b->length + extra + 1)
        capacity *= 2;
    char *data = realloc(b->data, capacity);
    if (!data) {
        b->failed = 1;
        return -1;
    }
    b->data = data;
    b->capacity = capacity;
    return 0;
}

static void buffer_append(gtp_buffer *b, const char *text, size_t n)
{
    if (buffer_reserve(b, n))
        return;
    memcpy(b->data + b->length, text, n);
    b->length += n;
    b->data[b->length] = '\0';
}

static void buffer_reset(gtp_buffer *b)
{
    b->length = 0;
    b->failed = 0;
    if (b->data)
        b->data[0] = '\0';
}

void gtp_printf(gtp_engine *engine, const char *fmt, ...)
{
    gtp_buffer *b = &engine->text;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || buffer_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->length, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->length += (size_t)n;
}

int gtp__fail(gtp_engine *engine, const char *message)
{
    gtp_printf(engine, "%s", message);
    return -1;
}

/* ------------------------------------------------------------------------ */
/* The default player: uniformly random, never filling its own eyes         */
/* ------------------------------------------------------------------------ */

static int random_genmove(void *payload, const sp_game *game, int color, const gtp_clock *clock, int *out_move)
{
    sp_rng *rng = payload;
    (void)clock;
    if (sp_game_to_play(game) == color)
        return sp_game_random_move(game, rng, out_move) == SP_OK ? 0 : -1;
    /* The colour moves out of turn: reservoir-sample its candidate points. */
    int area = sp_game_size(game) * sp_game_size(game), seen = 0;
    *out_move = SP_PASS;
    for (int p = 0; p < area; p++) {
        if (!sp_game_is_legal(game, color, p) || sp_game_is_eye(game, p, color))
            continue;
        if (sp_rng_below(rng, (uint32_t)++seen) == 0)
            *out_move = p;
    }
    return 0;
}

void gtp_engine_set_player(gtp_engine *engine, const gtp_player *player)
{
    if (!engine)
        return;
    if (engine->player.release)
        engine->player.release(engine->player.payload);
    if (player && player->genmove) {
        engine->player = *player;
    } else {
        engine->player = (gtp_player){ "random", random_genmove, NULL, engine->rng };
    }
}

/* ------------------------------------------------------------------------ */
/* Engine life cycle and commands                                           */
/* ------------------------------------------------------------------------ */

int gtp_engine_create(gtp_engine **out, const gtp_engine_options *opts)
{
    if (!out)
        return -1;
    *out = NULL;
    gtp_engine_options defaults = GTP_ENGINE_OPTIONS_INIT;
    if (!opts)
        opts = &defaults;
    gtp_engine *e = calloc(1, sizeof *e);
    if (!e)
        return -1;
    sp_game_options game_opts = SP_GAME_OPTIONS_INIT;
    game_opts.board_size = opts->board_size;
    game_opts.komi = opts->komi;
    if (sp_game_create(&e->game, &game_opts) != SP_OK || sp_rng_create(&e->rng, opts->seed) != SP_OK
        || gtp__register_standard(e) || gtp__register_meta(e) || gtp__register_sgf(e) ||
        gtp__register_status(e)) {
        gtp_engine_free(e);
        return -1;
    }
    for (int c = 0; c < 3; c++)
        e->clock[c] = (gtp_clock){ 0, 0, 0, -1, 0 };
    gtp_engine_set_player(e, NULL);
    *out = e;
    return 0;
}

void gtp_engine_on_game_end(gtp_engine *engine, gtp_game_end_fn fn, void *payload)
{
    engine->game_end = fn;
    engine->game_end_payload = payload;
}

void gtp__game_ends(gtp_engine *engine)
{
    if (engine->game_end)
        engine->game_end(engine, engine->game, engine->game_end_payload);
}

void gtp_engine_free(gtp_engine *engine)
{
    if (!engine)
        return;
    gtp__game_ends(engine);
    if (engine->player.release)
        engine->player.release(engine->player.payload);
    for (int i = 0; i < engine->n_commands; i++)
        free(engine->commands[i].name);
    free(engine->commands);
    free(engine->text.data);
    free(engine->response.data);
    sp_game_free(engine->game);
    sp_rng_free(engine->rng);
    free(engine);
}

sp_game *gtp_engine_game(gtp_engine *engine) { return engine ? engine->game : NULL; }

sp_rng *gtp_engine_rng(gtp_engine *engine) { return engine ? engine->rng : NULL; }

static gtp_command *find_command(gtp_engine *e, const char *name)
{
    for (int i = 0; i < e->n_commands; i++)
        if (strcmp(e->commands[i].name, name) == 0)
            return &e->commands[i];
    return NULL;
}

int gtp_engine_register(gtp_engine *engine, const char *name, gtp_command_fn fn, void *payload)
{
    if (!engine || !name || !*name || !fn || strpbrk(name, " \t\n#"))
        return -1;
    gtp_command *existing = find_command(engine, name);
    if (existing) {
        existing->fn = fn;
        existing->payload = payload;
        return 0;
    }
    if (engine->n_commands == engine->commands_capacity) {
        int capacity = engine->commands_capacity ? 2 * engine->commands_capacity : 32;
        gtp_command *commands = realloc(engine->commands, (size_t)capacity * sizeof *commands);
        if (!commands)
            return -1;
        engine->commands = commands;
        engine->commands_capacity = capacity;
    }
    char *copy = strdup(name);
    if (!copy)
        return -1;
    engine->commands[engine->n_commands++] = (gtp_command){ copy, fn, payload };
    return 0;
}

/* The commands about commands need the table, so they live here. */
static int cmd_known_command(gtp_engine *e, int argc, char **args, void *payload)
{
    if (argc != 1)
        return gtp__fail(e, "syntax error");
    gtp_printf(e, "%s", find_command(e, args[0]) ? "true" : "false");
    return 0;
}

static int cmd_list_commands(gtp_engine *e, int argc, char **args, void *payload)
{
    if (argc != 0)
        return gtp__fail(e, "syntax error");
    for (int i = 0; i < e->n_commands; i++)
        gtp_printf(e, "%s%s", i ? "\n" : "", e->commands[i].name);
    return 0;
}

static int cmd_quit(gtp_engine *e, int argc, char **args, void *payload)
{
    e->quit = 1; /* arguments are no reason to keep running */
    return 0;
}

int gtp__register_meta(gtp_engine *e)
{
    return gtp_engine_register(e, "known_command", cmd_known_command, NULL)
        || gtp_engine_register(e, "list_commands", cmd_list_commands, NULL)
        || gtp_engine_register(e, "quit", cmd_quit, NULL);
}

int gtp_parse_color(const char *text)
{
    if (strcasecmp(text, "b") == 0 || strcasecmp(text, "black") == 0)
        return SP_BLACK;
    if (strcasecmp(text, "w") == 0 || strcasecmp(text, "white") == 0)
        return SP_WHITE;
    return -1;
}

int gtp__parse_int(const char *text, long min, long max, int *out)
{
    const char *p = text;
    if (*p == '+' || *p == '-')
        p++;
    if (*p < '0' || *p > '9')
        return -1;
    errno = 0;
    char *end;
    long v = strtol(text, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* One command line                                                         */
/* ------------------------------------------------------------------------ */

/* Copy the command part of a line into e->line, as GTP 2 section 2.3 asks:
 * control characters other than HT and LF dropped, HT made a space, and
 * everything from '#' on a comment. Returns the raw length up to the
 * newline, which tells an overlong line. */
static size_t preprocess(gtp_engine *e, const char *line, size_t length)
{
    size_t n = 0, raw = 0;
    int comment = 0;
    for (; raw < length && line[raw] != '\n'; raw++) {
        unsigned char c = (unsigned char)line[raw];
        if (comment || n == GTP_MAX_LINE)
            continue;
        if (c == '#')
            comment = 1;
        else if (c == '\t')
            e->line[n++] = ' ';
        else if (c >= 32 && c != 127)
            e->line[n++] = (char)c;
    }
    e->line[n] = '\0';
    return raw;
}

static int split(char *line, char **words, int max_words)
{
    int n = 0;
    char *save = NULL;
    for (char *p = strtok_r(line, " ", &save); p; p = strtok_r(NULL, " ", &save)) {
        if (n == max_words)
            return max_words + 1;
        words[n++] = p;
    }
    return n;
}

/* Frame the handler's text as "=id text\n\n": no control characters but
 * single newlines inside, none at the end, so no blank line ends it early. */
static void frame(gtp_engine *e, int ok, const char *id)
{
    gtp_buffer *r = &e->response;
    buffer_reset(r);
    buffer_append(r, ok ? "=" : "?", 1);
    buffer_append(r, id, strlen(id));
    const char *text = e->text.failed ? "out of memory" : (e->text.data ? e->text.data : "");
    if (e->text.failed && r->data)
        r->data[0] = '?';
    size_t n = strlen(text);
    while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
        n--;
    if (n && text[0] != '\n')
        buffer_append(r, " ", 1);
    char previous = ' ';
    for (size_t i = 0; i < n; i++) {
        char c = text[i];
        if (c == '\n' && previous == '\n')
            continue;
        if ((unsigned char)c < 32 && c != '\n')
            c = ' ';
        buffer_append(r, &c, 1);
        previous = c;
    }
    /* An open stream's blank line comes when it ends (gtp_engine_stream_end). */
    buffer_append(r, "\n\n", ok && e->stream ? 1 : 2);
}

void gtp_engine_stream(gtp_engine *engine, gtp_stream_fn step, void *payload)
{
    engine->stream = step;
    engine->stream_payload = payload;
}

int gtp_engine_streaming(const gtp_engine *engine) { return engine && engine->stream != NULL; }

void gtp_engine_stream_end(gtp_engine *engine, FILE *out)
{
    if (!engine || !engine->stream)
        return;
    engine->stream = NULL;
    engine->stream_payload = NULL;
    fputs("\n", out);
    fflush(out);
}

int gtp_engine_stream_step(gtp_engine *engine, FILE *out)
{
    if (!engine || !engine->stream)
        return 0;
    int stop = engine->stream(engine, out, engine->stream_payload);
    fflush(out);
    if (stop)
        gtp_engine_stream_end(engine, out);
    return !stop;
}

#define GTP_MAX_WORDS 32

int gtp_engine_handle(gtp_engine *engine, const char *line, size_t length, const char **out_response)
{
    static const char empty[] = "";
    if (out_response)
        *out_response = empty;
    if (!engine || !line || !out_response)
        return 0;
    size_t raw = preprocess(engine, line, length);
    char *words[GTP_MAX_WORDS + 1];
    int n = split(engine->line, words, GTP_MAX_WORDS);
    if (n == 0)
        return 0;
    const char *id = "";
    char **command = words;
    if (strspn(words[0], "0123456789") == strlen(words[0])) {
        id = words[0];
        command++;
        n--;
    }
    buffer_reset(&engine->text);
    engine->stream = NULL;
    int ok = 0;
    if (raw > GTP_MAX_LINE) {
        gtp_printf(engine, "line too long");
    } else if (n == 0) {
        gtp_printf(engine, "missing command");
    } else if (n > GTP_MAX_WORDS - 1) {
        gtp_printf(engine, "too many arguments");
    } else {
        gtp_command *c = find_command(engine, command[0]);
        if (!c)
            gtp_printf(engine, "unknown command");
        else
            ok = c->fn(engine, n - 1, command + 1, c->payload) == 0;
    }
    if (!ok)
        engine->stream = NULL;
    frame(engine, ok, id);
    *out_response = engine->response.failed ? out_of_memory : engine->response.data;
    return engine->quit;
}
