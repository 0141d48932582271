/* The `.spi` file: header, section table, then per section its bytes, each
 * with a CRC-32 checked before anything (FAISS included) parses it. Layout
 * in docs/file-formats.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <faiss/c_api/error_c.h>
#include <faiss/c_api/index_io_c.h>

#include "core/core_internal.h"
#include "core/file.h"
#include "retrieval_internal.h"

static const char SPI_MAGIC[8] = { 'S', 'P', 'I', 'N', 'D', 'E', 'X', 0x1a };
#define SPI_VERSION 1u
#define SPI_ENDIAN 0x0A0B0C0Du
#define SPI_HEADER 64u
#define SPI_ENTRY 24u
#define SPI_ALIGN 64u
#define SPI_MAX_SECTIONS 16u

enum { SECTION_FACTORY = 1, SECTION_META = 0x10, SECTION_FAISS = 0x20 };

typedef struct spi_section {
    uint32_t kind;
    uint32_t crc;
    uint64_t offset;
    uint64_t size;
} spi_section;

static void put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static uint64_t align_up(uint64_t x) { return (x + SPI_ALIGN - 1) / SPI_ALIGN * SPI_ALIGN; }

/* CRC of bytes already written to fd (FAISS writes through its own FILE*). */
static int crc_of_range(int fd, uint64_t offset, uint64_t size, uint32_t *out)
{
    unsigned char buf[1 << 16];
    uint32_t crc = 0;
    while (size > 0) {
        size_t n = size < sizeof buf ? (size_t)size : sizeof buf;
        ssize_t got = pread(fd, buf, n, (off_t)offset);
        if (got <= 0)
            return sp__error(SP_ERR_IO, "cannot read back the index section: %s", got < 0 ? strerror(errno) : "short file");
        crc = sp__crc32(crc, buf, (size_t)got);
        offset += (uint64_t)got;
        size -= (uint64_t)got;
    }
    *out = crc;
    return SP_OK;
}

static int write_at(sp__atomic_file *f, uint64_t offset, const void *data, size_t length)
{
    if (lseek(f->fd, (off_t)offset, SEEK_SET) < 0)
        return sp__error(SP_ERR_IO, "cannot seek in %s: %s", f->final_path, strerror(errno));
    return sp__atomic_write(f, data, length);
}

static int write_faiss(sp__atomic_file *f, const FaissIndex *index, spi_section *s)
{
    if (lseek(f->fd, (off_t)s->offset, SEEK_SET) < 0)
        return sp__error(SP_ERR_IO, "cannot seek: %s", strerror(errno));
    int fd = dup(f->fd);
    FILE *fp = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!fp) {
        if (fd >= 0)
            close(fd);
        return sp__error(SP_ERR_IO, "cannot open a stream on %s", f->final_path);
    }
    int failed = faiss_write_index(index, fp) != 0;
    int flush_failed = fflush(fp) != 0;
    long end = ftell(fp);
    fclose(fp);
    if (failed)
        return sp__faiss_error("sp_retriever_save");
    if (flush_failed || end < 0)
        return sp__error(SP_ERR_IO, "cannot write %s", f->final_path);
    s->size = (uint64_t)end - s->offset;
    return crc_of_range(f->fd, s->offset, s->size, &s->crc);
}

static int write_meta(sp__atomic_file *f, const struct sp__half *h, spi_section *s)
{
    unsigned char count[8];
    put64(count, h->count);
    s->size = 8 + h->count * 12;
    int rc = write_at(f, s->offset, count, 8);
    if (rc == SP_OK && h->count)
        rc = sp__atomic_write(f, h->position_ids, h->count * 8);
    if (rc == SP_OK && h->count)
        rc = sp__atomic_write(f, h->game_ids, h->count * 4);
    if (rc != SP_OK)
        return rc;
    uint32_t crc = sp__crc32(0, count, 8);
    crc = sp__crc32(crc, h->position_ids, h->count * 8);
    s->crc = sp__crc32(crc, h->game_ids, h->count * 4);
    return SP_OK;
}

static int save_sections(const sp_retriever *r, sp__atomic_file *f, spi_section *sec, uint32_t nsec)
{
    uint64_t offset = align_up(SPI_HEADER + nsec * SPI_ENTRY);
    int rc = SP_OK;
    for (uint32_t i = 0; i < nsec && rc == SP_OK; i++) {
        sec[i].offset = offset;
        if (sec[i].kind == SECTION_FACTORY) {
            sec[i].size = strlen(r->factory);
            sec[i].crc = sp__crc32(0, r->factory, sec[i].size);
            rc = write_at(f, offset, r->factory, sec[i].size);
        } else if ((sec[i].kind & 0xF0) == SECTION_META) {
            rc = write_meta(f, &r->half[sec[i].kind & 0xF], &sec[i]);
        } else {
            rc = write_faiss(f, r->half[sec[i].kind & 0xF].index, &sec[i]);
        }
        offset = align_up(offset + sec[i].size);
    }
    if (rc != SP_OK)
        return rc;
    /* Pad the tail so every section, the last included, ends inside the file. */
    static const unsigned char zeros[SPI_ALIGN];
    uint64_t end = sec[nsec - 1].offset + sec[nsec - 1].size;
    if (offset > end)
        rc = write_at(f, end, zeros, (size_t)(offset - end));
    if (rc != SP_OK)
        return rc;

    unsigned char head[SPI_HEADER + SPI_MAX_SECTIONS * SPI_ENTRY];
    memset(head, 0, sizeof head);
    memcpy(head, SPI_MAGIC, 8);
    put32(head + 8, SPI_VERSION);
    put32(head + 12, SPI_ENDIAN);
    put32(head + 16, r->dim);
    put32(head + 20, r->halves);
    put64(head + 24, r->embedder_id);
    put32(head + 32, nsec);
    put32(head + 36, r->default_nprobe);
    for (uint32_t i = 0; i < nsec; i++) {
        unsigned char *e = head + SPI_HEADER + i * SPI_ENTRY;
        put32(e, sec[i].kind);
        put32(e + 4, sec[i].crc);
        put64(e + 8, sec[i].offset);
        put64(e + 16, sec[i].size);
    }
    size_t head_size = SPI_HEADER + nsec * SPI_ENTRY;
    put32(head + 40, sp__crc32(0, head, head_size));
    return write_at(f, 0, head, head_size);
}

int sp_retriever_save(const sp_retriever *retriever, const char *path)
{
    if (!retriever || !path)
        return sp__error(SP_ERR_INVALID_ARG, "sp_retriever_save: NULL argument");
    sp_retriever *r = (sp_retriever *)retriever;
    if (r->default_nprobe > SP_RETRIEVER_MAX_NPROBE) /* never written: no later load could search with it */
        return sp__error(SP_ERR_INVALID_ARG, "sp_retriever_save: default nprobe %u is above %u", r->default_nprobe,
                         SP_RETRIEVER_MAX_NPROBE);
    spi_section sec[1 + 2 * 2];
    uint32_t nsec = 0;
    memset(sec, 0, sizeof sec);
    sec[nsec++].kind = SECTION_FACTORY;
    for (uint32_t h = 0; h < r->halves; h++) {
        sec[nsec++].kind = SECTION_META | h;
        sec[nsec++].kind = SECTION_FAISS | h;
    }
    sp__atomic_file f;
    int rc = sp__atomic_open(&f, path);
    if (rc != SP_OK)
        return rc;
    /* An online add must not change the index while it is written. */
    pthread_rwlock_rdlock(&r->lock);
    rc = save_sections(r, &f, sec, nsec);
    pthread_rwlock_unlock(&r->lock);
    if (rc != SP_OK) {
        char reason[512];
        snprintf(reason, sizeof reason, "%s", sp_last_error());
        sp__atomic_abort(&f);
        return sp__error(rc, "sp_retriever_save: %s: %s", path, reason);
    }
    rc = sp__atomic_commit(&f);
    if (rc != SP_OK)
        return sp__error(rc, "sp_retriever_save: %s: %s", path, sp_last_error());
    return SP_OK;
}

/* ---- loading ---------------------------------------------------------- */

typedef struct spi_reader {
    const char *path;
    int fd; /* open until FAISS has read its sections: see load_faiss() */
    const unsigned char *map;
    uint64_t size;
} spi_reader;

static int bad(const spi_reader *in, const char *what)
{
    return sp__error(SP_ERR_FORMAT, "sp_retriever_load: %s: %s", in->path, what);
}

static int parse_table(const spi_reader *in, spi_section *sec, uint32_t *out_nsec, uint32_t *dim,
                       uint32_t *halves, uint64_t *embedder, uint32_t *nprobe)
{
    if (in->size < SPI_HEADER || memcmp(in->map, SPI_MAGIC, 8) != 0)
        return bad(in, "not a .spi index file (bad magic or too short)");
    const unsigned char *p = in->map;
    if (get32(p + 12) != SPI_ENDIAN)
        return sp__error(SP_ERR_UNSUPPORTED, "sp_retriever_load: %s: written on a machine of the other byte order",
                         in->path);
    if (get32(p + 8) != SPI_VERSION)
        return sp__error(get32(p + 8) > SPI_VERSION ? SP_ERR_VERSION : SP_ERR_FORMAT,
                         "sp_retriever_load: %s: format version %u, this library reads %u", in->path,
                         get32(p + 8), SPI_VERSION);
    *dim = get32(p + 16);
    *halves = get32(p + 20);
    *embedder = get64(p + 24);
    uint32_t nsec = get32(p + 32);
    *nprobe = get32(p + 36);
    if (*dim == 0 || *dim > 65536 || *halves < 1 || *halves > 2 || nsec != 1 + 2 * *halves)
        return bad(in, "header fields out of range");
    uint64_t head_size = SPI_HEADER + (uint64_t)nsec * SPI_ENTRY;
    if (in->size < head_size)
        return bad(in, "truncated in the section table");
    unsigned char head[SPI_HEADER + SPI_MAX_SECTIONS * SPI_ENTRY];
    memcpy(head, p, head_size);
    put32(head + 40, 0);
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    if (sp__crc32(0, head, head_size) != get32(p + 40))
        return bad(in, "header checksum mismatch");
#endif
    if (*nprobe > SP_RETRIEVER_MAX_NPROBE)
        return bad(in, "the stored default nprobe is above SP_RETRIEVER_MAX_NPROBE");
    uint64_t previous_end = head_size;
    for (uint32_t i = 0; i < nsec; i++) {
        const unsigned char *e = p + SPI_HEADER + i * SPI_ENTRY;
        sec[i].kind = get32(e);
        sec[i].crc = get32(e + 4);
        sec[i].offset = get64(e + 8);
        sec[i].size = get64(e + 16);
        uint32_t want = i == 0 ? SECTION_FACTORY : ((i % 2) ? SECTION_META : SECTION_FAISS) | ((i - 1) / 2);
        if (sec[i].kind != want)
            return bad(in, "unexpected section order");
        if (sec[i].offset < previous_end || sec[i].offset > in->size || sec[i].size > in->size - sec[i].offset)
            return bad(in, "a section lies outside the file (truncated?)");
        previous_end = sec[i].offset + sec[i].size;
    }
    for (uint32_t i = 0; i < nsec; i++) {
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
        /* Fuzzing skips the checks of our own sections to reach the
         * structural ones behind them; FAISS never sees unchecked bytes. */
        if ((sec[i].kind & 0xF0) != SECTION_FAISS)
            continue;
#endif
        if (sp__crc32(0, in->map + sec[i].offset, sec[i].size) != sec[i].crc)
            return bad(in, "section checksum mismatch (corrupted file)");
    }
    *out_nsec = nsec;
    return SP_OK;
}

/* Half `which` of `halves`: a two-half file must keep every game in the half
 * sp_retriever_game_half() gives it, or own-half exclusion would not hold. */
static int load_meta(const spi_reader *in, const spi_section *s, uint32_t which, uint32_t halves,
                     struct sp__half *h)
{
    if (s->size < 8)
        return bad(in, "metadata section too short");
    uint64_t count = get64(in->map + s->offset);
    if (count > (s->size - 8) / 12 || s->size != 8 + count * 12)
        return bad(in, "metadata section size does not match its key count");
    int rc = sp__half_reserve(h, count);
    if (rc != SP_OK)
        return rc;
    /* An empty half (a trained index saved before any add) has no arrays:
     * memcpy with NULL is undefined even for 0 bytes. */
    if (count > 0) {
        memcpy(h->position_ids, in->map + s->offset + 8, count * 8);
        memcpy(h->game_ids, in->map + s->offset + 8 + count * 8, count * 4);
    }
    /* The "no neighbour" markers of the search results are never stored ids. */
    for (uint64_t i = 0; i < count; i++) {
        if (h->position_ids[i] == SP_RETRIEVER_NO_ID || h->game_ids[i] == UINT32_MAX)
            return bad(in, "metadata holds a reserved position or game id");
        if (halves == 2 && sp_retriever_game_half(h->game_ids[i]) != which)
            return bad(in, "metadata puts a game in the wrong half");
    }
    h->count = count;
    return SP_OK;
}

/* FAISS reads the section from the bytes whose checksum was just checked,
 * never from the path again: a file renamed over it meanwhile would give one
 * file's metadata and another's index. Without the flag, from the checked
 * mapping itself; with SP_RETRIEVER_LOAD_MMAP, through a duplicate of the
 * descriptor that mapping came from (FAISS maps the inverted lists from the
 * file behind a FILE*), so the same inode. */
static int load_faiss(const spi_reader *in, const spi_section *s, uint32_t flags, FaissIndex **out)
{
    int mmapped = (flags & SP_RETRIEVER_LOAD_MMAP) != 0;
    FILE *fp = NULL;
    if (!mmapped) {
        fp = fmemopen((void *)(in->map + s->offset), (size_t)s->size, "rb");
    } else {
        int fd = dup(in->fd);
        fp = fd >= 0 ? fdopen(fd, "rb") : NULL;
        if (!fp && fd >= 0)
            close(fd);
    }
    if (!fp)
        return sp__error(SP_ERR_IO, "sp_retriever_load: %s: cannot open the index section: %s", in->path,
                         strerror(errno));
    uint64_t start = mmapped ? s->offset : 0;
    int rc = SP_OK;
    if (mmapped && fseeko(fp, (off_t)s->offset, SEEK_SET) != 0) {
        rc = sp__error(SP_ERR_IO, "sp_retriever_load: cannot seek in %s", in->path);
    } else if (faiss_read_index(fp, mmapped ? FAISS_IO_FLAG_MMAP : 0, out) != 0) {
        const char *msg = faiss_get_last_error();
        rc = sp__error(SP_ERR_FORMAT, "sp_retriever_load: %s: FAISS cannot read the index: %s", in->path,
                       msg ? msg : "unknown error");
    } else if ((uint64_t)ftello(fp) != start + s->size) {
        rc = bad(in, "the FAISS index does not fill its section");
    }
    fclose(fp);
    if (rc != SP_OK && *out) {
        faiss_Index_free(*out);
        *out = NULL;
    }
    return rc;
}

int sp_retriever_load(sp_retriever **out, const char *path, uint32_t flags, const sp_retriever_options *opts)
{
    if (!out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_retriever_load: out is NULL");
    *out = NULL;
    if (!path)
        return sp__error(SP_ERR_INVALID_ARG, "sp_retriever_load: path is NULL");
    if (flags & ~(uint32_t)SP_RETRIEVER_LOAD_MMAP)
        return sp__error(SP_ERR_INVALID_ARG, "sp_retriever_load: unknown flags %#x", flags);
    sp_retriever_options o;
    int rc = sp__retriever_options_read(&o, opts, "sp_retriever_load");
    if (rc != SP_OK)
        return rc;
    int fd;
    uint64_t size;
    if ((rc = sp__file_open_regular(path, &fd, &size)) != SP_OK)
        return sp__error(rc, "sp_retriever_load: %s", sp_last_error());
    spi_reader in = { path, fd, NULL, size };
    if (in.size == 0) {
        close(fd);
        return bad(&in, "empty file");
    }
    void *map = mmap(NULL, (size_t)in.size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        int err = errno;
        close(fd);
        return sp__error(SP_ERR_IO, "sp_retriever_load: cannot map %s: %s", path, strerror(err));
    }
    in.map = map;

    spi_section sec[SPI_MAX_SECTIONS];
    uint32_t nsec = 0, dim = 0, halves = 0, nprobe = 0;
    uint64_t embedder = 0;
    sp_retriever *r = NULL;
    rc = parse_table(&in, sec, &nsec, &dim, &halves, &embedder, &nprobe);
    if (rc == SP_OK) {
        o.halves = halves;
        o.embedder_id = embedder;
        if (!o.default_nprobe)
            o.default_nprobe = nprobe;
        rc = sp__retriever_alloc(&r, dim, halves, &o);
    }
    if (rc == SP_OK) {
        r->factory = malloc(sec[0].size + 1);
        if (!r->factory) {
            rc = sp__error(SP_ERR_NOMEM, "sp_retriever_load: out of memory");
        } else {
            memcpy(r->factory, in.map + sec[0].offset, sec[0].size);
            r->factory[sec[0].size] = 0;
            if (strlen(r->factory) != sec[0].size)
                rc = bad(&in, "factory string holds a NUL");
        }
    }
    for (uint32_t h = 0; h < halves && rc == SP_OK; h++) {
        rc = load_meta(&in, &sec[1 + 2 * h], h, halves, &r->half[h]);
        if (rc == SP_OK)
            rc = load_faiss(&in, &sec[2 + 2 * h], flags, &r->half[h].index);
        if (rc != SP_OK)
            break;
        FaissIndex *index = r->half[h].index;
        if ((uint32_t)faiss_Index_d(index) != dim)
            rc = bad(&in, "the FAISS index has another dimension than the header");
        else if ((uint64_t)faiss_Index_ntotal(index) != r->half[h].count)
            rc = bad(&in, "the FAISS index holds another number of keys than the metadata");
        else if (!faiss_Index_is_trained(index))
            rc = bad(&in, "the FAISS index is not trained");
    }
    munmap(map, (size_t)in.size);
    close(fd);
    if (rc != SP_OK) {
        sp_retriever_free(r);
        return rc;
    }
    r->trained = 1;
    r->mmapped = (flags & SP_RETRIEVER_LOAD_MMAP) != 0;
    sp__retriever_probe_params(r);
    *out = r;
    return SP_OK;
}
