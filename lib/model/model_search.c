/* placeholder: model_search.c (issue 13, being written) */
typedef int sp__placeholder_model_search;
