/* Neighbour pre-computation for training (paper §2.1.1): every position's
 * neighbours from the half not holding its game, in a `.spn` file the batch
 * sampler reads. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core_internal.h"
#include "core/file.h"
#include "retrieval_internal.h"

static const char SPN_MAGIC[8] = { 'S', 'P', 'N', 'E', 'I', 'G', 'H', 0x1a };
#define SPN_VERSION 1u
#define SPN_ENDIAN 0x0A0B0C0Du
#define SPN_HEADER 64u
#define SPN_BATCH 1024u

struct sp_neighbours {
    char *data;
    uint64_t count;
    uint32_t k;
};

static size_t row_size(uint32_t k) { return 8 + 12 * (size_t)k; }

static void make_header(unsigned char *head, uint64_t count, uint32_t k, uint64_t embedder, uint32_t body_crc)
{
    memset(head, 0, SPN_HEADER);
    memcpy(head, SPN_MAGIC, 8);
    uint32_t v[2] = { SPN_VERSION, SPN_ENDIAN };
    memcpy(head + 8, v, 8);
    memcpy(head + 16, &count, 8);
    memcpy(head + 24, &k, 4);
    memcpy(head + 32, &embedder, 8);
    memcpy(head + 40, &body_crc, 4);
    uint32_t crc = sp__crc32(0, head, SPN_HEADER);
    memcpy(head + 44, &crc, 4);
}

int sp_retriever_precompute(const sp_retriever *r, const float *keys, const uint64_t *position_ids,
                            const uint32_t *game_ids, uint64_t count, uint32_t dim, uint32_t k,
                            const sp_retriever_query *query, const char *path)
{
    if (!r || !path || (count > 0 && (!keys || !position_ids || !game_ids)) || k == 0)
        return sp__error(SP_ERR_INVALID_ARG, "sp_retriever_precompute: NULL argument or k is 0");
    sp_retriever_query q;
    int rc = sp__retriever_query_read(&q, query, "sp_retriever_precompute");
    if (rc != SP_OK)
        return rc;
    /* With one half, at least never hand a position its own game. */
    q.exclude = r->halves > 1 ? SP_RETRIEVER_EXCLUDE_OWN_HALF : SP_RETRIEVER_EXCLUDE_GAME;
    size_t rs = row_size(k);
    unsigned char *rows = malloc(SPN_BATCH * rs);
    uint64_t *ids = malloc((size_t)SPN_BATCH * k * sizeof *ids);
    float *dist = malloc((size_t)SPN_BATCH * k * sizeof *dist);
    sp__atomic_file f;
    rc = rows && ids && dist ? sp__atomic_open(&f, path) : sp__error(SP_ERR_NOMEM, "sp_retriever_precompute: out of memory");
    int opened = rc == SP_OK;
    unsigned char head[SPN_HEADER];
    if (rc == SP_OK) {
        make_header(head, 0, k, 0, 0);  /* placeholder until the body CRC is known */
        rc = sp__atomic_write(&f, head, SPN_HEADER);
    }
    uint32_t crc = 0;
    for (uint64_t done = 0; done < count && rc == SP_OK;) {
        uint64_t n = count - done < SPN_BATCH ? count - done : SPN_BATCH;
        q.game_ids = game_ids + done;
        rc = sp_retriever_search(r, keys + done * dim, n, dim, k, &q, ids, dist, NULL);
        for (uint64_t i = 0; i < n && rc == SP_OK; i++) {
            unsigned char *row = rows + i * rs;
            memcpy(row, &position_ids[done + i], 8);
            memcpy(row + 8, ids + i * k, 8 * (size_t)k);
            memcpy(row + 8 + 8 * (size_t)k, dist + i * k, 4 * (size_t)k);
        }
        if (rc == SP_OK) {
            crc = sp__crc32(crc, rows, n * rs);
            rc = sp__atomic_write(&f, rows, n * rs);
        }
        done += n;
        if (rc == SP_OK && sp__progress("index-precompute", done, count) != 0)
            rc = sp__error(SP_ERR_CANCELLED, "sp_retriever_precompute: cancelled");
    }
    if (rc == SP_OK) {
        make_header(head, count, k, r->embedder_id, crc);
        if (pwrite(f.fd, head, SPN_HEADER, 0) != (ssize_t)SPN_HEADER)
            rc = sp__error(SP_ERR_IO, "sp_retriever_precompute: cannot write %s: %s", path, strerror(errno));
    }
    if (rc == SP_OK)
        rc = sp__atomic_commit(&f);
    else if (opened)
        sp__atomic_abort(&f);
    free(rows);
    free(ids);
    free(dist);
    return rc;
}

int sp_neighbours_open(sp_neighbours **out, const char *path)
{
    if (!out || !path)
        return sp__error(SP_ERR_INVALID_ARG, "sp_neighbours_open: NULL argument");
    *out = NULL;
    char *data;
    size_t length;
    int rc = sp__file_read(path, &data, &length);
    if (rc != SP_OK)
        return rc;
    const char *why = NULL;
    uint64_t count = 0;
    uint32_t k = 0, v[2], body_crc, head_crc;
    if (length < SPN_HEADER || memcmp(data, SPN_MAGIC, 8) != 0) {
        why = "not a .spn neighbour file";
    } else {
        memcpy(v, data + 8, 8);
        memcpy(&count, data + 16, 8);
        memcpy(&k, data + 24, 4);
        memcpy(&body_crc, data + 40, 4);
        memcpy(&head_crc, data + 44, 4);
        unsigned char head[SPN_HEADER];
        memcpy(head, data, SPN_HEADER);
        memset(head + 44, 0, 4);
        if (v[1] != SPN_ENDIAN)
            why = "written on a machine of the other byte order";
        else if (v[0] != SPN_VERSION)
            why = "unknown format version";
        else if (sp__crc32(0, head, SPN_HEADER) != head_crc)
            why = "header checksum mismatch";
        else if (k == 0 || k > 1u << 20 || count > (length - SPN_HEADER) / row_size(k) ||
                 length - SPN_HEADER != count * row_size(k))
            why = "size does not match the row count (truncated?)";
        else if (sp__crc32(0, data + SPN_HEADER, length - SPN_HEADER) != body_crc)
            why = "checksum mismatch (corrupted file)";
    }
    sp_neighbours *nb = why ? NULL : malloc(sizeof *nb);
    if (!nb) {
        free(data);
        return why ? sp__error(strstr(why, "byte order") ? SP_ERR_UNSUPPORTED : SP_ERR_FORMAT,
                               "sp_neighbours_open: %s: %s", path, why)
                   : sp__error(SP_ERR_NOMEM, "sp_neighbours_open: out of memory");
    }
    nb->data = data;
    nb->count = count;
    nb->k = k;
    *out = nb;
    return SP_OK;
}

void sp_neighbours_free(sp_neighbours *nb)
{
    if (!nb)
        return;
    free(nb->data);
    free(nb);
}

uint64_t sp_neighbours_count(const sp_neighbours *nb) { return nb ? nb->count : 0; }
uint32_t sp_neighbours_k(const sp_neighbours *nb) { return nb ? nb->k : 0; }

int sp_neighbours_row(const sp_neighbours *nb, uint64_t row, uint64_t *out_position_id, uint64_t *out_ids,
                      float *out_distances)
{
    if (!nb || row >= nb->count)
        return sp__error(SP_ERR_INVALID_ARG, "sp_neighbours_row: NULL or row out of range");
    const char *p = nb->data + SPN_HEADER + row * row_size(nb->k);
    if (out_position_id)
        memcpy(out_position_id, p, 8);
    if (out_ids)
        memcpy(out_ids, p + 8, 8 * (size_t)nb->k);
    if (out_distances)
        memcpy(out_distances, p + 8 + 8 * (size_t)nb->k, 4 * (size_t)nb->k);
    return SP_OK;
}
