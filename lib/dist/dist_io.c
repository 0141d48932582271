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
/* Shards a manifest may name: far beyond any job, it bounds the allocation. */
#define MAX_SHARDS (1 << 20)

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

/* Entries of all shards, summed into rank 0: each shard's holder fills its
 * slots, the others leave zeros. */
static int gather_entries(const sp_dist_retriever *d, const struct shard_entry *mine, uint64_t *all,
                          const char *fn)
{
    size_t n = (size_t)d->shards * 3;
    uint64_t *part = calloc(n, sizeof *part);
    int rc = sp__dist_agree(d->comm, part ? SP_OK : sp__error(SP_ERR_NOMEM, "%s: manifest", fn), fn);
    if (rc != SP_OK) {
        free(part);
        return rc;
    }
    for (int i = 0; i < d->held; i++) {
        int s = d->rank + i * d->size;
        part[3 * s] = mine[i].count;
        part[3 * s + 1] = mine[i].bytes;
        part[3 * s + 2] = mine[i].crc;
    }
    int err = MPI_Reduce(part, all, (int)n, MPI_UINT64_T, MPI_SUM, 0, d->comm);
    free(part);
    return err == MPI_SUCCESS ? SP_OK : sp__dist_mpi_error(err, fn, "MPI_Reduce");
}

int sp_dist_retriever_save(const sp_dist_retriever *d, const char *prefix)
{
    static const char fn[] = "sp_dist_retriever_save";
    if (!d)
        return sp__error(SP_ERR_INVALID_ARG, "%s: retriever is NULL", fn);
    char path[PATH_CAPACITY];
    /* Every shard this rank holds, under its shard number: a handle loaded
     * by another rank count saves the shards it loaded, as they were cut. */
    struct shard_entry *mine = calloc((size_t)d->held + 1, sizeof *mine);
    int rc = !prefix || !*prefix ? sp__error(SP_ERR_INVALID_ARG, "%s: prefix is NULL or empty", fn)
             : !mine              ? sp__error(SP_ERR_NOMEM, "%s: shard entries", fn)
                                  : SP_OK;
    for (int i = 0; i < d->held && rc == SP_OK; i++) {
        mine[i].count = sp_retriever_count(d->shard[i]);
        rc = shard_path(path, prefix, d->rank + i * d->size, fn);
        if (rc == SP_OK)
            rc = sp_retriever_save(d->shard[i], path);
        if (rc == SP_OK)
            rc = file_digest(path, &mine[i]);
    }
    rc = sp__dist_agree(d->comm, rc, fn);
    if (rc != SP_OK) {
        free(mine);
        return rc;
    }
    uint64_t *all = d->rank == 0 ? calloc((size_t)d->shards * 3, sizeof *all) : NULL;
    rc = d->rank == 0 && !all ? sp__error(SP_ERR_NOMEM, "%s: manifest", fn) : SP_OK;
    rc = sp__dist_agree(d->comm, rc, fn);
    if (rc == SP_OK)
        rc = gather_entries(d, mine, all, fn);
    if (rc == SP_OK && d->rank == 0) {
        /* One line per shard; 100 bytes each is ample. The "ranks" line
         * counts shards: the ranks that cut them. */
        size_t capacity = 200 + (size_t)d->shards * 100, used = 0;
        char *text = malloc(capacity);
        if (!text) {
            rc = sp__error(SP_ERR_NOMEM, "%s: manifest", fn);
        } else {
            used += (size_t)snprintf(text, capacity, MANIFEST_HEADER "ranks %d\ndim %u\nkeys %" PRIu64 "\n", d->shards,
                                     d->dim, d->global_count);
            for (int r = 0; r < d->shards; r++)
                used += (size_t)snprintf(text + used, capacity - used, "shard %d %" PRIu64 " %" PRIu64 " %08" PRIx32 "\n",
                                         r, all[3 * r], all[3 * r + 1], (uint32_t)all[3 * r + 2]);
            if ((size_t)snprintf(path, sizeof path, "%s.manifest", prefix) >= sizeof path)
                rc = sp__error(SP_ERR_INVALID_ARG, "%s: prefix too long", fn);
            else
                rc = sp__file_write_atomic(path, text, used);
            free(text);
        }
    }
    free(all);
    free(mine);
    return sp__dist_agree(d->comm, rc, fn);
}

/* The manifest at prefix: dimension, total keys and every shard's entry
 * (*entries malloc'd, *shards of them), checked to add up. */
static int read_manifest(const char *prefix, uint32_t *dim, uint64_t *keys, int *shards,
                         struct shard_entry **entries, const char *fn)
{
    char path[PATH_CAPACITY], *text = NULL;
    size_t length = 0;
    *entries = NULL;
    if ((size_t)snprintf(path, sizeof path, "%s.manifest", prefix) >= sizeof path)
        return sp__error(SP_ERR_INVALID_ARG, "%s: prefix too long", fn);
    int rc = sp__file_read(path, &text, &length);
    if (rc != SP_OK)
        return rc;
    int ranks = 0, used = 0;
    uint64_t sum = 0;
    if (strncmp(text, MANIFEST_HEADER, strlen(MANIFEST_HEADER)) != 0 ||
        sscanf(text + strlen(MANIFEST_HEADER), "ranks %d\ndim %" SCNu32 "\nkeys %" SCNu64 "\n%n", &ranks, dim, keys,
               &used) != 3 || used == 0 || ranks < 1 || ranks > MAX_SHARDS) {
        rc = sp__error(SP_ERR_FORMAT, "%s: %s is not a libsemiparam-mpi manifest", fn, path);
        goto done;
    }
    *entries = calloc((size_t)ranks, sizeof **entries);
    if (!*entries) {
        rc = sp__error(SP_ERR_NOMEM, "%s: %d shard entries", fn, ranks);
        goto done;
    }
    const char *at = text + strlen(MANIFEST_HEADER) + used;
    for (int r = 0; r < ranks; r++) {
        struct shard_entry e;
        int index = -1, n = 0;
        if (sscanf(at, "shard %d %" SCNu64 " %" SCNu64 " %" SCNx32 "\n%n", &index, &e.count, &e.bytes, &e.crc, &n) != 4 ||
            n == 0 || index != r) {
            rc = sp__error(SP_ERR_FORMAT, "%s: %s: shard line %d missing or malformed", fn, path, r);
            goto done;
        }
        at += n;
        sum += e.count;
        (*entries)[r] = e;
    }
    *shards = ranks;
    if (sum != *keys || *at != '\0' || (size_t)(at - text) != length)
        rc = sp__error(SP_ERR_FORMAT, "%s: %s: shard counts do not add up, or trailing data", fn, path);
done:
    if (rc != SP_OK) {
        free(*entries);
        *entries = NULL;
    }
    free(text);
    return rc;
}

/* Shard s of the set at prefix, checked against its manifest entry. */
static int load_shard(sp_retriever **out, const char *prefix, int s, const struct shard_entry *want, uint32_t dim,
                      const sp_retriever_options *opts, const char *fn)
{
    char path[PATH_CAPACITY];
    struct shard_entry got = { 0 };
    int rc = shard_path(path, prefix, s, fn);
    if (rc == SP_OK)
        rc = file_digest(path, &got);
    if (rc == SP_OK && (got.bytes != want->bytes || got.crc != want->crc))
        rc = sp__error(SP_ERR_FORMAT, "%s: %s is not the shard its manifest names (size or CRC differ): a mixed set",
                       fn, path);
    if (rc == SP_OK)
        rc = sp_retriever_load(out, path, 0, opts);
    if (rc == SP_OK && (sp_retriever_count(*out) != want->count || sp_retriever_dim(*out) != dim))
        rc = sp__error(SP_ERR_FORMAT, "%s: %s holds %llu keys of dimension %u, its manifest says %llu of %u", fn,
                       path, (unsigned long long)sp_retriever_count(*out), sp_retriever_dim(*out),
                       (unsigned long long)want->count, dim);
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
    struct shard_entry *entries = NULL;
    int shards = 0;
    rc = !prefix || !*prefix ? sp__error(SP_ERR_INVALID_ARG, "%s: prefix is NULL or empty", fn)
                             : read_manifest(prefix, &d->dim, &d->global_count, &shards, &entries, fn);
    /* Shard s on rank s mod size: with as many ranks as shards, one each. */
    int held = rc == SP_OK ? (shards - d->rank + d->size - 1) / d->size : 0;
    if (held < 0)
        held = 0;
    if (rc == SP_OK && shards != d->size) {
        sp_retriever **shard = calloc((size_t)held + 1, sizeof *shard);
        if (!shard) {
            rc = sp__error(SP_ERR_NOMEM, "%s: %d shards", fn, held);
        } else {
            d->shard = shard;
            d->shards = shards;
            d->held = 0;
        }
    }
    for (int i = 0; rc == SP_OK && i < held; i++) {
        int s = d->rank + i * d->size;
        rc = load_shard(&d->shard[i], prefix, s, &entries[s], d->dim, opts, fn);
        if (d->shard[i])
            d->held = i + 1; /* freed with the handle */
    }
    if (rc == SP_OK && held == 0)
        d->held = 0;
    d->local = d->held ? d->shard[0] : NULL;
    free(entries);
    rc = sp__dist_agree(d->comm, rc, fn);
    if (rc != SP_OK) {
        sp_dist_retriever_free(d);
        return rc;
    }
    *out = d;
    return SP_OK;
}
