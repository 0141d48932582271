#!/usr/bin/python3
"""Play one game of Go against GNU Go from Python and print the final board
and the Tromp-Taylor score.

    PYTHONPATH=bindings/python bindings/python/examples/play_gnugo.py --size 9 --level 1

Our moves come from the library's MCTS over random playouts; `--player
random` plays uniformly random moves instead (the two players below share
one signature, so another player is a one-line change in PLAYERS).
"""
import argparse
import shlex
import subprocess
import sys

import semiparam as sp


class Gtp:
    """A GTP engine in a child process, one command at a time."""

    def __init__(self, command):
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def send(self, command):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        lines = []
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("the engine exited during %r" % command)
            if line.strip() == "" and lines:
                break
            if line.strip():
                lines.append(line.strip())
        reply = " ".join(lines)
        if reply.startswith("?"):
            raise RuntimeError("engine refused %r: %s" % (command, reply))
        return reply.lstrip("=").strip()

    def close(self):
        try:
            self.send("quit")
        except (RuntimeError, BrokenPipeError):
            pass
        self.proc.wait(timeout=10)


def search_player(size, args):
    """MCTS (Gumbel MuZero by default) over the playout evaluator."""
    evaluator = sp.GoEvaluator(board_size=size, playouts=args.playouts, seed=args.seed)
    searcher = sp.Search(evaluator, simulations=args.simulations, seed=args.seed,
                         kind=sp.SearchKind.GUMBEL if args.kind == "gumbel" else sp.SearchKind.PUCT)

    def choose(game):
        action = searcher.run(game, game.legal_mask())
        return sp.PASS if action is None else evaluator.action_to_move(action)

    def played(move):
        searcher.advance(evaluator.move_to_action(move))

    return choose, played


def random_player(size, args):
    """Uniformly random legal moves that do not fill one's own eyes."""
    rng = sp.Rng(args.seed)
    return (lambda game: game.random_move(rng)), (lambda move: None)


PLAYERS = {"search": search_player, "random": random_player}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=9)
    parser.add_argument("--komi", type=float, default=7.0)
    parser.add_argument("--level", type=int, default=1, help="GNU Go's level")
    parser.add_argument("--color", choices=("black", "white"), default="black", help="our colour")
    parser.add_argument("--player", choices=sorted(PLAYERS), default="search")
    parser.add_argument("--kind", choices=("gumbel", "puct"), default="gumbel")
    parser.add_argument("--simulations", type=int, default=200)
    parser.add_argument("--playouts", type=int, default=4, help="random playouts per evaluated position")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--gnugo", default="/usr/games/gnugo")
    args = parser.parse_args()

    choose, played = PLAYERS[args.player](args.size, args)
    ours = sp.Color.BLACK if args.color == "black" else sp.Color.WHITE
    # Chinese (area) rules and all dead stones captured: GNU Go then plays the
    # game out so that the Tromp-Taylor count of the final board is the result.
    gnugo = Gtp(shlex.split(args.gnugo) + ["--mode", "gtp", "--level", str(args.level), "--chinese-rules",
                                           "--capture-all-dead", "--seed", str(args.seed)])
    game = sp.Game(args.size, komi=args.komi)
    try:
        gnugo.send("boardsize %d" % args.size)
        gnugo.send("clear_board")
        gnugo.send("komi %g" % args.komi)
        limit = 3 * args.size * args.size
        while not game.is_over and game.move_count < limit:
            color = game.to_play
            name = color.name.lower()
            if color == ours:
                move = choose(game)
                game.play(move)
                if move != sp.RESIGN:
                    gnugo.send("play %s %s" % (name, game.vertex(move)))
            else:
                move = game.move(gnugo.send("genmove " + name))
                try:
                    game.play(move)
                except sp.IllegalMoveError as error:  # GNU Go knows simple ko only, not positional superko
                    print("GNU Go played %s: %s; it forfeits" % (game.vertex(move), error))
                    game.play(sp.RESIGN)
            if not game.is_over:
                played(move)
        print(game)
        print("moves: %d, end: %s" % (game.move_count, game.end_reason.name.lower()))
        if game.end_reason == sp.GameEnd.RESIGN:
            print("result: %s+R" % ("B" if game.winner == sp.Color.BLACK else "W"))
        else:
            score = game.score()
            print("score (Tromp-Taylor, komi %g): %s+%g" % (game.komi, "B" if score > 0 else "W", abs(score)))
            print("GNU Go's count: %s" % gnugo.send("final_score"))
        winner = game.winner
        print("winner: %s (we played %s)" % (winner.name.lower(), ours.name.lower()))
    finally:
        game.close()
        gnugo.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
