/* Whole-file reads, atomic writes and CRC-32. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core_internal.h"
#include "file.h"

int sp__file_read(const char *path, char **out_data, size_t *out_length)
{
    *out_data = NULL;
    *out_length = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sp__error(SP_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return sp__error(SP_ERR_IO, "%s is not a regular file", path);
    }
    size_t size = (size_t)st.st_size;
    char *data = malloc(size + 1);
    if (!data) {
        close(fd);
        return sp__error(SP_ERR_NOMEM, "out of memory reading %s (%zu bytes)", path, size);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, data + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int err = n < 0 ? errno : 0;
            close(fd);
            free(data);
            return sp__error(SP_ERR_IO, "cannot read %s: %s", path, err ? strerror(err) : "file shrank");
        }
        got += (size_t)n;
    }
    close(fd);
    data[size] = '\0';
    *out_data = data;
    *out_length = size;
    return SP_OK;
}

int sp__atomic_open(sp__atomic_file *f, const char *path)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    size_t n = strlen(path);
    f->final_path = malloc(n + 1);
    f->temp_path = malloc(n + 16);
    if (!f->final_path || !f->temp_path) {
        sp__atomic_abort(f);
        return sp__error(SP_ERR_NOMEM, "out of memory opening %s", path);
    }
    memcpy(f->final_path, path, n + 1);
    snprintf(f->temp_path, n + 16, "%s.tmp.XXXXXX", path);
    f->fd = mkostemp(f->temp_path, O_CLOEXEC);
    if (f->fd < 0) {
        int err = errno;
        free(f->temp_path);
        f->temp_path = NULL;
        sp__atomic_abort(f);
        return sp__error(SP_ERR_IO, "cannot create a file next to %s: %s", path, strerror(err));
    }
    return SP_OK;
}

int sp__atomic_write(sp__atomic_file *f, const void *data, size_t length)
{
    const char *p = data;
    while (length > 0 && !f->failed) {
        ssize_t n = write(f->fd, p, length);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            f->failed = 1;
            return sp__error(SP_ERR_IO, "cannot write %s: %s", f->final_path, strerror(errno));
        }
        p += n;
        length -= (size_t)n;
    }
    return f->failed ? sp__error(SP_ERR_IO, "cannot write %s", f->final_path) : SP_OK;
}

int sp__atomic_commit(sp__atomic_file *f)
{
    if (f->failed) {
        sp__atomic_abort(f);
        return sp__error(SP_ERR_IO, "writing failed earlier");
    }
    /* mkostemp creates 0600; give the file the usual permissions. */
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(f->fd, 0666 & ~mask) != 0 || fsync(f->fd) != 0) {
        int err = errno;
        sp__atomic_abort(f);
        return sp__error(SP_ERR_IO, "cannot finish writing: %s", strerror(err));
    }
    close(f->fd);
    f->fd = -1;
    if (rename(f->temp_path, f->final_path) != 0) {
        int err = errno;
        char path[4096];
        snprintf(path, sizeof path, "%s", f->final_path);
        sp__atomic_abort(f);
        return sp__error(SP_ERR_IO, "cannot rename into %s: %s", path, strerror(err));
    }
    free(f->final_path);
    free(f->temp_path);
    f->final_path = f->temp_path = NULL;
    return SP_OK;
}

void sp__atomic_abort(sp__atomic_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    if (f->temp_path)
        unlink(f->temp_path);
    free(f->final_path);
    free(f->temp_path);
    f->fd = -1;
    f->final_path = f->temp_path = NULL;
}

int sp__file_write_atomic(const char *path, const void *data, size_t length)
{
    sp__atomic_file f;
    int rc = sp__atomic_open(&f, path);
    if (rc)
        return rc;
    rc = sp__atomic_write(&f, data, length);
    if (rc) {
        sp__atomic_abort(&f);
        return rc;
    }
    return sp__atomic_commit(&f);
}

static uint32_t crc_table[256];

static void crc_table_fill(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

uint32_t sp__crc32(uint32_t crc, const void *data, size_t length)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, crc_table_fill);
    const unsigned char *p = data;
    crc = ~crc;
    while (length--)
        crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

int sp__file_map(const char *path, const void **out_data, size_t *out_length)
{
    *out_data = NULL;
    *out_length = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sp__error(SP_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return sp__error(SP_ERR_IO, "%s is not a regular file", path);
    }
    size_t length = (size_t)st.st_size;
    void *map = length ? mmap(NULL, length, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    int err = errno;
    close(fd);
    if (map == MAP_FAILED)
        return sp__error(SP_ERR_IO, "cannot map %s: %s", path, strerror(err));
    *out_data = map;
    *out_length = length;
    return SP_OK;
}

void sp__file_unmap(const void *data, size_t length)
{
    if (data && length)
        munmap((void *)data, length);
}
