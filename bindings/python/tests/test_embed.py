"""semiparam.embed: raw keys against Pca.apply of the planes, learned "repr"
keys against the model's hidden state through the embedder's own PCA by
hand, planes / games / positions agreeing, .spe round trips and refusals, a
retriever refusing another embedder's queries, the model closing its
embedders first, and argument checks. Tiny models on 3x3 random games."""
import array
import os
import tempfile
import unittest

import semiparam as sp
from semiparam import embed, go, nn, retriever
from semiparam.dataset import Dataset
from semiparam.embed import Embedder, EmbedderKind, Pca
from semiparam.go import Game
from semiparam.model import Model

SIZE = 3
HISTORY = 1


def tiny_model(seed=1):
    """Board 3, 4 planes, 3 channels (27 floats of "repr"), 1 + 1 blocks."""
    return Model(nn=nn.nn_options(backend=nn.Backend.CPU, threads=1, seed=seed), board_size=SIZE, history=HISTORY,
                 channels=3, repr_blocks=1, dyn_blocks=1, policy_channels=2, value_channels=1, value_hidden=4)


def random_dataset(games=30, seed=5):
    ds = Dataset(SIZE)
    with sp.Rng(seed) as rng:
        for i in range(games):
            with Game(SIZE) as g:
                for _ in range(3 + i % 5):
                    if g.is_over:
                        break
                    g.play(g.random_move(rng))
                ds.add_game(g, dedup=False)
    return ds


def fit(model, ds, dim=3, **fields):
    fields.setdefault("history", HISTORY)
    return Embedder.fit(model, ds, dim=dim, sample=1000000, batch=5, threads=1, seed=3, **fields)


def close_to(a, b, tol=1e-4):
    scale = max(max(abs(x) for x in b), 1e-30)
    return max(abs(x - y) for x, y in zip(a, b)) <= tol * scale


@unittest.skipUnless(sp.has_feature(sp.Feature.RETRIEVAL), "built without the retrieval module (-Dretrieval=disabled)")
class TestEmbed(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.ds = random_dataset()
        n = cls.ds.position_count
        cls.positions = [(i * 7) % n for i in range(n)]  # out of order
        cls.planes, cls.games = embed.position_planes(cls.ds, cls.positions, history=HISTORY)

    @classmethod
    def tearDownClass(cls):
        cls.ds.close()
        cls.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def test_raw_keys_are_the_pca_of_the_planes(self):
        with fit(None, self.ds, dim=4) as e:
            self.assertEqual(e.kind, EmbedderKind.RAW)
            info = e.describe()
            self.assertEqual(info["kind"], EmbedderKind.RAW)
            self.assertEqual((info["dim"], info["board_size"], info["history"]), (4, SIZE, HISTORY))
            self.assertEqual(info["input_dim"], go.plane_count(HISTORY) * SIZE * SIZE)
            self.assertEqual((info["layer"], info["model_hash"]), ("", 0))
            self.assertEqual(info["id"], e.id)
            self.assertTrue(0 < info["explained_variance"] <= 1)
            keys, games = e.embed_positions(self.ds, self.positions)
            self.assertEqual(list(games), list(self.games))
            pca = e.pca
            self.assertEqual(pca.id, e.id)
            self.assertEqual(list(keys), list(pca.apply(self.planes)))
            with Embedder.from_pca(pca, SIZE, HISTORY) as copy:
                self.assertEqual(copy.id, e.id)
                self.assertEqual(list(copy.embed_planes(self.planes)), list(keys))
            with self.assertRaises(sp.InvalidArgumentError):
                Embedder.from_pca(pca, SIZE + 1, HISTORY)
        with self.assertRaises(ValueError):
            pca.dim_in  # the embedder's PCA goes with it

    def test_learned_keys_are_the_hidden_state_through_the_pca(self):
        with tiny_model() as m, fit(m, self.ds) as e:
            info = e.describe()
            self.assertEqual((info["kind"], info["layer"]), (EmbedderKind.LEARNED, "repr"))
            self.assertEqual(info["model_hash"], m.describe().content_hash)
            self.assertEqual(info["input_dim"], m.state_size)
            # model.h: "repr" is what sp_model_initial() gives as the state.
            state, _, _ = m.initial(self.planes)
            mean, matrix = e.pca.components()
            d, width = e.dim, m.state_size
            want = [sum(matrix[i * width + j] * (state[r * width + j] - mean[j]) for j in range(width))
                    for r in range(len(self.positions)) for i in range(d)]
            keys = e.embed_planes(self.planes)
            self.assertTrue(close_to(keys, want))
            # Planes, games played to the position, dataset positions: the same keys.
            by_positions, games = e.embed_positions(self.ds, self.positions)
            self.assertEqual(list(games), list(self.games))
            self.assertTrue(close_to(by_positions, keys, 1e-5))
            replays = [self.ds.game_replay(*self.ds.position_locate(p)) for p in self.positions[:10]]
            try:
                self.assertTrue(close_to(e.embed_games(replays), keys[:10 * d], 1e-5))
            finally:
                for g in replays:
                    g.close()
            # Into a caller's buffer.
            out = array.array("f", bytes(4 * len(keys)))
            self.assertIs(e.embed_planes(self.planes, out=out), out)
            self.assertEqual(list(out), list(keys))

    def test_every_layer_through_the_pca(self):
        if not hasattr(Model, "activations"):
            self.skipTest("semiparam.model has no Model.activations")
        with tiny_model() as m:
            for layer in m.layers():
                dim = min(2, layer.size)
                with fit(m, self.ds, dim=dim, layer=layer.name) as e:
                    self.assertEqual(e.describe()["input_dim"], layer.size)  # flattened
                    act = m.activations(self.planes, layer=layer.name)
                    mean, matrix = e.pca.components()
                    w = layer.size
                    want = [sum(matrix[i * w + j] * (act[r * w + j] - mean[j]) for j in range(w))
                            for r in range(len(self.positions)) for i in range(dim)]
                    self.assertTrue(close_to(e.embed_planes(self.planes), want), layer.name)

    def test_save_load_and_refusals(self):
        with tiny_model(1) as m, tiny_model(2) as other, fit(m, self.ds) as e, fit(None, self.ds) as raw:
            learned_path, raw_path = self.path("learned.spe"), self.path("raw.spe")
            e.save(learned_path)
            raw.save(raw_path)
            with Embedder.load(learned_path, model=m) as back:
                self.assertEqual(back.describe(), e.describe())
                self.assertEqual(list(back.embed_planes(self.planes)), list(e.embed_planes(self.planes)))
            with Embedder.load(raw_path) as back:
                self.assertEqual(back.id, raw.id)
                self.assertEqual(list(back.embed_planes(self.planes)), list(raw.embed_planes(self.planes)))
            with self.assertRaisesRegex(sp.MisuseError, "model"):
                Embedder.load(learned_path, model=other)
            with self.assertRaisesRegex(sp.MisuseError, "model"):
                Embedder.load(learned_path)
            with self.assertRaisesRegex(sp.MisuseError, "model"):
                Embedder.load(raw_path, model=m)
            with open(learned_path, "rb") as f:
                data = f.read()
            bad = self.path("bad.spe")
            for cut in (0, 4, len(data) // 2, len(data) - 1):
                with open(bad, "wb") as f:
                    f.write(data[:cut])
                with self.assertRaises(sp.FormatError):
                    Embedder.load(bad, model=m)
            with self.assertRaises(sp.FileIOError):
                Embedder.load(self.path("missing.spe"))
            with self.assertRaises(sp.FileIOError):
                e.save(self.path("no-such-dir/e.spe"))
            self.assertFalse(os.path.exists(self.path("no-such-dir")))

    def test_retriever_refuses_another_embedder(self):
        with tiny_model() as m, fit(m, self.ds) as e, fit(None, self.ds) as raw:
            self.assertNotEqual(e.id, raw.id)
            keys, games = e.embed_positions(self.ds, self.positions)
            with retriever.Retriever.build(keys, self.positions, games, e.dim, factory="Flat", halves=1,
                                           embedder_id=e.id) as r:
                self.assertEqual(r.embedder_id, e.id)
                r.search(keys[:e.dim], 2, embedder_id=e.id)
                queries, _ = raw.embed_positions(self.ds, self.positions[:1])
                with self.assertRaises(sp.MisuseError):
                    r.search(queries, 2, embedder_id=raw.id)

    def test_closing_the_model_closes_its_embedders_first(self):
        m = tiny_model()
        e = fit(m, self.ds)
        self.assertIs(e.model, m)
        m.close()
        self.assertTrue(e.closed)
        with self.assertRaises(ValueError):
            e.dim

    def test_bad_arguments(self):
        with self.assertRaises(TypeError):
            Embedder()
        with self.assertRaises(sp.InvalidArgumentError):
            fit(None, self.ds, dim=0)
        with self.assertRaises(sp.InvalidArgumentError):
            fit(None, self.ds, kind=EmbedderKind.LEARNED)  # a learned embedder needs a model
        with self.assertRaises(ValueError):
            embed.embedder_options(kind=5)
        with self.assertRaises(ValueError):
            embed.embedder_options(dim=-1)
        with self.assertRaises(TypeError):
            embed.embedder_options(no_such_field=1)
        with self.assertRaises(sp.VersionError):
            Embedder.fit(None, self.ds, options=embed.embedder_options(version=embed.EMBEDDER_OPTIONS_VERSION + 1))
        with self.assertRaises(TypeError):
            Embedder.fit(None, self.ds, options=embed.embedder_options(), dim=3)
        with self.assertRaises(TypeError):
            Embedder.fit(None, "not a dataset")
        with tiny_model() as m:
            with self.assertRaisesRegex(sp.InvalidArgumentError, "no.such.layer"):
                fit(m, self.ds, layer="no.such.layer")
            with self.assertRaises(sp.InvalidArgumentError):
                fit(m, self.ds, dim=m.state_size + 1)
            with Dataset(9) as ds9, self.assertRaises(sp.InvalidArgumentError):
                fit(m, ds9)
        with fit(None, self.ds) as e:
            with self.assertRaises(ValueError):
                e.embed_planes(self.planes[:-1])  # not whole rows
            with self.assertRaises(ValueError):
                e.embed_planes(array.array("f"))
            with self.assertRaises(ValueError):
                e.embed_games([])
            with self.assertRaises(TypeError):
                e.embed_games(["not a game"])
            with Game(9) as g9, self.assertRaises(sp.InvalidArgumentError):
                e.embed_games([g9])
            with self.assertRaises(ValueError):
                e.embed_positions(self.ds, [])
            with self.assertRaises(sp.InvalidArgumentError):
                e.embed_positions(self.ds, [self.ds.position_count])
            with self.assertRaises(ValueError):
                e.embed_planes(self.planes, out=array.array("f", bytes(4)))
        with self.assertRaises(TypeError):
            Embedder.from_pca("not a pca", SIZE, HISTORY)

    def test_pca_components_reproduce_apply(self):
        data = array.array("f", ((i * 37 + j * 11) % 17 / 17.0 for i in range(50) for j in range(5)))
        with Pca(data, 5, 2) as pca:
            mean, matrix = pca.components()
            self.assertEqual((len(mean), len(matrix)), (5, 10))
            keys = pca.apply(data)
            want = [sum(matrix[i * 5 + j] * (data[r * 5 + j] - mean[j]) for j in range(5))
                    for r in range(50) for i in range(2)]
            self.assertTrue(close_to(keys, want))


if __name__ == "__main__":
    unittest.main()
