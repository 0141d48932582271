/* The MPI exchanges of libsemiparam-mpi: a handle's own communicator,
 * agreeing on a status, big broadcasts, routing keys to their owners,
 * merging the shards' top-k. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/core_internal.h"
#include "dist_internal.h"

int sp__dist_mpi_error(int err, const char *fn, const char *call)
{
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(err, text, &len) != MPI_SUCCESS)
        strcpy(text, "unknown MPI error");
    return sp__error(SP_ERR_INTERNAL, "%s: %s failed: %s", fn, call, text);
}

int sp__dist_comm_dup(MPI_Comm comm, MPI_Comm *dup, int *rank, int *size, const char *fn)
{
    int initialised = 0;
    if (MPI_Initialized(&initialised) != MPI_SUCCESS || !initialised)
        return sp__error(SP_ERR_MISUSE, "%s: MPI is not initialised (call MPI_Init first)", fn);
    if (comm == MPI_COMM_NULL)
        return sp__error(SP_ERR_INVALID_ARG, "%s: comm is MPI_COMM_NULL", fn);
    int err = MPI_Comm_dup(comm, dup);
    if (err != MPI_SUCCESS)
        return sp__dist_mpi_error(err, fn, "MPI_Comm_dup");
    /* Errors come back as codes (turned into sp_status), never abort the job. */
    MPI_Comm_set_errhandler(*dup, MPI_ERRORS_RETURN);
    MPI_Comm_rank(*dup, rank);
    MPI_Comm_size(*dup, size);
    return SP_OK;
}

int sp__dist_agree(MPI_Comm comm, int rc, const char *fn)
{
    int mine[2] = { rc, 0 }, all[2];
    MPI_Comm_rank(comm, &mine[1]);
    /* MPI_MINLOC: the lowest status and the rank that had it. */
    int err = MPI_Allreduce(mine, all, 1, MPI_2INT, MPI_MINLOC, comm);
    if (err != MPI_SUCCESS)
        return sp__dist_mpi_error(err, fn, "MPI_Allreduce");
    if (all[0] != SP_OK && rc == SP_OK)
        return sp__error(SP_ERR_MISUSE, "%s: rank %d failed (%s); see its sp_last_error()", fn, all[1],
                         sp_status_str(all[0]));
    return all[0] != SP_OK ? rc : SP_OK;
}

int sp__dist_bcast_bytes(MPI_Comm comm, int root, void **bytes, uint64_t *len, const char *fn)
{
    int rank, err;
    MPI_Comm_rank(comm, &rank);
    if ((err = MPI_Bcast(len, 1, MPI_UINT64_T, root, comm)) != MPI_SUCCESS)
        return sp__dist_mpi_error(err, fn, "MPI_Bcast");
    int rc = SP_OK;
    if (rank != root) {
        *bytes = malloc(*len ? *len : 1);
        if (!*bytes)
            rc = sp__error(SP_ERR_NOMEM, "%s: %llu bytes for the broadcast index", fn, (unsigned long long)*len);
    }
    rc = sp__dist_agree(comm, rc, fn);
    if (rc != SP_OK) {
        if (rank != root) {
            free(*bytes);
            *bytes = NULL;
        }
        return rc;
    }
    /* MPI counts are int: send in pieces of at most 1 GiB. */
    for (uint64_t done = 0; done < *len;) {
        uint64_t n = *len - done < (1u << 30) ? *len - done : (1u << 30);
        if ((err = MPI_Bcast((char *)*bytes + done, (int)n, MPI_BYTE, root, comm)) != MPI_SUCCESS)
            return sp__dist_mpi_error(err, fn, "MPI_Bcast");
        done += n;
    }
    return SP_OK;
}

int sp__dist_route(MPI_Comm comm, int size, int shards, const float *keys, const uint64_t *position_ids,
                   const uint32_t *game_ids, uint64_t count, uint32_t dim, float **out_keys,
                   uint64_t **out_ids, uint32_t **out_games, uint64_t *out_count, const char *fn)
{
    int rc = SP_OK, err = MPI_SUCCESS;
    const char *call = NULL;
    int *send = calloc((size_t)size * 4, sizeof(int)); /* counts, displacements, receive counts, displacements */
    float *skeys = malloc((count ? count : 1) * dim * sizeof *skeys);
    uint64_t *sids = malloc((count ? count : 1) * sizeof *sids);
    uint32_t *sgames = malloc((count ? count : 1) * sizeof *sgames);
    float *rkeys = NULL;
    uint64_t *rids = NULL;
    uint32_t *rgames = NULL;
    uint64_t total = 0;
    if (!send || !skeys || !sids || !sgames)
        rc = sp__error(SP_ERR_NOMEM, "%s: routing %llu keys", fn, (unsigned long long)count);
    rc = sp__dist_agree(comm, rc, fn);
    if (rc != SP_OK)
        goto done;
    int *scount = send, *sdispl = send + size, *rcount = send + 2 * size, *rdispl = send + 3 * size;
    /* A counting sort by owner keeps each rank's keys in their input order. */
    for (uint64_t i = 0; i < count; i++)
        scount[sp_dist_game_rank(game_ids[i], (uint32_t)shards) % (uint32_t)size]++;
    for (int r = 1; r < size; r++)
        sdispl[r] = sdispl[r - 1] + scount[r - 1];
    for (int r = 0; r < size; r++)
        rdispl[r] = sdispl[r]; /* fill cursors, reset below */
    for (uint64_t i = 0; i < count; i++) {
        int at = rdispl[sp_dist_game_rank(game_ids[i], (uint32_t)shards) % (uint32_t)size]++;
        memcpy(skeys + (size_t)at * dim, keys + (size_t)i * dim, (size_t)dim * sizeof *keys);
        sids[at] = position_ids[i];
        sgames[at] = game_ids[i];
    }
    if ((err = MPI_Alltoall(scount, 1, MPI_INT, rcount, 1, MPI_INT, comm)) != MPI_SUCCESS) {
        call = "MPI_Alltoall";
        goto done;
    }
    rdispl[0] = 0;
    for (int r = 1; r < size; r++)
        rdispl[r] = rdispl[r - 1] + rcount[r - 1];
    total = (uint64_t)rdispl[size - 1] + (uint64_t)rcount[size - 1];
    rkeys = malloc((total ? total : 1) * dim * sizeof *rkeys);
    rids = malloc((total ? total : 1) * sizeof *rids);
    rgames = malloc((total ? total : 1) * sizeof *rgames);
    if (!rkeys || !rids || !rgames)
        rc = sp__error(SP_ERR_NOMEM, "%s: receiving %llu keys", fn, (unsigned long long)total);
    rc = sp__dist_agree(comm, rc, fn);
    if (rc != SP_OK)
        goto done;
    if ((err = MPI_Alltoallv(sids, scount, sdispl, MPI_UINT64_T, rids, rcount, rdispl, MPI_UINT64_T, comm)) !=
            MPI_SUCCESS ||
        (err = MPI_Alltoallv(sgames, scount, sdispl, MPI_UINT32_T, rgames, rcount, rdispl, MPI_UINT32_T, comm)) !=
            MPI_SUCCESS) {
        call = "MPI_Alltoallv";
        goto done;
    }
    /* The keys go as dim-float rows: counts and displacements in floats. */
    for (int r = 0; r < size; r++) {
        scount[r] *= (int)dim;
        sdispl[r] *= (int)dim;
        rcount[r] *= (int)dim;
        rdispl[r] *= (int)dim;
    }
    if ((err = MPI_Alltoallv(skeys, scount, sdispl, MPI_FLOAT, rkeys, rcount, rdispl, MPI_FLOAT, comm)) !=
        MPI_SUCCESS)
        call = "MPI_Alltoallv";
done:
    if (call)
        rc = sp__dist_mpi_error(err, fn, call);
    free(send);
    free(skeys);
    free(sids);
    free(sgames);
    if (rc != SP_OK) {
        free(rkeys);
        free(rids);
        free(rgames);
        rkeys = NULL, rids = NULL, rgames = NULL, total = 0;
    }
    *out_keys = rkeys;
    *out_ids = rids;
    *out_games = rgames;
    *out_count = total;
    return rc;
}

struct candidate {
    float distance;
    uint32_t game;
    uint64_t id;
};

static int candidate_cmp(const void *pa, const void *pb)
{
    const struct candidate *a = pa, *b = pb;
    if (a->distance != b->distance)
        return a->distance < b->distance ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

int sp__dist_merge(const uint64_t *ids, const float *dist, const uint32_t *games, int size, uint64_t nq,
                   uint32_t k, uint64_t *out_ids, float *out_dist, uint32_t *out_games, const char *fn)
{
    struct candidate *c = malloc((size_t)size * k * sizeof *c);
    if (!c)
        return sp__error(SP_ERR_NOMEM, "%s: merging %d x %u candidates", fn, size, k);
    for (uint64_t q = 0; q < nq; q++) {
        for (int r = 0; r < size; r++)
            for (uint32_t j = 0; j < k; j++) {
                size_t from = ((size_t)r * nq + q) * k + j;
                c[(size_t)r * k + j] = (struct candidate){ dist[from], games[from], ids[from] };
            }
        qsort(c, (size_t)size * k, sizeof *c, candidate_cmp);
        for (uint32_t j = 0; j < k; j++) {
            out_ids[q * k + j] = c[j].id;
            out_dist[q * k + j] = c[j].distance;
            out_games[q * k + j] = c[j].game;
        }
    }
    free(c);
    return SP_OK;
}
