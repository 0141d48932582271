/* The `.spm` section container: writing, and a reader that trusts nothing. */
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "spm.h"

static const unsigned char magic[8] = { 'S', 'P', 'M', 'O', 'D', 'E', 'L', 0 };
#define ENDIAN_MARK 0x01020304u
#define HEADER_SIZE 24
#define ENTRY_SIZE 32

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }

void sp__spm_writer_init(sp__spm_writer *w) { memset(w, 0, sizeof *w); }

void sp__spm_writer_release(sp__spm_writer *w)
{
    for (size_t i = 0; i < w->count; i++)
        free(w->owned[i]);
    memset(w, 0, sizeof *w);
}

int sp__spm_add(sp__spm_writer *w, const char *tag, const void *data, size_t size, int take_ownership)
{
    if (w->count == SP__SPM_MAX_SECTIONS || strlen(tag) == 0 || strlen(tag) > SP__SPM_TAG_SIZE) {
        if (take_ownership)
            free((void *)data);
        return sp__error(SP_ERR_INVALID_ARG, "model file: bad section '%s' or too many sections", tag);
    }
    sp__spm_section *s = &w->sections[w->count];
    memset(s->tag, 0, sizeof s->tag);
    memcpy(s->tag, tag, strlen(tag));
    s->data = data;
    s->size = size;
    w->owned[w->count++] = take_ownership ? (unsigned char *)data : NULL;
    return SP_OK;
}

/* Header and table, with each section's CRC and the header's. */
static void build_header(const sp__spm_writer *w, unsigned char *h)
{
    size_t table = HEADER_SIZE + ENTRY_SIZE * w->count;
    memcpy(h, magic, 8);
    put32(h + 8, SP__SPM_VERSION);
    put32(h + 12, ENDIAN_MARK);
    put32(h + 16, (uint32_t)w->count);
    uint64_t offset = table;
    for (size_t i = 0; i < w->count; i++) {
        unsigned char *e = h + HEADER_SIZE + ENTRY_SIZE * i;
        memset(e, 0, ENTRY_SIZE);
        memcpy(e, w->sections[i].tag, strlen(w->sections[i].tag));
        put64(e + 8, offset);
        put64(e + 16, w->sections[i].size);
        put32(e + 24, sp__crc32(0, w->sections[i].data, w->sections[i].size));
        offset += w->sections[i].size;
    }
    put32(h + 20, 0);
    put32(h + 20, sp__crc32(0, h, table));
}

int sp__spm_serialise(const sp__spm_writer *w, unsigned char **out, size_t *out_size)
{
    size_t table = HEADER_SIZE + ENTRY_SIZE * w->count, total = table;
    for (size_t i = 0; i < w->count; i++)
        total += w->sections[i].size;
    unsigned char *buf = malloc(total);
    if (!buf)
        return sp__error(SP_ERR_NOMEM, "model file: out of memory");
    build_header(w, buf);
    size_t at = table;
    for (size_t i = 0; i < w->count; i++) {
        if (w->sections[i].size)
            memcpy(buf + at, w->sections[i].data, w->sections[i].size);
        at += w->sections[i].size;
    }
    *out = buf;
    *out_size = total;
    return SP_OK;
}

int sp__spm_write(const sp__spm_writer *w, const char *path)
{
    unsigned char header[HEADER_SIZE + ENTRY_SIZE * SP__SPM_MAX_SECTIONS];
    build_header(w, header);
    sp__atomic_file f;
    int rc = sp__atomic_open(&f, path);
    if (rc)
        return rc;
    rc = sp__atomic_write(&f, header, HEADER_SIZE + ENTRY_SIZE * w->count);
    for (size_t i = 0; i < w->count && !rc; i++)
        rc = sp__atomic_write(&f, w->sections[i].data, w->sections[i].size);
    if (rc) {
        sp__atomic_abort(&f);
        return rc;
    }
    return sp__atomic_commit(&f);
}

int sp__spm_parse(sp__spm_reader *r, const void *data, size_t size)
{
    const unsigned char *p = data;
    memset(r, 0, sizeof *r);
    if (!p || size < HEADER_SIZE || memcmp(p, magic, 8) != 0)
        return sp__error(SP_ERR_FORMAT, "not a libsemiparam model file (no SPMODEL header)");
    uint32_t version = get32(p + 8), mark = get32(p + 12), count = get32(p + 16), crc = get32(p + 20);
    if (mark != ENDIAN_MARK)
        return sp__error(SP_ERR_FORMAT, "model file: bad endianness mark 0x%08x", (unsigned)mark);
    if (version == 0 || version > SP__SPM_VERSION)
        return sp__error(version ? SP_ERR_VERSION : SP_ERR_FORMAT,
                         "model file: format version %u is not supported (this library reads up to %d)",
                         (unsigned)version, SP__SPM_VERSION);
    if (count > SP__SPM_MAX_SECTIONS || size < HEADER_SIZE + (size_t)ENTRY_SIZE * count)
        return sp__error(SP_ERR_FORMAT, "model file: truncated section table (%u sections)", (unsigned)count);
    size_t table = HEADER_SIZE + (size_t)ENTRY_SIZE * count;
    unsigned char first[HEADER_SIZE];
    memcpy(first, p, HEADER_SIZE);
    put32(first + 20, 0);
    uint32_t actual = sp__crc32(sp__crc32(0, first, HEADER_SIZE), p + HEADER_SIZE, table - HEADER_SIZE);
    if (actual != crc)
        return sp__error(SP_ERR_FORMAT, "model file: header checksum mismatch (corrupt file)");
    for (uint32_t i = 0; i < count; i++) {
        const unsigned char *e = p + HEADER_SIZE + (size_t)ENTRY_SIZE * i;
        sp__spm_section *s = &r->sections[i];
        memcpy(s->tag, e, SP__SPM_TAG_SIZE);
        s->tag[SP__SPM_TAG_SIZE] = 0;
        uint64_t offset = get64(e + 8), length = get64(e + 16);
        if (offset < table || offset > size || length > size - offset)
            return sp__error(SP_ERR_FORMAT, "model file: section '%s' lies outside the file (truncated?)", s->tag);
        if (sp__crc32(0, p + offset, (size_t)length) != get32(e + 24))
            return sp__error(SP_ERR_FORMAT, "model file: section '%s' checksum mismatch (corrupt file)", s->tag);
        s->data = p + offset;
        s->size = (size_t)length;
    }
    r->count = count;
    return SP_OK;
}

const sp__spm_section *sp__spm_find(const sp__spm_reader *r, const char *tag)
{
    for (size_t i = 0; i < r->count; i++)
        if (strcmp(r->sections[i].tag, tag) == 0)
            return &r->sections[i];
    return NULL;
}
