/* The retrieval set sp-eval builds when no index is given (eval_index.h). */
#include <stdio.h>
#include <stdlib.h>

#include "eval_index.h"
#include "eval_positions.h"

#define SET_SEED 1

static int fail(const char *what, int rc)
{
    fprintf(stderr, "sp-eval: %s: %s (%s)\n", what, sp_last_error(), sp_status_str(rc));
    return 1;
}

int eval_index_build(const eval_args *a, const sp_embedder *e, const sp_dataset *ds, train_progress *progress,
                     sp_retriever **out)
{
    *out = NULL;
    eval_selection sel = { SP_PART_TRAIN, 0, a->test_fraction, a->split_seed, 0, SET_SEED, a->build_fraction };
    uint64_t *pos = NULL, n = 0;
    int rc = eval_positions_pick(ds, &sel, &pos, &n);
    if (rc) {
        free(pos);
        return fail("the retrieval set's positions", rc);
    }
    if (n == 0) {
        free(pos);
        fprintf(stderr, "sp-eval: the training part of %s holds no position to build a retrieval set from\n",
                a->dataset);
        return 1;
    }
    uint32_t dim = sp_embedder_dim(e);
    float *keys = malloc(n * dim * sizeof *keys);
    uint32_t *games = malloc(n * sizeof *games);
    int status = 1;
    double t = train_now();
    if (!keys || !games)
        fprintf(stderr, "sp-eval: out of memory for a retrieval set of %llu keys\n", (unsigned long long)n);
    else if ((rc = sp_embedder_embed_positions(e, ds, pos, n, keys, games)) != SP_OK)
        fail("embedding the retrieval set", rc);
    else {
        sp_retriever_options o;
        sp_retriever_options_init(&o, SP_RETRIEVER_OPTIONS_VERSION);
        o.halves = a->part == SP_PART_TEST ? 1 : 2;
        o.embedder_id = sp_embedder_id(e);
        o.threads = (uint32_t)a->threads;
        if ((rc = sp_retriever_build(out, keys, pos, games, n, dim, &o)) != SP_OK)
            fail("building the retrieval set", rc);
        else if (a->index_out && (rc = sp_retriever_save(*out, a->index_out)) != SP_OK)
            fail(a->index_out, rc);
        else
            status = 0;
    }
    if (!status) {
        train_progress_clear(progress);
        printf("built the retrieval set%s%s: %llu training positions (a share %g), %u %s, %s, in %.1f s\n",
               a->index_out ? " " : "", a->index_out ? a->index_out : "", (unsigned long long)n, a->build_fraction,
               sp_retriever_halves(*out), sp_retriever_halves(*out) == 1 ? "half" : "halves",
               sp_retriever_factory(*out), train_now() - t);
    } else {
        sp_retriever_free(*out);
        *out = NULL;
    }
    free(keys);
    free(games);
    free(pos);
    return status;
}
