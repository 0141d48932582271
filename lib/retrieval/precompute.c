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

struct sp_neighbours {
    char *data;
    uint64_t count;
    uint32_t k;
    uint64_t embedder_id;
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

/* The writer streams rows to a temporary file and writes the header, which
 * holds the row count and the body's CRC, over its placeholder at the end. */
struct sp__spn_writer {
    sp__atomic_file f;
    const char *who;
    unsigned char *rows; /* one batch of rows */
    uint64_t count;      /* rows written */
    uint32_t k;
    uint32_t crc;        /* of the body so far */
};

int sp__spn_open(sp__spn_writer **out, const char *path, uint32_t k, const char *who)
{
    *out = NULL;
    sp__spn_writer *w = calloc(1, sizeof *w);
    unsigned char *rows = malloc(SP__SPN_BATCH * row_size(k));
    if (!w || !rows) {
        free(w);
        free(rows);
        return sp__error(SP_ERR_NOMEM, "%s: out of memory", who);
    }
    *w = (sp__spn_writer){ .who = who, .rows = rows, .k = k };
    int rc = sp__atomic_open(&w->f, path);
    unsigned char head[SPN_HEADER];
    make_header(head, 0, k, 0, 0); /* placeholder until the body CRC is known */
    if (rc == SP_OK && (rc = sp__atomic_write(&w->f, head, SPN_HEADER)) != SP_OK)
        sp__atomic_abort(&w->f);
    if (rc != SP_OK) {
        free(rows);
        free(w);
        return rc;
    }
    *out = w;
    return SP_OK;
}

int sp__spn_append(sp__spn_writer *w, const uint64_t *position_ids, const uint64_t *ids, const float *dist,
                   uint64_t n, uint64_t total)
{
    size_t rs = row_size(w->k);
    for (uint64_t from = 0; from < n;) {
        uint64_t m = n - from < SP__SPN_BATCH ? n - from : SP__SPN_BATCH;
        for (uint64_t i = 0; i < m; i++) {
            unsigned char *row = w->rows + i * rs;
            memcpy(row, &position_ids[from + i], 8);
            memcpy(row + 8, ids + (from + i) * w->k, 8 * (size_t)w->k);
            memcpy(row + 8 + 8 * (size_t)w->k, dist + (from + i) * w->k, 4 * (size_t)w->k);
        }
        w->crc = sp__crc32(w->crc, w->rows, m * rs);
        int rc = sp__atomic_write(&w->f, w->rows, m * rs);
        if (rc != SP_OK)
            return rc;
        from += m;
        w->count += m;
    }
    if (sp__progress("index-precompute", w->count, total) != 0)
        return sp__error(SP_ERR_CANCELLED, "%s: cancelled", w->who);
    return SP_OK;
}

static void spn_free(sp__spn_writer *w)
{
    free(w->rows);
    free(w);
}

int sp__spn_commit(sp__spn_writer *w, uint64_t embedder_id)
{
    unsigned char head[SPN_HEADER];
    make_header(head, w->count, w->k, embedder_id, w->crc);
    int rc = SP_OK;
    if (pwrite(w->f.fd, head, SPN_HEADER, 0) != (ssize_t)SPN_HEADER)
        rc = sp__error(SP_ERR_IO, "%s: cannot write %s: %s", w->who, w->f.final_path, strerror(errno));
    if (rc == SP_OK)
        rc = sp__atomic_commit(&w->f);
    else
        sp__atomic_abort(&w->f);
    spn_free(w);
    return rc;
}

void sp__spn_abort(sp__spn_writer *w)
{
    if (!w)
        return;
    sp__atomic_abort(&w->f);
    spn_free(w);
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
    uint64_t *ids = malloc((size_t)SP__SPN_BATCH * k * sizeof *ids);
    float *dist = malloc((size_t)SP__SPN_BATCH * k * sizeof *dist);
    sp__spn_writer *w = NULL;
    rc = ids && dist ? sp__spn_open(&w, path, k, "sp_retriever_precompute")
                     : sp__error(SP_ERR_NOMEM, "sp_retriever_precompute: out of memory");
    for (uint64_t done = 0; done < count && rc == SP_OK;) {
        uint64_t n = count - done < SP__SPN_BATCH ? count - done : SP__SPN_BATCH;
        q.game_ids = game_ids + done;
        rc = sp_retriever_search(r, keys + done * dim, n, dim, k, &q, ids, dist, NULL);
        if (rc == SP_OK)
            rc = sp__spn_append(w, position_ids + done, ids, dist, n, count);
        done += n;
    }
    if (rc == SP_OK)
        rc = sp__spn_commit(w, r->embedder_id);
    else
        sp__spn_abort(w);
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
    uint64_t count = 0, embedder_id = 0;
    uint32_t k = 0, v[2], body_crc, head_crc;
    if (length < SPN_HEADER || memcmp(data, SPN_MAGIC, 8) != 0) {
        why = "not a .spn neighbour file";
    } else {
        memcpy(v, data + 8, 8);
        memcpy(&count, data + 16, 8);
        memcpy(&k, data + 24, 4);
        memcpy(&embedder_id, data + 32, 8);
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
    nb->embedder_id = embedder_id;
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
uint64_t sp_neighbours_embedder_id(const sp_neighbours *nb) { return nb ? nb->embedder_id : 0; }

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
