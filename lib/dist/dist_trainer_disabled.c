/* dist.h's trainer in a build without the network module (meson
 * -Dnn=disabled): every call fails with SP_ERR_UNSUPPORTED naming itself
 * and the option, a handle comes back NULL, and free(NULL) is a no-op. */
#include "core/disabled.h"
#include "dist_internal.h"

int sp_dist_trainer_create(sp_dist_trainer **out, MPI_Comm comm, sp_model *model, const sp_dataset *ds,
                           const sp_trainer_options *opts)
{
    if (out)
        *out = NULL;
    return SP__DISABLED("nn");
}

void sp_dist_trainer_free(sp_dist_trainer *trainer) {}

int sp_dist_trainer_run(sp_dist_trainer *trainer, int64_t steps, sp_train_stats *stats) { return SP__DISABLED("nn"); }

int sp_dist_trainer_get_stats(const sp_dist_trainer *trainer, sp_train_stats *stats) { return SP__DISABLED("nn"); }

int sp_dist_trainer_save(const sp_dist_trainer *trainer, const char *path) { return SP__DISABLED("nn"); }

int sp_dist_trainer_resume(sp_dist_trainer *trainer, const char *path) { return SP__DISABLED("nn"); }

uint64_t sp_dist_trainer_step_bytes(const sp_dist_trainer *trainer) { return 0; }
