/* The metrics' text form: sp-train --evaluate and the end of a training run
 * print the same lines, which docs/results.md quotes. */
#include "train_report.h"

void train_report_print(FILE *out, const sp_eval_report *r)
{
    fprintf(out, "positions %llu\n", (unsigned long long)r->positions);
    for (int k = 0; k <= r->unroll && k <= SP_TRAIN_MAX_UNROLL; k++)
        fprintf(out, "top-1 k=%d %.3f  ce %.3f  value-mse %.3f  (%llu positions; floors: top-1 %.3f, value-mse %.3f)\n",
                k, r->top1[k], r->policy_ce[k], r->value_mse[k], (unsigned long long)r->count[k], r->floor_top1[k],
                r->floor_value_mse[k]);
    fprintf(out, "floors: top-1 of the most frequent move at each move number of the training part; value-mse of "
                 "the constant %.3f\n", r->floor_value);
}

void train_report_model(FILE *out, const sp_model *m)
{
    sp_model_options o;
    sp_model_info info = SP_MODEL_INFO_INIT;
    sp_model_options_init(&o, SP_MODEL_OPTIONS_VERSION);
    if (sp_model_get_options(m, &o) != SP_OK || sp_model_describe(m, &info) != SP_OK)
        return;
    fprintf(out, "model: %dx%d, history %d, %d channels, %d + %d blocks, %.3g parameters, %.3g + %.3g FLOP per "
                 "position (initial + recurrent)\n",
            o.board_size, o.board_size, o.history, o.channels, o.repr_blocks, o.dyn_blocks, (double)info.parameters,
            (double)info.flops_initial, (double)info.flops_recurrent);
    if (o.neighbours > 0)
        fprintf(out, "retrieval: %d neighbours, %d of the channels theirs, a neighbour network of %d blocks, embedder "
                     "%016llx\n",
                o.neighbours, o.neighbour_channels, o.neighbour_blocks, (unsigned long long)sp_model_embedder_id(m));
}
