#!/usr/bin/python3
"""An agent plays a short game against itself from Python, printing each
move, the root's value and the search's top moves.

    PYTHONPATH=bindings/python bindings/python/examples/play_agent.py     # a tiny untrained model
    PYTHONPATH=bindings/python bindings/python/examples/play_agent.py models/baseline.spm --moves 40
    PYTHONPATH=bindings/python bindings/python/examples/play_agent.py models/retrieval.spm \\
        --retrieval models/embedder.spe set.spi set.spd --embedder-model models/baseline.spm

A retrieval model also needs its embedder (a learned one loads with the
model it was made from), the index of the retrieval set and its dataset;
then each move shows the root's nearest neighbour too.
"""
import argparse
import contextlib

import semiparam as sp


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", nargs="?", help="a .spm model (default: a tiny untrained 9x9 one)")
    parser.add_argument("--retrieval", nargs=3, metavar=("EMBEDDER", "INDEX", "DATASET"),
                        help="for a retrieval model: its .spe embedder, .spi index and .spd dataset")
    parser.add_argument("--embedder-model", help="the .spm model a learned embedder was made from")
    parser.add_argument("--simulations", type=int, default=32)
    parser.add_argument("--moves", type=int, default=20, help="stop after this many moves")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        take = stack.enter_context
        if args.model:
            model = take(sp.Model.load(args.model))
        elif sp.has_feature(sp.Feature.NN):
            model = take(sp.Model(board_size=9, history=2, channels=8, repr_blocks=1, dyn_blocks=1, value_hidden=8))
        else:
            model = None  # a build without the nn module: random playouts
        handles = []
        if args.retrieval:
            embedder_model = take(sp.Model.load(args.embedder_model)) if args.embedder_model else None
            handles = [take(sp.Embedder.load(args.retrieval[0], model=embedder_model)),
                       take(sp.Retriever.load(args.retrieval[1])), take(sp.dataset.Dataset.load(args.retrieval[2]))]
        agent = take(sp.Agent(model, *handles, simulations=args.simulations))
        game = take(sp.Game(agent.board_size))
        print(agent)
        while game.move_count < args.moves and not game.is_over:
            color = game.to_play.name.lower()
            move = agent.genmove(game)
            report = agent.report()
            top = "  ".join("%s %d" % (game.vertex(m), visits) for m, visits, _, _ in agent.top_moves(3))
            line = "%3d %-5s %-5s value %+.2f  top: %s" % (game.move_count + 1, color, game.vertex(move),
                                                          report.value, top)
            if report.neighbours:
                nearest = agent.neighbour(0)
                line += "  nearest: game %d move %d (distance %.3g)" % (nearest.game, nearest.move_number,
                                                                        nearest.distance)
            print(line)
            game.play(move)
        print(game)


if __name__ == "__main__":
    main()
