/* File helpers for every loader and writer: whole-file reads, atomic writes
 * (temporary name + rename, so a final name never holds a partial file) and
 * the CRC-32 that file sections carry. */
#ifndef SP_CORE_FILE_H
#define SP_CORE_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/core_internal.h"

/* Open the regular file at path read-only (close-on-exec) and give its size.
 * SP_ERR_IO with the reason (missing, unreadable, a directory or a device) on
 * failure, *out_fd = -1 then. */
int sp__file_open_regular(const char *path, int *out_fd, uint64_t *out_size);

/* Read the whole file at path into a malloc'ed buffer (NUL appended, not
 * counted in *out_length). SP_ERR_IO with the reason on failure. */
SP__SHARED int sp__file_read(const char *path, char **out_data, size_t *out_length);

/* Write `length` bytes to path via a temporary file in the same directory,
 * fsync and rename. SP_ERR_IO and no file under path on failure. */
SP__SHARED int sp__file_write_atomic(const char *path, const void *data, size_t length);

/* Streaming version for large outputs: open a temporary file next to path
 * (path.tmp.PID.XXXXXX, locked while written), write to it, then commit
 * (fsync + rename) or abort (unlink). Opening first removes the temporaries
 * of the same path whose writers are gone (killed before commit or abort). */
typedef struct sp__atomic_file {
    int fd;
    char *final_path;
    char *temp_path;
    int failed;
} sp__atomic_file;

int sp__atomic_open(sp__atomic_file *f, const char *path);
int sp__atomic_write(sp__atomic_file *f, const void *data, size_t length);
int sp__atomic_commit(sp__atomic_file *f);
void sp__atomic_abort(sp__atomic_file *f);

/* Map the regular file at path read-only (private). An empty file gives
 * *out_data = NULL and *out_length = 0, without a mapping. SP_ERR_IO with the
 * reason on failure. Release with sp__file_unmap(). */
int sp__file_map(const char *path, const void **out_data, size_t *out_length);
void sp__file_unmap(const void *data, size_t length);

/* CRC-32 (IEEE, as zlib): start with crc = 0, feed pieces in order. */
SP__SHARED uint32_t sp__crc32(uint32_t crc, const void *data, size_t length);

#endif
