/* Fuzz the GTP command loop: the input, split at newlines, goes line by line
 * to a fresh engine; every response must be one well-formed GTP response. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gtp/gtp_engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_response(const char *r)
{
    size_t n = strlen(r);
    if (n == 0)
        return;
    if ((r[0] != '=' && r[0] != '?') || n < 3 || strstr(r, "\n\n") != r + n - 2)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gtp_engine *engine;
    gtp_engine_options opts = GTP_ENGINE_OPTIONS_INIT;
    if (gtp_engine_create(&engine, &opts))
        return 0;
    const char *text = (const char *)data, *end = text + size;
    /* A genmove loop on a 19x19 board costs far more than it finds: cap the lines. */
    for (int lines = 0; text < end && lines < 200; lines++) {
        const char *newline = memchr(text, '\n', (size_t)(end - text));
        size_t length = newline ? (size_t)(newline - text) : (size_t)(end - text);
        const char *response;
        int quit = gtp_engine_handle(engine, text, length, &response);
        check_response(response);
        if (quit)
            break;
        text += length + (newline != NULL);
    }
    gtp_engine_free(engine);
    return 0;
}
