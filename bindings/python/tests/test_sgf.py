"""semiparam.sgf: reading and writing SGF, errors from the parser, argument checks."""
import os
import tempfile
import unittest

import semiparam as sp
from semiparam import sgf
from semiparam.go import PASS, Color, Game

B, W = Color.BLACK, Color.WHITE


@unittest.skipUnless(sgf.available(), "the library has no SGF functions yet")
class TestSgf(unittest.TestCase):
    def test_parse_main_line_and_information(self):
        text = "(;GM[1]FF[4]SZ[9]KM[6.5]PB[Alice]PW[Bob]RE[W+2.5];B[ee];W[dc](;B[];W[cc])(;B[aa]))"
        with sgf.parse(text) as g:
            self.assertEqual((g.size, g.komi), (9, 6.5))
            self.assertEqual(g.moves, [(B, 40), (W, 21), (B, PASS), (W, 20)])
            self.assertEqual(g.get_info("PB"), "Alice")
            self.assertEqual(g.get_info("RE"), "W+2.5")

    def test_write_then_parse_round_trip(self):
        rng = sp.Rng(8)
        with Game(7, komi=5.5) as g:
            g.set_info("PB", "caf\u00e9")
            for _ in range(40):
                if g.is_over:
                    break
                g.play(g.random_move(rng))
            text = sgf.write(g)
            self.assertTrue(text.startswith("(;"))
            with sgf.parse(text) as h:
                self.assertEqual(h.moves, g.moves)
                self.assertEqual(h.board(), g.board())
                self.assertEqual((h.size, h.komi, h.get_info("PB")), (7, 5.5, "caf\u00e9"))
            with sgf.parse(text.encode()) as h:
                self.assertEqual(h.moves, g.moves)

    def test_collection(self):
        text = "junk (;SZ[5];B[aa]) (;SZ[7];B[bb];W[cc])\n"
        games = sgf.parse_all(text)
        self.assertEqual([(x.size, x.move_count) for x in games], [(5, 1), (7, 2)])
        for x in games:
            x.close()

    def test_save_and_load(self):
        with tempfile.TemporaryDirectory() as tmp, Game(9) as g:
            g.play("C3")
            path = os.path.join(tmp, "game.sgf")
            sgf.save(g, path)
            with sgf.load(path) as h:
                self.assertEqual(h.moves, g.moves)
            from pathlib import Path
            with sgf.load(Path(path)) as h:
                self.assertEqual(h.moves, g.moves)
            with self.assertRaises(sp.FileIOError):
                sgf.load(os.path.join(tmp, "missing.sgf"))
            with self.assertRaises(sp.FileIOError):
                sgf.save(g, os.path.join(tmp, "no", "such", "dir.sgf"))

    def test_errors_from_c(self):
        with self.assertRaises(sp.FormatError) as cm:
            sgf.parse("(;SZ[9];B[ee")
        self.assertTrue(cm.exception.message)
        with self.assertRaises(sp.IllegalMoveError):
            sgf.parse("(;SZ[9];B[ee];W[ee])")
        with self.assertRaises(sp.SemiparamError):
            sgf.parse("no game here")

    def test_argument_types(self):
        with self.assertRaises(TypeError):
            sgf.parse(42)
        with self.assertRaises(TypeError):
            sgf.load(42)
        with self.assertRaises(ValueError):
            sgf.load("a\0b.sgf")
        with self.assertRaises(TypeError):
            sgf.write("(;)")
        with self.assertRaises(TypeError):
            sgf.save(None, "x.sgf")
        g = Game()
        g.close()
        with self.assertRaises(ValueError):
            sgf.write(g)


class TestSgfAvailability(unittest.TestCase):
    def test_missing_functions_raise_unsupported(self):
        if sgf.available():
            self.skipTest("the library has the SGF functions")
        with self.assertRaises(sp.UnsupportedError):
            sgf.parse("(;)")


if __name__ == "__main__":
    unittest.main()
