/* Save and load of the sharded retriever: one `.spi` per shard plus a text
 * manifest (written last, atomically) that names each shard's key count,
 * file size and CRC-32, so a load refuses a set mixed from two saves. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core_internal.h"
#include "core/file.h"
#include "dist_internal.h"

#define MANIFEST_HEADER "libsemiparam-mpi manifest 1\n"
#define PATH_CAPACITY 4096

struct shard_entry {
    uint64_t count, bytes;
    uint32_t crc;
};

static int shard_path(char *path, const char *prefix, int rank, const char *fn)
{
    if ((size_t)snprintf(path, PATH_CAPACITY, "%s.%d.spi", prefix, rank) >= PATH_CAPACITY)
        return sp__error(SP_ERR_INVALID_ARG, "%s: prefix too long", fn);
    return SP_OK;
}

/* Size and CRC-32 of the file at path. */
static int file_digest(const char *path, struct shard_entry *e)
{
    char *data = NULL;
    size_t length = 0;
    int rc = sp__file_read(path, &data, &length);
    if (rc == SP_OK) {
        e->bytes = length;
        e->crc = sp__crc32(0, data, length);
    }
    free(data);
    return rc;
}

int sp_dist_retriever_save(const sp_dist_retriever *d, const char *prefix)
{
    static const char fn[] = "sp_dist_retriever_save";
    if (!d)
        return sp__error(SP_ERR_INVALID_ARG, "%s: retriever is NULL", fn);
    char path[PATH_CAPACITY];
    struct shard_entry mine = { sp_retriever_count(d->local), 0, 0 };
    int rc = !prefix || !*prefix ? sp__error(SP_ERR_INVALID_ARG, "%s: prefix is NULL or empty", fn)
                                 : shard_path(path, prefix, d->rank, fn);
    if (rc == SP_OK)
        rc = sp_retriever_save(d->local, path);
    if (rc == SP_OK)
        rc = file_digest(path, &mine);
    rc = sp__dist_agree(d->comm, rc, fn);
    if (rc != SP_OK)
        return rc;
    struct shard_entry *all = d->rank == 0 ? calloc((size_t)d->size, sizeof *all) : NULL;
    rc = d->rank == 0 && !all ? sp__error(SP_ERR_NOMEM, "%s: manifest", fn) : SP_OK;
    rc = sp__dist_agree(d->comm, rc, fn);
    int err;
    if (rc == SP_OK && (err = MPI_Gather(&mine, (int)sizeof mine, MPI_BYTE, all, (int)sizeof mine, MPI_BYTE, 0,
                                         d->comm)) != MPI_SUCCESS)
        rc = sp__dist_mpi_error(err, fn, "MPI_Gather");
    if (rc == SP_OK && d->rank == 0) {
        /* One line per shard; 100 bytes each is ample. */
        size_t capacity = 200 + (size_t)d->size * 100, used = 0;
        char *text = malloc(capacity);
        if (!text) {
            rc = sp__error(SP_ERR_NOMEM, "%s: manifest", fn);
        } else {
            used += (size_t)snprintf(text, capacity, MANIFEST_HEADER "ranks %d\ndim %u\nkeys %" PRIu64 "\n", d->size,
                                     d->dim, d->global_count);
            for (int r = 0; r < d->size; r++)
                used += (size_t)snprintf(text + used, capacity - used, "shard %d %" PRIu64 " %" PRIu64 " %08" PRIx32 "\n",
                                         r, all[r].count, all[r].bytes, all[r].crc);
            if ((size_t)snprintf(path, sizeof path, "%s.manifest", prefix) >= sizeof path)
                rc = sp__error(SP_ERR_INVALID_ARG, "%s: prefix too long", fn);
            else
                rc = sp__file_write_atomic(path, text, used);
            free(text);
        }
    }
    free(all);
    return sp__dist_agree(d->comm, rc, fn);
}

/* This rank's line of the manifest at prefix, checked against the set. */
static int read_manifest(const char *prefix, int rank, int size, uint32_t *dim, uint64_t *keys,
                         struct shard_entry *mine, const char *fn)
{
    char path[PATH_CAPACITY], *text = NULL;
    size_t length = 0;
    if ((size_t)snprintf(path, sizeof path, "%s.manifest", prefix) >= sizeof path)
        return sp__error(SP_ERR_INVALID_ARG, "%s: prefix too long", fn);
    int rc = sp__file_read(path, &text, &length);
    if (rc != SP_OK)
        return rc;
    int ranks = 0, used = 0;
    uint64_t sum = 0;
    if (strncmp(text, MANIFEST_HEADER, strlen(MANIFEST_HEADER)) != 0 ||
        sscanf(text + strlen(MANIFEST_HEADER), "ranks %d\ndim %" SCNu32 "\nkeys %" SCNu64 "\n%n", &ranks, dim, keys,
               &used) != 3 || used == 0) {
        rc = sp__error(SP_ERR_FORMAT, "%s: %s is not a libsemiparam-mpi manifest", fn, path);
        goto done;
    }
    if (ranks != size) {
        rc = sp__error(SP_ERR_INVALID_ARG, "%s: %s was saved by %d ranks, loaded by %d (resharding is not supported)",
                       fn, path, ranks, size);
        goto done;
    }
    const char *at = text + strlen(MANIFEST_HEADER) + used;
    for (int r = 0; r < size; r++) {
        struct shard_entry e;
        int index = -1, n = 0;
        if (sscanf(at, "shard %d %" SCNu64 " %" SCNu64 " %" SCNx32 "\n%n", &index, &e.count, &e.bytes, &e.crc, &n) != 4 ||
            n == 0 || index != r) {
            rc = sp__error(SP_ERR_FORMAT, "%s: %s: shard line %d missing or malformed", fn, path, r);
            goto done;
        }
        at += n;
        sum += e.count;
        if (r == rank)
            *mine = e;
    }
    if (sum != *keys || *at != '\0' || (size_t)(at - text) != length)
        rc = sp__error(SP_ERR_FORMAT, "%s: %s: shard counts do not add up, or trailing data", fn, path);
done:
    free(text);
    return rc;
}

int sp_dist_retriever_load(sp_dist_retriever **out, MPI_Comm comm, const char *prefix,
                           const sp_retriever_options *opts)
{
    static const char fn[] = "sp_dist_retriever_load";
    sp_dist_retriever *d = NULL;
    int rc = sp__dist_open(&d, out, comm, fn);
    if (rc != SP_OK)
        return rc;
    struct shard_entry want = { 0 }, got = { 0 };
    char path[PATH_CAPACITY];
    rc = !prefix || !*prefix ? sp__error(SP_ERR_INVALID_ARG, "%s: prefix is NULL or empty", fn)
                             : read_manifest(prefix, d->rank, d->size, &d->dim, &d->global_count, &want, fn);
    if (rc == SP_OK)
        rc = shard_path(path, prefix, d->rank, fn);
    if (rc == SP_OK)
        rc = file_digest(path, &got);
    if (rc == SP_OK && (got.bytes != want.bytes || got.crc != want.crc))
        rc = sp__error(SP_ERR_FORMAT, "%s: %s is not the shard its manifest names (size or CRC differ): a mixed set",
                       fn, path);
    if (rc == SP_OK)
        rc = sp_retriever_load(&d->local, path, 0, opts);
    if (rc == SP_OK && (sp_retriever_count(d->local) != want.count || sp_retriever_dim(d->local) != d->dim))
        rc = sp__error(SP_ERR_FORMAT, "%s: %s holds %llu keys of dimension %u, its manifest says %llu of %u", fn,
                       path, (unsigned long long)sp_retriever_count(d->local), sp_retriever_dim(d->local),
                       (unsigned long long)want.count, d->dim);
    rc = sp__dist_agree(d->comm, rc, fn);
    if (rc != SP_OK) {
        sp_dist_retriever_free(d);
        return rc;
    }
    *out = d;
    return SP_OK;
}
