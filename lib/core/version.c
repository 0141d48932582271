/* Run-time version and feature queries. */
#include "core_internal.h"

uint32_t sp_version(void) { return SP_VERSION_NUMBER; }

const char *sp_version_string(void) { return SP_VERSION_STRING; }

int sp_has_feature(int feature)
{
    switch (feature) {
#if defined(SP_FAISS_C_API)
    case SP_FEATURE_FAISS_C_API:
        return 1;
#elif defined(SP_FAISS_BRIDGE)
    case SP_FEATURE_FAISS_BRIDGE:
        return 1;
#endif
#if defined(SP_HAVE_NN)
    case SP_FEATURE_NN:
        return 1;
#endif
#if defined(SP_HAVE_RETRIEVAL)
    case SP_FEATURE_RETRIEVAL:
        return 1;
#endif
#if defined(SP_GPU_BACKEND)
    case SP_FEATURE_GPU: /* compiled in; sp_nn_device_count() says whether a device is there */
        return 1;
#endif
    default:
        /* Set by the modules that bring these features once they exist. */
        return 0;
    }
}
