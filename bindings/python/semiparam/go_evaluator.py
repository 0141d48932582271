"""Bindings of semiparam/go_evaluator.h: a model-free Go model for the
searcher (uniform prior over sensible legal moves, value from random playouts).

Actions are board points and size*size for pass; the root of Search.run() is
a Game of the evaluator's board size."""
import ctypes
from ctypes import POINTER, byref, c_int, c_int32, c_uint32, c_uint64, c_void_p

from . import _lib
from ._lib import function
from .core import check
from . import go
from .go import Game
from .search import SearchModel

GO_EVALUATOR_OPTIONS_VERSION = 1


class GoEvaluatorOptions(ctypes.Structure):
    """sp_go_evaluator_options; build with go_evaluator_options()."""
    _c_name_ = "sp_go_evaluator_options"
    _fields_ = [("version", c_uint32), ("board_size", c_int32), ("playouts", c_int32), ("max_moves", c_int32),
                ("threads", c_int32), ("seed", c_uint64)]


_options_init = function("sp_go_evaluator_options_init", c_int, [POINTER(GoEvaluatorOptions), c_uint32])
_create = function("sp_go_evaluator_create", c_int, [POINTER(c_void_p), POINTER(GoEvaluatorOptions)])
_free = function("sp_go_evaluator_free", None, [c_void_p])
_model = function("sp_go_evaluator_model", c_int, [c_void_p, POINTER(SearchModel)])
_seed = function("sp_go_evaluator_seed", c_int, [c_void_p, c_uint64])


def go_evaluator_options(**fields):
    """GoEvaluatorOptions with the library's defaults, then @fields
    (board_size, playouts, max_moves, threads, seed)."""
    opts = _lib.new_options(GoEvaluatorOptions)
    check(_options_init(byref(opts), GO_EVALUATOR_OPTIONS_VERSION))
    return _lib.fill_options(opts, fields)


class GoEvaluator(go.SearchActions, _lib.Handle):
    """sp_go_evaluator: a searcher model playing Go by random playouts.
    Closing it first closes every Search built on it (their trees hold its states)."""

    _free = _free

    def __init__(self, options=None, **fields):
        if options is None:
            options = go_evaluator_options(**fields)
        elif not isinstance(options, GoEvaluatorOptions):
            raise TypeError("options must be a GoEvaluatorOptions, not %s" % type(options).__name__)
        elif fields:
            raise TypeError("give either options or keyword fields, not both")
        ptr = c_void_p()
        check(_create(byref(ptr), byref(options)))
        super().__init__(ptr.value)
        self.board_size = options.board_size
        self._searches = _lib.Dependents()

    def _close_dependents(self):
        # Their trees hold this evaluator's states: they go first.
        searches = self.__dict__.get("_searches")
        if searches is not None:
            searches.close_all()

    def seed(self, seed):
        """Restart the playout generators from @seed."""
        check(_seed(self._p, _lib.uint64(seed, "seed")))

    # The protocol Search uses for C models.
    def _search_model(self):
        model = SearchModel()
        check(_model(self._p, byref(model)))
        return model

    def _register_search(self, search):
        self._searches.add(search)

    def _root_input(self, game):
        p = _lib.handle(game, Game, "root")
        if game.size != self.board_size:
            raise ValueError("the root is a %dx%d game; the evaluator plays %dx%d"
                             % (game.size, game.size, self.board_size, self.board_size))
        return p
