"""Bindings of semiparam/dataset.h: game records to training data (SGF import
with filters and deduplication, the .spd file, splits by game, neighbour
planes, the batch sampler).

Game ids and position ids are ints; actions are points and size*size for pass.
"""
import array
import collections
import ctypes
import enum
from ctypes import (POINTER, byref, c_char, c_char_p, c_float, c_int, c_int32, c_size_t, c_uint8, c_uint32,
                    c_uint64, c_void_p)

from . import _lib
from ._lib import function
from .core import PROGRESS_FN, Status, check, progress_thunk
from .go import Game, plane_count

RESULT_KIND_COUNT = 9
SKIP_REASON_COUNT = 10
NEIGHBOUR_PLANES = 17
NEIGHBOUR_ACTIONS = 5
IMPORT_DEFAULT_RESULTS = 0xFE
IMPORT_DEFAULT_OWNERSHIP_PLAYOUTS = 64
GAME_BLACK_PROVISIONAL = 1
GAME_WHITE_PROVISIONAL = 2
GAME_OWNERSHIP_ESTIMATED = 4
GAME_OWNERSHIP_MONTE_CARLO = 8
# Versions of the structs below as they mirror them (sp_X_VERSION of dataset.h).
IMPORT_OPTIONS_VERSION = 2
IMPORT_REPORT_VERSION = 1
DATASET_GAME_INFO_VERSION = 1
SPLIT_OPTIONS_VERSION = 1
SAMPLER_OPTIONS_VERSION = 3
BATCH_VERSION = 1


class ResultKind(enum.IntEnum):
    """sp_result_kind: how a game ended."""
    NONE = 0
    SCORE = 1
    RESIGN = 2
    TIME = 3
    ILLEGAL = 4
    DRAW = 5
    FORFEIT = 6
    OTHER = 7
    VOID = 8


class SkipReason(enum.IntEnum):
    """sp_skip_reason: why an import dropped a game."""
    BROKEN = 0
    BOARD_SIZE = 1
    NO_MOVES = 2
    ILLEGAL = 3
    UNSUPPORTED = 4
    DUPLICATE = 5
    RATING = 6
    KOMI = 7
    RESULT = 8
    TOO_LONG = 9


class Part(enum.IntEnum):
    """sp_dataset_part: subsets of a dataset's positions."""
    ALL = 0
    TRAIN = 1
    TEST = 2
    HALF0 = 3
    HALF1 = 4


class GameText(enum.IntEnum):
    """sp_game_text: text fields of a stored game."""
    BLACK = 0
    WHITE = 1
    DATE = 2
    SOURCE = 3


class ImportOptions(ctypes.Structure):
    """sp_import_options; build with import_options()."""
    _c_name_ = "sp_import_options"
    _fields_ = [("version", c_uint32), ("min_rating", c_float), ("komi_min", c_float), ("komi_max", c_float),
                ("result_kinds", c_uint32), ("dedup", c_int32), ("max_games", c_uint64),
                ("progress", PROGRESS_FN), ("progress_payload", c_void_p),
                ("ownership_playouts", c_uint32)]  # version 2


class ImportReport(ctypes.Structure):
    """sp_import_report: what imports did (counts add up over calls sharing it)."""
    _c_name_ = "sp_import_report"
    _fields_ = [("version", c_uint32), ("files", c_uint64), ("bytes", c_uint64), ("games_read", c_uint64),
                ("games_added", c_uint64), ("positions_added", c_uint64),
                ("skipped", c_uint64 * SKIP_REASON_COUNT), ("results", c_uint64 * RESULT_KIND_COUNT)]

    def __init__(self):
        super().__init__(IMPORT_REPORT_VERSION)

    def skipped_by_reason(self):
        """{SkipReason: count} of the reasons that dropped games."""
        return {SkipReason(i): n for i, n in enumerate(self.skipped) if n}

    def __repr__(self):
        return "<ImportReport files=%d games_read=%d added=%d positions=%d skipped=%s>" % (
            self.files, self.games_read, self.games_added, self.positions_added,
            {r.name.lower(): n for r, n in self.skipped_by_reason().items()})


class GameInfo(ctypes.Structure):
    """sp_dataset_game_info: one stored game's summary."""
    _c_name_ = "sp_dataset_game_info"
    _fields_ = [("version", c_uint32), ("moves", c_uint32), ("first_position", c_uint64), ("result_kind", c_int32),
                ("winner", c_int32), ("margin", c_float), ("komi", c_float), ("black_rating", c_float),
                ("white_rating", c_float), ("flags", c_uint32), ("first_color", c_int32), ("key", c_uint64)]


class SplitOptions(ctypes.Structure):
    """sp_split_options; build with split_options()."""
    _c_name_ = "sp_split_options"
    _fields_ = [("version", c_uint32), ("seed", c_uint64), ("test_fraction", c_float), ("keep_fraction", c_float)]


class SamplerOptions(ctypes.Structure):
    """sp_sampler_options; build with sampler_options()."""
    _c_name_ = "sp_sampler_options"
    _fields_ = [("version", c_uint32), ("seed", c_uint64), ("part", c_int32), ("history", c_int32),
                ("unroll", c_int32), ("symmetries", c_int32), ("threads", c_int32), ("split", SplitOptions),
                ("min_rating", c_float), ("positions", POINTER(c_uint64)), ("position_count", c_uint64)]


class BatchStruct(ctypes.Structure):
    """sp_batch: caller-owned arrays of one batch (Sampler.next() fills one for you)."""
    _c_name_ = "sp_batch"
    _fields_ = [("version", c_uint32), ("size", c_int32), ("planes", POINTER(c_float)), ("actions", POINTER(c_int32)),
                ("policy", POINTER(c_float)), ("value", POINTER(c_float)), ("mask", POINTER(c_uint8)),
                ("positions", POINTER(c_uint64)), ("symmetry", POINTER(c_int32))]


_P = POINTER(c_void_p)
_result_kind_name = function("sp_result_kind_name", c_char_p, [c_int])
_skip_reason_name = function("sp_skip_reason_name", c_char_p, [c_int])
_result_parse = function("sp_result_parse", c_int, [c_char_p, POINTER(c_int), POINTER(c_int), POINTER(c_float)])
_create = function("sp_dataset_create", c_int, [_P, c_int])
_load = function("sp_dataset_load", c_int, [_P, c_char_p])
_load_memory = function("sp_dataset_load_memory", c_int, [_P, c_void_p, c_size_t])
_free = function("sp_dataset_free", None, [c_void_p])
_save = function("sp_dataset_save", c_int, [c_void_p, c_char_p])
_import_options_init = function("sp_import_options_init", c_int, [POINTER(ImportOptions), c_uint32])
_import = function("sp_dataset_import", c_int, [c_void_p, c_char_p, POINTER(ImportOptions), POINTER(ImportReport)])
_import_memory = function("sp_dataset_import_memory", c_int, [c_void_p, POINTER(c_char), c_size_t, c_char_p,
                                                              POINTER(ImportOptions), POINTER(ImportReport)])
_add_game = function("sp_dataset_add_game", c_int, [c_void_p, c_void_p, c_char_p, c_int, POINTER(c_uint64)])
_copy_game = function("sp_dataset_copy_game", c_int, [c_void_p, c_void_p, c_uint64])
_board_size = function("sp_dataset_board_size", c_int, [c_void_p])
_game_count = function("sp_dataset_game_count", c_uint64, [c_void_p])
_position_count = function("sp_dataset_position_count", c_uint64, [c_void_p])
_game_info = function("sp_dataset_game_info_get", c_int, [c_void_p, c_uint64, POINTER(GameInfo)])
_game_text = function("sp_dataset_game_text", c_int, [c_void_p, c_uint64, c_int, POINTER(c_char), c_size_t])
_game_moves = function("sp_dataset_game_moves", c_int, [c_void_p, c_uint64, POINTER(c_int32), c_size_t,
                                                         POINTER(c_size_t)])
_game_replay = function("sp_dataset_game_replay", c_int, [c_void_p, c_uint64, c_int, _P])
_position_locate = function("sp_dataset_position_locate", c_int, [c_void_p, c_uint64, POINTER(c_uint64),
                                                                  POINTER(c_uint32)])
_split_options_init = function("sp_split_options_init", c_int, [POINTER(SplitOptions), c_uint32])
_game_part = function("sp_dataset_game_part", c_int, [c_void_p, c_uint64, POINTER(SplitOptions), POINTER(c_int)])
_position_kept = function("sp_dataset_position_kept", c_int, [c_void_p, c_uint64, POINTER(SplitOptions),
                                                              POINTER(c_int)])
_positions = function("sp_dataset_positions", c_int, [c_void_p, c_int, POINTER(SplitOptions), POINTER(c_uint64),
                                                      c_size_t, POINTER(c_size_t)])
_neighbour_planes = function("sp_dataset_neighbour_planes", c_int, [c_void_p, c_uint64, c_int, POINTER(c_float),
                                                                    c_size_t])
_game_ownership = function("sp_dataset_game_ownership", c_int, [c_void_p, c_uint64, POINTER(c_uint8), c_size_t])
_sampler_options_init = function("sp_sampler_options_init", c_int, [POINTER(SamplerOptions), c_uint32])
_sampler_create = function("sp_sampler_create", c_int, [_P, c_void_p, POINTER(SamplerOptions)])
_sampler_free = function("sp_sampler_free", None, [c_void_p])
_sampler_position_count = function("sp_sampler_position_count", c_uint64, [c_void_p])
_sampler_next = function("sp_sampler_next", c_int, [c_void_p, POINTER(BatchStruct)])


def result_kind_name(kind):
    """Static name of a ResultKind ("score", "resign", ...)."""
    return _result_kind_name(_lib.integer(kind, "kind")).decode()


def skip_reason_name(reason):
    """Static name of a SkipReason ("broken", "board-size", ...)."""
    return _skip_reason_name(_lib.integer(reason, "reason")).decode()


def result_parse(text):
    """(ResultKind, winner Color value, margin or NaN) of an SGF RE value."""
    kind, winner, margin = c_int(), c_int(), c_float()
    check(_result_parse(_lib.text(text, "text"), byref(kind), byref(winner), byref(margin)))
    return ResultKind(kind.value), winner.value, margin.value


def _options(cls, init, version, fields):
    opts = _lib.new_options(cls)
    check(init(byref(opts), version))
    return _lib.fill_options(opts, fields)


def import_options(**fields):
    """ImportOptions with the defaults, then @fields (min_rating, komi_min,
    komi_max, result_kinds, dedup, max_games, ownership_playouts: playouts of
    the Monte-Carlo final ownership of uncounted games, 0 = last board's area)."""
    if "progress" in fields or "progress_payload" in fields:
        raise TypeError("pass progress= to Dataset.import_file()/import_text() instead")
    return _options(ImportOptions, _import_options_init, IMPORT_OPTIONS_VERSION, fields)


def split_options(**fields):
    """SplitOptions with the defaults, then @fields (seed, test_fraction, keep_fraction)."""
    return _options(SplitOptions, _split_options_init, SPLIT_OPTIONS_VERSION, fields)


def sampler_options(split=None, **fields):
    """SamplerOptions with the defaults, then @fields (seed, part, history,
    unroll, symmetries, threads, min_rating) and @split (a SplitOptions)."""
    opts = _options(SamplerOptions, _sampler_options_init, SAMPLER_OPTIONS_VERSION, fields)
    if split is not None:
        opts.split = _split_arg(split)
    return opts


def _split_arg(split):
    if split is None:
        return None
    if not isinstance(split, SplitOptions):
        raise TypeError("split must be a SplitOptions (see split_options()), not %s" % type(split).__name__)
    return split


def _split_ref(split):
    split = _split_arg(split)
    return None if split is None else byref(split)


class Dataset(_lib.Handle):
    """sp_dataset: games of one board size and their position index, in
    memory or mapped from a .spd file. Reading may run from many threads;
    adding and saving need exclusive access. Closing it closes its samplers."""

    _free = _free

    def __init__(self, board_size=9):
        """An empty dataset for games on a board of @board_size."""
        size = _lib.integer(board_size, "board_size")
        ptr = c_void_p()
        check(_create(byref(ptr), size))
        self._init(ptr.value)

    def _init(self, pointer, keep=None):
        _lib.Handle.__init__(self, pointer)
        self._keep = keep  # the bytes of load_memory(), which the dataset reads in place
        self._samplers = _lib.Dependents()

    @classmethod
    def load(cls, path):
        """Open a .spd file (mapped, fully checked). Raises FileIOError,
        FormatError (with the failed check) or VersionError."""
        ptr = c_void_p()
        check(_load(byref(ptr), _lib.path(path)))
        ds = cls.__new__(cls)
        ds._init(ptr.value)
        return ds

    @classmethod
    def load_memory(cls, data):
        """Open a .spd image held in @data (bytes-like); the dataset keeps a copy alive."""
        if isinstance(data, str) or not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("data must be bytes-like, not %s" % type(data).__name__)
        buf = ctypes.create_string_buffer(bytes(data), len(data))
        ptr = c_void_p()
        check(_load_memory(byref(ptr), buf, len(data)))
        ds = cls.__new__(cls)
        ds._init(ptr.value, keep=buf)
        return ds

    def _close_dependents(self):
        # They read this dataset's memory: they go first.
        samplers = self.__dict__.get("_samplers")
        if samplers is not None:
            samplers.close_all()

    def save(self, path):
        """Write every game to @path as .spd (temporary name, then rename)."""
        check(_save(self._p, _lib.path(path)))

    # -- import ---------------------------------------------------------

    def _import(self, call, options, progress, report, fields):
        if options is None:
            options = import_options(**fields)
        elif not isinstance(options, ImportOptions):
            raise TypeError("options must be ImportOptions, not %s" % type(options).__name__)
        elif fields:
            raise TypeError("give either options or keyword fields, not both")
        if report is None:
            report = ImportReport()
        elif not isinstance(report, ImportReport):
            raise TypeError("report must be an ImportReport, not %s" % type(report).__name__)
        errors = []
        thunk = None
        if progress is not None:
            thunk = progress_thunk(progress, errors)
            options.progress = thunk
        try:
            status = call(byref(options), byref(report))
        finally:
            if thunk is not None:
                options.progress = PROGRESS_FN()
        if status < 0 and errors:
            raise errors[0]
        check(status)
        return report

    def import_file(self, path, options=None, progress=None, report=None, **fields):
        """Import the games of an SGF file, collection, .xz/.gz, or a directory
        of them. @progress(task, done_bytes, total_bytes) may cancel by
        returning true. Counts go to (and are added to) @report; returns it."""
        p, path = self._p, _lib.path(path)
        return self._import(lambda o, r: _import(p, path, o, r), options, progress, report, fields)

    def import_text(self, data, source=None, options=None, report=None, **fields):
        """Import the game trees of SGF text (str or bytes) named @source."""
        p = self._p
        if isinstance(data, str):
            data = data.encode("utf-8")
        elif not isinstance(data, (bytes, bytearray)):
            raise TypeError("data must be str or bytes, not %s" % type(data).__name__)
        data = bytes(data)
        source = _lib.text(source, "source", allow_none=True)
        buf = ctypes.cast(c_char_p(data), POINTER(c_char))
        return self._import(lambda o, r: _import_memory(p, buf, len(data), source, o, r), options, None, report,
                            fields)

    def add_game(self, game, source=None, dedup=True):
        """Append a Game (its moves, komi and record information); returns its id.
        MisuseError for a duplicate when @dedup."""
        out = c_uint64()
        source = _lib.text(source, "source", allow_none=True)
        with _lib.borrow(game, Game, "game") as game_p:
            check(_add_game(self._p, game_p, source, 1 if dedup else 0, byref(out)))
        return out.value

    def copy_game(self, src, game):
        """Append game @game of Dataset @src (same board size)."""
        with _lib.borrow(src, Dataset, "src") as src_p:
            check(_copy_game(self._p, src_p, self._game_arg(game, src)))

    # -- reading --------------------------------------------------------

    @property
    def board_size(self):
        return _board_size(self._p)

    @property
    def game_count(self):
        return _game_count(self._p)

    @property
    def position_count(self):
        return _position_count(self._p)

    def _game_arg(self, game, ds=None):
        game = _lib.uint64(game, "game")
        count = (ds or self).game_count
        if game >= count:
            raise IndexError("game %d outside 0..%d" % (game, count - 1))
        return game

    def _position_arg(self, position):
        position = _lib.uint64(position, "position")
        if position >= self.position_count:
            raise IndexError("position %d outside 0..%d" % (position, self.position_count - 1))
        return position

    def game_info(self, game):
        """GameInfo of game @game."""
        out = GameInfo()
        out.version = DATASET_GAME_INFO_VERSION
        check(_game_info(self._p, self._game_arg(game), byref(out)))
        return out

    def game_text(self, game, field):
        """Text field (GameText) of game @game; "" when absent."""
        game, field = self._game_arg(game), _lib.integer(field, "field")
        size = 64
        while True:
            buf = ctypes.create_string_buffer(size)
            status = _game_text(self._p, game, field, buf, size)
            if status != Status.BUFFER_TOO_SMALL or size > (1 << 24):
                break
            size *= 4
        check(status)
        return buf.value.decode("utf-8", "replace")

    def game_moves(self, game):
        """Actions of game @game as a list."""
        game = self._game_arg(game)
        count = c_size_t()
        status = _game_moves(self._p, game, None, 0, byref(count))
        if status not in (Status.OK, Status.BUFFER_TOO_SMALL):
            check(status)
        out = (c_int32 * max(count.value, 1))()
        check(_game_moves(self._p, game, out, count.value, byref(count)))
        return list(out[:count.value])

    def game_replay(self, game, moves=-1):
        """Game @game rebuilt as a Game after its first @moves moves (-1: all)."""
        ptr = c_void_p()
        check(_game_replay(self._p, self._game_arg(game), _lib.integer(moves, "moves"), byref(ptr)))
        return Game._adopt(ptr.value)

    def position_locate(self, position):
        """(game id, move number) of position @position."""
        game, move = c_uint64(), c_uint32()
        check(_position_locate(self._p, self._position_arg(position), byref(game), byref(move)))
        return game.value, move.value

    # -- splits ---------------------------------------------------------

    def game_part(self, game, split=None):
        """Part.TEST, Part.HALF0 or Part.HALF1 of game @game under @split (SplitOptions; None: defaults)."""
        out = c_int()
        check(_game_part(self._p, self._game_arg(game), _split_ref(split), byref(out)))
        return Part(out.value)

    def position_kept(self, position, split=None):
        """Whether position @position survives sub-sampling."""
        out = c_int()
        check(_position_kept(self._p, self._position_arg(position), _split_ref(split), byref(out)))
        return bool(out.value)

    def positions(self, part=Part.ALL, split=None):
        """Kept position ids of @part in increasing order, as array('Q')."""
        part = _lib.integer(part, "part")
        split = _split_ref(split)
        count = c_size_t()
        status = _positions(self._p, part, split, None, 0, byref(count))
        if status not in (Status.OK, Status.BUFFER_TOO_SMALL):
            check(status)
        out = array.array("Q", bytes(8 * count.value))
        if count.value:
            check(_positions(self._p, part, split, _lib.out_buffer(out, c_uint64, count.value), count.value,
                             byref(count)))
        return out

    # -- neighbour metadata ---------------------------------------------

    def neighbour_planes(self, position, symmetry=0, out=None):
        """The 17 neighbour planes (see dataset.h) of position @position turned
        by @symmetry, as a flat array('f') or into @out (a float32 buffer)."""
        count = NEIGHBOUR_PLANES * self.board_size ** 2
        if out is None:
            out = array.array("f", bytes(4 * count))
        check(_neighbour_planes(self._p, self._position_arg(position), _lib.integer(symmetry, "symmetry"),
                                _lib.out_buffer(out, c_float, count), count))
        return out

    def game_ownership(self, game, out=None):
        """Final area ownership of game @game (Colors) as a list, or into @out (a uint8 buffer)."""
        area = self.board_size ** 2
        buf = (c_uint8 * area)() if out is None else _lib.out_buffer(out, c_uint8, area)
        check(_game_ownership(self._p, self._game_arg(game), buf, area))
        return list(buf) if out is None else out

    def __repr__(self):
        if self.closed:
            return "<semiparam.Dataset closed>"
        return "<semiparam.Dataset %dx%d, %d games, %d positions>" % (
            self.board_size, self.board_size, self.game_count, self.position_count)


Batch = collections.namedtuple("Batch", "planes actions policy value mask positions symmetry")


class Sampler(_lib.Handle):
    """sp_sampler: draws training positions of one part uniformly and fills
    batches, reproducibly. Keeps its Dataset alive; one thread at a time."""

    _free = _sampler_free

    def __init__(self, dataset, options=None, positions=None, **fields):
        """@options (SamplerOptions) or keyword @fields; @positions, when
        given, the position ids to draw from (of those the part and filters
        keep), e.g. the rows of a neighbour file."""
        if options is None:
            options = sampler_options(**fields)
        elif not isinstance(options, SamplerOptions):
            raise TypeError("options must be SamplerOptions, not %s" % type(options).__name__)
        elif fields:
            raise TypeError("give either options or keyword fields, not both")
        if positions is not None:
            ids = (c_uint64 * len(positions))(*positions)  # the sampler copies them at create
            options = SamplerOptions.from_buffer_copy(options)
            options.positions = ctypes.cast(ids, POINTER(c_uint64))
            options.position_count = len(positions)
        ptr = c_void_p()
        with _lib.borrow(dataset, Dataset, "dataset") as p:
            check(_sampler_create(byref(ptr), p, byref(options)))
        super().__init__(ptr.value)
        self.dataset = self._parent = dataset
        self.history, self.unroll = options.history, options.unroll
        dataset._samplers.add(self)

    @property
    def position_count(self):
        return _sampler_position_count(self._p)

    def next(self, size, planes=None, actions=None, policy=None, value=None, mask=None, positions=None,
             symmetry=None):
        """Fill the next batch of @size samples and return it as a Batch of
        arrays. Each output may be given as a buffer to fill (e.g. numpy arrays
        of the shapes in dataset.h), None to get a new array, or False to skip
        it (not planes)."""
        size = _lib.integer(size, "size", 1, 1 << 20)
        area = self.dataset.board_size ** 2
        A, K = area + 1, self.unroll
        shapes = (("planes", planes, c_float, "f", plane_count(self.history) * area),
                  ("actions", actions, c_int32, "i", K), ("policy", policy, c_float, "f", (K + 1) * A),
                  ("value", value, c_float, "f", K + 1), ("mask", mask, c_uint8, "B", K + 1),
                  ("positions", positions, c_uint64, "Q", 1), ("symmetry", symmetry, c_int32, "i", 1))
        batch = BatchStruct()
        batch.version, batch.size = BATCH_VERSION, size
        results = []
        for name, given, ctype, code, per_sample in shapes:
            if given is False:
                if name == "planes":
                    raise ValueError("planes cannot be skipped")
                results.append(None)
                continue
            count = size * per_sample
            if given is None:
                given = array.array(code, bytes(ctypes.sizeof(ctype) * count))
            setattr(batch, name, ctypes.cast(_lib.out_buffer(given, ctype, count, name), POINTER(ctype)))
            results.append(given)
        check(_sampler_next(self._p, byref(batch)))
        return Batch(*results)
