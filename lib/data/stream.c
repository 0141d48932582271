/* Decompressed byte streams from game files: xz through liblzma (recognised by
 * its magic bytes), gzip and plain files through zlib's transparent reader.
 * Memory stays bounded whatever the file size. */
#include <errno.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "data_internal.h"

#define IN_CHUNK (1u << 16)

struct sp__stream {
    int xz;
    FILE *file;        /* xz input */
    gzFile gz;         /* gzip or plain input */
    lzma_stream lz;
    int in_eof, out_eof;
    uint64_t size;
    char *path;
    uint8_t in[IN_CHUNK];
};

int sp__stream_open(sp__stream **out, const char *path)
{
    *out = NULL;
    sp__stream *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return sp__error(SP_ERR_NOMEM, "out of memory opening %s", path);
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        int err = errno;
        sp__stream_close(s);
        return sp__error(SP_ERR_IO, "cannot open %s: %s", path, strerror(err));
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0)
        s->size = (uint64_t)st.st_size;
    static const uint8_t xz_magic[6] = { 0xFD, '7', 'z', 'X', 'Z', 0x00 };
    uint8_t head[6];
    size_t got = fread(head, 1, sizeof head, f);
    if (got == sizeof head && memcmp(head, xz_magic, sizeof head) == 0) {
        rewind(f);
        s->xz = 1;
        s->file = f;
        lzma_stream init = LZMA_STREAM_INIT;
        s->lz = init;
        if (lzma_stream_decoder(&s->lz, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK) {
            sp__stream_close(s);
            return sp__error(SP_ERR_NOMEM, "cannot start an xz decoder for %s", path);
        }
    } else {
        fclose(f);
        s->gz = gzopen(path, "rb");
        if (!s->gz) {
            sp__stream_close(s);
            return sp__error(SP_ERR_IO, "cannot open %s", path);
        }
        gzbuffer(s->gz, 1u << 17);
    }
    *out = s;
    return SP_OK;
}

static int read_xz(sp__stream *s, uint8_t *buf, size_t cap, size_t *out_n)
{
    s->lz.next_out = buf;
    s->lz.avail_out = cap;
    while (s->lz.avail_out == cap && !s->out_eof) {
        if (s->lz.avail_in == 0 && !s->in_eof) {
            size_t n = fread(s->in, 1, IN_CHUNK, s->file);
            if (n == 0) {
                if (ferror(s->file))
                    return sp__error(SP_ERR_IO, "cannot read %s: %s", s->path, strerror(errno));
                s->in_eof = 1;
            }
            s->lz.next_in = s->in;
            s->lz.avail_in = n;
        }
        lzma_ret r = lzma_code(&s->lz, s->in_eof ? LZMA_FINISH : LZMA_RUN);
        if (r == LZMA_STREAM_END) {
            s->out_eof = 1;
        } else if (r != LZMA_OK) {
            return sp__error(SP_ERR_IO, "%s: corrupt or truncated xz data (liblzma error %d)", s->path, (int)r);
        } else if (s->in_eof && s->lz.avail_out == cap) {
            return sp__error(SP_ERR_IO, "%s: xz data ends early", s->path);
        }
    }
    *out_n = cap - s->lz.avail_out;
    return SP_OK;
}

int sp__stream_read(sp__stream *s, void *buf, size_t cap, size_t *out_n)
{
    *out_n = 0;
    if (cap > (1u << 30))
        cap = 1u << 30;
    if (s->xz)
        return read_xz(s, buf, cap, out_n);
    int n = gzread(s->gz, buf, (unsigned)cap);
    if (n < 0) {
        int errnum;
        const char *msg = gzerror(s->gz, &errnum);
        return sp__error(SP_ERR_IO, "%s: %s", s->path, msg ? msg : "read error");
    }
    if (n == 0) {
        int errnum;
        const char *msg = gzerror(s->gz, &errnum);
        if (errnum != Z_OK && errnum != Z_BUF_ERROR)
            return sp__error(SP_ERR_IO, "%s: %s", s->path, msg ? msg : "read error");
        if (errnum == Z_BUF_ERROR)
            return sp__error(SP_ERR_IO, "%s: gzip data ends early", s->path);
    }
    *out_n = (size_t)n;
    return SP_OK;
}

void sp__stream_position(const sp__stream *s, uint64_t *done, uint64_t *total)
{
    *total = s->size;
    if (s->xz)
        *done = s->lz.total_in;
    else
        *done = (uint64_t)gzoffset(s->gz);
}

void sp__stream_close(sp__stream *s)
{
    if (!s)
        return;
    if (s->xz)
        lzma_end(&s->lz);
    if (s->file)
        fclose(s->file);
    if (s->gz)
        gzclose(s->gz);
    free(s->path);
    free(s);
}
