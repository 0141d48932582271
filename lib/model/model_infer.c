/* Inference on a shared model (being written: the workspace pool comes in
 * the next commit; until then inference reports SP_ERR_UNSUPPORTED). */
#include "model_internal.h"

void sp__model_workspaces_free(sp_model *m) { (void)m; }

int sp__model_warm_up(sp_model *m)
{
    (void)m;
    return SP_OK;
}

void sp__model_params_changed(sp_model *m)
{
    pthread_mutex_lock(&m->lock);
    m->generation++;
    pthread_mutex_unlock(&m->lock);
}

int sp_model_initial(sp_model *m, const float *planes, int32_t n, float *state, float *logits, float *value)
{
    (void)m, (void)planes, (void)n, (void)state, (void)logits, (void)value;
    return sp__error(SP_ERR_UNSUPPORTED, "sp_model_initial: not written yet");
}

int sp_model_recurrent(sp_model *m, const float *state, const int32_t *actions, int32_t n, float *next_state,
                       float *logits, float *value)
{
    (void)m, (void)state, (void)actions, (void)n, (void)next_state, (void)logits, (void)value;
    return sp__error(SP_ERR_UNSUPPORTED, "sp_model_recurrent: not written yet");
}
