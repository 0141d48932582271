"""semiparam.go_evaluator: the playout model under the searcher from Python:
a known answer, action/move mapping, lifetime rules and argument checks."""
import threading
import unittest

import semiparam as sp
from semiparam import go_evaluator, search
from semiparam.go import PASS, Color, Game
from semiparam.go_evaluator import GoEvaluator
from semiparam.search import Search, SearchKind


def atari_position():
    """5x5, Black to play: E3 captures three White stones and wins."""
    g = Game(5)
    for v in ("B4", "C4", "D4", "B2", "C2", "D2", "A3"):
        g.setup(v, Color.BLACK)
    for v in ("B3", "C3", "D3"):
        g.setup(v, Color.WHITE)
    return g


class TestGoEvaluator(unittest.TestCase):
    def test_options(self):
        o = go_evaluator.go_evaluator_options()
        self.assertEqual((o.version, o.board_size, o.playouts, o.max_moves, o.threads, o.seed), (1, 9, 1, 0, 1, 1))
        with self.assertRaises(TypeError):
            GoEvaluator(boardsize=9)
        with self.assertRaises(TypeError):
            GoEvaluator(playouts=2.5)
        with self.assertRaises(sp.InvalidArgumentError):
            GoEvaluator(playouts=0)
        with self.assertRaises(sp.InvalidArgumentError):
            GoEvaluator(board_size=25)
        with self.assertRaises(sp.VersionError):
            GoEvaluator(go_evaluator.go_evaluator_options(version=7))

    def test_gumbel_search_finds_the_capture(self):
        # Random playouts rate a few quiet moves (A2, E4) almost as high as
        # E3, so 100 simulations pick E3 on most seeds, not all: a blind pick
        # among the fifteen-odd legal moves would manage one seed in fifteen.
        with atari_position() as g:
            found = 0
            for seed in range(1, 11):
                with GoEvaluator(board_size=5, playouts=8, seed=seed) as ev, \
                        Search(ev, simulations=100, kind=SearchKind.GUMBEL, seed=seed) as s:
                    action = s.run(g)
                    found += g.vertex(ev.action_to_move(action)) == "E3"
                    value, sims = s.root_value()
                    self.assertEqual(sims, 100)
                    self.assertGreater(value, 0.5)
            self.assertGreaterEqual(found, 7)

    def test_puct_plays_legal_moves_reproducibly(self):
        with Game(5) as g:
            results = []
            for _ in range(2):
                with GoEvaluator(board_size=5, playouts=2, seed=5) as ev, Search(ev, simulations=50, seed=5) as s:
                    action = s.run(g, g.legal_mask())
                    self.assertTrue(g.is_legal(ev.action_to_move(action)))
                    results.append((action, s.root_stats()))
            self.assertEqual(results[0], results[1])

    def test_game_with_tree_reuse_and_many_trees(self):
        with GoEvaluator(board_size=5, playouts=1) as ev:
            games = [Game(5), Game(5)]
            searches = [Search(ev, simulations=20, kind=SearchKind.GUMBEL, seed=i + 1) for i in range(2)]
            for _ in range(6):
                actions = search.run_many(searches, games, [g.legal_mask() for g in games])
                for g, s, a in zip(games, searches, actions):
                    g.play(ev.action_to_move(a))
                    s.advance(a)
            self.assertEqual([g.move_count for g in games], [6, 6])
            for g in games:
                g.close()

    def test_action_mapping(self):
        with GoEvaluator(board_size=9) as ev:
            self.assertEqual(ev.num_actions, 82)
            self.assertEqual(ev.action_to_move(81), PASS)
            self.assertEqual(ev.move_to_action(PASS), 81)
            self.assertEqual(ev.action_to_move(40), 40)
            with self.assertRaises(ValueError):
                ev.action_to_move(82)
            with self.assertRaises(ValueError):
                ev.move_to_action(81)

    def test_root_checks(self):
        with GoEvaluator(board_size=9) as ev, Search(ev, simulations=5) as s:
            with Game(7) as small, self.assertRaises(ValueError):
                s.run(small)
            with self.assertRaises(TypeError):
                s.run("not a game")
            closed = Game(9)
            closed.close()
            with self.assertRaises(ValueError):
                s.run(closed)

    def test_more_search_threads_than_evaluator_threads(self):
        with atari_position() as g, GoEvaluator(board_size=5, threads=1) as ev, \
                Search(ev, simulations=50, threads=2) as s:
            with self.assertRaises(sp.InvalidArgumentError):
                s.run(g)

    def test_closing_the_evaluator_closes_its_searches(self):
        ev = GoEvaluator(board_size=5)
        s = Search(ev, simulations=5)
        with Game(5) as g:
            s.run(g)
        ev.close()
        self.assertTrue(s.closed)
        with self.assertRaises(ValueError):
            Search(ev)

    def test_close_while_a_search_runs_is_refused(self):
        # The searches borrow the evaluator: closing it under a running search
        # (from another thread) would free the states its tree is using. The
        # first close comes while a run is most likely going on; if refused,
        # the next comes between two runs, where it must succeed.
        ev = GoEvaluator(board_size=5, playouts=2)
        s = Search(ev, simulations=400)
        running, between, proceed, outcome = threading.Event(), threading.Event(), threading.Event(), []

        def play():
            try:
                with Game(5) as g:
                    while True:
                        running.set()
                        s.run(g)
                        between.set()
                        proceed.wait()
            except BaseException as exc:
                outcome.append(exc)
                between.set()  # nothing left to wait for

        worker = threading.Thread(target=play)
        worker.start()
        running.wait()
        try:
            ev.close()
        except sp.MisuseError as exc:
            self.assertIn("in use", str(exc))
            between.wait()
            ev.close()
        proceed.set()
        worker.join()
        self.assertTrue(ev.closed and s.closed)
        self.assertIsInstance(outcome[0], ValueError)
        self.assertIn("closed", str(outcome[0]))

    def test_seed(self):
        with GoEvaluator(board_size=5) as ev:
            ev.seed(3)
            with self.assertRaises(ValueError):
                ev.seed(-3)


if __name__ == "__main__":
    unittest.main()
