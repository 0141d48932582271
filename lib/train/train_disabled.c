/* train.h in a build without the network module (meson -Dnn=disabled): every
 * call fails with SP_ERR_UNSUPPORTED naming itself and the option, a trainer
 * comes back NULL as on any failure, and sp_trainer_free(NULL) stays a no-op. */
#include "core/disabled.h"
#include "semiparam/train.h"

int sp_trainer_options_init(sp_trainer_options *opts, uint32_t version) { return SP__DISABLED("nn"); }

int sp_trainer_create(sp_trainer **out, sp_model *model, const sp_dataset *ds, const sp_trainer_options *opts)
{
    if (out)
        *out = NULL;
    return SP__DISABLED("nn");
}

void sp_trainer_free(sp_trainer *t) {}

int sp_trainer_run(sp_trainer *t, int64_t steps, sp_train_stats *stats) { return SP__DISABLED("nn"); }

int sp_trainer_get_stats(const sp_trainer *t, sp_train_stats *stats) { return SP__DISABLED("nn"); }

int sp_trainer_save(const sp_trainer *t, const char *path) { return SP__DISABLED("nn"); }

int sp_trainer_resume(sp_trainer *t, const char *path) { return SP__DISABLED("nn"); }

int sp_eval_options_init(sp_eval_options *opts, uint32_t version) { return SP__DISABLED("nn"); }

int sp_model_evaluate(sp_model *model, const sp_dataset *ds, const sp_eval_options *opts, sp_eval_report *out)
{
    return SP__DISABLED("nn");
}
