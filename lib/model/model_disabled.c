/* model.h in a build without the network module (meson -Dnn=disabled): every
 * call fails with SP_ERR_UNSUPPORTED naming itself and the option, handles
 * come back NULL as on any failure, and sp_model_free(NULL) stays a no-op. */
#include "core/disabled.h"
#include "semiparam/model.h"
#include "model/model_search_release.h"

int sp_model_options_init(sp_model_options *opts, uint32_t version) { return SP__DISABLED("nn"); }

int sp_model_create(sp_model **out, const sp_model_options *opts, const sp_nn_options *nn)
{
    if (out)
        *out = NULL;
    return SP__DISABLED("nn");
}

int sp_model_load(sp_model **out, const char *path, const sp_nn_options *nn)
{
    if (out)
        *out = NULL;
    return SP__DISABLED("nn");
}

int sp_model_load_into(sp_model *m, const char *path) { return SP__DISABLED("nn"); }

int sp_model_save(const sp_model *m, const char *path) { return SP__DISABLED("nn"); }

void sp_model_free(sp_model *m) {}

int sp_model_get_options(const sp_model *m, sp_model_options *out) { return SP__DISABLED("nn"); }

int sp_model_describe(const sp_model *m, sp_model_info *out) { return SP__DISABLED("nn"); }

int sp_model_initial(sp_model *m, const float *planes, int32_t n, float *state, float *logits, float *value)
{
    return SP__DISABLED("nn");
}

int sp_model_recurrent(sp_model *m, const float *state, const int32_t *actions, int32_t n, float *next_state,
                       float *logits, float *value)
{
    return SP__DISABLED("nn");
}

int sp_model_search_options_init(sp_model_search_options *opts, uint32_t version) { return SP__DISABLED("nn"); }

int sp_model_search_model(sp_model *m, const sp_model_search_options *opts, sp_search_model *out)
{
    return SP__DISABLED("nn");
}

int32_t sp_model_layer_count(const sp_model *m) { return 0; }

int sp_model_layer_info(const sp_model *m, int32_t index, sp_model_layer *out) { return SP__DISABLED("nn"); }

int sp_model_activations(sp_model *m, const char *layer, const float *planes, int32_t n, float *out,
                         size_t capacity)
{
    return SP__DISABLED("nn");
}

int sp_model_initial_neighbours(sp_model *m, const float *planes, const float *neighbours, int32_t n, float *state,
                                float *logits, float *value)
{
    return SP__DISABLED("nn");
}

int sp_model_initial_ids(sp_model *m, const float *planes, const sp_dataset *ds, const uint64_t *ids, int32_t n,
                         float *state, float *logits, float *value)
{
    return SP__DISABLED("nn");
}

int sp_model_set_embedder(sp_model *m, uint64_t embedder_id) { return SP__DISABLED("nn"); }

uint64_t sp_model_embedder_id(const sp_model *m) { return 0; }

int sp_model_check_retrieval(const sp_model *m, uint64_t embedder_id, int32_t neighbours)
{
    return SP__DISABLED("nn");
}

void sp__model_search_release_neighbours(sp_model *m, const void *neighbours_payload)
{
    (void)m;
    (void)neighbours_payload;
}
