/* sp-gtp with a retrieval model: the embedder, index and dataset the agent
 * (agent.h) retrieves neighbours with, loaded from files, with messages
 * that say which file is missing and how to make it. */
#ifndef SP_GTP_RETRIEVAL_H
#define SP_GTP_RETRIEVAL_H

#include "semiparam/dataset.h"
#include "semiparam/embed.h"
#include "semiparam/model.h"
#include "semiparam/retriever.h"

typedef struct gtp_retrieval_paths {
    const char *embedder;    /* the .spe the model was trained with */
    const char *embed_model; /* the .spm a learned embedder was made from; NULL for a raw one */
    const char *index;       /* the .spi of the retrieval set, built with that embedder */
    const char *dataset;     /* the .spd whose positions the index's ids are */
} gtp_retrieval_paths;

typedef struct gtp_retrieval {
    sp_model *embed_model;
    sp_embedder *embedder;
    sp_retriever *retriever;
    sp_dataset *dataset;
} gtp_retrieval;

/**
 * Load what @p model (N > 0) retrieves with; on failure write why to stderr
 * (which option is missing, or what the file holds) and return -1 with
 * nothing left loaded.
 */
int gtp_retrieval_load(gtp_retrieval *r, const gtp_retrieval_paths *paths, const sp_model *model);

/** Release what gtp_retrieval_load() loaded (after the engine that borrows it). */
void gtp_retrieval_free(gtp_retrieval *r);

#endif /* SP_GTP_RETRIEVAL_H */
