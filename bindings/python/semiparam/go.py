"""Bindings of semiparam/go.h: a Go game with legality, captures, undo,
Tromp-Taylor scoring, feature planes, symmetries, notation and random playouts.

Points are flat indices row * size + col with row 0 on top (SGF order);
PASS and RESIGN are the two non-point moves. Methods taking a move also
accept a GTP vertex string ("D4", "pass").
"""
import array
import ctypes
import enum
from ctypes import POINTER, byref, c_char, c_char_p, c_float, c_int, c_int32, c_size_t, c_uint8, c_uint32, c_uint64, c_void_p

from . import _lib
from ._lib import function
from .core import Rng, check

MIN_SIZE = 2
MAX_SIZE = 19
PASS = -1
RESIGN = -2
DEFAULT_HISTORY = 8
SYMMETRY_COUNT = 8
GAME_OPTIONS_VERSION = 1


class SearchActions:
    """The search's actions of a Go model with a `board_size` (points, then
    pass), shared by GoEvaluator and ModelSearchModel."""

    @property
    def num_actions(self):
        return self.board_size ** 2 + 1

    def action_to_move(self, action):
        """Go move (point or PASS) of a search action (see action_to_move())."""
        return action_to_move(self.board_size, action)

    def move_to_action(self, move):
        """Search action of a Go move (point or PASS; see move_to_action())."""
        return move_to_action(self.board_size, move)


class Color(enum.IntEnum):
    """sp_color: colour of a point or a player."""
    EMPTY = 0
    BLACK = 1
    WHITE = 2

    @property
    def opponent(self):
        return {Color.BLACK: Color.WHITE, Color.WHITE: Color.BLACK}.get(self, Color.EMPTY)


class GameEnd(enum.IntEnum):
    """sp_game_end: how a game ended."""
    NONE = 0
    PASSES = 1
    RESIGN = 2


class GameOptions(ctypes.Structure):
    """sp_game_options; fill with game_options() so that `version` and the defaults are set."""
    _c_name_ = "sp_game_options"
    _fields_ = [("version", c_uint32), ("board_size", c_int32), ("komi", c_float)]


_P = POINTER(c_void_p)
_U8 = POINTER(c_uint8)
_F = POINTER(c_float)
_options_init = function("sp_game_options_init", c_int, [POINTER(GameOptions), c_uint32])
_create = function("sp_game_create", c_int, [_P, POINTER(GameOptions)])
_free = function("sp_game_free", None, [c_void_p])
_clone = function("sp_game_clone", c_int, [_P, c_void_p])
_copy = function("sp_game_copy", c_int, [c_void_p, c_void_p])
_clear = function("sp_game_clear", c_int, [c_void_p])
_set_size = function("sp_game_set_size", c_int, [c_void_p, c_int])
_size = function("sp_game_size", c_int, [c_void_p])
_set_komi = function("sp_game_set_komi", c_int, [c_void_p, c_float])
_komi = function("sp_game_komi", c_float, [c_void_p])
_to_play = function("sp_game_to_play", c_int, [c_void_p])
_set_to_play = function("sp_game_set_to_play", c_int, [c_void_p, c_int])
_setup = function("sp_game_setup", c_int, [c_void_p, c_int, c_int])
_is_legal = function("sp_game_is_legal", c_int, [c_void_p, c_int, c_int])
_play = function("sp_game_play", c_int, [c_void_p, c_int])
_play_as = function("sp_game_play_as", c_int, [c_void_p, c_int, c_int])
_undo = function("sp_game_undo", c_int, [c_void_p])
_move_count = function("sp_game_move_count", c_int, [c_void_p])
_move_at = function("sp_game_move_at", c_int, [c_void_p, c_int, POINTER(c_int), POINTER(c_int)])
_last_move = function("sp_game_last_move", c_int, [c_void_p])
_end_reason = function("sp_game_end_reason", c_int, [c_void_p])
_is_over = function("sp_game_is_over", c_int, [c_void_p])
_color_at = function("sp_game_color_at", c_int, [c_void_p, c_int])
_board = function("sp_game_board", c_int, [c_void_p, _U8, c_size_t])
_captures = function("sp_game_captures", c_int, [c_void_p, c_int])
_ko_point = function("sp_game_ko_point", c_int, [c_void_p])
_hash = function("sp_game_hash", c_uint64, [c_void_p])
_legal_mask = function("sp_game_legal_mask", c_int, [c_void_p, _U8, c_size_t])
_is_eye = function("sp_game_is_eye", c_int, [c_void_p, c_int, c_int])
_score = function("sp_game_score", c_int, [c_void_p, _F])
_ownership = function("sp_game_ownership", c_int, [c_void_p, _U8, c_size_t])
_winner = function("sp_game_winner", c_int, [c_void_p])
_set_info = function("sp_game_set_info", c_int, [c_void_p, c_char_p, c_char_p])
_info = function("sp_game_info", c_char_p, [c_void_p, c_char_p])
_info_count = function("sp_game_info_count", c_int, [c_void_p])
_info_at = function("sp_game_info_at", c_int, [c_void_p, c_int, POINTER(c_char_p), POINTER(c_char_p)])
_plane_count = function("sp_go_plane_count", c_int, [c_int])
_planes = function("sp_game_planes", c_int, [c_void_p, c_int, _F, c_size_t])
_symmetry_point = function("sp_symmetry_point", c_int, [c_int, c_int, c_int])
_symmetry_inverse = function("sp_symmetry_inverse", c_int, [c_int])
_symmetry_planes = function("sp_symmetry_planes", c_int, [c_int, c_int, c_int, _F, _F])
_move_to_gtp = function("sp_move_to_gtp", c_int, [c_int, c_int, POINTER(c_char), c_size_t])
_move_from_gtp = function("sp_move_from_gtp", c_int, [c_int, c_char_p, POINTER(c_int)])
_point = function("sp_point", c_int, [c_int, c_int, c_int])
_action_to_move = function("sp_action_to_move", c_int, [c_int, c_int, POINTER(c_int)])
_move_to_action = function("sp_move_to_action", c_int, [c_int, c_int, POINTER(c_int)])
_playout = function("sp_game_playout", c_int, [c_void_p, c_void_p, c_int, _F, _U8, c_size_t])
_random_move = function("sp_game_random_move", c_int, [c_void_p, c_void_p, POINTER(c_int)])


def game_options():
    """Default GameOptions (9x9, komi 7) from sp_game_options_init()."""
    opts = _lib.new_options(GameOptions)
    check(_options_init(byref(opts), GAME_OPTIONS_VERSION))
    return opts


def _size_arg(size):
    size = _lib.integer(size, "size")
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError("board size %d outside %d..%d" % (size, MIN_SIZE, MAX_SIZE))
    return size


def _color_arg(color, name="color", empty=False):
    color = _lib.integer(color, name)
    if color not in ((Color.EMPTY, Color.BLACK, Color.WHITE) if empty else (Color.BLACK, Color.WHITE)):
        raise ValueError("%s=%d is not %s" % (name, color, "a colour" if empty else "BLACK or WHITE"))
    return color


def point(size, row, col):
    """Flat index of (row, col) with row 0 on top."""
    size = _size_arg(size)
    row, col = _lib.integer(row, "row"), _lib.integer(col, "col")
    if not (0 <= row < size and 0 <= col < size):
        raise ValueError("(%d, %d) is off the %dx%d board" % (row, col, size, size))
    return _point(size, row, col)


def action_to_move(size, action):
    """Move (point or PASS) of a search or dataset action on a size x size
    board: actions 0..size*size-1 are the points, size*size is PASS."""
    out = c_int()
    check(_action_to_move(_size_arg(size), _lib.integer(action, "action"), byref(out)))
    return out.value


def move_to_action(size, move):
    """Action of @move (a point or PASS; resigning has no action), the inverse of action_to_move()."""
    out = c_int()
    check(_move_to_action(_size_arg(size), _lib.integer(move, "move"), byref(out)))
    return out.value


def move_to_gtp(size, move):
    """GTP vertex of @move ("D4", "pass", "resign"); columns skip I."""
    buf = ctypes.create_string_buffer(8)
    check(_move_to_gtp(_size_arg(size), _lib.integer(move, "move"), buf, len(buf)))
    return buf.value.decode()


def move_from_gtp(size, vertex):
    """Move of a GTP vertex (case-insensitive; "pass", "resign")."""
    out = c_int()
    check(_move_from_gtp(_size_arg(size), _lib.text(vertex, "vertex"), byref(out)))
    return out.value


def plane_count(history=DEFAULT_HISTORY):
    """Feature planes for @history past positions: 2 * history + 2."""
    history = _lib.integer(history, "history")
    if not 1 <= history <= 16:
        raise ValueError("history %d outside 1..16" % history)
    return _plane_count(history)


def symmetry_point(sym, size, move):
    """Map a point by symmetry @sym (0..7; bit 0 flips columns, bit 1 rows,
    bit 2 transposes); PASS and RESIGN map to themselves."""
    sym = _lib.integer(sym, "sym")
    size = _size_arg(size)
    move = _lib.integer(move, "move")
    if not 0 <= sym < SYMMETRY_COUNT:
        raise ValueError("symmetry %d outside 0..7" % sym)
    if move not in (PASS, RESIGN) and not 0 <= move < size * size:
        raise ValueError("move %d is off the %dx%d board" % (move, size, size))
    return _symmetry_point(sym, size, move)


def symmetry_inverse(sym):
    """The symmetry undoing @sym."""
    sym = _lib.integer(sym, "sym")
    if not 0 <= sym < SYMMETRY_COUNT:
        raise ValueError("symmetry %d outside 0..7" % sym)
    return _symmetry_inverse(sym)


def symmetry_planes(sym, size, planes, out=None):
    """Apply symmetry @sym to float planes of size x size (a float buffer such
    as array('f') or a float32 numpy array, or a sequence of numbers whose
    length is a multiple of size*size): out[c][sym(p)] = planes[c][p].
    Returns @out, filled (a new array('f') when None)."""
    sym = _lib.integer(sym, "sym")
    size = _size_arg(size)
    try:
        with memoryview(planes) as view:
            count = view.nbytes // max(view.itemsize, 1)
    except TypeError:
        count = len(planes) if hasattr(planes, "__len__") and not isinstance(planes, (str, bytes)) else -1
    if count < 0 or count % (size * size):
        raise ValueError("planes must hold a multiple of %d floats" % (size * size))
    src = _lib.in_buffer(planes, c_float, count, "planes")
    if out is None:
        out = array.array("f", bytes(4 * count))
    dst = _lib.out_buffer(out, c_float, count)
    if ctypes.addressof(src) == ctypes.addressof(dst) and count:
        raise ValueError("planes and out must not overlap")
    check(_symmetry_planes(sym, size, count // (size * size), src, dst))
    return out


class Game(_lib.Handle):
    """sp_game: a game of Go (board, side to move, history, positions seen for
    positional superko). One thread at a time per game."""

    _free = _free

    def __init__(self, size=9, komi=7.0, options=None):
        """A new empty game, Black to play. @options (a GameOptions, e.g. from
        game_options()) overrides @size and @komi when given."""
        if options is None:
            options = game_options()
            options.board_size = _size_arg(size)
            options.komi = _lib.real(komi, "komi", finite=True)
        elif not isinstance(options, GameOptions):
            raise TypeError("options must be a GameOptions, not %s" % type(options).__name__)
        ptr = c_void_p()
        check(_create(byref(ptr), byref(options)))
        super().__init__(ptr.value)

    @classmethod
    def _adopt(cls, pointer):
        game = cls.__new__(cls)
        _lib.Handle.__init__(game, pointer)
        return game

    # -- whole-game operations ------------------------------------------

    def clone(self):
        """An independent deep copy."""
        ptr = c_void_p()
        check(_clone(byref(ptr), self._p))
        return Game._adopt(ptr.value)

    __copy__ = clone

    def __deepcopy__(self, memo):
        return self.clone()

    def copy_from(self, other):
        """Make this game a copy of @other (any size)."""
        with _lib.borrow(other, Game, "other") as other_p:
            check(_copy(self._p, other_p))

    def clear(self):
        """Empty the board and the history; size, komi and record information stay."""
        check(_clear(self._p))

    @property
    def size(self):
        """Board size; setting it clears the game."""
        return _size(self._p)

    @size.setter
    def size(self, size):
        check(_set_size(self._p, _size_arg(size)))

    @property
    def area(self):
        """size * size, the number of points."""
        return self.size ** 2

    @property
    def komi(self):
        """Points given to White (finite, |komi| <= 1000)."""
        return _komi(self._p)

    @komi.setter
    def komi(self, komi):
        check(_set_komi(self._p, _lib.real(komi, "komi", finite=True)))

    @property
    def to_play(self):
        """Colour to play next; settable only before the first move."""
        return Color(_to_play(self._p))

    @to_play.setter
    def to_play(self, color):
        check(_set_to_play(self._p, _color_arg(color)))

    # -- moves ----------------------------------------------------------

    def move(self, move):
        """Move value of @move: an int (point, PASS, RESIGN) or a GTP vertex."""
        if isinstance(move, (str, bytes)):
            return move_from_gtp(self.size, move)
        move = _lib.integer(move, "move")
        if move not in (PASS, RESIGN) and not 0 <= move < self.area:
            raise ValueError("move %d is off the %dx%d board" % (move, self.size, self.size))
        return move

    def vertex(self, move):
        """GTP vertex of @move on this board."""
        return move_to_gtp(self.size, move)

    def setup(self, move, color):
        """Put a setup stone of @color (EMPTY removes one) before the first move."""
        move = self.move(move)
        if move < 0:
            raise ValueError("setup needs a point, not a pass or resignation")
        check(_setup(self._p, move, _color_arg(color, empty=True)))

    def is_legal(self, move, color=None):
        """Whether @color (default: the side to move) may play @move now."""
        color = self.to_play if color is None else _color_arg(color)
        return bool(_is_legal(self._p, color, self.move(move)))

    def play(self, move, color=None):
        """Play @move for the side to move, or for @color (which then need not be
        the side to move, as GTP allows). Raises IllegalMoveError with the reason."""
        move = self.move(move)
        if color is None:
            check(_play(self._p, move))
        else:
            check(_play_as(self._p, _color_arg(color), move))

    def undo(self):
        """Take back the last move; MisuseError when none was played."""
        check(_undo(self._p))

    @property
    def move_count(self):
        """Moves played, passes and a resignation included."""
        return _move_count(self._p)

    def move_at(self, index):
        """(Color, move) of the @index-th move (negative counts from the end)."""
        index = _lib.integer(index, "index")
        count = self.move_count
        if index < 0:
            index += count
        if not 0 <= index < count:
            raise IndexError("move index outside 0..%d" % (count - 1))
        color, move = c_int(), c_int()
        check(_move_at(self._p, index, byref(color), byref(move)))
        return Color(color.value), move.value

    @property
    def moves(self):
        """All moves as a list of (Color, move)."""
        return [self.move_at(i) for i in range(self.move_count)]

    @property
    def last_move(self):
        """The last move, PASS when none was played."""
        return _last_move(self._p)

    @property
    def end_reason(self):
        """GameEnd.NONE while the game goes on."""
        return GameEnd(_end_reason(self._p))

    @property
    def is_over(self):
        """True after two passes in a row or a resignation."""
        return bool(_is_over(self._p))

    def legal_mask(self, out=None):
        """Legal moves of the side to move as size*size+1 bytes (1 legal, last
        byte pass). Returns a list of ints, or fills and returns @out (a uint8
        buffer: bytearray, array('B'), numpy uint8 array)."""
        return self._bytes(_legal_mask, self.area + 1, out)

    def legal_moves(self):
        """Legal points of the side to move, then PASS while the game goes on."""
        mask = self.legal_mask()
        moves = [p for p in range(len(mask) - 1) if mask[p]]
        return moves + [PASS] if mask[-1] else moves

    def random_move(self, rng):
        """A uniformly random legal move that does not fill the mover's own
        eye (superko honoured); PASS when none remains."""
        out = c_int()
        with _lib.borrow(rng, Rng, "rng") as rng_p:
            check(_random_move(self._p, rng_p, byref(out)))
        return out.value

    # -- the board ------------------------------------------------------

    def _bytes(self, fn, count, out):
        buf = (c_uint8 * count)() if out is None else _lib.out_buffer(out, c_uint8, count)
        check(fn(self._p, buf, count))
        return list(buf) if out is None else out

    def color_at(self, move):
        """Color of a point."""
        move = self.move(move)
        if move < 0:
            raise ValueError("color_at needs a point")
        return Color(_color_at(self._p, move))

    def board(self, out=None):
        """The board as size*size Colors (ints), row-major from the top; or
        fills and returns @out (a uint8 buffer)."""
        return self._bytes(_board, self.area, out)

    def captures(self, color):
        """Stones of @color captured by its opponent so far."""
        return _captures(self._p, _color_arg(color))

    @property
    def ko_point(self):
        """Point a simple ko forbids next, or None."""
        ko = _ko_point(self._p)
        return None if ko < 0 else ko

    @property
    def hash(self):
        """Zobrist hash of the stones (not of the side to move)."""
        return _hash(self._p)

    def is_eye(self, move, color):
        """Whether a point is a single-point eye of @color."""
        move = self.move(move)
        if move < 0:
            raise ValueError("is_eye needs a point")
        return bool(_is_eye(self._p, move, _color_arg(color)))

    def score(self):
        """Tromp-Taylor area score minus komi; positive when Black leads."""
        out = c_float()
        check(_score(self._p, byref(out)))
        return out.value

    def ownership(self, out=None):
        """Area ownership of every point (Colors; EMPTY for dame) as a list, or
        fills and returns @out (a uint8 buffer)."""
        return self._bytes(_ownership, self.area, out)

    @property
    def winner(self):
        """Winner of a finished game; EMPTY for a draw or an unfinished game."""
        return Color(_winner(self._p))

    # -- record information ---------------------------------------------

    def set_info(self, key, value):
        """Set record information by SGF property name ("PB", "RE", ...); None removes it."""
        check(_set_info(self._p, _lib.text(key, "key"), _lib.text(value, "value", allow_none=True)))

    def get_info(self, key, default=None):
        """Value of a piece of record information, or @default."""
        value = _info(self._p, _lib.text(key, "key"))
        return default if value is None else value.decode("utf-8", "replace")

    def info(self):
        """All record information as a dict, in the order it was set."""
        result = {}
        for index in range(_info_count(self._p)):
            key, value = c_char_p(), c_char_p()
            check(_info_at(self._p, index, byref(key), byref(value)))
            result[key.value.decode("utf-8", "replace")] = value.value.decode("utf-8", "replace")
        return result

    # -- network inputs and playouts ------------------------------------

    def planes(self, history=DEFAULT_HISTORY, out=None):
        """Network input planes from the side to move (see sp_game_planes):
        plane_count(history) x size x size floats. Returns a flat array('f'),
        or fills and returns @out (a float32 buffer, e.g. a numpy array of
        shape (planes, size, size))."""
        count = plane_count(history) * self.area
        if out is None:
            out = array.array("f", bytes(4 * count))
        check(_planes(self._p, history, _lib.out_buffer(out, c_float, count), count))
        return out

    def playout(self, rng, max_moves=0, ownership=None):
        """Play on to the end with random moves (this game is unchanged) and
        return the final Tromp-Taylor score. @max_moves 0 means 3*size*size.
        With @ownership=True returns (score, list of final ownership); a uint8
        buffer is filled instead and (score, buffer) returned."""
        # @rng stays bound (and held) through the call: it may be the only
        # reference to a temporary Rng, whose generator C is about to use.
        _lib.handle(rng, Rng, "rng")
        max_moves = _lib.integer(max_moves, "max_moves")
        if max_moves < 0:
            raise ValueError("max_moves must not be negative")
        score = c_float()
        area = self.area
        if ownership is None or ownership is False:
            buf, capacity = None, 0
        elif ownership is True:
            buf, capacity = (c_uint8 * area)(), area
        else:
            buf, capacity = _lib.out_buffer(ownership, c_uint8, area, "ownership"), area
        with _lib.borrow(rng, Rng, "rng") as rng_p:
            check(_playout(self._p, rng_p, max_moves, byref(score), buf, capacity))
        if buf is None:
            return score.value
        return score.value, (list(buf) if ownership is True else ownership)

    # -- display --------------------------------------------------------

    def __str__(self):
        size, board = self.size, self.board()
        letters = "ABCDEFGHJKLMNOPQRST"[:size]
        rows = ["   " + " ".join(letters)]
        for row in range(size):
            cells = " ".join(".XO"[board[row * size + col]] for col in range(size))
            rows.append("%2d %s" % (size - row, cells))
        return "\n".join(rows)

    def __repr__(self):
        if self.closed:
            return "<semiparam.Game closed>"
        return "<semiparam.Game %dx%d komi %g, %d moves, %s to play>" % (
            self.size, self.size, self.komi, self.move_count, self.to_play.name.lower())
