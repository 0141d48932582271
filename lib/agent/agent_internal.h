/* The agent (agent.h): its handle, shared by the move loop (agent.c) and
 * the retrieval it does for the search and for its memory
 * (agent_retrieval.c). */
#ifndef SP_AGENT_INTERNAL_H
#define SP_AGENT_INTERNAL_H

#include <pthread.h>

#include "semiparam/agent.h"
#include "semiparam/go_evaluator.h"

struct sp_agent {
    sp_agent_options opts;
    sp_model *model;            /* borrowed; NULL: playouts */
    const sp_embedder *embedder; /* borrowed; these three only with N > 0 */
    sp_retriever *retriever;
    sp_dataset *dataset;
    int size, area;
    int neighbours;             /* N; 0 without retrieval */
    uint32_t dim;               /* key size */
    size_t neighbour_floats;    /* floats of one position's N neighbours' planes */
    size_t zero_floats;         /* the same for zero_neighbours (the model's N, x_i = 0) */
    sp_go_evaluator *evaluator; /* without a model */
    sp_search *search;
    sp_game *root;              /* the position last searched, for tree reuse; NULL when none */
    sp_rng *rng;                /* temperature draws */
    sp_agent_report report;

    /* The root's neighbours: shown by sp_agent_neighbour_get(), and handed to
     * the search when it asks for the root (retrieved once per move). */
    uint64_t root_hash;
    int root_to_play;
    int root_valid;
    uint64_t *root_ids;         /* N */
    float *root_distances;      /* N */
    float *root_planes;         /* neighbour_floats */
    /* For the positions of the other side to move (per_node_neighbours 0):
     * each neighbour's next position in its game, zeros past the game's
     * end, since every plane is seen from the side to move. */
    float *root_next_planes;    /* neighbour_floats */

    /* Time and queries of the search's retrievals, which its workers add
     * to at once. */
    pthread_mutex_t lock;
    double embed_seconds, retrieve_seconds;
    int64_t queries;
};

/* The versioned structs of agent.h (agent.c). */
#include "core/core_internal.h"
extern const sp__options_type sp__agent_neighbour_type;

/* Seconds on the monotonic clock. */
double sp__agent_now(void);

/* The searcher's neighbours callback (model.h, sp_model_neighbours_fn). */
int sp__agent_neighbours(size_t n, const sp_game *const *games, float *out_planes, void *payload);

/* Retrieve the root's neighbours, kept for the callback and the report. */
int sp__agent_retrieve_root(sp_agent *a, const sp_game *root);

/* The retrieval buffers of an agent with N > 0: allocated at creation. */
int sp__agent_retrieval_init(sp_agent *a);
void sp__agent_retrieval_free(sp_agent *a);

#endif
