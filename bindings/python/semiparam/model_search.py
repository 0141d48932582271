"""Bindings of the searcher-model part of semiparam/model.h
(sp_model_search_options_init, sp_model_search_model): a learned model under
the searcher, with MuZero's learned dynamics below the root or AlphaZero's
real games in the tree.

    with ModelSearchModel(model, mode=ModelSearchMode.RULES) as m, Search(m, simulations=200) as s:
        action = s.run(game)

The root of Search.run() is a Game of the model's board size; actions are
board points and size*size for pass, as for a GoEvaluator. The model is any
open handle of an sp_model (semiparam.model.Model); it must stay open while
searches over it exist, and closing the ModelSearchModel closes them first.

A retrieval model (options.neighbours > 0) needs the neighbours of every
position it evaluates, which the options' `neighbours` callback (version 2)
gives; that callback is not offered to Python, so ModelSearchModel over a
retrieval model raises the library's UnsupportedError: semiparam.agent.Agent
searches one, retrieving the neighbours in C.
"""
import ctypes
import enum
from ctypes import POINTER, byref, c_float, c_int, c_int32, c_size_t, c_uint32, c_void_p

from . import _lib
from ._lib import function
from .core import check
from . import go
from .go import Game
from .search import SearchModel

MODEL_SEARCH_OPTIONS_VERSION = 2


class ModelSearchMode(enum.IntEnum):
    """sp_model_search_mode: how the search uses the model."""
    LEARNED = 0  #: MuZero: the real game at the root, the learned dynamics below it
    RULES = 1    #: AlphaZero: real games in the tree, initial inference at every node


#: sp_model_neighbours_fn: int (*)(size_t n, const sp_game *const *games, float *out_planes, void *payload).
NEIGHBOURS_FN = ctypes.CFUNCTYPE(c_int, c_size_t, POINTER(c_void_p), POINTER(c_float), c_void_p)


class ModelSearchOptions(ctypes.Structure):
    """sp_model_search_options; build with model_search_options(). The
    version 2 fields (the neighbours callback of a retrieval model and its
    payload) stay NULL from Python: the agent (semiparam.agent) sets its own."""
    _c_name_ = "sp_model_search_options"
    _fields_ = [("version", c_uint32), ("mode", c_int32), ("max_batch", c_int32),
                ("neighbours", NEIGHBOURS_FN), ("neighbours_payload", c_void_p)]  # version 2


_options_init = function("sp_model_search_options_init", c_int, [POINTER(ModelSearchOptions), c_uint32])
_search_model = function("sp_model_search_model", c_int, [c_void_p, POINTER(ModelSearchOptions),
                                                          POINTER(SearchModel)])


def model_search_options(**fields):
    """ModelSearchOptions with the library's defaults, then @fields (mode, max_batch)."""
    for name in ("neighbours", "neighbours_payload"):
        if name in fields:
            raise TypeError("model_search_options(%s=...): the neighbours callback is not offered to Python; "
                            "semiparam.agent.Agent searches a retrieval model" % name)
    opts = _lib.new_options(ModelSearchOptions)
    check(_options_init(byref(opts), MODEL_SEARCH_OPTIONS_VERSION))
    return _lib.fill_options(opts, fields)


def _no_free(ptr):
    """The view owns no C object: the model's own handle frees it."""


class ModelSearchModel(go.SearchActions, _lib.Handle):
    """A model as a searcher model: pass it to Search. It borrows @model (an
    open sp_model handle), which must outlive it; closing it closes the
    searches over it first (their trees hold states from the model)."""

    _free = staticmethod(_no_free)

    def __init__(self, model, options=None, **fields):
        """@options (ModelSearchOptions) or keyword @fields (mode=ModelSearchMode.RULES, max_batch=...)."""
        if options is None:
            options = model_search_options(**fields)
        elif not isinstance(options, ModelSearchOptions):
            raise TypeError("options must be a ModelSearchOptions, not %s" % type(options).__name__)
        elif fields:
            raise TypeError("give either options or keyword fields, not both")
        if options.neighbours or options.neighbours_payload:
            # C would keep calling a Python thunk that nothing here keeps alive.
            raise TypeError("ModelSearchOptions.neighbours is not offered to Python; "
                            "semiparam.agent.Agent searches a retrieval model")
        struct = SearchModel()
        with _lib.borrow(model, _lib.Handle, "model") as ptr:
            check(_search_model(ptr, byref(options), byref(struct)))
        super().__init__(ptr)
        self._parent = model
        self._struct = struct
        self.mode = ModelSearchMode(options.mode)
        self.board_size = int(round((struct.num_actions - 1) ** 0.5))
        self._searches = _lib.Dependents()
        # The model closes this view (and so its searches) before it frees
        # itself, when it keeps such a list (as semiparam.model.Model does).
        register = getattr(model, "_register_search", None)
        if register:
            register(self)

    def _close_dependents(self):
        searches = self.__dict__.get("_searches")
        if searches is not None:
            searches.close_all()

    # The protocol Search uses for C models.
    def _search_model(self):
        return self._struct

    def _register_search(self, search):
        self._searches.add(search)

    def _root_input(self, game):
        p = _lib.handle(game, Game, "root")
        if game.size != self.board_size:
            raise ValueError("the root is a %dx%d game; the model plays %dx%d"
                             % (game.size, game.size, self.board_size, self.board_size))
        return p
