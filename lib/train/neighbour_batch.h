/* The neighbour planes x_1..x_N of a training batch (paper §2.1.1, §2.3):
 * each sample's pre-computed neighbours (a `.spn` file) as
 * sp_dataset_neighbour_planes(), turned by the sample's symmetry, with the
 * §2.3 regularisations. Internal to lib/train. */
#ifndef SP_TRAIN_NEIGHBOUR_BATCH_H
#define SP_TRAIN_NEIGHBOUR_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "semiparam/dataset.h"
#include "semiparam/retriever.h"

/* The regularisations' random choices. A counter-based generator: every
 * choice of a batch is a hash of (seed, batch, the sample's row in the
 * global batch, neighbour slot), so the choices depend neither on the thread
 * count nor on how the batch is cut into slices or replicas, and this plain
 * struct is the whole state: a checkpoint saves it, a resumed run restores
 * it and continues as an uninterrupted one. `batch` may simply follow the
 * sampler's batch number. */
typedef struct sp__neighbour_rng {
    uint64_t seed;
    uint64_t batch; /* batches drawn so far: the one sp__neighbour_batch_fill draws */
} sp__neighbour_rng;

/* Start the generator at batch 0. */
void sp__neighbour_rng_seed(sp__neighbour_rng *rng, uint64_t seed);

/* On to the next batch; the trainer calls it once a step has succeeded
 * (every slice of one step fills from the same state). */
void sp__neighbour_rng_advance(sp__neighbour_rng *rng);

typedef struct sp__neighbour_options {
    /* N: neighbours per sample, the first N of each row (1..k of the file). */
    int32_t neighbours;
    /* Neighbour dropout (§2.3): each slot's planes are zeroed with this
     * probability (0..1), so the model cannot lean on any one neighbour. */
    float dropout;
    /* Neighbour randomisation (§2.3): each slot not dropped takes, with this
     * probability (0..1), the same-index neighbour of another row of the file
     * drawn uniformly, never of the query's own game (a row of that game, or
     * a neighbour of it, is drawn again; after 64 draws without one the slot
     * is zero), so the model learns to weigh relevant neighbours against
     * irrelevant ones. */
    float randomise;
    /* Zero neighbours (§2.3's equal-capacity baseline, "no retrieval"): 1
     * makes every x_i zero, whatever the file holds; the file is still
     * indexed and positions absent from it still refused. 0 or 1. */
    int32_t zero_neighbours;
    /* Worker threads of a fill (1..256); the output does not depend on it. */
    int32_t threads;
} sp__neighbour_options;

/* N 1, no regularisation, one thread. */
#define SP__NEIGHBOUR_OPTIONS_INIT { 1, 0.0f, 0.0f, 0, 1 }

/* A dataset's positions indexed to the rows of a `.spn` file. Borrows both
 * (they must outlive it, unchanged). Immutable once created: any number of
 * threads may fill from it. */
typedef struct sp__neighbour_batch sp__neighbour_batch;

/* Index @p file over @p ds (sorted query ids, binary search). @p opts NULL
 * for SP__NEIGHBOUR_OPTIONS_INIT.
 * SP_ERR_INVALID_ARG: a NULL pointer, an option out of range, N larger than
 * the file's k. SP_ERR_FORMAT: a row's query id out of the dataset's range or
 * the same as another row's. SP_ERR_NOMEM. *out NULL on failure. */
int sp__neighbour_batch_create(sp__neighbour_batch **out, const sp_dataset *ds, const sp_neighbours *file,
                               const sp__neighbour_options *opts);

/* NULL is a no-op. */
void sp__neighbour_batch_free(sp__neighbour_batch *nb);

/* Floats of one sample's planes: N x SP_NEIGHBOUR_PLANES x size x size
 * (0 for NULL). A batch of n samples needs n times as many. */
size_t sp__neighbour_batch_sample_floats(const sp__neighbour_batch *nb);

/* The row of @p position in the file. SP_ERR_INVALID_ARG naming the position
 * when the file has none (or NULL). */
int sp__neighbour_batch_row(const sp__neighbour_batch *nb, uint64_t position, uint64_t *out_row);

/* Fill @p out (n x N x SP_NEIGHBOUR_PLANES x size x size floats, sample-major,
 * then neighbour) with the neighbour planes of samples positions[0..n), each
 * neighbour turned by its sample's symmetry[i] (NULL: 0 for every sample).
 * @p first_row is the samples' row in the global batch (0 for a whole
 * batch; a slice's or a replica's first row otherwise): with @p rng it keys
 * the random choices, which @p rng's state alone decides (it is not
 * advanced). A "no such key" id (SP_RETRIEVER_NO_ID) gives zero planes.
 * SP_ERR_INVALID_ARG: NULL pointers, n < 0, first_row < 0, a symmetry out of
 * 0..7, a position absent from the file (named). SP_ERR_BUFFER_TOO_SMALL:
 * @p capacity below n x sp__neighbour_batch_sample_floats(). SP_ERR_FORMAT: a
 * neighbour id (of a slot used) out of the dataset's range or of the query's
 * own game, naming row and id. SP_ERR_NOMEM. On failure the error is that of
 * the first failing sample, whatever the thread count; @p out is then
 * unspecified. */
int sp__neighbour_batch_fill(const sp__neighbour_batch *nb, const sp__neighbour_rng *rng,
                             const uint64_t *positions, const int32_t *symmetry, int32_t n, int64_t first_row,
                             float *out, size_t capacity);

#endif
