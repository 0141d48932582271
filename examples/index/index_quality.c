/* `sp-index quality`: placeholder until the neighbour-quality command lands (issue 14). */
#include <stdio.h>

#include "index/index_quality.h"

int index_quality_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "sp-index quality: not built yet\n");
    return 2;
}
