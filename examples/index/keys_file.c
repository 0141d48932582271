/* Key files (.spk) of `sp-index embed`: writing through a temporary and
 * reading back with every check (see keys_file.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index/keys_file.h"

static const unsigned char MAGIC[8] = { 'S', 'P', 'K', 'E', 'Y', 'S', 0, 0x1a };
/* Written in the writer's byte order: a reader of the other order sees 0x0D0C0B0A. */
#define MARK 0x0A0B0C0Du
#define MARK_SWAPPED 0x0D0C0B0Au

/* Header fields at these byte offsets (64 bytes; 56..63 zero). */
enum { AT_VERSION = 8, AT_MARK = 12, AT_DIM = 16, AT_SIZE = 20, AT_COUNT = 24, AT_ID = 32, AT_CRC_POS = 40,
       AT_CRC_GAMES = 44, AT_CRC_KEYS = 48, AT_CRC_HEADER = 52 };

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32()), so a file can be
 * checked with any common tool; the examples link only the public library. */
static uint32_t crc32_update(uint32_t crc, const void *data, size_t n)
{
    static uint32_t table[256];
    if (!table[1])
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int b = 0; b < 8; b++)
                c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
    const unsigned char *p = data;
    crc = ~crc;
    while (n--)
        crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static void put32(unsigned char *h, int at, uint32_t v) { memcpy(h + at, &v, 4); }
static void put64(unsigned char *h, int at, uint64_t v) { memcpy(h + at, &v, 8); }
static uint32_t get32(const unsigned char *h, int at)
{
    uint32_t v;
    memcpy(&v, h + at, 4);
    return v;
}
static uint64_t get64(const unsigned char *h, int at)
{
    uint64_t v;
    memcpy(&v, h + at, 8);
    return v;
}

static int say(char *err, size_t err_size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
    return -1;
}

/* Bytes of the three sections for `count` keys of `dim` floats; 0 when
 * they overflow 64 bits. */
static uint64_t payload_bytes(uint64_t count, uint32_t dim, uint64_t section[3])
{
    uint64_t per = 8 + 4 + 4 * (uint64_t)dim;
    if (count > (UINT64_MAX - KEYS_FILE_HEADER) / per)
        return 0;
    section[0] = count * 8;
    section[1] = count * 4;
    section[2] = count * 4 * (uint64_t)dim;
    return count * per;
}

static int write_all(FILE *f, const void *data, size_t n) { return n == 0 || fwrite(data, 1, n, f) == n ? 0 : -1; }

/* Temporaries PATH.tmp.PID.XXXXXX whose writer was killed before its
 * rename: removed by the next write of PATH. A writer holds a lock on its
 * temporary, so one of a live process (in another pid namespace, say) stays. */
static void remove_stale(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char dir[4096];
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) + 1 : 1, slash ? path : ".");
    DIR *d = opendir(dir);
    if (!d)
        return; /* the write itself reports a directory it cannot use */
    size_t n = strlen(base);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        char *end;
        if (strncmp(e->d_name, base, n) != 0 || strncmp(e->d_name + n, ".tmp.", 5) != 0)
            continue;
        long pid = strtol(e->d_name + n + 5, &end, 10);
        if (pid <= 0 || *end != '.' || (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
            continue;
        int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW);
        if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
            unlinkat(dirfd(d), e->d_name, 0);
        if (fd >= 0)
            close(fd);
    }
    closedir(d);
}

int keys_file_write(const keys_file *k, const char *path, char *err, size_t err_size)
{
    uint64_t sec[3];
    if (!k || !path || k->dim == 0 || (k->count && (!k->positions || !k->games || !k->keys)) ||
        !payload_bytes(k->count, k->dim, sec) || sec[2] > SIZE_MAX)
        return say(err, err_size, "%s: nothing valid to write", path ? path : "(null)");
    unsigned char h[KEYS_FILE_HEADER] = { 0 };
    memcpy(h, MAGIC, sizeof MAGIC);
    put32(h, AT_VERSION, KEYS_FILE_VERSION);
    put32(h, AT_MARK, MARK);
    put32(h, AT_DIM, k->dim);
    put32(h, AT_SIZE, (uint32_t)k->board_size);
    put64(h, AT_COUNT, k->count);
    put64(h, AT_ID, k->embedder_id);
    put32(h, AT_CRC_POS, crc32_update(0, k->positions, (size_t)sec[0]));
    put32(h, AT_CRC_GAMES, crc32_update(0, k->games, (size_t)sec[1]));
    put32(h, AT_CRC_KEYS, crc32_update(0, k->keys, (size_t)sec[2]));
    put32(h, AT_CRC_HEADER, crc32_update(0, h, sizeof h));

    size_t len = strlen(path) + 32;
    char *tmp = malloc(len);
    if (!tmp)
        return say(err, err_size, "%s: out of memory", path);
    remove_stale(path);
    snprintf(tmp, len, "%s.tmp.%ld.XXXXXX", path, (long)getpid());
    int fd = mkstemp(tmp);
    if (fd >= 0)
        flock(fd, LOCK_EX | LOCK_NB); /* held until close: tells remove_stale() this one is live */
    if (fd < 0) {
        say(err, err_size, "%s: cannot create a temporary beside it: %s", path, strerror(errno));
        free(tmp);
        return -1;
    }
    /* mkstemp makes it 0600; a key file is as readable as any other output. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        say(err, err_size, "%s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        free(tmp);
        return -1;
    }
    const char *step = "writing";
    int bad = write_all(f, h, sizeof h) || write_all(f, k->positions, (size_t)sec[0]) ||
              write_all(f, k->games, (size_t)sec[1]) || write_all(f, k->keys, (size_t)sec[2]);
    if (!bad && fflush(f) != 0)
        bad = 1;
    if (!bad && fsync(fileno(f)) != 0) {
        step = "syncing";
        bad = 1;
    }
    int saved = errno;
    if (fclose(f) != 0 && !bad) {
        step = "closing";
        bad = 1;
        saved = errno;
    }
    if (!bad && rename(tmp, path) != 0) {
        step = "renaming the temporary to it";
        bad = 1;
        saved = errno;
    }
    if (bad) {
        unlink(tmp);
        say(err, err_size, "%s: %s failed: %s (nothing written)", path, step, strerror(saved ? saved : EIO));
    }
    free(tmp);
    return bad ? -1 : 0;
}

void keys_file_free(keys_file *k)
{
    if (!k)
        return;
    free(k->positions);
    free(k->games);
    free(k->keys);
    memset(k, 0, sizeof *k);
}

/* Read one section and check its CRC; names it with its byte range. */
static int read_section(FILE *f, void *buf, uint64_t n, uint64_t at, uint32_t crc, const char *name,
                        const char *path, char *err, size_t err_size)
{
    if (n && fread(buf, 1, (size_t)n, f) != n)
        return say(err, err_size, "%s: cannot read the %s (bytes %llu-%llu): truncated while reading", path, name,
                   (unsigned long long)at, (unsigned long long)(at + n - 1));
    if (crc32_update(0, buf, (size_t)n) != crc)
        return say(err, err_size, "%s: the %s (bytes %llu-%llu) fail their CRC-32: the file is corrupted", path,
                   name, (unsigned long long)at, (unsigned long long)(at + (n ? n - 1 : 0)));
    return 0;
}

/* The header's checks, in the order that names the most likely cause. */
static int check_header(const unsigned char *h, uint64_t file_size, uint64_t sec[3], const char *path, char *err,
                        size_t err_size)
{
    if (memcmp(h, MAGIC, sizeof MAGIC) != 0)
        return say(err, err_size, "%s: not an sp-index key file (bytes 0-7 are not the magic SPKEYS\\0\\x1a)", path);
    if (get32(h, AT_MARK) == MARK_SWAPPED)
        return say(err, err_size, "%s: written on a machine of the other byte order (mark at byte 12)", path);
    if (get32(h, AT_MARK) != MARK)
        return say(err, err_size, "%s: bad byte-order mark %08x at byte 12: corrupted", path, get32(h, AT_MARK));
    if (get32(h, AT_VERSION) != KEYS_FILE_VERSION)
        return say(err, err_size, "%s: format version %u (byte 8); this sp-index reads version %u", path,
                   get32(h, AT_VERSION), KEYS_FILE_VERSION);
    unsigned char z[KEYS_FILE_HEADER];
    memcpy(z, h, sizeof z);
    put32(z, AT_CRC_HEADER, 0);
    if (crc32_update(0, z, sizeof z) != get32(h, AT_CRC_HEADER))
        return say(err, err_size, "%s: the header (bytes 0-63) fails its CRC-32: the file is corrupted", path);
    uint32_t dim = get32(h, AT_DIM);
    uint64_t count = get64(h, AT_COUNT), payload = dim ? payload_bytes(count, dim, sec) : 0;
    if (!dim || (!payload && count) || payload > SIZE_MAX)
        return say(err, err_size, "%s: impossible shape in the header: %llu keys of %u floats", path,
                   (unsigned long long)count, dim);
    if (file_size != KEYS_FILE_HEADER + payload)
        return say(err, err_size, "%s: %s: %llu bytes, but %llu keys of %u floats take %llu", path,
                   file_size < KEYS_FILE_HEADER + payload ? "truncated" : "trailing bytes",
                   (unsigned long long)file_size, (unsigned long long)count, dim,
                   (unsigned long long)(KEYS_FILE_HEADER + payload));
    return 0;
}

int keys_file_read(keys_file *out, const char *path, char *err, size_t err_size)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return say(err, err_size, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    unsigned char h[KEYS_FILE_HEADER];
    uint64_t sec[3] = { 0 };
    int rc = -1;
    if (fstat(fileno(f), &st) != 0)
        say(err, err_size, "%s: cannot stat: %s", path, strerror(errno));
    else if (fread(h, 1, sizeof h, f) != sizeof h)
        say(err, err_size, "%s: truncated: %lld bytes, shorter than the %u-byte header", path,
            (long long)st.st_size, KEYS_FILE_HEADER);
    else if (check_header(h, (uint64_t)st.st_size, sec, path, err, err_size) == 0) {
        out->dim = get32(h, AT_DIM);
        out->board_size = (int32_t)get32(h, AT_SIZE);
        out->count = get64(h, AT_COUNT);
        out->embedder_id = get64(h, AT_ID);
        out->positions = malloc(sec[0] ? (size_t)sec[0] : 1);
        out->games = malloc(sec[1] ? (size_t)sec[1] : 1);
        out->keys = malloc(sec[2] ? (size_t)sec[2] : 1);
        if (!out->positions || !out->games || !out->keys)
            say(err, err_size, "%s: out of memory for %llu keys", path, (unsigned long long)out->count);
        else if (read_section(f, out->positions, sec[0], KEYS_FILE_HEADER, get32(h, AT_CRC_POS), "position ids",
                              path, err, err_size) == 0 &&
                 read_section(f, out->games, sec[1], KEYS_FILE_HEADER + sec[0], get32(h, AT_CRC_GAMES),
                              "game ids", path, err, err_size) == 0 &&
                 read_section(f, out->keys, sec[2], KEYS_FILE_HEADER + sec[0] + sec[1], get32(h, AT_CRC_KEYS),
                              "keys", path, err, err_size) == 0)
            rc = 0;
    }
    fclose(f);
    if (rc)
        keys_file_free(out);
    return rc;
}

typedef struct key_slot {
    uint64_t position;
    uint64_t row;
} key_slot;

static int by_position(const void *a, const void *b)
{
    const key_slot *x = a, *y = b;
    return x->position < y->position ? -1 : x->position > y->position;
}

int keys_file_lookup(const keys_file *k, const uint64_t *positions, uint64_t n, float *keys, uint32_t *games,
                     char *err, size_t err_size)
{
    /* The file's rows sorted by position id, then a binary search per
     * position: n log(count), however the two orders differ. */
    key_slot *slots = malloc((k->count ? k->count : 1) * sizeof *slots);
    if (!slots) {
        say(err, err_size, "out of memory for %llu key slots", (unsigned long long)k->count);
        return -1;
    }
    for (uint64_t i = 0; i < k->count; i++)
        slots[i] = (key_slot){ k->positions[i], i };
    qsort(slots, (size_t)k->count, sizeof *slots, by_position);
    int rc = 0;
    for (uint64_t i = 0; i < n && rc == 0; i++) {
        const key_slot want = { positions[i], 0 };
        const key_slot *got = bsearch(&want, slots, (size_t)k->count, sizeof *slots, by_position);
        if (!got) {
            say(err, err_size, "the key file lacks position %llu", (unsigned long long)positions[i]);
            rc = -1;
            break;
        }
        memcpy(keys + i * k->dim, k->keys + got->row * k->dim, (size_t)k->dim * sizeof *keys);
        if (games)
            games[i] = k->games[got->row];
    }
    free(slots);
    return rc;
}
