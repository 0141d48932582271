/* The sp-bench commands of modules this build of libsemiparam left out
 * (meson -Dnn=disabled / -Dretrieval=disabled): they say so and fail. */
#include <stdio.h>

#include "bench.h"

static int missing(const char *command, const char *module)
{
    fprintf(stderr, "sp-bench %s: libsemiparam was built without the %s module (meson setup -D%s=enabled)\n",
            command, module, module);
    return 1;
}

#if defined(BENCH_WITHOUT_NN)
int bench_nn(int argc, char **argv) { return missing("nn", "nn"); }
/* The model runs on the network toolkit: no nn, no model. */
int bench_model(int argc, char **argv) { return missing("model", "nn"); }
#endif

#if defined(BENCH_WITHOUT_EMBED)
/* A learned embedder is a model (nn) plus a PCA (retrieval's FAISS). */
int bench_embed(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "sp-bench embed: libsemiparam was built without the nn or the retrieval module "
                    "(meson setup -Dnn=enabled -Dretrieval=enabled)\n");
    return 1;
}

/* The agent's retrieval model needs both too. */
int bench_agent(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "sp-bench agent: libsemiparam was built without the nn or the retrieval module "
                    "(meson setup -Dnn=enabled -Dretrieval=enabled)\n");
    return 1;
}
#endif

#if defined(BENCH_WITHOUT_RETRIEVAL)
int bench_retrieval(int argc, char **argv) { return missing("retrieval", "retrieval"); }
#endif
