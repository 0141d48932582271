/* placeholder: model_infer.c (issue 13, being written) */
typedef int sp__placeholder_model_infer;
