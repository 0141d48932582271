/* placeholder: train_disabled.c (issue 13, being written) */
typedef int sp__placeholder_train_disabled;
