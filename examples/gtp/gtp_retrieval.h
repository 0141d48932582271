/* sp-gtp with a retrieval model: the embedder, index and dataset the agent
 * (agent.h) retrieves neighbours with, loaded from files, with messages
 * that say which file is missing and how to make it. */
#ifndef SP_GTP_RETRIEVAL_H
#define SP_GTP_RETRIEVAL_H

#include <stddef.h>

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
 * The directory of the shipped files: $SEMIPARAM_HOME, else the working
 * directory when it holds models/retrieval.spm (a source tree's root), else
 * the source tree this sp-gtp was built in (two levels above
 * build/examples/sp-gtp) when it holds it, else ".". Its `models/` holds the models and
 * embedder, its `data/` the default retrieval set (tools/demo builds it).
 * Writes at most @p capacity bytes to @p out.
 */
void gtp_retrieval_home(char *out, size_t capacity);

/**
 * Fill the paths @p p leaves NULL with the shipped ones under @p home:
 * models/embedder.spe (with models/baseline.spm, the model it was made
 * from, when the embedder too was left to the default), data/agent.spi,
 * data/agent.spd. The strings are kept in @p storage (4 x 4096 bytes).
 */
void gtp_retrieval_default_paths(gtp_retrieval_paths *p, const char *home, char storage[4][4096]);

/**
 * Load what a retrieval model retrieves with, every path given (see
 * gtp_retrieval_default_paths()); on failure write why to stderr (a missing
 * retrieval set with the commands that build it, or what a file holds) and
 * return -1 with nothing left loaded.
 */
int gtp_retrieval_load(gtp_retrieval *r, const gtp_retrieval_paths *paths);

/** Release what gtp_retrieval_load() loaded (after the engine that borrows it). */
void gtp_retrieval_free(gtp_retrieval *r);

#endif /* SP_GTP_RETRIEVAL_H */
