/* What the stubs of a module left out of the build (meson -D<module>=disabled)
 * return: the module's functions stay exported, so the ABI is the same in
 * every build, and each says which option would bring it in. */
#ifndef SP_CORE_DISABLED_H
#define SP_CORE_DISABLED_H

#include "core_internal.h"

/* SP_ERR_UNSUPPORTED, with the calling function and the meson option `module`
 * (a string literal) in sp_last_error(). */
#define SP__DISABLED(module)                                                                          \
    sp__error(SP_ERR_UNSUPPORTED, "%s: libsemiparam was built without the " module                     \
              " module (meson setup -D" module "=enabled)", __func__)

#endif
