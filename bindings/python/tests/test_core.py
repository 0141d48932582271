"""semiparam.core: status codes as exceptions, version, Rng, callbacks, handles."""
import gc
import glob
import os
import re
import subprocess
import sys
import unittest

import semiparam as sp
from semiparam import core

MASK64 = (1 << 64) - 1


def reference_stream(seed, count):
    """xoshiro256** seeded by splitmix64, written from the published algorithms."""
    state = []
    for _ in range(4):
        seed = (seed + 0x9E3779B97F4A7C15) & MASK64
        z = seed
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        state.append(z ^ (z >> 31))

    def rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & MASK64

    out = []
    s = state
    for _ in range(count):
        out.append((rotl((s[1] * 5) & MASK64, 7) * 9) & MASK64)
        t = (s[1] << 17) & MASK64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
    return out


class TestVersion(unittest.TestCase):
    def test_version_matches_meson_project(self):
        expected = os.environ.get("SP_PROJECT_VERSION")
        if expected is None:
            root = os.environ.get("SP_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", "..", ".."))
            with open(os.path.join(root, "meson.build")) as f:
                expected = re.search(r"version:\s*'([0-9.]+)'", f.read()).group(1)
        self.assertEqual(sp.version_string(), expected)
        major, minor, patch = (int(x) for x in expected.split("."))
        self.assertEqual(sp.version_info(), (major, minor, patch))
        self.assertEqual(sp.version(), major * 10000 + minor * 100 + patch)
        self.assertEqual(sp.__version__, expected)

    def test_features(self):
        for feature in sp.Feature:
            self.assertIn(sp.has_feature(feature), (True, False))
        self.assertFalse(sp.has_feature(999))
        with self.assertRaises(TypeError):
            sp.has_feature("gpu")

    def test_modules_left_out_raise_unsupported(self):
        # A module is in the build exactly when its calls do not raise UnsupportedError.
        from semiparam import nn, retriever
        calls = {sp.Feature.NN: ("-Dnn=enabled", lambda: nn.device_count(nn.Backend.CPU)),
                 sp.Feature.RETRIEVAL: ("-Dretrieval=enabled", lambda: retriever.default_factory(8, 1000))}
        for feature, (option, call) in calls.items():
            with self.subTest(feature=feature):
                if sp.has_feature(feature):
                    call()
                else:
                    with self.assertRaises(sp.UnsupportedError) as cm:
                        call()
                    self.assertIn(option, str(cm.exception))

    def test_library_path(self):
        self.assertTrue(sp.LIBRARY_PATH)
        if os.environ.get("SEMIPARAM_LIBRARY"):
            self.assertEqual(sp.LIBRARY_PATH, os.environ["SEMIPARAM_LIBRARY"])

    def _import_with(self, library):
        env = dict(os.environ)
        env.pop("SEMIPARAM_LIBRARY", None)
        if library is not None:
            env["SEMIPARAM_LIBRARY"] = library
        return subprocess.run([sys.executable, "-c", "import semiparam; print(semiparam.LIBRARY_PATH)"],
                              env=env, capture_output=True, text=True)

    def test_explicit_library_never_falls_back(self):
        result = self._import_with("/nonexistent/libsemiparam.so.0")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("SEMIPARAM_LIBRARY=/nonexistent/libsemiparam.so.0 cannot be loaded", result.stderr)

    def test_build_tree_found_without_the_variable(self):
        package = os.path.dirname(os.path.dirname(os.path.abspath(sp.__file__)))
        root = os.path.dirname(os.path.dirname(package))
        builds = glob.glob(os.path.join(root, "build*", "lib", "libsemiparam.so.0"))
        if not builds:
            self.skipTest("no build directory under %s" % root)
        result = self._import_with(None)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(os.path.realpath(os.path.dirname(result.stdout.strip())),
                      {os.path.realpath(os.path.dirname(b)) for b in builds})


class TestStatus(unittest.TestCase):
    def test_status_values_are_frozen(self):
        expected = {"OK": 0, "INVALID_ARG": -1, "NOMEM": -2, "IO": -3, "FORMAT": -4, "ILLEGAL_MOVE": -5,
                    "NO_DEVICE": -6, "UNSUPPORTED": -7, "BUFFER_TOO_SMALL": -8, "MISUSE": -9,
                    "VERSION": -10, "CANCELLED": -11, "INTERNAL": -12}
        self.assertEqual({s.name: int(s) for s in sp.Status}, expected)

    def test_status_str(self):
        self.assertEqual(core.status_str(sp.Status.OK), "ok")
        self.assertEqual(core.status_str(sp.Status.INVALID_ARG), "invalid argument")
        self.assertEqual(core.status_str(-1000), "unknown status")
        with self.assertRaises(TypeError):
            core.status_str("ok")
        with self.assertRaises(ValueError):
            core.status_str(1 << 40)

    def test_every_status_has_its_exception(self):
        for status in sp.Status:
            if status == sp.Status.OK:
                self.assertEqual(core.check(status), 0)
                continue
            exc = core.error_for(status)
            self.assertIsInstance(exc, sp.SemiparamError)
            self.assertIsNot(type(exc), sp.SemiparamError, status)
            self.assertEqual(exc.status, status)
            with self.assertRaises(type(exc)):
                core.check(status)
        self.assertTrue(issubclass(sp.InvalidArgumentError, ValueError))
        self.assertTrue(issubclass(sp.NoMemoryError, MemoryError))

    def test_unknown_status(self):
        exc = core.error_for(-99)
        self.assertIs(type(exc), sp.SemiparamError)
        self.assertEqual(exc.status, -99)

    def test_error_from_c_carries_last_error(self):
        opts = sp.go.game_options()
        opts.board_size = 42  # options bypass the Python range check: C refuses
        with self.assertRaises(sp.InvalidArgumentError) as cm:
            sp.Game(options=opts)
        self.assertIn("board size 42", cm.exception.message)
        self.assertEqual(cm.exception.message, sp.last_error())
        self.assertEqual(str(cm.exception), cm.exception.message)
        core.clear_error()
        self.assertEqual(sp.last_error(), "")

    def test_version_error_from_c(self):
        opts = sp.go.game_options()
        opts.version = 99
        with self.assertRaises(sp.VersionError) as cm:
            sp.Game(options=opts)
        self.assertIn("version 99", str(cm.exception))


class TestRng(unittest.TestCase):
    def test_matches_reference_xoshiro(self):
        for seed in (0, 1, 12345, MASK64):
            with sp.Rng(seed) as rng:
                self.assertEqual([rng.next() for _ in range(20)], reference_stream(seed, 20))

    def test_seed_restarts(self):
        rng = sp.Rng(7)
        first = [rng.next() for _ in range(5)]
        rng.seed(7)
        self.assertEqual([rng.next() for _ in range(5)], first)
        rng.close()

    def test_below_and_uniform(self):
        rng = sp.Rng(3)
        ref = reference_stream(3, 1000)
        got = [rng.below(10) for _ in range(1000)]
        self.assertEqual(got, [((x >> 32) * 10) >> 32 for x in ref])
        self.assertEqual(set(got), set(range(10)))
        values = [rng.uniform() for _ in range(1000)]
        self.assertTrue(all(0.0 <= v < 1.0 for v in values))
        self.assertAlmostEqual(sum(values) / len(values), 0.5, delta=0.05)

    def test_argument_types(self):
        with self.assertRaises(TypeError):
            sp.Rng("seed")
        with self.assertRaises(TypeError):
            sp.Rng(1.0)
        with self.assertRaises(TypeError):
            sp.Rng(True)
        with self.assertRaises(ValueError):
            sp.Rng(-1)
        with self.assertRaises(ValueError):
            sp.Rng(1 << 64)
        rng = sp.Rng()
        with self.assertRaises(ValueError):
            rng.below(0)
        with self.assertRaises(ValueError):
            rng.below(1 << 32)
        with self.assertRaises(TypeError):
            rng.below(2.5)
        with self.assertRaises(TypeError):
            rng.seed(None)


class TestHandles(unittest.TestCase):
    def test_close_is_deterministic_and_idempotent(self):
        rng = sp.Rng(1)
        self.assertFalse(rng.closed)
        rng.close()
        self.assertTrue(rng.closed)
        rng.close()
        with self.assertRaises(ValueError):
            rng.next()
        with self.assertRaises(ValueError):
            rng.seed(1)

    def test_context_manager(self):
        with sp.Rng(1) as rng:
            rng.next()
        self.assertTrue(rng.closed)
        with self.assertRaises(ValueError):
            with rng:
                pass

    def test_closed_handle_as_argument(self):
        rng = sp.Rng(1)
        rng.close()
        with sp.Game() as game:
            with self.assertRaises(ValueError):
                game.random_move(rng)
            with self.assertRaises(TypeError):
                game.random_move(object())

    def test_many_handles_released_by_gc(self):
        for i in range(2000):
            sp.Rng(i)
        gc.collect()


class TestCallbacks(unittest.TestCase):
    def tearDown(self):
        sp.set_log_callback(None)
        sp.set_progress_callback(None)

    def test_wrong_types(self):
        with self.assertRaises(TypeError):
            sp.set_log_callback(42)
        with self.assertRaises(TypeError):
            sp.set_log_callback(print, max_level="debug")
        with self.assertRaises(TypeError):
            sp.set_progress_callback("not callable")

    def test_log_thunk_kept_alive_and_converts(self):
        seen = []
        sp.set_log_callback(lambda level, msg: seen.append((level, msg)), sp.LogLevel.DEBUG)
        gc.collect()  # the lambda and its C thunk must survive: C holds only a pointer
        thunk = core._callbacks["log"]
        self.assertIsNotNone(thunk)
        thunk(sp.LogLevel.WARNING, "caf\u00e9".encode(), None)  # through the ffi closure C calls
        self.assertEqual(seen, [(sp.LogLevel.WARNING, "caf\u00e9")])
        self.assertIs(type(seen[0][0]), sp.LogLevel)
        sp.set_log_callback(None)
        self.assertIsNone(core._callbacks["log"])

    def test_progress_cancel_and_exception(self):
        calls = []
        sp.set_progress_callback(lambda task, done, total: calls.append((task, done, total)))
        thunk = core._callbacks["progress"]
        self.assertEqual(thunk(b"train", 3, 10, None), 0)
        self.assertEqual(calls, [("train", 3, 10)])
        sp.set_progress_callback(lambda task, done, total: True)
        self.assertEqual(core._callbacks["progress"](b"x", 0, 0, None), 1)
        with self.assertRaises(sp.CancelledError):
            core.check(sp.Status.CANCELLED)

        class Stop(Exception):
            pass

        def boom(task, done, total):
            raise Stop(task)
        sp.set_progress_callback(boom)
        self.assertEqual(core._callbacks["progress"](b"index-add", 1, 2, None), 1)
        # the call that was cancelled re-raises the callback's own exception
        with self.assertRaises(Stop) as cm:
            core.check(sp.Status.CANCELLED)
        self.assertEqual(cm.exception.args, ("index-add",))


if __name__ == "__main__":
    unittest.main()
