/* placeholder: model_disabled.c (issue 13, being written) */
typedef int sp__placeholder_model_disabled;
