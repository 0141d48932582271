/* nn.h in a build without the network module (meson -Dnn=disabled): every
 * call fails with SP_ERR_UNSUPPORTED, out-parameters set as on any failure. */
#include "core/disabled.h"
#include "semiparam/nn.h"

int sp_nn_options_init(sp_nn_options *opts, uint32_t version) { return SP__DISABLED("nn"); }

int sp_nn_device_count(int backend, int *out)
{
    if (out)
        *out = 0;
    return SP__DISABLED("nn");
}
