"""Bindings of semiparam/search.h: MCTS (MuZero pUCT, Gumbel MuZero) over a
model given as callbacks.

A model is either a C model (go_evaluator.GoEvaluator) or a Python object
with `num_actions`, optional `two_player` (default True) and `max_batch`
(default 0), and two batched methods returning one Evaluation per row:

    initial(worker, inputs)            -> [Evaluation(state, prior, value, ...)]
    recurrent(worker, states, actions) -> [Evaluation(state, prior, value, reward=..., ...)]

States are any Python objects; the bindings keep them alive while the tree
holds them. An exception raised by a model stops the search and is re-raised
by run().
"""
import collections
import contextlib
import ctypes
import enum
import itertools
import sys
import threading
import weakref
from ctypes import POINTER, byref, c_double, c_float, c_int, c_int32, c_size_t, c_uint8, c_uint32, c_uint64, c_void_p

from . import _lib
from ._lib import function
from .core import check

MAX_ACTIONS = 4096
SEARCH_MODEL_VERSION = 1
SEARCH_OPTIONS_VERSION = 1


class SearchKind(enum.IntEnum):
    """sp_search_kind: the search algorithm."""
    PUCT = 0
    GUMBEL = 1


class SearchFpu(enum.IntEnum):
    """sp_search_fpu: what pUCT assumes of an unvisited action."""
    ZERO = 0
    PARENT = 1


INITIAL_FN = ctypes.CFUNCTYPE(c_int, c_int, c_size_t, POINTER(c_void_p), POINTER(c_void_p), POINTER(c_float),
                              POINTER(c_float), POINTER(c_uint8), POINTER(c_int32), c_void_p)
RECURRENT_FN = ctypes.CFUNCTYPE(c_int, c_int, c_size_t, POINTER(c_void_p), POINTER(c_int32), POINTER(c_void_p),
                                POINTER(c_float), POINTER(c_float), POINTER(c_float), POINTER(c_uint8),
                                POINTER(c_int32), c_void_p)
RELEASE_FN = ctypes.CFUNCTYPE(None, c_void_p, c_void_p)


class SearchModel(ctypes.Structure):
    """sp_search_model: a model as the searcher sees it."""
    _c_name_ = "sp_search_model"
    _fields_ = [("version", c_uint32), ("num_actions", c_int32), ("two_player", c_int32), ("max_batch", c_int32),
                ("initial", INITIAL_FN), ("recurrent", RECURRENT_FN), ("release", RELEASE_FN),
                ("payload", c_void_p)]


class SearchOptions(ctypes.Structure):
    """sp_search_options; build with search_options() so that `version` and the defaults are set."""
    _c_name_ = "sp_search_options"
    _fields_ = [("version", c_uint32), ("kind", c_int32), ("simulations", c_int32), ("max_seconds", c_double),
                ("threads", c_int32), ("batch_size", c_int32), ("seed", c_uint64), ("c1", c_float), ("c2", c_float),
                ("discount", c_float), ("dirichlet_alpha", c_float), ("dirichlet_fraction", c_float),
                ("temperature", c_float), ("gumbel_considered", c_int32), ("gumbel_c_visit", c_float),
                ("gumbel_c_scale", c_float), ("reuse_tree", c_int32), ("fpu", c_int32)]


_options_init = function("sp_search_options_init", c_int, [POINTER(SearchOptions), c_uint32])
_create = function("sp_search_create", c_int, [POINTER(c_void_p), POINTER(SearchModel), POINTER(SearchOptions)])
_free = function("sp_search_free", None, [c_void_p])
_set_limits = function("sp_search_set_limits", c_int, [c_void_p, c_int32, c_double])
_run = function("sp_search_run", c_int, [c_void_p, c_void_p, POINTER(c_uint8), POINTER(c_int32)])
_run_many = function("sp_search_run_many", c_int, [POINTER(c_void_p), c_size_t, POINTER(c_void_p),
                                                   POINTER(POINTER(c_uint8)), POINTER(c_int32)])
_advance = function("sp_search_advance", c_int, [c_void_p, c_int32])
_reset = function("sp_search_reset", c_int, [c_void_p])
_root_stats = function("sp_search_root_stats", c_int, [c_void_p, POINTER(c_int32), POINTER(c_float),
                                                       POINTER(c_float), POINTER(c_float), c_size_t])
_root_value = function("sp_search_root_value", c_int, [c_void_p, POINTER(c_float), POINTER(c_int32)])
_pv = function("sp_search_pv", c_int, [c_void_p, POINTER(c_int32), c_size_t, POINTER(c_size_t)])


def search_options(**fields):
    """SearchOptions with the library's defaults, then @fields (kind, simulations,
    max_seconds, threads, batch_size, seed, c1, c2, ...; see search.h)."""
    opts = _lib.new_options(SearchOptions)
    check(_options_init(byref(opts), SEARCH_OPTIONS_VERSION))
    return _lib.fill_options(opts, fields)


RootStats = collections.namedtuple("RootStats", "visits priors values policy")


class Evaluation:
    """What a Python model returns for one row: the new @state (any object),
    @prior over num_actions actions, @value for the player to move, @reward of
    the transition (recurrent only), @legal (optional flags; falsy entries are
    masked out) and @terminal."""

    __slots__ = ("state", "prior", "value", "reward", "legal", "terminal")

    def __init__(self, state, prior, value, reward=0.0, legal=None, terminal=False):
        self.state, self.prior, self.value = state, prior, value
        self.reward, self.legal, self.terminal = reward, legal, terminal


class _PythonModel:
    """Adapts a Python model to sp_search_model: states and root inputs
    become integer keys into tables, callbacks become ctypes thunks."""

    def __init__(self, model):
        for attr in ("initial", "recurrent"):
            if not callable(getattr(model, attr, None)):
                raise TypeError("a search model needs initial() and recurrent() methods (or use a GoEvaluator)")
        self.model = model
        self.num_actions = _lib.integer(getattr(model, "num_actions", None), "model.num_actions", 1, MAX_ACTIONS)
        self._keys = itertools.count(1)
        self._states = {}
        self._inputs = {}
        self._errors = []
        self._lock = threading.Lock()
        self._thunks = (INITIAL_FN(self._initial), RECURRENT_FN(self._recurrent), RELEASE_FN(self._release))
        self.struct = SearchModel(SEARCH_MODEL_VERSION, self.num_actions,
                                  1 if getattr(model, "two_player", True) else 0,
                                  _lib.integer(getattr(model, "max_batch", 0), "model.max_batch"),
                                  *self._thunks, None)

    def root_input(self, root):
        key = next(self._keys)
        self._inputs[key] = root
        return key

    def drop_input(self, key):
        self._inputs.pop(key, None)

    def take_error(self):
        with self._lock:
            return self._errors.pop(0) if self._errors else None

    def _fail(self, exc):
        with self._lock:
            self._errors.append(exc)
        return 1  # the search stops with SP_ERR_CANCELLED; run() re-raises exc

    def _write(self, n, evals, out_states, out_rewards, out_priors, out_values, masks, out_terminal):
        evals = list(evals)
        if len(evals) != n:
            raise ValueError("the model returned %d evaluations for %d rows" % (len(evals), n))
        A = self.num_actions
        priors = ctypes.cast(out_priors, c_void_p).value
        for i, ev in enumerate(evals):
            if not isinstance(ev, Evaluation):
                raise TypeError("the model must return Evaluation objects, not %s" % type(ev).__name__)
            prior = _lib.in_buffer(ev.prior, c_float, A, "Evaluation.prior")
            ctypes.memmove(priors + 4 * A * i, prior, 4 * A)
            out_values[i] = _lib.real(ev.value, "Evaluation.value")
            if out_rewards:
                out_rewards[i] = _lib.real(ev.reward, "Evaluation.reward")
            if ev.legal is not None:
                legal = _lib.in_buffer(ev.legal, c_uint8, A, "Evaluation.legal")
                for a in range(A):
                    if not legal[a]:
                        masks[i * A + a] = 0
            out_terminal[i] = 1 if ev.terminal else 0
            key = next(self._keys)
            self._states[key] = ev.state
            out_states[i] = key

    def _initial(self, worker, n, inputs, out_states, out_priors, out_values, masks, out_terminal, payload):
        try:
            roots = [self._inputs[inputs[i]] for i in range(n)]
            evals = self.model.initial(worker, roots)
            self._write(n, evals, out_states, None, out_priors, out_values, masks, out_terminal)
            return 0
        except BaseException as exc:
            return self._fail(exc)

    def _recurrent(self, worker, n, states, actions, out_states, out_rewards, out_priors, out_values, masks,
                   out_terminal, payload):
        try:
            parents = [self._states[states[i]] for i in range(n)]
            evals = self.model.recurrent(worker, parents, [actions[i] for i in range(n)])
            self._write(n, evals, out_states, out_rewards, out_priors, out_values, masks, out_terminal)
            return 0
        except BaseException as exc:
            return self._fail(exc)

    def _release(self, state, payload):
        if state is not None and not sys.is_finalizing():
            self._states.pop(state, None)


# One adapter per Python model, so that searches over the same model share
# its callbacks and payload (run_many() needs that). Keyed by id(): an entry
# lives only as long as its adapter, which keeps the model (and its id) alive.
_adapters = weakref.WeakValueDictionary()
_adapters_lock = threading.Lock()


def _adapter(model):
    with _adapters_lock:
        adapter = _adapters.get(id(model))
        if adapter is None or adapter.model is not model:
            adapter = _PythonModel(model)
            _adapters[id(model)] = adapter
        return adapter


class Search(_lib.Handle):
    """sp_search: a search tree with its model, options and worker threads.
    One thread at a time per search; the model (a GoEvaluator or a Python
    model) is kept alive by the search."""

    _free = _free

    def __init__(self, model, options=None, **fields):
        """Search over @model. @options (SearchOptions) or keyword @fields
        (simulations=..., kind=SearchKind.GUMBEL, threads=..., seed=...) set the options."""
        if options is None:
            options = search_options(**fields)
        elif not isinstance(options, SearchOptions):
            raise TypeError("options must be a SearchOptions, not %s" % type(options).__name__)
        elif fields:
            raise TypeError("give either options or keyword fields, not both")
        ptr = c_void_p()
        if isinstance(model, _lib.Handle):
            # A C model: the search borrows it, so it stays open while the search runs.
            with _lib.borrow(model, _lib.Handle, "model"):
                self._owner, struct = model, model._search_model()
                check(_create(byref(ptr), byref(struct), byref(options)))
            self._parent = model
        else:
            self._owner = _adapter(model)
            struct = self._owner.struct
            check(_create(byref(ptr), byref(struct), byref(options)))
        self.num_actions = struct.num_actions
        super().__init__(ptr.value)
        register = getattr(model, "_register_search", None)
        if register:
            register(self)

    def _root(self, root):
        if isinstance(self._owner, _PythonModel):
            return self._owner.root_input(root)
        return self._owner._root_input(root)

    def _done(self, key, status):
        if isinstance(self._owner, _PythonModel):
            self._owner.drop_input(key)
            if status < 0:
                pending = self._owner.take_error()
                if pending is not None:
                    raise pending
        check(status)

    def _mask(self, mask):
        if mask is None:
            return None
        return _lib.in_buffer(mask, c_uint8, self.num_actions, "mask")

    def set_limits(self, simulations, max_seconds=0.0):
        """Budget of later runs: @simulations >= 1, @max_seconds >= 0 (0: no time limit)."""
        simulations = _lib.integer(simulations, "simulations")
        max_seconds = _lib.real(max_seconds, "max_seconds", finite=True)
        check(_set_limits(self._p, simulations, max_seconds))

    def run(self, root, mask=None):
        """Search from @root (a Game for a GoEvaluator, any object for a Python
        model) and return the chosen action, or None when the root is terminal
        or nothing is legal. @mask (num_actions flags) forbids actions at the root."""
        p = self._p
        mask = self._mask(mask)
        with contextlib.ExitStack() as stack:
            _hold_roots(stack, [root])
            key = self._root(root)
            action = c_int32(-1)
            status = _run(p, key, mask, byref(action))
        self._done(key, status)
        return None if action.value < 0 else action.value

    def advance(self, action):
        """Move the root to the child of @action (played by either side), keeping its subtree."""
        check(_advance(self._p, _lib.integer(action, "action")))

    def reset(self):
        """Empty the tree (after an undo or a new game)."""
        check(_reset(self._p))

    def root_stats(self):
        """RootStats(visits, priors, values, policy) of the latest run, lists of num_actions entries."""
        A = self.num_actions
        visits, priors, values, policy = (c_int32 * A)(), (c_float * A)(), (c_float * A)(), (c_float * A)()
        check(_root_stats(self._p, visits, priors, values, policy, A))
        return RootStats(list(visits), list(priors), list(values), list(policy))

    def root_value(self):
        """(value of the root for its player to move, simulations of the latest run)."""
        value, sims = c_float(), c_int32()
        check(_root_value(self._p, byref(value), byref(sims)))
        return value.value, sims.value

    def pv(self, max_length=64):
        """Principal variation: the most visited action at each node from the root."""
        max_length = _lib.integer(max_length, "max_length", 0, 1 << 20)
        out, length = (c_int32 * max(max_length, 1))(), c_size_t()
        check(_pv(self._p, out, max_length, byref(length)))
        return list(out[:length.value])


def _hold_roots(stack, roots):
    # A root that is a handle (a Game) is read by the model during the run.
    for root in roots:
        if isinstance(root, _lib.Handle):
            stack.enter_context(_lib.borrow(root, _lib.Handle, "root"))


def run_many(searches, roots, masks=None):
    """Run one search per root, stepped together so that every model call
    batches the leaves of all trees. All searches share one model. Returns
    the chosen actions (None where there is none)."""
    searches, roots = list(searches), list(roots)
    if not searches or len(searches) != len(roots):
        raise ValueError("need as many roots as searches, at least one")
    for s in searches:
        if not isinstance(s, Search):
            raise TypeError("searches must be Search objects, not %s" % type(s).__name__)
    owner = searches[0]._owner
    if any(s._owner is not owner for s in searches):
        raise ValueError("all searches of run_many() must share one model")
    if masks is not None:
        masks = list(masks)
        if len(masks) != len(searches):
            raise ValueError("need one mask (or None) per search")
    n = len(searches)
    with contextlib.ExitStack() as stack:
        # Held for the whole call: a callback closing any of them is refused.
        handles = (c_void_p * n)(*[stack.enter_context(_lib.borrow(s, Search, "search")) for s in searches])
        mask_arrays = [s._mask(masks[i]) if masks else None for i, s in enumerate(searches)]
        mask_ptrs = (POINTER(c_uint8) * n)(*[ctypes.cast(m, POINTER(c_uint8)) if m is not None else None
                                            for m in mask_arrays])
        _hold_roots(stack, roots)
        keys = [searches[i]._root(roots[i]) for i in range(n)]
        inputs = (c_void_p * n)(*keys)
        actions = (c_int32 * n)()
        status = _run_many(handles, n, inputs, mask_ptrs, actions)
    for key in keys[1:]:
        if isinstance(owner, _PythonModel):
            owner.drop_input(key)
    searches[0]._done(keys[0], status)
    return [None if a < 0 else a for a in actions]


__all__ = ["Search", "SearchOptions", "SearchModel", "SearchKind", "SearchFpu", "Evaluation", "RootStats", "search_options",
           "run_many"]
