"""semiparam.search: MCTS over Python models (states kept alive and released,
exceptions re-raised, masks, batching of many trees) and argument checks."""
import gc
import threading
import unittest

import semiparam as sp
from semiparam import search
from semiparam.search import Evaluation, Search, SearchKind


class Bandit:
    """One decision, then the episode ends: action `best` wins (reward 1), the
    others lose nothing. Single-player, so the search must find `best`."""

    two_player = False

    def __init__(self, num_actions=4, best=2, fail_at=None):
        self.num_actions = num_actions
        self.best = best
        self.fail_at = fail_at
        self.calls = 0
        self.live = set()
        self.lock = threading.Lock()
        self.max_rows = 0

    def _state(self, value):
        with self.lock:
            self.live.add(value)
        return value

    def initial(self, worker, inputs):
        self.max_rows = max(self.max_rows, len(inputs))
        prior = [1.0 / self.num_actions] * self.num_actions
        return [Evaluation(self._state(("root", r)), prior, 0.0) for r in inputs]

    def recurrent(self, worker, states, actions):
        with self.lock:
            self.calls += 1
            self.max_rows = max(self.max_rows, len(states))
            if self.fail_at is not None and self.calls >= self.fail_at:
                raise KeyError("model failure %d" % self.calls)
        prior = [1.0 / self.num_actions] * self.num_actions
        return [Evaluation(self._state(("leaf", id(s), a)), prior, 0.0,
                           reward=1.0 if a == self.best else 0.0, terminal=True)
                for s, a in zip(states, actions)]


class TestOptions(unittest.TestCase):
    def test_defaults_from_options_init(self):
        o = search.search_options()
        self.assertEqual((o.version, o.kind, o.simulations, o.threads, o.seed), (1, SearchKind.PUCT, 200, 1, 1))
        self.assertAlmostEqual(o.c1, 1.25)
        self.assertEqual(o.c2, 19652.0)
        self.assertEqual(o.fpu, search.SearchFpu.ZERO)
        o = search.search_options(simulations=10, kind=SearchKind.GUMBEL, max_seconds=0.5)
        self.assertEqual((o.simulations, o.kind, o.max_seconds), (10, 1, 0.5))

    def test_wrong_fields(self):
        with self.assertRaises(TypeError):
            search.search_options(simulation=10)  # misspelt
        with self.assertRaises(TypeError):
            search.search_options(simulations="10")
        with self.assertRaises(ValueError):
            search.search_options(simulations=1 << 31)
        with self.assertRaises(ValueError):
            search.search_options(seed=-1)

    def test_errors_from_c(self):
        with self.assertRaises(sp.InvalidArgumentError):
            Search(Bandit(), simulations=0)
        with self.assertRaises(sp.VersionError):
            Search(Bandit(), search.search_options(version=2))
        with self.assertRaises(ValueError):
            Search(Bandit(num_actions=0))
        with self.assertRaises(TypeError):
            Search(object())
        with self.assertRaises(TypeError):
            Search(Bandit(), options={"simulations": 3})


class TestPythonModel(unittest.TestCase):
    def test_finds_the_best_action_and_releases_states(self):
        model = Bandit()
        for kind in (SearchKind.PUCT, SearchKind.GUMBEL):
            with Search(model, simulations=64, kind=kind) as s:
                self.assertEqual(s.run("position"), model.best)
                stats = s.root_stats()
                self.assertEqual(sum(stats.visits), 64)
                ranking = stats.visits if kind == SearchKind.PUCT else stats.policy
                self.assertEqual(ranking.index(max(ranking)), model.best)
                self.assertEqual(len(stats.policy), 4)
                value, sims = s.root_value()
                self.assertEqual(sims, 64)
                self.assertGreater(value, 0.5 if kind == SearchKind.PUCT else 0.25)
                self.assertEqual(s.pv(5)[0], model.best)
                owner = s._owner
                self.assertTrue(owner._states)
            # the tree is gone: every state was given back and dropped
            self.assertEqual(owner._states, {})
            self.assertEqual(owner._inputs, {})

    def test_root_mask(self):
        model = Bandit()
        with Search(model, simulations=40) as s:
            action = s.run(None, mask=[True, True, False, True])
            self.assertNotEqual(action, model.best)
            self.assertEqual(s.root_stats().visits[model.best], 0)
            self.assertIsNone(s.run(None, mask=bytes(4)))  # nothing legal
            with self.assertRaises(ValueError):
                s.run(None, mask=[1, 1])
            with self.assertRaises(TypeError):
                s.run(None, mask="1111")

    def test_model_exception_is_reraised(self):
        model = Bandit(fail_at=3)
        with Search(model, simulations=50) as s:
            with self.assertRaises(KeyError) as cm:
                s.run(0)
            self.assertIn("model failure", str(cm.exception))
            model.fail_at = None
            s.reset()
            self.assertEqual(s.run(0), model.best)

    def test_bad_model_output_is_reported(self):
        class WrongPrior(Bandit):
            def initial(self, worker, inputs):
                return [Evaluation(None, [1.0], 0.0) for _ in inputs]

        class NotEvaluations(Bandit):
            def initial(self, worker, inputs):
                return [(None, [0.25] * 4, 0.0) for _ in inputs]

        with Search(WrongPrior(), simulations=5) as s, self.assertRaises(ValueError):
            s.run(0)
        with Search(NotEvaluations(), simulations=5) as s, self.assertRaises(TypeError):
            s.run(0)

    def test_many_trees_and_threads(self):
        model = Bandit(num_actions=5, best=4)
        searches = [Search(model, simulations=30, threads=2, batch_size=4, seed=i) for i in range(3)]
        actions = search.run_many(searches, ["a", "b", "c"])
        self.assertEqual(actions, [4, 4, 4])
        self.assertGreater(model.max_rows, 1)
        with self.assertRaises(ValueError):
            search.run_many(searches, ["a"])
        with self.assertRaises(ValueError):
            search.run_many([searches[0], Search(Bandit(), simulations=3)], ["a", "b"])
        with self.assertRaises(TypeError):
            search.run_many(["not a search"], ["a"])
        for s in searches:
            s.close()
        with self.assertRaises(ValueError):
            searches[0].run("a")

    def test_advance_and_limits(self):
        model = Bandit()
        with Search(model, simulations=20) as s:
            s.run(0)
            s.set_limits(10, 0.0)
            s.advance(model.best)
            with self.assertRaises(sp.InvalidArgumentError):
                s.advance(99)
            with self.assertRaises(TypeError):
                s.advance("2")
            with self.assertRaises(sp.InvalidArgumentError):
                s.set_limits(0)
            with self.assertRaises(ValueError):
                s.set_limits(10, float("inf"))

    def test_stats_before_any_run(self):
        with Search(Bandit(), simulations=5) as s:
            with self.assertRaises(sp.MisuseError):
                s.root_stats()

    def test_close_while_running_is_refused(self):
        # A model that tries to close searches from inside its callback, on its
        # own thread and from another one: freeing a search under its own run
        # is a use-after-free in C, so the bindings must refuse each attempt.
        class Closer(Bandit):
            targets = ()

            def __init__(self):
                super().__init__()
                self.refused = []

            def attempt(self, target):
                try:
                    target.close()
                except sp.MisuseError as exc:
                    self.refused.append(exc)

            def recurrent(self, worker, states, actions):
                for target in self.targets:
                    self.attempt(target)
                    other = threading.Thread(target=self.attempt, args=(target,))
                    other.start()
                    other.join()
                return super().recurrent(worker, states, actions)

        model = Closer()
        s = Search(model, simulations=10)
        model.targets = (s,)
        self.assertEqual(s.run("root"), model.best)
        self.assertEqual(len(model.refused), 2 * model.calls)
        self.assertIn("in use", str(model.refused[0]))
        self.assertFalse(s.closed)
        model.targets = ()
        s.close()
        with self.assertRaises(ValueError):
            s.run("root")

        # run_many holds every tree it steps, not only the first.
        model = Closer()
        searches = [Search(model, simulations=10, seed=i) for i in range(2)]
        model.targets = (searches[1],)
        self.assertEqual(search.run_many(searches, ["a", "b"]), [model.best] * 2)
        self.assertEqual(len(model.refused), 2 * model.calls)
        self.assertFalse(searches[1].closed)
        for s in searches:
            s.close()

    def test_search_keeps_model_alive(self):
        s = Search(Bandit(), simulations=8)
        gc.collect()
        self.assertEqual(s.run(0), 2)
        s.close()


if __name__ == "__main__":
    unittest.main()
