"""semiparam.model: options, sizes counted by hand, exact save/load, refused
files, inference shapes and ranges, rows independent of their batch, the
layers and their activations, two threads at once, dependents closed first,
and argument checks."""
import array
import math
import os
import tempfile
import threading
import unittest

import semiparam as sp
from semiparam import model, nn
from semiparam.dataset import Dataset
from semiparam.go import Game
from semiparam.model import Model


def tiny(**extra):
    """Board 3, 4 planes, 3 channels, 1 + 1 blocks, heads 2 / 1 / 4 (see test_model.c's hand count)."""
    fields = dict(board_size=3, history=1, channels=3, repr_blocks=1, dyn_blocks=1, policy_channels=2,
                  value_channels=1, value_hidden=4)
    fields.update(extra)
    return fields


def cpu(seed=1):
    return nn.nn_options(backend=nn.Backend.CPU, threads=1, seed=seed)


def game_planes(size, history, moves):
    with Game(size) as g:
        for m in moves:
            g.play(m)
        return g.planes(history)


@unittest.skipUnless(sp.has_feature(sp.Feature.NN), "built without the nn module (-Dnn=disabled)")
class TestModel(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.dir.cleanup()

    def path(self, name):
        return os.path.join(self.dir.name, name)

    def test_options(self):
        o = model.model_options()
        self.assertEqual((o.version, o.board_size, o.history, o.channels, o.repr_blocks, o.dyn_blocks,
                          o.policy_channels, o.value_channels, o.value_hidden, o.value_kind, o.neighbours,
                          o.neighbour_channels, o.neighbour_blocks),
                         (2, 9, 8, 64, 6, 2, 2, 1, 64, model.ValueKind.TANH, 0, 16, 1))
        with self.assertRaises(TypeError):
            model.model_options(boardsize=9)
        with self.assertRaises(sp.InvalidArgumentError) as cm:
            Model(**tiny(channels=0))
        self.assertIn("channels", str(cm.exception))
        with self.assertRaises(sp.InvalidArgumentError) as cm:
            Model(**tiny(neighbours=2, neighbour_channels=3))
        self.assertIn("neighbour_channels", str(cm.exception))
        with self.assertRaises(sp.VersionError):
            Model(model.model_options(version=7))
        with self.assertRaises(TypeError):
            Model(model.model_options(), board_size=9)
        with self.assertRaises(TypeError):
            Model(nn=model.model_options())

    def test_retrieval_model(self):
        """N = 2 neighbours: zeros are the baseline, the order of the
        neighbours does not matter, the embedder id is kept in the file and
        another one is refused."""
        with Model.create(nn=cpu(), **tiny(channels=4, neighbours=2, neighbour_channels=2)) as m:
            planes = game_planes(3, 1, [0, 4])
            per = model.NEIGHBOUR_PLANES * 9
            x = array.array("f", [((i * 37) % 11) / 11.0 for i in range(2 * per)])
            swapped = x[per:] + x[:per]
            base = m.initial(planes)
            self.assertEqual(list(m.initial_neighbours(planes, None)[1]), list(base[1]))
            with_x = m.initial_neighbours(planes, x)
            self.assertNotEqual(list(with_x[1]), list(base[1]))
            for a, b in zip(m.initial_neighbours(planes, swapped)[1], with_x[1]):
                self.assertAlmostEqual(a, b, places=5)
            with self.assertRaises(ValueError):
                m.initial_neighbours(planes, x[:per])
            with Dataset(3) as ds:
                with Game(3) as g:
                    for move in (0, 4, 8):
                        g.play(move)
                    ds.add_game(g)
                planes_of = array.array("f", [0.0] * per)
                ds.neighbour_planes(1, 0, planes_of)
                by_ids = m.initial_ids(planes, ds, [1, 2**64 - 1])
                by_planes = m.initial_neighbours(planes, planes_of + array.array("f", [0.0] * per))
                self.assertEqual(list(by_ids[1]), list(by_planes[1]))
                with self.assertRaises(sp.InvalidArgumentError):
                    m.initial_ids(planes, ds, [1, 99])
            self.assertEqual(m.embedder_id, 0)
            m.set_embedder(0x31456be34f5c7e3d)
            m.check_retrieval(0x31456be34f5c7e3d, 2)
            with self.assertRaises(sp.InvalidArgumentError):
                m.check_retrieval(0x1234, 2)
            with self.assertRaises(sp.InvalidArgumentError):
                m.check_retrieval(0x31456be34f5c7e3d, 10)
            m.save(self.path("r.spm"))
            with Model.load(self.path("r.spm")) as again:
                self.assertEqual(again.embedder_id, 0x31456be34f5c7e3d)
                self.assertEqual(list(again.initial_neighbours(planes, x)[1]), list(with_x[1]))
                self.assertEqual(again.layers(), [])
        with Model.create(nn=cpu(), **tiny()) as plain:
            with self.assertRaises(sp.InvalidArgumentError):
                plain.set_embedder(1)
            with self.assertRaises(sp.InvalidArgumentError):
                plain.initial_neighbours(game_planes(3, 1, []), array.array("f", bytes(4 * 17 * 9)))

    def test_describe_counts_by_hand(self):
        with Model.create(nn=cpu(), **tiny()) as m:
            info = m.describe()
            self.assertEqual((info.input_planes, info.num_actions, info.state_size), (4, 10, 27))
            self.assertEqual(info.parameters, 853)
            self.assertEqual((info.flops_initial, info.flops_recurrent), (5462, 5948))
            self.assertEqual(m.options.channels, 3)
            with Model(nn=cpu(), **tiny()) as same, Model(nn=cpu(2), **tiny()) as other:
                self.assertEqual(same.describe().content_hash, info.content_hash)
                self.assertNotEqual(other.describe().content_hash, info.content_hash)
            self.assertIn("3x3", repr(m))
        self.assertIn("closed", repr(m))
        with self.assertRaises(ValueError):
            m.describe()

    def test_inference_shapes_ranges_and_rows(self):
        with Model(nn=cpu(), **tiny(board_size=5, history=2, channels=4)) as m:
            planes = game_planes(5, 2, ["C3", "B2"]) + game_planes(5, 2, ["B3"])
            state, logits, value = m.initial(planes)
            self.assertEqual((len(state), len(logits), len(value)), (2 * 100, 2 * 26, 2))
            self.assertTrue(all(0.0 <= s <= 1.0 for s in state))
            self.assertTrue(all(-1.0 <= v <= 1.0 for v in value))
            self.assertTrue(all(math.isfinite(z) for z in logits))
            # A row does not depend on its batch (up to the kernels' summation
            # order, which may change with the batch size).
            s1, l1, v1 = m.initial(game_planes(5, 2, ["B3"]))
            for got, want in ((s1, state[100:]), (l1, logits[26:]), (v1, value[1:])):
                scale = max(abs(x) for x in want) or 1.0
                self.assertLess(max(abs(a - b) for a, b in zip(got, want)) / scale, 1e-5)
            nxt, logits2, value2 = m.recurrent(state, [12, 25])
            self.assertEqual((len(nxt), len(logits2), len(value2)), (200, 52, 2))
            self.assertTrue(all(0.0 <= s <= 1.0 for s in nxt))
            # Outputs into caller buffers, and a state as a list.
            out = array.array("f", bytes(4 * 100))
            n2, _, _ = m.recurrent(list(s1), [25], next_state=out)
            self.assertIs(n2, out)
            self.assertLess(max(abs(a - b) for a, b in zip(out, nxt[100:])), 1e-5)

    def test_layers_and_activations(self):
        with Model() as m:  # the default architecture: 9x9, 64 channels, 6 blocks, heads 2 / 1 / 64
            layers = m.layers()
            self.assertEqual([(l.name, l.channels, l.height, l.width, l.size) for l in layers],
                             [("repr", 64, 9, 9, 5184)] + [("repr.block%d" % i, 64, 9, 9, 5184) for i in range(1, 7)]
                             + [("policy.conv", 2, 9, 9, 162), ("value.hidden", 64, 1, 1, 64)])
        with Model(nn=cpu(6), **tiny(board_size=5, history=2, channels=4)) as m:
            self.assertEqual([tuple(l) for l in m.layers()],
                             [("repr", 4, 5, 5, 100), ("repr.block1", 4, 5, 5, 100), ("policy.conv", 2, 5, 5, 50),
                              ("value.hidden", 4, 1, 1, 4)])
            planes = game_planes(5, 2, ["C3", "B2"]) + game_planes(5, 2, ["B3"])
            state, _, _ = m.initial(planes)
            self.assertEqual(list(m.activations(planes)), list(state))  # "repr" is the state, exactly
            for layer in m.layers():
                got = m.activations(planes, layer=layer.name)
                self.assertEqual(len(got), 2 * layer.size)
                self.assertTrue(all(math.isfinite(x) for x in got))
                if layer.name in ("policy.conv", "value.hidden"):  # after a ReLU
                    self.assertTrue(all(x >= 0.0 for x in got))
                out = array.array("f", bytes(4 * 2 * layer.size))
                self.assertIs(m.activations(planes, layer.name, out=out), out)
                self.assertEqual(list(out), list(got))
            with self.assertRaises(sp.InvalidArgumentError) as cm:
                m.activations(planes, layer="repr.block2")
            self.assertIn('"repr.block2"', str(cm.exception))
            with self.assertRaises(TypeError):
                m.activations(planes, layer=3)
            with self.assertRaises(ValueError):
                m.activations(planes[:-1])  # not a whole row
            with self.assertRaises(ValueError):
                m.activations(planes, "value.hidden", out=array.array("f", bytes(4 * 7)))  # 8 needed
            try:
                import numpy
            except ImportError:
                return
            keys = numpy.zeros((2, 50), numpy.float32)
            m.activations(planes, "policy.conv", out=keys)
            self.assertEqual(keys.ravel().tolist(), list(m.activations(planes, "policy.conv")))

    def test_bad_arguments(self):
        with Model(nn=cpu(), **tiny()) as m:
            planes = game_planes(3, 1, [])
            state, _, _ = m.initial(planes)
            with self.assertRaises(ValueError):
                m.initial(planes[:-1])  # not a whole row
            with self.assertRaises(ValueError):
                m.initial([])
            with self.assertRaises(TypeError):
                m.initial("planes")
            with self.assertRaises(TypeError):
                m.initial(array.array("d", planes))
            with self.assertRaises(ValueError):
                m.recurrent(state, [0, 1])  # two actions, one state
            with self.assertRaises(sp.InvalidArgumentError) as cm:
                m.recurrent(state, [10])
            self.assertIn("actions[0] = 10", str(cm.exception))
            with self.assertRaises(ValueError):
                m.initial(planes, value=array.array("f"))  # too small
            with self.assertRaises(TypeError):
                m.save(None)
            with self.assertRaises(sp.FileIOError):
                Model.load(self.path("missing.spm"))
            with self.assertRaises(sp.FileIOError):
                m.save(self.path("no/such/dir.spm"))
            self.assertFalse(os.path.exists(self.path("no")))

    def test_save_load_exact_and_refused_files(self):
        planes = game_planes(5, 2, ["C3"])
        arch = tiny(board_size=5, history=2, channels=4)
        with Model(nn=cpu(3), **arch) as m:
            want = m.initial(planes)
            m.save(self.path("m.spm"))
            info = m.describe()
        with Model.load(self.path("m.spm"), nn=cpu()) as m:
            self.assertEqual(m.describe(), info)
            got = m.initial(planes)
            self.assertEqual([list(a) for a in got], [list(a) for a in want])
        with Model(nn=cpu(4), **arch) as other:
            other.load_into(self.path("m.spm"))
            self.assertEqual(other.describe().content_hash, info.content_hash)
            self.assertEqual(list(other.initial(planes)[1]), list(want[1]))
        with Model(nn=cpu(), **tiny(board_size=5, history=2, channels=5)) as wide:
            before = wide.describe().content_hash
            with self.assertRaises(sp.FormatError) as cm:
                wide.load_into(self.path("m.spm"))
            self.assertIn("model file has channels 4, this model 5", str(cm.exception))
            self.assertEqual(wide.describe().content_hash, before)
        with open(self.path("m.spm"), "rb") as f:
            data = f.read()
        for name, content in (("cut.spm", data[: len(data) // 2]), ("text.spm", b"(;GM[1]SZ[9])"),
                              ("empty.spm", b""), ("flip.spm", data[:-9] + bytes([data[-9] ^ 1]) + data[-8:])):
            with open(self.path(name), "wb") as f:
                f.write(content)
            with self.assertRaises(sp.FormatError):
                Model.load(self.path(name))

    def test_two_threads_get_what_one_gets(self):
        with Model(nn=cpu(5), **tiny(board_size=5, history=2, channels=4)) as m:
            batches = [game_planes(5, 2, ["C3", "D4"]) * 3, game_planes(5, 2, ["B2"]) * 2]
            want = [[list(a) for a in m.initial(b)] + [list(m.activations(b, "policy.conv"))] for b in batches]
            bad = []

            def work(i):
                for _ in range(20):
                    got = [list(a) for a in m.initial(batches[i])] + [list(m.activations(batches[i], "policy.conv"))]
                    if got != want[i]:
                        bad.append(i)

            threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(bad, [])

    def test_closing_closes_dependents_first(self):
        try:
            from semiparam.model_search import ModelSearchModel
        except ImportError:
            self.skipTest("no semiparam.model_search")
        m = Model(nn=cpu(), **tiny())
        view = ModelSearchModel(m)
        m.close()
        self.assertTrue(view.closed)
        m.close()  # idempotent


if __name__ == "__main__":
    unittest.main()
