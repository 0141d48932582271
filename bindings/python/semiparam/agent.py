"""Bindings of semiparam/agent.h: the agent, a position in and a move out. It
looks up the neighbours of the position (a retrieval model), searches over
its model and plays, keeping the tree from move to move; it reports what it
found; and it remembers finished games in its retrieval set.

    with Model.load("models/baseline.spm") as m, Agent(m, simulations=100) as agent, Game(9) as g:
        while not g.is_over:
            g.play(agent.genmove(g))
            print(agent.report().value, agent.top_moves(3))

An agent is built from one of three models: a retrieval model (N > 0) with
its embedder, the retriever over the retrieval set and the dataset the
retriever's ids are positions of; a model without neighbours (the
baseline), alone; or no model, for random playouts on the options' board
size. Moves are go.py's (points, PASS). The agent borrows every handle it is
given: each must stay open while the agent is used (a call on an agent whose
model, embedder, retriever or dataset was closed raises ValueError), and
closing the model closes the agent first. add_game() grows the dataset and
the retriever; save them (Dataset.save(), Retriever.save()) to keep the set.
One call at a time on an agent.
"""
import contextlib
import ctypes
from ctypes import POINTER, byref, c_char_p, c_double, c_float, c_int, c_int32, c_int64, c_size_t, c_uint32, \
    c_uint64, c_void_p

from . import _lib
from . import go
from . import search
from ._lib import function
from .core import check
from .dataset import NEIGHBOUR_ACTIONS, Dataset
from .embed import Embedder
from .go import Game
from .model import Model
from .retriever import Retriever

AGENT_OPTIONS_VERSION = 3
AGENT_REPORT_VERSION = 1
AGENT_NEIGHBOUR_VERSION = 1
#: What AgentNeighbour.next_moves holds past its game's end.
NO_NEXT_MOVE = -2


class AgentOptions(ctypes.Structure):
    """sp_agent_options: how the agent searches; build with agent_options()."""
    _c_name_ = "sp_agent_options"
    _fields_ = [("version", c_uint32), ("simulations", c_int32), ("kind", c_int32), ("mode", c_int32),
                ("threads", c_int32), ("batch", c_int32), ("fpu", c_int32), ("playouts", c_int32),
                ("board_size", c_int32), ("nprobe", c_uint32), ("temperature", c_float), ("seconds", c_double),
                ("seed", c_uint64), ("zero_neighbours", c_int32), ("per_node_neighbours", c_int32),
                ("temperature_moves", c_int32)]


class AgentReport(ctypes.Structure):
    """sp_agent_report: what the latest genmove() found and how long each stage took (Agent.report())."""
    _c_name_ = "sp_agent_report"
    _fields_ = [("version", c_uint32), ("move", c_int32), ("simulations", c_int32), ("reused", c_int32),
                ("value", c_float), ("neighbours", c_int32), ("queries", c_int64), ("seconds", c_double),
                ("seconds_embed", c_double), ("seconds_retrieve", c_double), ("seconds_search", c_double)]

    def __repr__(self):
        return ("<AgentReport move=%d simulations=%d reused=%d value=%.3f neighbours=%d queries=%d seconds=%.4f "
                "(embed %.4f, retrieve %.4f, search %.4f)>"
                % (self.move, self.simulations, self.reused, self.value, self.neighbours, self.queries,
                   self.seconds, self.seconds_embed, self.seconds_retrieve, self.seconds_search))


class AgentNeighbour(ctypes.Structure):
    """sp_agent_neighbour: one neighbour retrieved for the latest root (Agent.neighbour())."""
    _c_name_ = "sp_agent_neighbour"
    _fields_ = [("version", c_uint32), ("position", c_uint64), ("game", c_uint64), ("move_number", c_int32),
                ("distance", c_float), ("outcome", c_int32), ("next_moves", c_int32 * NEIGHBOUR_ACTIONS)]

    def __repr__(self):
        return "<AgentNeighbour position=%d game=%d move_number=%d distance=%g outcome=%d next_moves=%s>" % (
            self.position, self.game, self.move_number, self.distance, self.outcome, list(self.next_moves))


_options_init = function("sp_agent_options_init", c_int, [POINTER(AgentOptions), c_uint32])
_create = function("sp_agent_create", c_int, [POINTER(c_void_p), c_void_p, c_void_p, c_void_p, c_void_p,
                                              POINTER(AgentOptions)])
_free = function("sp_agent_free", None, [c_void_p])
_board_size = function("sp_agent_board_size", c_int, [c_void_p])
_neighbours = function("sp_agent_neighbours", c_int, [c_void_p])
_genmove = function("sp_agent_genmove", c_int, [c_void_p, c_void_p, c_double, POINTER(c_int32)])
_report_init = function("sp_agent_report_init", c_int, [POINTER(AgentReport), c_uint32])
_report_get = function("sp_agent_report_get", c_int, [c_void_p, POINTER(AgentReport)])
_agent_search = function("sp_agent_search", c_void_p, [c_void_p])
_neighbour_init = function("sp_agent_neighbour_init", c_int, [POINTER(AgentNeighbour), c_uint32])
_neighbour_get = function("sp_agent_neighbour_get", c_int, [c_void_p, c_int32, POINTER(AgentNeighbour)])
_add_game = function("sp_agent_add_game", c_int, [c_void_p, c_void_p, c_char_p, POINTER(c_uint64)])


def agent_options(**fields):
    """AgentOptions with the library's defaults (sp_agent_options_init), then
    @fields: simulations, kind (SearchKind), mode (ModelSearchMode), threads,
    batch, fpu (SearchFpu), playouts and board_size (without a model), nprobe,
    temperature, seconds, seed, zero_neighbours (1: a retrieval model as its
    equal-capacity baseline, every x_i = 0, no retrieval), per_node_neighbours
    (1: in rules mode every real position searched retrieves its own
    neighbours; 0, the default: the root's serve them all, one retrieval per
    move), temperature_moves (with a temperature, only the game's first this
    many moves are drawn; 0, the default: every move)."""
    opts = _lib.new_options(AgentOptions)
    check(_options_init(byref(opts), AGENT_OPTIONS_VERSION))
    return _lib.fill_options(opts, fields)


class Agent(_lib.Handle):
    """sp_agent: the move loop over a model (or random playouts), with the
    retrieval of a retrieval model and the report of each move."""

    _free = _free
    # The hold of the borrowed handles runs outside the guard it implements.
    _unguarded = _lib.Handle._unguarded | frozenset(("_hold", "_release"))
    _borrowed = ()

    def __init__(self, model=None, embedder=None, retriever=None, dataset=None, options=None, **fields):
        """sp_agent_create. @model: a Model, or None for random playouts; a
        retrieval model (options.neighbours > 0) also needs @embedder (the
        Embedder it was trained with), @retriever (the Retriever of the
        retrieval set, made with that embedder) and @dataset (the Dataset its
        ids are positions of), which any other agent refuses
        (InvalidArgumentError). @options (AgentOptions) or keyword @fields
        (simulations=..., mode=ModelSearchMode.LEARNED, threads=..., ...)."""
        if options is None:
            options = agent_options(**fields)
        elif not isinstance(options, AgentOptions):
            raise TypeError("options must be an AgentOptions, not %s" % type(options).__name__)
        elif fields:
            raise TypeError("give either options or keyword fields, not both")
        handles = ((model, Model, "model"), (embedder, Embedder, "embedder"), (retriever, Retriever, "retriever"),
                   (dataset, Dataset, "dataset"))
        ptr = c_void_p()
        with contextlib.ExitStack() as stack:
            # Held for the call: none of them can be closed while C reads it.
            pointers = [stack.enter_context(_lib.borrow(h, cls, name)) if h is not None else None
                        for h, cls, name in handles]
            check(_create(byref(ptr), *pointers, byref(options)))
        self.model, self.embedder, self.retriever, self.dataset = model, embedder, retriever, dataset
        self._borrowed = tuple(h for h, _, _ in handles if h is not None)
        super().__init__(ptr.value)
        self._size = _board_size(ptr.value)
        self._options = AgentOptions.from_buffer_copy(options)
        # The model closes the agent (whose tree holds states of the model's
        # search payload) before it frees itself.
        register = getattr(model, "_register_dependent", None)
        if register:
            register(self)

    def _hold(self):
        """Mark every borrowed handle, then the agent, in use; ValueError when any is closed."""
        held = []
        try:
            for h in self._borrowed:
                h._hold()
                held.append(h)
            super()._hold()
        except BaseException:
            for h in reversed(held):
                h._release()
            raise

    def _release(self):
        super()._release()
        for h in reversed(self._borrowed):
            h._release()

    @property
    def options(self):
        """The options the agent was made with (a copy)."""
        return AgentOptions.from_buffer_copy(self._options)

    @property
    def board_size(self):
        """sp_agent_board_size: the board the agent plays (the model's, else options.board_size)."""
        return _board_size(self._p)

    @property
    def neighbours(self):
        """sp_agent_neighbours: N, the neighbours retrieved for each position; 0 without retrieval."""
        return _neighbours(self._p)

    def genmove(self, game, seconds=0.0):
        """sp_agent_genmove: the move (a point or PASS) for the side to move in
        @game (a Game of the agent's board size; not changed), searched for
        @seconds at most (0 or less: the options' limits). PASS when the game
        is over. While @game continues the game of the previous call the search
        keeps the subtree of the moves played since."""
        seconds = _lib.real(seconds, "seconds", finite=True)
        move = c_int32()
        with _lib.borrow(game, Game, "game") as game_p:
            check(_genmove(self._p, game_p, seconds, byref(move)))
        return move.value

    def report(self):
        """sp_agent_report_get: the AgentReport of the latest genmove() (its
        move, simulations, reused visits, value, neighbours shown, queries and
        seconds per stage); an empty report (move PASS) before any."""
        out = _lib.new_options(AgentReport)
        check(_report_init(byref(out), AGENT_REPORT_VERSION))
        check(_report_get(self._p, byref(out)))
        return out

    def neighbour(self, index):
        """sp_agent_neighbour_get: AgentNeighbour @index (0 = nearest) of the
        latest root: its position and game ids, move number, squared distance,
        outcome for its side to move and next moves. InvalidArgumentError for
        an index outside 0..report().neighbours - 1."""
        index = _lib.integer(index, "index")
        out = _lib.new_options(AgentNeighbour)
        check(_neighbour_init(byref(out), AGENT_NEIGHBOUR_VERSION))
        check(_neighbour_get(self._p, index, byref(out)))
        return out

    def root_neighbours(self):
        """The latest root's neighbours, nearest first (a list of AgentNeighbour; empty without retrieval)."""
        return [self.neighbour(i) for i in range(self.report().neighbours)]

    def _latest_search(self):
        """sp_agent_search: the latest search, None when the latest genmove()
        ran none (the game was over, a failure, or nothing yet: the C search
        then holds no results and would refuse the reading)."""
        if self.report().simulations <= 0:
            return None
        return _agent_search(self._p)

    def _move(self, action):
        return go.PASS if action == self._size ** 2 else action

    def top_moves(self, count=10):
        """The latest search's most visited root moves, at most @count (None:
        all visited): a list of (move, visits, prior, value), by visits then
        prior, value the mean for the side to move (sp_search_root_stats on
        sp_agent_search). Their visits sum to report().simulations +
        report().reused when @count covers them all; [] when the latest
        genmove() searched nothing."""
        if count is not None:
            count = _lib.integer(count, "count", 0)
        s = self._latest_search()
        if s is None:
            return []
        A = self._size ** 2 + 1
        visits, priors, values = (c_int32 * A)(), (c_float * A)(), (c_float * A)()
        check(search._root_stats(s, visits, priors, values, None, A))
        moves = sorted(((self._move(a), visits[a], priors[a], values[a]) for a in range(A) if visits[a] > 0),
                       key=lambda m: (-m[1], -m[2]))
        return moves if count is None else moves[:count]

    def principal_variation(self, max_length=64):
        """The latest search's principal variation as moves (sp_search_pv on
        sp_agent_search): the root's chosen move, then the most visited move at
        each node; [] when the latest genmove() searched nothing."""
        max_length = _lib.integer(max_length, "max_length", 0, 1 << 20)
        s = self._latest_search()
        if s is None:
            return []
        out, length = (c_int32 * max(max_length, 1))(), c_size_t()
        check(search._pv(s, out, max_length, byref(length)))
        return [self._move(a) for a in out[:length.value]]

    def add_game(self, game, source=None):
        """sp_agent_add_game: add @game (a Game from the empty board of the
        agent's size, with moves and no set-up stones) to the dataset and each
        of its positions' keys to the retriever; the next search can retrieve
        them. @source is stored with the game. Returns its game id.
        MisuseError on an agent without retrieval."""
        source = _lib.text(source, "source", allow_none=True)
        out = c_uint64()
        with _lib.borrow(game, Game, "game") as game_p:
            check(_add_game(self._p, game_p, source, byref(out)))
        return out.value

    def __repr__(self):
        if self.closed:
            return "<semiparam.Agent closed>"
        kind = ("playouts" if self.model is None else "model" if self.dataset is None
                else "retrieval, N = %d" % self.model._options.neighbours)
        return "<semiparam.Agent %dx%d, %s, %d simulations>" % (self._size, self._size, kind,
                                                                self._options.simulations)


__all__ = ["Agent", "AgentNeighbour", "AgentOptions", "AgentReport", "NO_NEXT_MOVE", "agent_options"]
