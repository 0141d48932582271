/* sp-data ownership-check, in its own file. */
#ifndef SP_EXAMPLES_DATA_OWNERSHIP_H
#define SP_EXAMPLES_DATA_OWNERSHIP_H

/* `sp-data ownership-check D.spd ...` with argv[0] = "ownership-check"; returns the exit code. */
int data_ownership_check(int argc, char **argv);

#endif
