"""semiparam.go: rules, board queries, scoring, planes, symmetries, notation,
playouts, checked against small independent references written here."""
import array
import copy
import unittest

import semiparam as sp
from semiparam import go
from semiparam.go import PASS, RESIGN, Color, Game

try:
    import numpy
except ImportError:
    numpy = None

B, W, E = Color.BLACK, Color.WHITE, Color.EMPTY


def tromp_taylor(board, size, komi):
    """Area score and ownership by flood fill, independent of the library."""
    owner = list(board)
    seen = [False] * (size * size)
    for start in range(size * size):
        if board[start] != E or seen[start]:
            continue
        region, borders, stack = [], set(), [start]
        seen[start] = True
        while stack:
            p = stack.pop()
            region.append(p)
            r, c = divmod(p, size)
            for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
                if 0 <= rr < size and 0 <= cc < size:
                    q = rr * size + cc
                    if board[q] == E and not seen[q]:
                        seen[q] = True
                        stack.append(q)
                    elif board[q] != E:
                        borders.add(board[q])
        colour = borders.pop() if len(borders) == 1 else E
        for p in region:
            owner[p] = colour
    return owner.count(B) - owner.count(W) - komi, owner


def play_random(game, rng, moves):
    for _ in range(moves):
        if game.is_over:
            break
        game.play(game.random_move(rng))


class TestCreate(unittest.TestCase):
    def test_defaults_from_options_init(self):
        opts = go.game_options()
        self.assertEqual((opts.version, opts.board_size, opts.komi), (go.GAME_OPTIONS_VERSION, 9, 7.0))
        with Game() as g:
            self.assertEqual((g.size, g.komi, g.to_play, g.move_count), (9, 7.0, B, 0))
            self.assertEqual(g.board(), [E] * 81)
            self.assertIsNone(g.ko_point)
            self.assertEqual(g.last_move, PASS)
            self.assertEqual(g.end_reason, sp.GameEnd.NONE)

    def test_sizes_and_komi(self):
        for size in (2, 5, 13, 19):
            with Game(size, komi=0.5) as g:
                self.assertEqual(g.size, size)
                self.assertEqual(g.komi, 0.5)
        g = Game()
        g.size = 7
        g.komi = -3
        self.assertEqual((g.size, g.komi), (7, -3.0))
        with self.assertRaises(sp.InvalidArgumentError):
            g.komi = 5000  # C's range check
        g.close()

    def test_wrong_arguments(self):
        for bad in (1, 20, -9):
            with self.assertRaises(ValueError):
                Game(bad)
        for bad in ("9", 9.0, None, True):
            with self.assertRaises(TypeError):
                Game(bad)
        with self.assertRaises(TypeError):
            Game(komi="7")
        with self.assertRaises(ValueError):
            Game(komi=float("nan"))
        with self.assertRaises(TypeError):
            Game(options={"board_size": 9})
        g = Game()
        with self.assertRaises(TypeError):
            g.size = "big"
        with self.assertRaises(ValueError):
            g.size = 1 << 40  # would wrap to 0 in a C int
        g.close()


class TestPlay(unittest.TestCase):
    def setUp(self):
        self.g = Game(9)

    def tearDown(self):
        self.g.close()

    def test_play_undo_history(self):
        g = self.g
        g.play("D4")
        g.play(go.point(9, 0, 0))
        g.play(PASS)
        self.assertEqual(g.moves, [(B, go.move_from_gtp(9, "D4")), (W, 0), (B, PASS)])
        self.assertEqual(g.move_at(-1), (B, PASS))
        self.assertEqual(g.color_at("D4"), B)
        self.assertEqual(g.color_at("A9"), W)
        g.undo()
        g.undo()
        self.assertEqual(g.move_count, 1)
        self.assertEqual(g.to_play, W)
        with self.assertRaises(IndexError):
            g.move_at(1)
        g.undo()
        with self.assertRaises(sp.MisuseError) as cm:
            g.undo()
        self.assertIn("no move", str(cm.exception))

    def test_illegal_moves_raise_with_reason(self):
        g = self.g
        g.play("E5")
        self.assertFalse(g.is_legal("E5"))
        with self.assertRaises(sp.IllegalMoveError) as cm:
            g.play("E5")
        self.assertIn("occupied", cm.exception.message)
        self.assertEqual(cm.exception.status, sp.Status.ILLEGAL_MOVE)

    def test_suicide_and_capture(self):
        g = self.g
        for move in ("C3", "B9", "C4", "A8"):
            g.play(move)
        self.assertFalse(g.is_legal("A9", B))  # suicide
        self.assertTrue(g.is_legal("A9", W))
        for move in ("C9", "D9", "B8", PASS):
            g.play(move)
        g.play("A9")  # fills B9's last liberty: a capture, not a suicide
        self.assertEqual(g.color_at("B9"), E)
        self.assertEqual(g.color_at("A8"), W)
        self.assertEqual(g.captures(W), 1)
        self.assertEqual(g.captures(B), 0)

    def test_simple_ko(self):
        g = self.g
        for move in ("D5", "F6", "E6", "F4", "E4", "G5", "J5", "E5", "F5"):
            g.play(move)
        self.assertEqual(g.color_at("E5"), E)  # Black's F5 took E5
        self.assertEqual(g.ko_point, go.move_from_gtp(9, "E5"))
        self.assertFalse(g.is_legal("E5", W))
        with self.assertRaises(sp.IllegalMoveError):
            g.play("E5")
        g.play("J9")
        g.play("J1")
        self.assertTrue(g.is_legal("E5", W))

    def test_play_as_and_to_play(self):
        g = self.g
        g.to_play = W
        self.assertEqual(g.to_play, W)
        g.play("C3", color=W)
        g.play("D3", color=W)
        self.assertEqual(g.to_play, B)
        with self.assertRaises(sp.MisuseError):
            g.to_play = B
        with self.assertRaises(ValueError):
            g.play("C5", color=E)
        with self.assertRaises(ValueError):
            g.play(81)
        with self.assertRaises(ValueError):
            g.play(-3)
        with self.assertRaises(TypeError):
            g.play(None)
        with self.assertRaises(sp.InvalidArgumentError):
            g.play("Z99")  # C's GTP parser refuses it

    def test_setup(self):
        g = self.g
        g.setup("A1", B)
        g.setup("B1", W)
        with self.assertRaises(sp.IllegalMoveError):
            g.setup("A2", W)  # would leave A1 without liberties
        self.assertEqual((g.color_at("A1"), g.color_at("B1"), g.color_at("A2")), (B, W, E))
        g.setup("B1", E)
        self.assertEqual(g.color_at("B1"), E)
        with self.assertRaises(ValueError):
            g.setup(PASS, B)
        with self.assertRaises(ValueError):
            g.setup("C3", 3)
        g.play("C3")
        with self.assertRaises(sp.MisuseError):
            g.setup("D4", B)

    def test_end_by_passes_and_resign(self):
        g = self.g
        g.play(PASS)
        g.play(PASS)
        self.assertTrue(g.is_over)
        self.assertEqual(g.end_reason, sp.GameEnd.PASSES)
        self.assertEqual(g.winner, W)  # empty board: komi wins
        self.assertEqual(g.legal_moves(), [])
        with self.assertRaises(sp.MisuseError):
            g.random_move(sp.Rng(1))
        g.undo()
        g.play(RESIGN)
        self.assertEqual(g.end_reason, sp.GameEnd.RESIGN)
        self.assertEqual(g.winner, B)

    def test_clone_copy_clear(self):
        g = self.g
        g.play("C3")
        g.set_info("PB", "alice")
        h = g.clone()
        h.play("D4")
        self.assertEqual((g.move_count, h.move_count), (1, 2))
        self.assertEqual(h.get_info("PB"), "alice")
        k = copy.copy(h)
        k2 = copy.deepcopy(h)
        self.assertEqual(k.board(), h.board())
        self.assertEqual(k2.moves, h.moves)
        g.copy_from(h)
        self.assertEqual(g.moves, h.moves)
        g.clear()
        self.assertEqual((g.move_count, g.get_info("PB")), (0, "alice"))
        for x in (h, k, k2):
            x.close()
        with self.assertRaises(TypeError):
            g.copy_from("game")
        with self.assertRaises(ValueError):
            g.copy_from(h)  # closed


class TestBoardQueries(unittest.TestCase):
    def test_score_and_ownership_match_reference(self):
        rng = sp.Rng(11)
        for size in (5, 9):
            for trial in range(6):
                with Game(size, komi=6.5) as g:
                    play_random(g, rng, 8 + 15 * trial)
                    board = g.board()
                    score, owner = tromp_taylor(board, size, 6.5)
                    self.assertEqual(g.ownership(), owner)
                    self.assertAlmostEqual(g.score(), score)
                    self.assertEqual(board, [g.color_at(p) for p in range(size * size)])

    def test_legal_mask_matches_is_legal(self):
        rng = sp.Rng(5)
        with Game(7) as g:
            play_random(g, rng, 30)
            mask = g.legal_mask()
            self.assertEqual(len(mask), 50)
            self.assertEqual(mask[:-1], [int(g.is_legal(p)) for p in range(49)])
            self.assertEqual(mask[-1], 1)
            self.assertEqual(g.legal_moves(), [p for p in range(49) if mask[p]] + [PASS])

    def test_out_buffers(self):
        with Game(5) as g:
            g.play("C3")
            buf = bytearray(25)
            self.assertIs(g.board(buf), buf)
            self.assertEqual(buf[12], B)
            arr = array.array("B", [9] * 30)  # bigger is fine
            g.ownership(arr)
            self.assertEqual(list(arr[:25]), [B] * 25)
            self.assertEqual(list(arr[25:]), [9] * 5)
            with self.assertRaises(ValueError):
                g.board(bytearray(24))
            with self.assertRaises(ValueError):
                g.board(bytes(25))  # read-only
            with self.assertRaises(TypeError):
                g.board(array.array("i", [0] * 25))
            with self.assertRaises(TypeError):
                g.board([0] * 25)  # a list is not a buffer
            with self.assertRaises(ValueError):
                g.board(memoryview(bytearray(50))[::2])  # not contiguous

    def test_eye_hash_info(self):
        with Game(5) as g:
            for move in ("B1", "E5", "A2", "E4"):
                g.play(move)
            self.assertTrue(g.is_eye("A1", B))
            self.assertFalse(g.is_eye("A1", W))
            self.assertFalse(g.is_eye("C3", B))
            h = g.hash
            g.play("C3")
            self.assertNotEqual(g.hash, h)
            g.undo()
            self.assertEqual(g.hash, h)
            g.set_info("PB", "black player")
            g.set_info("RE", "B+R")
            self.assertEqual(g.info(), {"PB": "black player", "RE": "B+R"})
            g.set_info("PB", None)
            self.assertEqual(g.info(), {"RE": "B+R"})
            self.assertIsNone(g.get_info("PW"))
            with self.assertRaises(sp.InvalidArgumentError):
                g.set_info("pb", "x")  # lower case: C refuses
            with self.assertRaises(sp.InvalidArgumentError):
                g.set_info("SZ", "9")  # a rule, not information
            with self.assertRaises(TypeError):
                g.set_info(1, "x")
            with self.assertRaises(ValueError):
                g.set_info("PB", "a\0b")
            with self.assertRaises(ValueError):
                g.captures(E)


class TestPlanes(unittest.TestCase):
    def test_planes_follow_the_history(self):
        rng = sp.Rng(2)
        size, history = 5, 3
        with Game(size) as g:
            boards = [g.board()]
            for _ in range(6):
                g.play(g.random_move(rng))
                boards.append(g.board())
            planes = g.planes(history)
            area = size * size
            self.assertEqual(len(planes), go.plane_count(history) * area)
            self.assertEqual(go.plane_count(history), 2 * history + 2)
            mover, other = g.to_play, g.to_play.opponent
            for k in range(history):
                board = boards[-1 - k]
                self.assertEqual(list(planes[2 * k * area:(2 * k + 1) * area]),
                                 [float(c == mover) for c in board])
                self.assertEqual(list(planes[(2 * k + 1) * area:(2 * k + 2) * area]),
                                 [float(c == other) for c in board])
            self.assertEqual(set(planes[2 * history * area:(2 * history + 1) * area]), {float(mover == B)})
            self.assertEqual(set(planes[(2 * history + 1) * area:]), {1.0})

    def test_planes_out_and_errors(self):
        with Game(9) as g:
            out = array.array("f", [0.0] * (18 * 81))
            self.assertIs(g.planes(out=out), out)
            with self.assertRaises(TypeError):
                g.planes(out=array.array("d", [0.0] * (18 * 81)))
            with self.assertRaises(ValueError):
                g.planes(out=array.array("f", [0.0] * 10))
            for bad in (0, 17):
                with self.assertRaises(ValueError):
                    g.planes(bad)
            with self.assertRaises(TypeError):
                g.planes("8")

    @unittest.skipIf(numpy is None, "numpy is not installed")
    def test_numpy_buffers(self):
        with Game(9) as g:
            g.play("E5")
            planes = numpy.zeros((18, 9, 9), dtype=numpy.float32)
            self.assertIs(g.planes(out=planes), planes)
            self.assertEqual(planes[1, 4, 4], 1.0)  # White to move: E5 is the opponent's
            board = numpy.zeros(81, dtype=numpy.uint8)
            g.board(board)
            self.assertEqual(int(board[40]), B)
            flipped = go.symmetry_planes(1, 9, planes, out=numpy.empty_like(planes))
            self.assertEqual(flipped[1, 4, 4], 1.0)
            with self.assertRaises(TypeError):
                g.planes(out=numpy.zeros((18, 9, 9), dtype=numpy.float64))
            with self.assertRaises(ValueError):
                g.planes(out=numpy.zeros((9, 18, 9), dtype=numpy.float32).transpose(1, 0, 2))


class TestSymmetryAndNotation(unittest.TestCase):
    def test_symmetry_points_match_formula(self):
        size = 7
        for sym in range(go.SYMMETRY_COUNT):
            for p in range(size * size):
                r, c = divmod(p, size)
                if sym & 1:
                    c = size - 1 - c
                if sym & 2:
                    r = size - 1 - r
                if sym & 4:
                    r, c = c, r
                self.assertEqual(go.symmetry_point(sym, size, p), r * size + c)
                inv = go.symmetry_inverse(sym)
                self.assertEqual(go.symmetry_point(inv, size, go.symmetry_point(sym, size, p)), p)
            self.assertEqual(go.symmetry_point(sym, size, PASS), PASS)
        with self.assertRaises(ValueError):
            go.symmetry_point(8, 9, 0)
        with self.assertRaises(ValueError):
            go.symmetry_point(0, 9, 81)
        with self.assertRaises(ValueError):
            go.symmetry_inverse(-1)

    def test_symmetry_planes(self):
        size = 3
        planes = [float(i) for i in range(2 * size * size)]
        for sym in range(8):
            out = go.symmetry_planes(sym, size, planes)
            for ch in range(2):
                for p in range(9):
                    self.assertEqual(out[ch * 9 + go.symmetry_point(sym, size, p)], planes[ch * 9 + p])
        read_only = bytes(array.array("f", planes))
        with self.assertRaises(TypeError):
            go.symmetry_planes(1, size, read_only)  # bytes are not floats
        frozen = memoryview(array.array("f", planes)).toreadonly()
        self.assertEqual(list(go.symmetry_planes(0, size, frozen)), planes)  # copied, accepted
        with self.assertRaises(ValueError):
            go.symmetry_planes(1, size, planes[:-1])
        with self.assertRaises(TypeError):
            go.symmetry_planes(1, size, ["x"] * 9)
        same = array.array("f", planes)
        with self.assertRaises(ValueError):
            go.symmetry_planes(1, size, same, out=same)

    def test_notation_round_trip(self):
        for size in (2, 9, 19):
            vertices = set()
            for p in range(size * size):
                v = go.move_to_gtp(size, p)
                self.assertNotIn("I", v)
                self.assertEqual(go.move_from_gtp(size, v), p)
                self.assertEqual(go.move_from_gtp(size, v.lower()), p)
                vertices.add(v)
            self.assertEqual(len(vertices), size * size)
        self.assertEqual(go.move_to_gtp(9, PASS), "pass")
        self.assertEqual(go.move_to_gtp(9, RESIGN), "resign")
        self.assertEqual(go.move_from_gtp(9, b"PASS"), PASS)
        self.assertEqual(go.move_to_gtp(9, go.point(9, 8, 0)), "A1")
        self.assertEqual(go.move_to_gtp(9, go.point(9, 0, 8)), "J9")
        with self.assertRaises(sp.InvalidArgumentError):
            go.move_from_gtp(9, "K1")
        with self.assertRaises(sp.InvalidArgumentError):
            go.move_to_gtp(9, 81)
        with self.assertRaises(TypeError):
            go.move_from_gtp(9, 42)
        with self.assertRaises(ValueError):
            go.point(9, 9, 0)

    def test_action_mapping(self):
        for size in (2, 9, 19):
            area = size * size
            self.assertEqual([go.action_to_move(size, a) for a in range(area + 1)], list(range(area)) + [PASS])
            self.assertEqual([go.move_to_action(size, m) for m in list(range(area)) + [PASS]], list(range(area + 1)))
            for bad in (-1, area + 1):
                with self.assertRaises(sp.InvalidArgumentError):
                    go.action_to_move(size, bad)
            with self.assertRaises(sp.InvalidArgumentError):
                go.move_to_action(size, area)
        with self.assertRaises(sp.InvalidArgumentError) as cm:
            go.move_to_action(9, RESIGN)
        self.assertIn("resigning has no action", str(cm.exception))
        with self.assertRaises(ValueError):
            go.action_to_move(20, 0)


class TestPlayouts(unittest.TestCase):
    def test_playouts_are_reproducible_and_consistent(self):
        with Game(9) as g, sp.Rng(99) as rng:
            g.play("E5")
            before = g.board()
            score, owner = g.playout(rng, ownership=True)
            self.assertEqual(g.board(), before)  # the game itself is unchanged
            self.assertEqual(owner.count(B) - owner.count(W) - g.komi, score)
            rng.seed(99)
            self.assertEqual(g.playout(rng, ownership=True), (score, owner))
            buf = bytearray(81)
            rng.seed(99)
            self.assertEqual(g.playout(rng, ownership=buf), (score, buf))
            self.assertEqual(list(buf), owner)

    def test_a_temporary_generator_lives_through_the_call(self):
        # Rng(99) is referenced only by the argument: the binding must keep it
        # (and its C generator) alive until the C call returns. Under ASan a
        # generator freed before the playout is a heap-use-after-free.
        with Game(9) as g, sp.Rng(99) as rng:
            expected = g.playout(rng)
            for _ in range(3):
                self.assertEqual(g.playout(sp.Rng(99)), expected)
            rng.seed(99)
            expected = g.playout(rng, ownership=True)
            self.assertEqual(g.playout(sp.Rng(99), ownership=True), expected)
            rng.seed(7)
            move = g.random_move(rng)
            self.assertEqual(g.random_move(sp.Rng(7)), move)

    def test_random_games_stay_legal(self):
        with Game(5) as g, sp.Rng(4) as rng:
            for _ in range(200):
                if g.is_over:
                    break
                move = g.random_move(rng)
                self.assertTrue(g.is_legal(move))
                g.play(move)

    def test_playout_arguments(self):
        with Game(5) as g:
            with self.assertRaises(TypeError):
                g.playout(42)
            with self.assertRaises(ValueError):
                g.playout(sp.Rng(1), max_moves=-1)
            with self.assertRaises(ValueError):
                g.playout(sp.Rng(1), ownership=bytearray(3))


if __name__ == "__main__":
    unittest.main()
