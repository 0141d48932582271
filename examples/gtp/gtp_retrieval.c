/* The files of sp-gtp's retrieval agent: each refused with its path and
 * the library's reason, and a missing one with the command that makes it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static int readable(const char *path) { return access(path, R_OK) == 0; }

void gtp_retrieval_home(char *out, size_t capacity)
{
    const char *env = getenv("SEMIPARAM_HOME");
    if (env && *env) {
        snprintf(out, capacity, "%s", env);
        return;
    }
    char exe[4096], probe[4200];
    if (readable("models/retrieval.spm")) {
        snprintf(out, capacity, ".");
        return;
    }
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        /* build/examples/sp-gtp: the tree is two directories up. */
        for (int up = 0; up < 3; up++) {
            char *slash = strrchr(exe, '/');
            if (!slash)
                break;
            *slash = 0;
        }
        snprintf(probe, sizeof probe, "%s/models/retrieval.spm", exe);
        if (*exe && readable(probe)) {
            snprintf(out, capacity, "%s", exe);
            return;
        }
    }
    snprintf(out, capacity, ".");
}

void gtp_retrieval_default_paths(gtp_retrieval_paths *p, const char *home, char storage[4][4096])
{
    if (!p->embedder) {
        snprintf(storage[0], 4096, "%s/models/embedder.spe", home);
        p->embedder = storage[0];
        if (!p->embed_model) {
            snprintf(storage[1], 4096, "%s/models/baseline.spm", home);
            p->embed_model = storage[1];
        }
    }
    if (!p->index) {
        snprintf(storage[2], 4096, "%s/data/agent.spi", home);
        p->index = storage[2];
    }
    if (!p->dataset) {
        snprintf(storage[3], 4096, "%s/data/agent.spd", home);
        p->dataset = storage[3];
    }
}

int gtp_retrieval_load(gtp_retrieval *r, const gtp_retrieval_paths *p)
{
    memset(r, 0, sizeof *r);
    if (!readable(p->index) || !readable(p->dataset)) {
        fprintf(stderr,
                "sp-gtp: no retrieval set at %s (with its games %s). tools/demo builds one over the CGOS games;\n"
                "by hand (docs/tutorial.md, section 10):\n"
                "  sp-data import data/agent.spd ../shared/data/go9/cgos9x9_2015.sgf.xz --max-games 3000\n"
                "  sp-index build data/agent.spi --spd data/agent.spd --embedder models/embedder.spe "
                "--model models/baseline.spm\n"
                "or play without retrieval: --model models/baseline.spm, or --player playouts\n",
                p->index, p->dataset);
        gtp_retrieval_free(r);
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
