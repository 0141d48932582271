/* sp_model_evaluate (train.h): test metrics per unroll step of a model on a
 * part of a dataset, and the two floors computed by the same code. */
#include "train_internal.h"

static const sp_eval_options eval_defaults = SP_EVAL_OPTIONS_INIT;
static const sp__options_type eval_options_type = { "sp_eval_options", SP_EVAL_OPTIONS_VERSION,
                                                    sizeof(sp_eval_options), &eval_defaults, { 0 } };

int sp_eval_options_init(sp_eval_options *opts, uint32_t version)
{
    return sp__options_init(opts, version, &eval_options_type, "sp_eval_options_init");
}

int sp_model_evaluate(sp_model *model, const sp_dataset *ds, const sp_eval_options *opts, sp_eval_report *out)
{
    (void)model, (void)ds, (void)opts, (void)out;
    return sp__error(SP_ERR_UNSUPPORTED, "sp_model_evaluate: not written yet");
}
