"""semiparam.retriever: build and search against brute force, half and game
exclusion, online add, .spi round trip and refusals, PCA keys, .spn files."""
import array
import os
import random
import tempfile
import threading
import unittest

import semiparam as sp
from semiparam import retriever
from semiparam.retriever import Exclude, LoadFlags, Neighbours, Pca, Retriever

DIM = 8


def clustered(n, seed=3):
    rnd = random.Random(seed)
    centres = [[rnd.uniform(0, 10) for _ in range(DIM)] for _ in range(20)]
    keys = array.array("f")
    for _ in range(n):
        c = rnd.choice(centres)
        keys.extend(v + rnd.gauss(0, 0.3) for v in c)
    return keys


def sqdist(a, b):
    return sum((x - y) ** 2 for x, y in zip(a, b))


class TestRetriever(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.n = 3000
        cls.keys = clustered(cls.n)
        cls.pos = list(range(100, 100 + cls.n))
        cls.games = [i // 30 for i in range(cls.n)]
        cls.tmp = tempfile.TemporaryDirectory()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def key(self, i):
        return self.keys[i * DIM:(i + 1) * DIM]

    def test_default_factory_and_half(self):
        self.assertEqual(retriever.default_factory(64, 1000000), "IVF4096,PQ16np,Refine(SQ8)")
        self.assertIn(retriever.game_half(12345), (0, 1))
        self.assertEqual(sp.has_feature(sp.Feature.FAISS_C_API) + sp.has_feature(sp.Feature.FAISS_BRIDGE), 1)

    def test_flat_matches_brute_force(self):
        with Retriever.build(self.keys, self.pos, self.games, DIM, factory="Flat", embedder_id=5) as r:
            self.assertEqual((r.count, r.dim, r.factory, r.embedder_id), (self.n, DIM, "Flat", 5))
            q = self.key(17)
            ids, dist, games = r.search(q, 5, embedder_id=5)
            ref = sorted(range(self.n), key=lambda i: sqdist(q, self.key(i)))[:5]
            self.assertEqual(ids[0], 117)
            self.assertAlmostEqual(dist[4], sqdist(q, self.key(ref[4])), places=3)
            self.assertEqual(games[0], self.games[17])
            with self.assertRaises(sp.MisuseError):
                r.search(q, 5, embedder_id=6)
            with self.assertRaises(ValueError):
                r.search(self.keys[:DIM + 1], 5, embedder_id=5)
            with self.assertRaises(sp.InvalidArgumentError):
                r.search(self.keys[:2 * DIM], 5, dim=2 * DIM, embedder_id=5)

    def test_exclusions_and_online_add(self):
        r = Retriever.build(self.keys, self.pos, self.games, DIM, factory="IVF16,PQ4np", halves=2, train_size=3000)
        self.assertEqual(r.half_count(0) + r.half_count(1), self.n)
        qs = self.keys[:20 * DIM]
        qgames = self.games[:20]
        ids, _, games = r.search(qs, 10, exclude=Exclude.OWN_HALF, game_ids=qgames, nprobe=16)
        for i, g in enumerate(games):
            self.assertNotEqual(retriever.game_half(g), retriever.game_half(qgames[i // 10]))
        ids, _, games = r.search(qs, 10, exclude=Exclude.GAME, game_ids=qgames, nprobe=16)
        for i, g in enumerate(games):
            self.assertNotEqual(g, qgames[i // 10])
        new = array.array("f", [v + 0.001 for v in self.key(5)])
        r.add(new, [999999], [77777])
        ids, _, _ = r.search(new, 2, nprobe=16)
        self.assertIn(999999, list(ids))
        path = os.path.join(self.tmp.name, "r.spi")
        r.save(path)
        with Retriever.load(path, LoadFlags.MMAP) as back:
            self.assertEqual(back.count, self.n + 1)
            self.assertEqual(list(back.search(new, 2, nprobe=16)[0]), list(ids))
            with self.assertRaises(sp.MisuseError):
                back.add(new, [1], [1])
        with open(path, "r+b") as f:
            f.seek(os.path.getsize(path) // 2)
            byte = f.read(1)
            f.seek(-1, 1)
            f.write(bytes([byte[0] ^ 0xFF]))
        with self.assertRaises(sp.FormatError):
            Retriever.load(path)
        pre = os.path.join(self.tmp.name, "n.spn")
        r.precompute(self.keys[:50 * DIM], self.pos[:50], self.games[:50], 4, pre)
        with Neighbours(pre) as nb:
            self.assertEqual((len(nb), nb.k), (50, 4))
            self.assertEqual(nb.embedder_id, r.embedder_id)
            pid, nids, nd = nb.row(3)
            self.assertEqual(pid, 103)
            for i in nids:
                self.assertNotEqual(retriever.game_half(self.games[i - 100]), retriever.game_half(self.games[3]))
            self.assertEqual(nd, sorted(nd))
        r.close()

    def test_query_game_ids_must_cover_every_row(self):
        # C reads one game id per query row: a shorter array would be read
        # past its end (heap-buffer-overflow under ASan, garbage ids without).
        # Arrays of over 512 bytes come from malloc, where ASan sees them.
        qs = self.keys[:600 * DIM]
        with Retriever.build(self.keys, self.pos, self.games, DIM, factory="Flat") as r:
            short = retriever.retriever_query(game_ids=self.games[:300], exclude=Exclude.GAME)
            with self.assertRaises(ValueError) as cm:
                r.search(qs, 3, query=short)
            self.assertIn("300 game ids for 600 query rows", str(cm.exception))
            with self.assertRaises(ValueError):
                r.search(qs, 3, game_ids=self.games[:300], exclude=Exclude.GAME)
            raw = retriever.RetrieverQuery()
            raw.version, raw.exclude = retriever.RETRIEVER_QUERY_VERSION, Exclude.GAME
            raw.game_ids = (retriever.c_uint32 * 1)(7)
            with self.assertRaises(ValueError):
                r.search(qs, 3, query=raw)
            with self.assertRaises(TypeError):
                r.search(qs, 3, query=short, nprobe=2)
            whole = retriever.retriever_query(game_ids=self.games[:600], exclude=Exclude.GAME)
            _, _, games = r.search(qs, 3, query=whole)
            for i, g in enumerate(games):
                self.assertNotEqual(g, self.games[i // 3])

    def test_close_while_busy_is_refused(self):
        r = Retriever.build(self.keys, self.pos, self.games, DIM, factory="Flat")
        # Deterministic: add() is inside its progress report when another
        # thread (and the callback itself) tries to close the retriever.
        refused = []

        def attempt():
            try:
                r.close()
            except sp.MisuseError as exc:
                refused.append(exc)

        def progress(task, done, total):
            attempt()
            other = threading.Thread(target=attempt)
            other.start()
            other.join()

        sp.set_progress_callback(progress)
        try:
            r.add(self.key(0), [5], [5])
        finally:
            sp.set_progress_callback(None)
        self.assertGreaterEqual(len(refused), 2)
        self.assertIn("in use", str(refused[0]))
        self.assertEqual(r.count, self.n + 1)

        # The case of the report: searches on another thread while this one
        # closes. The first close comes while a search most likely runs; if
        # refused, the next comes between two searches, where it must succeed.
        # After it the searching thread gets ValueError, never freed memory.
        running, between, proceed, outcome = threading.Event(), threading.Event(), threading.Event(), []

        def searches():
            try:
                while True:
                    running.set()
                    r.search(self.keys[:300 * DIM], 5)
                    between.set()
                    proceed.wait()
            except BaseException as exc:
                outcome.append(exc)
                between.set()  # nothing left to wait for

        worker = threading.Thread(target=searches)
        worker.start()
        running.wait()
        try:
            r.close()
        except sp.MisuseError:
            between.wait()
            r.close()
        proceed.set()
        worker.join()
        self.assertTrue(r.closed)
        self.assertIsInstance(outcome[0], ValueError)
        self.assertIn("closed", str(outcome[0]))

    def test_max_codes_budget(self):
        # Queries between two clusters: their neighbours lie in several lists.
        qs = array.array("f", [(a + b) / 2 for i in range(20)
                               for a, b in zip(self.key(i), self.key(i * 131 + 1500))])
        with Retriever.build(self.keys, self.pos, self.games, DIM, factory="IVF16,Flat", train_size=3000) as r:
            nearest, _, _ = r.search(qs, 10, nprobe=1, max_codes=retriever.ALL_CODES)
            every, _, _ = r.search(qs, 10, nprobe=16, max_codes=retriever.ALL_CODES)
            self.assertNotEqual(nearest, every)
            # The visit stops after the first list that reaches the budget.
            self.assertEqual(r.search(qs, 10, nprobe=16, max_codes=1)[0], nearest)
            # The default budget, twice nprobe average lists, covers all 16 lists.
            self.assertEqual(r.search(qs, 10, nprobe=16)[0], every)
            with self.assertRaises(ValueError):
                retriever.retriever_query(max_codes=-1)

    def test_pca(self):
        rnd = random.Random(1)
        data = array.array("f", (rnd.gauss(0, 1 if j < 2 else 0.01) for _ in range(500) for j in range(6)))
        with Pca(data, 6, 2) as pca:
            self.assertEqual((pca.dim_in, pca.dim_out), (6, 2))
            keys = pca.apply(data)
            self.assertEqual(len(keys), 1000)
            path = os.path.join(self.tmp.name, "p.spp")
            pca.save(path)
            with Pca.load(path) as back:
                self.assertEqual(back.id, pca.id)
                self.assertEqual(list(back.apply(data)), list(keys))


    def test_dataset_keys(self):
        from semiparam import dataset, go
        ds = dataset.Dataset(9)
        with sp.Rng(4) as rng:
            for _ in range(5):
                g = sp.Game(9)
                for _ in range(20):
                    g.play(g.random_move(rng))
                ds.add_game(g)
        n = ds.position_count
        positions = list(range(n))
        planes, games = retriever.position_planes(ds, positions, history=1)
        self.assertEqual(len(planes), n * go.plane_count(1) * 81)
        self.assertEqual(list(games), [p // 20 for p in positions])
        with Pca(planes, go.plane_count(1) * 81, 4) as pca:
            keys, games2 = pca.position_keys(ds, positions, history=1)
            self.assertEqual(list(keys), list(pca.apply(planes)))
            with Retriever.build(keys, positions, games2, 4, factory="Flat", halves=2) as r:
                pos0, g0 = r.ids(0)
                pos1, g1 = r.ids(1)
                self.assertEqual(sorted(list(pos0) + list(pos1)), positions)
                self.assertTrue(all(retriever.game_half(g) == 1 for g in g1))


if __name__ == "__main__":
    unittest.main()
