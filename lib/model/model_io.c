/* placeholder: model_io.c (issue 13, being written) */
typedef int sp__placeholder_model_io;
