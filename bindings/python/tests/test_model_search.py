"""semiparam.model_search: a Python search over a tiny fresh model, both
modes: legal moves only, root priors a distribution over the legal moves,
lifetime rules (closing the view, or the model, closes the searches over
it; a collected cycle frees them before the model), a retrieval model
refused (UnsupportedError: the agent searches one) and argument checks."""
import gc
import unittest

import semiparam as sp
from semiparam import model_search, nn
from semiparam.go import PASS, Game
from semiparam.model import Model
from semiparam.model_search import ModelSearchMode, ModelSearchModel
from semiparam.search import Search, SearchKind

SIZE = 5

TINY = dict(board_size=SIZE, history=2, channels=8, repr_blocks=1, dyn_blocks=1, value_hidden=8)


def tiny_model():
    return Model(nn=nn.nn_options(backend=nn.Backend.CPU, threads=1), **TINY)


def random_game(seed, moves):
    g = Game(SIZE)
    rng = sp.Rng(seed)
    for _ in range(moves):
        move = g.random_move(rng)
        if move == PASS:
            break
        g.play(move)
    return g


class TestModelSearch(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        try:
            cls.model = tiny_model()
        except sp.UnsupportedError:
            raise unittest.SkipTest("built without the nn module")

    @classmethod
    def tearDownClass(cls):
        cls.model.close()

    def test_options(self):
        o = model_search.model_search_options()
        self.assertEqual((o.version, o.mode, o.max_batch), (2, ModelSearchMode.LEARNED, 0))
        self.assertFalse(o.neighbours)  # a NULL callback
        self.assertIsNone(o.neighbours_payload)
        with self.assertRaises(TypeError):
            model_search.model_search_options(modes=1)
        # The neighbours callback (version 2) is the agent's, not Python's.
        with self.assertRaises(TypeError):
            model_search.model_search_options(neighbours=None)
        with self.assertRaises(TypeError):
            model_search.model_search_options(neighbours_payload=1)
        o.neighbours = model_search.NEIGHBOURS_FN(lambda n, games, out, payload: 0)
        with self.assertRaises(TypeError):
            ModelSearchModel(self.model, o)
        # Version 1 (without the callback) is still read.
        with ModelSearchModel(self.model, model_search.model_search_options(version=1, mode=ModelSearchMode.RULES)) \
                as m:
            self.assertEqual(m.mode, ModelSearchMode.RULES)
        with self.assertRaises(sp.InvalidArgumentError):
            ModelSearchModel(self.model, mode=5)
        with self.assertRaises(sp.InvalidArgumentError):
            ModelSearchModel(self.model, max_batch=-1)
        with self.assertRaises(sp.VersionError):
            ModelSearchModel(self.model, model_search.model_search_options(version=3))
        with self.assertRaises(TypeError):
            ModelSearchModel("model")
        with self.assertRaises(TypeError):
            ModelSearchModel(self.model, model_search.model_search_options(), mode=1)
        with ModelSearchModel(self.model, mode=ModelSearchMode.RULES, max_batch=4) as m:
            self.assertEqual((m.mode, m.board_size, m.num_actions), (ModelSearchMode.RULES, SIZE, SIZE * SIZE + 1))
            self.assertEqual(m.action_to_move(SIZE * SIZE), PASS)
            self.assertEqual(m.move_to_action(PASS), SIZE * SIZE)

    def test_searches_choose_legal_moves(self):
        for mode in ModelSearchMode:
            for threads in (1, 2):
                with ModelSearchModel(self.model, mode=mode) as m:
                    for seed in range(1, 7):
                        kind = SearchKind.GUMBEL if seed % 2 else SearchKind.PUCT
                        with random_game(seed, 3 * seed) as g, \
                                Search(m, simulations=32, threads=threads, batch_size=4, kind=kind, seed=seed) as s:
                            action = s.run(g)
                            self.assertTrue(g.is_legal(m.action_to_move(action)), (mode, threads, seed, action))
                            stats = s.root_stats()
                            legal = g.legal_mask()
                            self.assertAlmostEqual(sum(stats.priors), 1.0, places=4)
                            for a in range(m.num_actions):
                                if not legal[a]:
                                    self.assertEqual(stats.priors[a], 0.0)
                                    self.assertEqual(stats.visits[a], 0)
                            self.assertEqual(s.root_value()[1], 32)

    def test_a_retrieval_model_needs_the_agent(self):
        # Without a neighbours callback the search would read zeros for every
        # neighbour: the library refuses, and the agent (semiparam.agent) is the way.
        with Model(nn=nn.nn_options(backend=nn.Backend.CPU, threads=1), neighbours=3, neighbour_channels=3,
                   **TINY) as retrieval:
            for mode in ModelSearchMode:
                with self.subTest(mode=mode), self.assertRaises(sp.UnsupportedError) as cm:
                    ModelSearchModel(retrieval, mode=mode)
                self.assertIn("neighbours", str(cm.exception))

    def test_a_collected_cycle_frees_the_searches_before_the_model(self):
        # The garbage collection of a cycle clears the model's and the view's
        # weak lists of dependents before any finalizer runs, in no set order:
        # the model must still outlive the search whose tree holds its states.
        freed = []
        frees = Search.__dict__["_free"], Model.__dict__["_free"]
        for cls, name in ((Search, "search"), (Model, "model")):
            cls._free = staticmethod(lambda ptr, free=cls._free, name=name: (freed.append(name), free(ptr)))

        class Player:
            def __init__(self):
                self.model = tiny_model()
                self.view = ModelSearchModel(self.model, mode=ModelSearchMode.RULES)
                self.search = Search(self.view, simulations=4)
                self.me = self

        try:
            for _ in range(10):
                p = Player()
                with random_game(1, 2) as g:
                    p.search.run(g)
                del p
                gc.collect()
            self.assertEqual(freed, ["search", "model"] * 10)
        finally:
            Search._free, Model._free = frees

    def test_wrong_root_and_lifetime(self):
        m = ModelSearchModel(self.model)
        s = Search(m, simulations=8)
        with Game(9) as nine:
            with self.assertRaises(ValueError):
                s.run(nine)
        with self.assertRaises(TypeError):
            s.run("D4")
        # Closing the view closes its searches first; the model stays open.
        m.close()
        self.assertTrue(s.closed)
        self.assertFalse(self.model.closed)
        with random_game(3, 4) as g, ModelSearchModel(self.model) as again, Search(again, simulations=4) as s2:
            self.assertIsNotNone(s2.run(g))
        # Closing the model closes its views and their searches before the
        # C model (and the states their trees hold) goes.
        own = tiny_model()
        view = ModelSearchModel(own, mode=ModelSearchMode.RULES)
        s3 = Search(view, simulations=4)
        with random_game(4, 2) as g:
            self.assertIsNotNone(s3.run(g))
        own.close()
        self.assertTrue(view.closed and s3.closed)
        with self.assertRaises(ValueError):
            ModelSearchModel(own)


if __name__ == "__main__":
    unittest.main()
