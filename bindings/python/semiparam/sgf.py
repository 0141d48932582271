"""Bindings of semiparam/sgf.h: games read from and written as SGF (FF[4])."""
import ctypes
from ctypes import POINTER, byref, c_char, c_char_p, c_int, c_size_t, c_void_p

from . import _lib
from ._lib import function
from .core import Status, check
from .go import Game

_parse = function("sp_sgf_parse", c_int, [POINTER(c_void_p), POINTER(c_char), c_size_t, POINTER(c_size_t)])
_load = function("sp_sgf_load", c_int, [POINTER(c_void_p), c_char_p])
_write = function("sp_sgf_write", c_int, [c_void_p, POINTER(c_char), c_size_t, POINTER(c_size_t)])
_save = function("sp_sgf_save", c_int, [c_void_p, c_char_p])


def available():
    """Whether the loaded library has the SGF functions."""
    return all(f.available for f in (_parse, _load, _write, _save))


def _data_arg(data):
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError("data must be str or bytes, not %s" % type(data).__name__)


def _parse_at(data, offset):
    ptr, consumed = c_void_p(), c_size_t()
    rest = data[offset:]
    status = _parse(byref(ptr), ctypes.cast(c_char_p(rest), POINTER(c_char)), len(rest), byref(consumed))
    return status, ptr.value, consumed.value


def parse(data):
    """The first game tree in @data (str or bytes) as a Game: main line,
    setup stones, SZ/KM/PL and the root's record information.
    Raises FormatError (saying where: line, column and byte offset), IllegalMoveError
    or UnsupportedError."""
    data = _data_arg(data)
    status, ptr, _ = _parse_at(data, 0)
    check(status)
    return Game._adopt(ptr)


def parse_all(data):
    """Every game tree of a collection in @data, as a list of Games."""
    data = _data_arg(data)
    games, offset = [], 0
    try:
        while offset < len(data) and b"(" in data[offset:]:
            status, ptr, consumed = _parse_at(data, offset)
            check(status)
            games.append(Game._adopt(ptr))
            offset += max(consumed, 1)
    except BaseException:
        for game in games:
            game.close()
        raise
    return games


def load(path):
    """The first game of the SGF file at @path. Raises FileIOError when unreadable."""
    ptr = c_void_p()
    check(_load(byref(ptr), _lib.path(path)))
    return Game._adopt(ptr.value)


def write(game):
    """@game as SGF FF[4] text (str)."""
    with _lib.borrow(game, Game, "game") as p:
        return _write_text(p)


def _write_text(p):
    need = c_size_t()
    status = _write(p, None, 0, byref(need))
    if status != Status.BUFFER_TOO_SMALL:
        check(status)
    while True:
        buf = ctypes.create_string_buffer(need.value)
        status = _write(p, buf, len(buf), byref(need))
        if status != Status.BUFFER_TOO_SMALL:
            break
    check(status)
    return buf.raw[:need.value].decode("utf-8", "replace")


def save(game, path):
    """Save @game as an SGF file at @path (written under a temporary name, then renamed)."""
    path = _lib.path(path)
    with _lib.borrow(game, Game, "game") as p:
        check(_save(p, path))
