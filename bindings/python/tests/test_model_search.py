"""semiparam.model_search: a Python search over a tiny fresh model, both
modes: legal moves only, root priors a distribution over the legal moves,
lifetime rules (closing the view closes its searches) and argument checks."""
import ctypes
import math
import unittest
from ctypes import POINTER, byref, c_int, c_int32, c_uint32, c_void_p

import semiparam as sp
from semiparam import _lib, model_search, nn
from semiparam.go import PASS, Game
from semiparam.model_search import ModelSearchMode, ModelSearchModel
from semiparam.search import Search, SearchKind

SIZE = 5

try:
    from semiparam.model import Model
except ImportError:  # semiparam.model (model.h's own module) not written yet: a bare handle will do
    Model = None


class _ModelOptions(ctypes.Structure):
    _fields_ = [("version", c_uint32)] + [(name, c_int32) for name in (
        "board_size", "history", "channels", "repr_blocks", "dyn_blocks", "policy_channels", "value_channels",
        "value_hidden", "value_kind", "neighbours")]


class _BareModel(_lib.Handle):
    """An sp_model handle made here through ctypes, for as long as
    semiparam.model is missing."""
    _free = staticmethod(lambda p: _lib.LIB.sp_model_free(c_void_p(p)))

    def __init__(self, **fields):
        lib = _lib.LIB
        lib.sp_model_options_init.argtypes = [POINTER(_ModelOptions), c_uint32]
        lib.sp_model_create.argtypes = [POINTER(c_void_p), POINTER(_ModelOptions), POINTER(nn.NnOptions)]
        opts = _ModelOptions()
        sp.core.check(lib.sp_model_options_init(byref(opts), 1))
        for name, value in fields.items():
            setattr(opts, name, value)
        ptr = c_void_p()
        sp.core.check(lib.sp_model_create(byref(ptr), byref(opts), byref(nn.nn_options(backend=nn.Backend.CPU,
                                                                                          threads=1))))
        super().__init__(ptr.value)


TINY = dict(board_size=SIZE, history=2, channels=8, repr_blocks=1, dyn_blocks=1, value_hidden=8)


def tiny_model():
    if Model is not None:
        return Model(**TINY)
    return _BareModel(**TINY)


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
        self.assertEqual((o.version, o.mode, o.max_batch), (1, ModelSearchMode.LEARNED, 0))
        with self.assertRaises(TypeError):
            model_search.model_search_options(modes=1)
        with self.assertRaises(sp.InvalidArgumentError):
            ModelSearchModel(self.model, mode=5)
        with self.assertRaises(sp.InvalidArgumentError):
            ModelSearchModel(self.model, max_batch=-1)
        with self.assertRaises(sp.VersionError):
            ModelSearchModel(self.model, model_search.model_search_options(version=2))
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


if __name__ == "__main__":
    unittest.main()
