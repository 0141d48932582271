/* placeholder (issue 14): being written */
typedef int sp__placeholder_bench_embed;
