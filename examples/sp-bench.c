/* sp-bench: speed and memory figures of each module, each measured against
 * a reference in the same run (see docs/benchmarks.md). */
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"

static const bench_command commands[] = {
    { "go", "random playouts per second on 9x9, and instructions per playout under callgrind", bench_go },
    { "search", "MCTS simulations/s: tree overhead with a zero-cost model, and with random playouts, 1-2 threads",
      bench_search },
    { "nn", "oneDNN sgemm peak vs the residual tower: throughput, training step, latency, bf16", bench_nn },
    { "model", "the learned model vs sgemm: training (K = 5), inference f32/bf16; search over it, time outside the net;"
               " the retrieval model (N = 10) as ratios to it", bench_model },
    { "data", "dataset import games/s and training batch positions/s per core", bench_data },
    { "retrieval", "IVF-PQ recall@10, queries/s, build time and memory on CGOS PCA keys vs exact search", bench_retrieval },
    { "embed", "embedders' keys/s per core (learned f32/bf16 vs the model, raw); embedding and indexing N positions: "
               "time, peak memory, recall@10 vs exact", bench_embed },
    { "agent", "the agent's time per move at 200 simulations, split by stage (embedding, retrieval, search): the "
               "retrieval model beside the baseline agent, learned and rules modes", bench_agent },
};

static int usage(FILE *out)
{
    fprintf(out, "usage: sp-bench <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n`sp-bench <command> --help` lists a command's options.\n");
    return out == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return usage(stdout);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "sp-bench: unknown command '%s'\n", argv[1]);
    return usage(stderr);
}
