/* `sp-index quality`: how well an index's neighbours agree with their query
 * position (next move, outcome, final ownership, exact matches, distance),
 * each with a 95% interval; the neighbour-quality table of docs/results.md. */
#ifndef SP_INDEX_QUALITY_H
#define SP_INDEX_QUALITY_H

/* Runs `sp-index quality ...` (argv[1] is "quality"); returns the exit status. */
int index_quality_main(int argc, char **argv);

#endif
