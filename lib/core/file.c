/* Whole-file reads, atomic writes and CRC-32. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core_internal.h"
#include "file.h"

int sp__file_open_regular(const char *path, int *out_fd, uint64_t *out_size)
{
    *out_fd = -1;
    *out_size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sp__error(SP_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return sp__error(SP_ERR_IO, "%s is not a regular file", path);
    }
    *out_fd = fd;
    *out_size = (uint64_t)st.st_size;
    return SP_OK;
}

int sp__file_read(const char *path, char **out_data, size_t *out_length)
{
    *out_data = NULL;
    *out_length = 0;
    int fd;
    uint64_t file_size;
    int rc = sp__file_open_regular(path, &fd, &file_size);
    if (rc != SP_OK)
        return rc;
    size_t size = (size_t)file_size;
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

/* A temporary file is named TARGET.tmp.PID.XXXXXX and flock'ed by its writer
 * until it is renamed, so that a later writer of the same target can tell a
 * temporary left by a killed process (pid gone, no lock) from one being
 * written now, and remove it. The lock covers writers whose pid this process
 * cannot see (another pid namespace sharing the directory). */
static void remove_stale_temporaries(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char dir[4096];
    if (slash)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path == 0 ? 1 : slash - path), path);
    else
        snprintf(dir, sizeof dir, ".");
    DIR *d = opendir(dir);
    if (!d)
        return; /* only a courtesy: the write itself reports a bad directory */
    size_t base_len = strlen(base);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        if (strncmp(name, base, base_len) != 0 || strncmp(name + base_len, ".tmp.", 5) != 0)
            continue;
        char *end;
        long pid = strtol(name + base_len + 5, &end, 10);
        if (pid <= 0 || *end != '.' || strlen(end + 1) != 6)
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* its writer may still be running */
        int fd = openat(dirfd(d), name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
            continue;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            unlinkat(dirfd(d), name, 0);
            sp__log(SP_LOG_INFO, "removed %s/%s, left by a writer that is gone", dir, name);
        }
        close(fd);
    }
    closedir(d);
}

int sp__atomic_open(sp__atomic_file *f, const char *path)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    size_t n = strlen(path);
    f->final_path = malloc(n + 1);
    f->temp_path = malloc(n + 40);
    if (!f->final_path || !f->temp_path) {
        sp__atomic_abort(f);
        return sp__error(SP_ERR_NOMEM, "out of memory opening %s", path);
    }
    memcpy(f->final_path, path, n + 1);
    remove_stale_temporaries(path);
    snprintf(f->temp_path, n + 40, "%s.tmp.%ld.XXXXXX", path, (long)getpid());
    f->fd = mkostemp(f->temp_path, O_CLOEXEC);
    if (f->fd < 0 || flock(f->fd, LOCK_EX) != 0) {
        int err = errno;
        if (f->fd < 0) { /* nothing was created under temp_path */
            free(f->temp_path);
            f->temp_path = NULL;
        }
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
    /* Renamed before it is closed: the lock must outlive the temporary name. */
    if (rename(f->temp_path, f->final_path) != 0) {
        int err = errno;
        char path[4096];
        snprintf(path, sizeof path, "%s", f->final_path);
        sp__atomic_abort(f);
        return sp__error(SP_ERR_IO, "cannot rename into %s: %s", path, strerror(err));
    }
    close(f->fd);
    f->fd = -1;
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
    int fd;
    uint64_t file_size;
    int rc = sp__file_open_regular(path, &fd, &file_size);
    if (rc != SP_OK)
        return rc;
    size_t length = (size_t)file_size;
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
