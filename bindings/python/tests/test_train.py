"""semiparam.train: a tiny model trained for a few steps (loss, stats), a
checkpoint resumed to the same weights as an uninterrupted run, refusals,
progress and cancelling, the evaluation's report, and argument checks."""
import array
import math
import os
import tempfile
import unittest

import semiparam as sp
from semiparam import nn, train
from semiparam.dataset import Dataset, Part
from semiparam.train import Optimizer, Schedule, Trainer, evaluate

try:
    from semiparam.model import Model
except ImportError:  # model.h's module comes with the model's own commit
    Model = None

TINY = dict(board_size=9, history=2, channels=8, repr_blocks=1, dyn_blocks=1, value_hidden=8)
SMALL = dict(batch_size=8, unroll=2, test_fraction=0.25, seed=3)


def dataset(games=24, seed=5):
    """Random games with alternating results and ratings (1800..2200 for Black, 2000 for White)."""
    ds = Dataset(9)
    with sp.Rng(seed) as rng:
        for i in range(games):
            with sp.Game(9) as g:
                for _ in range(10 + i % 15):
                    g.play(g.random_move(rng))
                g.set_info("RE", ("B+R", "W+R", "0")[i % 3])
                g.set_info("BR", str(1800 + 100 * (i % 5)))
                g.set_info("WR", "2000")
                ds.add_game(g)
    return ds


def tiny_model(seed=1):
    return Model(nn=nn.nn_options(backend=nn.Backend.CPU, threads=1, seed=seed), **TINY)


@unittest.skipIf(Model is None, "semiparam.model is not there yet")
@unittest.skipUnless(sp.has_feature(sp.Feature.NN), "built without the nn module (-Dnn=disabled)")
class TestTrain(unittest.TestCase):
    def setUp(self):
        self.ds = dataset()
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.ds.close()
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def test_options(self):
        o = train.trainer_options()
        self.assertEqual((o.batch_size, o.unroll, o.optimizer, o.schedule), (256, 5, Optimizer.SGD, Schedule.COSINE))
        self.assertEqual(train.trainer_options(batch_size=3).batch_size, 3)
        e = train.eval_options(max_positions=7)
        self.assertEqual((e.unroll, e.part, e.max_positions), (5, Part.TEST, 7))
        with self.assertRaises(TypeError):
            train.trainer_options(no_such_field=1)
        with self.assertRaises(TypeError):
            train.trainer_options(progress=1)
        with self.assertRaises(ValueError):
            train.trainer_options(batch_size=1 << 40)

    def test_run_save_resume(self):
        with tiny_model() as m, Trainer(m, self.ds, optimizer=Optimizer.ADAMW, learning_rate=1e-3,
                                        **SMALL) as t:
            self.assertEqual((t.stats().step, t.stats().positions), (0, 0))
            stats = t.run(3)
            self.assertEqual(t.stats(), stats)
            self.assertEqual((stats.step, stats.unroll, stats.positions), (3, 2, 24))
            self.assertEqual(len(stats.policy_loss), 3)
            self.assertTrue(math.isfinite(stats.loss) and stats.grad_norm > 0)
            self.assertAlmostEqual(stats.loss, stats.policy_loss[0] + stats.value_loss[0] +
                                   sum(stats.policy_loss[1:] + stats.value_loss[1:]) / 2)
            t.save(self.path("half.spm"))
            whole = t.run(3)
            with Model.load(self.path("half.spm")) as loaded:
                self.assertEqual(loaded.describe().parameters, m.describe().parameters)
            after_whole = m.describe().content_hash
        with tiny_model() as m, Trainer(m, self.ds, optimizer=Optimizer.ADAMW, learning_rate=1e-3, **SMALL) as t:
            t.resume(self.path("half.spm"))
            self.assertEqual((t.stats().step, t.stats().positions, t.stats().loss), (3, 24, 0.0))
            again = t.run(3)
            self.assertEqual(again.step, 6)
            self.assertEqual(again.loss, whole.loss)
            self.assertEqual(m.describe().content_hash, after_whole)

    def test_micro_batches(self):
        self.assertEqual(train.trainer_options().micro_batches, 1)
        # Two slices of the batch, each normalised by its own statistics: not
        # the step of one slice, and a checkpoint resumes with another count.
        with tiny_model() as m, Trainer(m, self.ds, micro_batches=2, **SMALL) as t:
            sliced = t.run(2)
            self.assertEqual((sliced.step, sliced.positions), (2, 2 * SMALL["batch_size"]))
            t.save(self.path("micro.spm"))
        with tiny_model() as m, Trainer(m, self.ds, **SMALL) as t:
            self.assertNotEqual(t.run(2).loss, sliced.loss)
        with tiny_model() as m, Trainer(m, self.ds, micro_batches=1, **SMALL) as t:
            t.resume(self.path("micro.spm"))
            self.assertEqual(t.stats().step, 2)
        with tiny_model() as m:
            with self.assertRaisesRegex(sp.InvalidArgumentError, "micro_batches"):
                Trainer(m, self.ds, micro_batches=3, **SMALL)

    def test_resume_refuses_other_options(self):
        with tiny_model() as m, Trainer(m, self.ds, **SMALL) as t:
            t.run(1)
            t.save(self.path("ckpt.spm"))
        with tiny_model() as m, Trainer(m, self.ds, **dict(SMALL, batch_size=4)) as t:
            with self.assertRaisesRegex(sp.FormatError, "batch_size"):
                t.resume(self.path("ckpt.spm"))
        with Model(**dict(TINY, channels=4)) as m, Trainer(m, self.ds, **SMALL) as t:
            with self.assertRaisesRegex(sp.FormatError, "channels"):
                t.resume(self.path("ckpt.spm"))
            with self.assertRaises(sp.FileIOError):
                t.resume(self.path("missing.spm"))

    def test_progress_and_cancel(self):
        seen = []

        def progress(task, done, total):
            seen.append((task, done, total))
            return done == 2

        with tiny_model() as m, Trainer(m, self.ds, progress=progress, **SMALL) as t:
            with self.assertRaises(sp.CancelledError):
                t.run(5)
            self.assertEqual(seen, [("train", 1, 5), ("train", 2, 5)])

        def broken(task, done, total):
            raise KeyError("from the callback")

        with tiny_model() as m, Trainer(m, self.ds, progress=broken, **SMALL) as t:
            with self.assertRaises(KeyError):
                t.run(2)

    def test_evaluate(self):
        with tiny_model() as m:
            r = evaluate(m, self.ds, unroll=2, test_fraction=0.25)
            self.assertEqual(r.unroll, 2)
            self.assertEqual(r.count[0], r.positions)
            self.assertGreater(r.count[0], r.count[2])
            self.assertEqual(len(r.top1), 3)
            for k in range(3):
                self.assertTrue(0 <= r.top1[k] <= 1 and 0 <= r.floor_top1[k] <= 1)
                self.assertTrue(r.policy_ce[k] > 0 and r.value_mse[k] >= 0)
                # The squared errors' spread over sqrt(count): positive, and far below the MSE itself.
                self.assertTrue(0 < r.value_mse_se[k] < r.value_mse[k])
            sample = evaluate(m, self.ds, unroll=0, part=Part.ALL, max_positions=10)
            self.assertEqual((sample.positions, sample.count), (10, [10]))
            rated = evaluate(m, self.ds, part=Part.ALL, min_rating=1900)
            self.assertLess(rated.positions, evaluate(m, self.ds, part=Part.ALL).positions)
            # Between the runs of the model's own trainer.
            with Trainer(m, self.ds, **SMALL) as t:
                t.run(1)
                evaluate(m, self.ds, max_positions=5)
                t.run(1)
            calls = []
            with self.assertRaises(sp.CancelledError):
                evaluate(m, self.ds, batch_size=4, progress=lambda *a: calls.append(a) or True)
            self.assertEqual(calls[0][0], "evaluate")

    def test_retrieval_model(self):
        """A retrieval model (N = 2) trained on the positions of a .spn file
        with their neighbours, the file's embedder recorded; evaluated with
        retrieved, zeroed and random neighbours."""
        from semiparam import retriever
        import random
        train_positions = self.ds.positions(Part.TRAIN, split=sp.dataset.split_options(test_fraction=0.25))
        games = [self.ds.position_locate(p)[0] for p in train_positions]
        rnd = random.Random(3)
        keys = array.array("f", [rnd.random() for _ in range(4 * len(train_positions))])
        spn = self.path("n.spn")
        with retriever.Retriever.build(keys, train_positions, games, 4, factory="Flat", halves=2,
                                       embedder_id=77) as r:
            r.precompute(keys, train_positions, games, 3, spn, query=retriever.retriever_query(embedder_id=77))
        with retriever.Neighbours(spn) as nb, \
                Model(nn=nn.nn_options(backend=nn.Backend.CPU, threads=1, seed=2), neighbours=2,
                      neighbour_channels=2, **TINY) as m:
            with Trainer(m, self.ds, neighbours=nb, neighbour_dropout=0.2, neighbour_regularisation=0.5,
                         **SMALL) as t:
                stats = t.run(2)
                self.assertTrue(math.isfinite(stats.loss))
                self.assertGreater(stats.regularisation, 0)
            self.assertEqual(m.embedder_id, 77)
            got = [evaluate(m, self.ds, unroll=1, part=Part.TRAIN, test_fraction=0.25, neighbours=nb,
                            neighbour_mode=mode) for mode in train.EvalNeighbours]
            self.assertEqual(got[0].positions, len(train_positions))
            self.assertNotEqual(got[0].value_mse, got[1].value_mse)
            with self.assertRaises(sp.InvalidArgumentError):
                Trainer(m, self.ds, **SMALL)  # a retrieval model needs the file
            with self.assertRaises(TypeError):
                Trainer(m, self.ds, neighbours="n.spn", **SMALL)

    def test_bad_arguments(self):
        with tiny_model() as m:
            with self.assertRaises(TypeError):
                Trainer(self.ds, self.ds)
            with self.assertRaises(TypeError):
                Trainer(m, "dataset")
            with self.assertRaisesRegex(sp.InvalidArgumentError, "batch_size"):
                Trainer(m, self.ds, batch_size=0)
            with self.assertRaises(TypeError):
                Trainer(m, self.ds, train.trainer_options(), batch_size=3)
            with self.assertRaises(TypeError):
                evaluate(self.ds, self.ds)
            with self.assertRaisesRegex(sp.InvalidArgumentError, "no position"):
                evaluate(m, self.ds, min_rating=5000)
            with Dataset(7) as ds7, self.assertRaises(sp.InvalidArgumentError):
                evaluate(m, ds7)
            with Trainer(m, self.ds, **SMALL) as t:
                with self.assertRaises(ValueError):
                    t.run(0)
                with self.assertRaises(sp.MisuseError):
                    Trainer(m, self.ds, **SMALL)
            t.close()  # idempotent
            with self.assertRaises(ValueError):
                t.run(1)

    def test_closing_the_dataset_closes_its_trainers(self):
        ds = dataset(12)
        with tiny_model() as m:
            t = Trainer(m, ds, **SMALL)
            ds.close()
            self.assertTrue(t.closed)
            Trainer(m, self.ds, **SMALL).close()  # the model is free again

    def test_closing_the_model_closes_its_trainers(self):
        m = tiny_model()
        t = Trainer(m, self.ds, **SMALL)
        m.close()
        self.assertTrue(t.closed)


if __name__ == "__main__":
    unittest.main()
