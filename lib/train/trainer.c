/* placeholder: trainer.c (issue 13, being written) */
typedef int sp__placeholder_trainer;
