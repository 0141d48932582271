"""semiparam.dataset: import with skip reasons, .spd round trip, splits,
neighbour planes, the sampler, progress callbacks and argument checks."""
import array
import math
import os
import tempfile
import unittest

import semiparam as sp

try:
    import numpy
except ImportError:
    numpy = None
from semiparam import dataset, go, sgf
from semiparam.dataset import Dataset, Part, ResultKind, Sampler, SkipReason

B, W, E = go.Color.BLACK, go.Color.WHITE, go.Color.EMPTY


def random_game(seed, size=9, moves=60):
    game = sp.Game(size, komi=7.0)
    with sp.Rng(seed) as rng:
        for _ in range(moves):
            if game.is_over:
                break
            game.play(game.random_move(rng))
    score = game.score()
    game.set_info("RE", "%s+%g" % ("B" if score > 0 else "W", abs(score)))
    game.set_info("PB", "black%d" % seed)
    return game


def collection(seeds, size=9):
    texts = []
    for seed in seeds:
        with random_game(seed, size) as g:
            texts.append(sgf.write(g))
    return "\n".join(texts)


class TestResults(unittest.TestCase):
    def test_result_parse_and_names(self):
        self.assertEqual(dataset.result_parse("B+3.5"), (ResultKind.SCORE, B, 3.5))
        kind, winner, margin = dataset.result_parse("W+Resign")
        self.assertEqual((kind, winner), (ResultKind.RESIGN, W))
        self.assertTrue(math.isnan(margin))
        self.assertEqual(dataset.result_parse("Draw")[:2], (ResultKind.DRAW, E))
        self.assertEqual(dataset.result_kind_name(ResultKind.RESIGN), "resign")
        self.assertEqual(dataset.skip_reason_name(SkipReason.BOARD_SIZE), "board-size")
        self.assertEqual(dataset.skip_reason_name(99), "unknown")
        with self.assertRaises(TypeError):
            dataset.result_parse(3.5)


class TestDataset(unittest.TestCase):
    def setUp(self):
        self.ds = Dataset(9)
        text = collection(range(1, 13)) + "\n" + collection([1]) + "\n" + collection([50], size=7) + "\n(;SZ[9];B[ee"
        self.report = self.ds.import_text(text, source="test")

    def tearDown(self):
        self.ds.close()

    def test_import_report(self):
        r = self.report
        self.assertEqual(r.games_added, 12)
        self.assertEqual(self.ds.game_count, 12)
        skipped = r.skipped_by_reason()
        self.assertEqual(skipped.get(SkipReason.DUPLICATE), 1)
        self.assertEqual(skipped.get(SkipReason.BOARD_SIZE), 1)
        self.assertEqual(skipped.get(SkipReason.BROKEN), 1)
        self.assertEqual(r.results[ResultKind.SCORE], 12)
        self.assertEqual(r.positions_added, self.ds.position_count)
        self.assertIn("games_read", repr(r))

    def test_games_read_back(self):
        ds = self.ds
        first = 0
        for gid in range(ds.game_count):
            with random_game(gid + 1) as original:
                info = ds.game_info(gid)
                self.assertEqual(info.moves, original.move_count)
                self.assertEqual(info.first_position, first)
                first += info.moves
                actions = ds.game_moves(gid)
                area = 81
                self.assertEqual(actions, [area if m == go.PASS else m for _, m in original.moves])
                with ds.game_replay(gid) as replay:
                    self.assertEqual(replay.board(), original.board())
                with ds.game_replay(gid, 3) as early:
                    self.assertEqual(early.move_count, 3)
                self.assertEqual(ds.game_text(gid, dataset.GameText.BLACK), "black%d" % (gid + 1))
                self.assertTrue(ds.game_text(gid, dataset.GameText.SOURCE).startswith("test"))
                # 60 random moves, not counted: the Monte-Carlo estimate (TestFinalOwnership checks it).
                self.assertTrue(info.flags & dataset.GAME_OWNERSHIP_MONTE_CARLO)
                self.assertEqual(len(ds.game_ownership(gid)), 81)
                self.assertEqual(info.winner, B if original.score() > 0 else W)  # from RE
                self.assertEqual(info.result_kind, ResultKind.SCORE)
        self.assertEqual(ds.position_locate(ds.game_info(2).first_position + 4), (2, 4))

    def test_splits_partition_the_games(self):
        ds = self.ds
        split = dataset.split_options(test_fraction=0.3, seed=4)
        parts = {p: set(ds.positions(p, split)) for p in Part}
        self.assertEqual(parts[Part.ALL], set(range(ds.position_count)))
        self.assertEqual(parts[Part.TRAIN] | parts[Part.TEST], parts[Part.ALL])
        self.assertEqual(parts[Part.TRAIN] & parts[Part.TEST], set())
        self.assertEqual(parts[Part.HALF0] | parts[Part.HALF1], parts[Part.TRAIN])
        for gid in range(ds.game_count):
            info = ds.game_info(gid)
            part = ds.game_part(gid, split)
            self.assertIn(info.first_position in parts[Part.TEST], (part == Part.TEST,))
        keep = dataset.split_options(keep_fraction=0.5)
        kept = [p for p in range(ds.position_count) if ds.position_kept(p, keep)]
        self.assertEqual(kept, list(ds.positions(Part.ALL, keep)))
        self.assertLess(len(kept), ds.position_count)

    def test_neighbour_planes(self):
        ds = self.ds
        planes = ds.neighbour_planes(ds.game_info(0).first_position + 2)
        self.assertEqual(len(planes), dataset.NEIGHBOUR_PLANES * 81)
        with ds.game_replay(0, 2) as g:
            board = g.board()
        self.assertEqual(list(planes[:81]), [float(c == B) for c in board])  # Black to move at move 2
        self.assertEqual(list(planes[81:162]), [float(c == W) for c in board])
        self.assertEqual(set(planes[162:243]), {1.0})
        with self.assertRaises(IndexError):
            ds.neighbour_planes(ds.position_count)
        with self.assertRaises(sp.InvalidArgumentError):
            ds.neighbour_planes(0, symmetry=8)

    def test_save_load_round_trip(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "games.spd")
            self.ds.save(path)
            with Dataset.load(path) as loaded:
                self.assertEqual((loaded.game_count, loaded.position_count),
                                 (self.ds.game_count, self.ds.position_count))
                self.assertEqual(loaded.game_moves(5), self.ds.game_moves(5))
            with open(path, "rb") as f:
                image = f.read()
            with Dataset.load_memory(image) as mem:
                self.assertEqual(mem.game_moves(7), self.ds.game_moves(7))
            broken = bytearray(image)
            broken[len(broken) // 2] ^= 0xFF
            with self.assertRaises(sp.FormatError) as cm:
                Dataset.load_memory(broken)
            self.assertTrue(cm.exception.message)
            with self.assertRaises(sp.FormatError):
                Dataset.load_memory(image[:40])
            with self.assertRaises(sp.FileIOError):
                Dataset.load(os.path.join(tmp, "missing.spd"))

    def test_add_and_copy_games(self):
        with Dataset(9) as other, random_game(99) as g:
            gid = other.add_game(g, source="python")
            self.assertEqual(gid, 0)
            with self.assertRaises(sp.MisuseError):
                other.add_game(g)  # duplicate
            other.copy_game(self.ds, 3)
            self.assertEqual(other.game_moves(1), self.ds.game_moves(3))
            with sp.Game(7) as small, self.assertRaises(sp.InvalidArgumentError):
                small.play("C3")
                other.add_game(small)

    def test_sampler_batches(self):
        ds = self.ds
        with Sampler(ds, seed=3, unroll=2, history=2, part=Part.ALL) as s:
            self.assertEqual(s.position_count, ds.position_count)
            batch = s.next(4)
            self.assertEqual(len(batch.planes), 4 * 6 * 81)
            self.assertEqual(len(batch.actions), 4 * 2)
            self.assertEqual(len(batch.policy), 4 * 3 * 82)
            for i in range(4):
                row = batch.policy[i * 82:(i + 1) * 82]
                self.assertAlmostEqual(sum(row), 1.0, places=4)
            self.assertTrue(all(0 <= p < ds.position_count for p in batch.positions))
            self.assertTrue(all(0 <= x < 8 for x in batch.symmetry))
            skipped = s.next(2, policy=False, value=False)
            self.assertIsNone(skipped.policy)
            with self.assertRaises(ValueError):
                s.next(2, planes=False)
            with self.assertRaises(ValueError):
                s.next(2, planes=array.array("f", [0.0] * 10))
            with self.assertRaises(TypeError):
                s.next(2, planes=bytearray(4 * 2 * 6 * 81))
        with Sampler(ds, seed=3, unroll=2, history=2, part=Part.ALL) as again:
            self.assertEqual(again.next(4), batch)  # reproducible
        with Sampler(ds, positions=[7, 3, 7], part=Part.ALL) as only:
            self.assertEqual(only.position_count, 2)
            self.assertTrue(set(only.next(16).positions) <= {3, 7})
        with self.assertRaises(sp.InvalidArgumentError):
            Sampler(ds, positions=[ds.position_count], part=Part.ALL)

    @unittest.skipIf(numpy is None, "numpy is not installed")
    def test_sampler_into_numpy_arrays(self):
        n, planes = 3, 6
        with Sampler(self.ds, seed=5, unroll=2, history=2, part=Part.ALL) as s:
            out = dict(planes=numpy.zeros((n, planes, 9, 9), numpy.float32), actions=numpy.zeros((n, 2), numpy.int32),
                       policy=numpy.zeros((n, 3, 82), numpy.float32), value=numpy.zeros((n, 3), numpy.float32),
                       mask=numpy.zeros((n, 3), numpy.uint8), positions=numpy.zeros(n, numpy.uint64),
                       symmetry=numpy.zeros(n, numpy.int32))
            batch = s.next(n, **out)
            self.assertIs(batch.planes, out["planes"])
            numpy.testing.assert_allclose(batch.policy.sum(axis=2), 1.0, rtol=1e-5)
            self.assertTrue((batch.positions < self.ds.position_count).all())
        with Sampler(self.ds, seed=5, unroll=2, history=2, part=Part.ALL) as again:
            plain = again.next(n)
            self.assertEqual(list(plain.positions), [int(p) for p in batch.positions])
            self.assertEqual(list(plain.planes), batch.planes.ravel().tolist())
        with self.assertRaises(TypeError):
            Sampler(self.ds, part=Part.ALL).next(n, positions=numpy.zeros(n, numpy.int64))  # signed
        planes = self.ds.neighbour_planes(0, out=numpy.zeros((17, 9, 9), numpy.float32))
        self.assertEqual(planes.shape, (17, 9, 9))

    def test_closing_the_dataset_closes_its_samplers(self):
        ds = Dataset(9)
        ds.import_text(collection([1, 2]))
        s = Sampler(ds, part=Part.ALL)
        ds.close()
        self.assertTrue(s.closed)

    def test_argument_checks(self):
        ds = self.ds
        with self.assertRaises(sp.InvalidArgumentError):
            Dataset(1)
        with self.assertRaises(TypeError):
            Dataset("9")
        with self.assertRaises(IndexError):
            ds.game_info(ds.game_count)
        with self.assertRaises(ValueError):
            ds.game_moves(-1)
        with self.assertRaises(TypeError):
            ds.import_text(42)
        with self.assertRaises(TypeError):
            ds.import_text("(;)", min_ratin=3)
        with self.assertRaises(TypeError):
            ds.add_game("game")
        with self.assertRaises(TypeError):
            ds.positions(Part.ALL, split={"seed": 1})
        with self.assertRaises(TypeError):
            Sampler("dataset")
        with self.assertRaises(sp.InvalidArgumentError):
            Sampler(ds, unroll=-1)
        with self.assertRaises(TypeError):
            dataset.import_options(progress=print)


class TestFinalOwnership(unittest.TestCase):
    # Walls on columns e (Black) and f (White), a dead White stone at bb; White won by resignation.
    WALLS = ("(;SZ[9]KM[7]RE[W+R]" + "".join(";B[e%s];W[f%s]" % (r, r) for r in "abcdefghi")
             + ";B[he];W[bb])")

    def test_monte_carlo_estimate_or_last_board(self):
        for playouts, flags, dead in ((dataset.IMPORT_DEFAULT_OWNERSHIP_PLAYOUTS,
                                       dataset.GAME_OWNERSHIP_ESTIMATED | dataset.GAME_OWNERSHIP_MONTE_CARLO, B),
                                      (0, dataset.GAME_OWNERSHIP_ESTIMATED, W)):
            with Dataset(9) as ds:
                ds.import_text(self.WALLS, ownership_playouts=playouts)
                self.assertEqual(ds.game_info(0).flags, flags)
                self.assertEqual(ds.game_ownership(0)[1 * 9 + 1], dead)
        # Without playouts, the last board's area, as sp_game_ownership() gives it.
        with Dataset(9) as ds:
            ds.import_text(collection(range(1, 4)), ownership_playouts=0)
            for gid in range(3):
                with random_game(gid + 1) as original:
                    self.assertEqual(ds.game_ownership(gid), original.ownership())
        self.assertEqual(dataset.import_options().ownership_playouts, dataset.IMPORT_DEFAULT_OWNERSHIP_PLAYOUTS)


class TestImportFile(unittest.TestCase):
    def test_progress_and_cancel_through_c(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "games.sgf")
            with open(path, "w") as f:
                f.write(collection(range(1, 6)))
            calls = []
            with Dataset(9) as ds:
                report = ds.import_file(path, progress=lambda task, done, total: calls.append((task, done, total)))
                self.assertEqual(report.games_added, 5)
                self.assertEqual(report.files, 1)
                self.assertTrue(calls)
                self.assertEqual(calls[-1][0], "import")

            class Stop(Exception):
                pass

            def stop(task, done, total):
                raise Stop()
            with Dataset(9) as ds, self.assertRaises(Stop):
                ds.import_file(path, progress=stop)
            with Dataset(9) as ds, self.assertRaises(sp.CancelledError):
                ds.import_file(path, progress=lambda *a: True)
            # the process-wide callback serves imports without their own
            seen = []
            sp.set_progress_callback(lambda task, done, total: seen.append(task))
            try:
                with Dataset(9) as ds:
                    ds.import_file(path)
                self.assertIn("import", seen)
            finally:
                sp.set_progress_callback(None)
            with Dataset(9) as ds, self.assertRaises(sp.FileIOError):
                ds.import_file(os.path.join(tmp, "missing.sgf"))

    def test_close_during_import_is_refused(self):
        # Freeing the dataset from the progress report of its own import would
        # leave the importer writing into freed memory: the close is refused,
        # its MisuseError cancels the import and is re-raised by it.
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "games.sgf")
            with open(path, "w") as f:
                f.write(collection(range(1, 4)))
            ds = Dataset(9)
            with self.assertRaises(sp.MisuseError) as cm:
                ds.import_file(path, progress=lambda *a: ds.close())
            self.assertIn("Dataset in use", str(cm.exception))
            self.assertFalse(ds.closed)
            ds.close()
            with self.assertRaises(ValueError):
                ds.game_count


if __name__ == "__main__":
    unittest.main()
