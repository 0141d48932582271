/* The files of sp-gtp's retrieval agent: each refused with its path and
 * the library's reason, and a missing one with the command that makes it. */
#include <stdio.h>
#include <string.h>

#include "gtp_retrieval.h"

void gtp_retrieval_free(gtp_retrieval *r)
{
    sp_retriever_free(r->retriever);
    sp_dataset_free(r->dataset);
    sp_embedder_free(r->embedder);
    sp_model_free(r->embed_model);
    memset(r, 0, sizeof *r);
}

static int fail(gtp_retrieval *r, const char *what, const char *path)
{
    fprintf(stderr, "sp-gtp: cannot load the %s %s: %s\n", what, path, sp_last_error());
    gtp_retrieval_free(r);
    return -1;
}

int gtp_retrieval_load(gtp_retrieval *r, const gtp_retrieval_paths *p, const sp_model *model)
{
    memset(r, 0, sizeof *r);
    const char *missing = !p->embedder ? "--embedder E.spe (the embedder it was trained with)"
                          : !p->index  ? "--index I.spi (the retrieval set's index)"
                          : !p->dataset ? "--dataset D.spd (the games the index's positions are of)"
                                        : NULL;
    if (missing) {
        sp_model_options mo;
        sp_model_options_init(&mo, SP_MODEL_OPTIONS_VERSION);
        sp_model_get_options(model, &mo);
        fprintf(stderr,
                "sp-gtp: the model reads %d neighbours of embedder %016llx and needs %s.\n"
                "An index over the CGOS games is built once with (docs/tutorial.md):\n"
                "  sp-data import cgos.spd ../shared/data/go9/cgos9x9_2015.sgf.xz\n"
                "  sp-index build I.spi --spd cgos.spd --part train --embedder models/embedder.spe "
                "--model models/baseline.spm\n",
                (int)mo.neighbours, (unsigned long long)sp_model_embedder_id(model), missing);
        return -1;
    }
    if (p->embed_model) {
        sp_nn_options nn;
        sp_nn_options_init(&nn, SP_NN_OPTIONS_VERSION);
        nn.threads = 1;
        if (sp_model_load(&r->embed_model, p->embed_model, &nn))
            return fail(r, "embedder's model", p->embed_model);
    }
    if (sp_embedder_load(&r->embedder, p->embedder, r->embed_model))
        return fail(r, "embedder", p->embedder);
    if (sp_dataset_load(&r->dataset, p->dataset))
        return fail(r, "dataset", p->dataset);
    /* Read whole (not mapped), so that sp-remember can add games. */
    if (sp_retriever_load(&r->retriever, p->index, 0, NULL))
        return fail(r, "index", p->index);
    return 0;
}
