/* sp-data gen, in its own file: it needs the GTP match code. */
#ifndef SP_EXAMPLES_DATA_GEN_H
#define SP_EXAMPLES_DATA_GEN_H

#include "semiparam.h"

/* `sp-data gen ...` with argv[0] = "gen"; returns the exit code. */
int data_gen(int argc, char **argv);

#endif
