"""Bindings of semiparam/retriever.h: the FAISS key index with position and
game ids (half and game exclusion, online add, .spi files) and the neighbour
pre-computation file. (The PCA and position planes are embed.h's, bound in
semiparam.embed; Pca and position_planes are re-exported here.)

Keys are float32 buffers of count x dim values (array.array('f'), numpy
float32 arrays, or sequences of numbers); ids are ints. Searches return
array.array results, row-major count x k, or fill caller buffers.
"""
import array
import ctypes
import enum
from ctypes import POINTER, byref, c_char, c_char_p, c_double, c_float, c_int, c_size_t, c_uint32, c_uint64, c_void_p

from . import _lib
from ._lib import function
from .core import check
# The PCA moved to embed.h with the embedder; retriever.Pca and
# retriever.position_planes stay importable from here for existing code.
from .embed import Pca, position_planes  # noqa: F401

RETRIEVER_OPTIONS_VERSION = 1
RETRIEVER_QUERY_VERSION = 2
#: The id written where fewer than k neighbours qualify.
NO_ID = (1 << 64) - 1
NO_GAME = (1 << 32) - 1
#: RetrieverQuery.max_codes: scan the probed lists whole (no budget).
ALL_CODES = (1 << 32) - 1


class Exclude(enum.IntFlag):
    """sp_retriever_exclude: which keys a query may not return."""
    NONE = 0
    OWN_HALF = 1
    GAME = 2


class LoadFlags(enum.IntFlag):
    """sp_retriever_load_flags."""
    NONE = 0
    MMAP = 1


class RetrieverOptions(ctypes.Structure):
    """sp_retriever_options; build with retriever_options() so that `version` and the defaults are set."""
    _c_name_ = "sp_retriever_options"
    _fields_ = [("version", c_uint32), ("halves", c_uint32), ("factory", c_char_p), ("embedder_id", c_uint64),
                ("train_size", c_uint64), ("batch_size", c_uint64), ("threads", c_uint32),
                ("default_nprobe", c_uint32), ("seed", c_uint64)]


class RetrieverQuery(ctypes.Structure):
    """sp_retriever_query; build with retriever_query()."""
    _c_name_ = "sp_retriever_query"
    _fields_ = [("version", c_uint32), ("nprobe", c_uint32), ("rerank", c_uint32), ("exclude", c_uint32),
                ("game_ids", POINTER(c_uint32)), ("embedder_id", c_uint64), ("threads", c_uint32),
                ("max_codes", c_uint32)]


_options_init = function("sp_retriever_options_init", c_int, [POINTER(RetrieverOptions), c_uint32])
_query_init = function("sp_retriever_query_init", c_int, [POINTER(RetrieverQuery), c_uint32])
_default_factory = function("sp_retriever_default_factory", c_int, [c_uint32, c_uint64, POINTER(c_char), c_size_t])
_create = function("sp_retriever_create", c_int, [POINTER(c_void_p), c_uint32, c_uint64, POINTER(RetrieverOptions)])
_free = function("sp_retriever_free", None, [c_void_p])
_train = function("sp_retriever_train", c_int, [c_void_p, POINTER(c_float), c_uint64, c_uint32])
_add = function("sp_retriever_add", c_int, [c_void_p, POINTER(c_float), POINTER(c_uint64), POINTER(c_uint32),
                                            c_uint64, c_uint32])
_build = function("sp_retriever_build", c_int, [POINTER(c_void_p), POINTER(c_float), POINTER(c_uint64),
                                                POINTER(c_uint32), c_uint64, c_uint32, POINTER(RetrieverOptions)])
_dim = function("sp_retriever_dim", c_uint32, [c_void_p])
_count = function("sp_retriever_count", c_uint64, [c_void_p])
_half_count = function("sp_retriever_half_count", c_uint64, [c_void_p, c_uint32])
_halves = function("sp_retriever_halves", c_uint32, [c_void_p])
_embedder_id = function("sp_retriever_embedder_id", c_uint64, [c_void_p])
_factory = function("sp_retriever_factory", c_char_p, [c_void_p])
_bytes_per_key = function("sp_retriever_bytes_per_key", c_double, [c_void_p])
_game_half = function("sp_retriever_game_half", c_uint32, [c_uint32])
_search = function("sp_retriever_search", c_int, [c_void_p, POINTER(c_float), c_uint64, c_uint32, c_uint32,
                                                  POINTER(RetrieverQuery), POINTER(c_uint64), POINTER(c_float),
                                                  POINTER(c_uint32)])
_save = function("sp_retriever_save", c_int, [c_void_p, c_char_p])
_load = function("sp_retriever_load", c_int, [POINTER(c_void_p), c_char_p, c_uint32, POINTER(RetrieverOptions)])
_precompute = function("sp_retriever_precompute", c_int, [c_void_p, POINTER(c_float), POINTER(c_uint64),
                                                          POINTER(c_uint32), c_uint64, c_uint32, c_uint32,
                                                          POINTER(RetrieverQuery), c_char_p])
_ids = function("sp_retriever_ids", c_int, [c_void_p, c_uint32, POINTER(c_uint64), POINTER(c_uint32), c_size_t,
                                            POINTER(c_size_t)])
_nb_open = function("sp_neighbours_open", c_int, [POINTER(c_void_p), c_char_p])
_nb_free = function("sp_neighbours_free", None, [c_void_p])
_nb_count = function("sp_neighbours_count", c_uint64, [c_void_p])
_nb_k = function("sp_neighbours_k", c_uint32, [c_void_p])
_nb_embedder_id = function("sp_neighbours_embedder_id", c_uint64, [c_void_p])
_nb_row = function("sp_neighbours_row", c_int, [c_void_p, c_uint64, POINTER(c_uint64), POINTER(c_uint64),
                                                POINTER(c_float)])


def retriever_options(factory=None, **fields):
    """RetrieverOptions with the library's defaults, then @factory (a FAISS
    factory string) and @fields (halves, embedder_id, train_size, batch_size,
    threads, default_nprobe, seed)."""
    opts = _lib.new_options(RetrieverOptions)
    check(_options_init(byref(opts), RETRIEVER_OPTIONS_VERSION))
    _lib.fill_options(opts, fields)
    opts._factory = _lib.text(factory, "factory", allow_none=True)  # kept alive with the struct
    opts.factory = opts._factory
    return opts


def retriever_query(game_ids=None, count=None, **fields):
    """RetrieverQuery with the defaults, then @fields (nprobe, rerank, exclude,
    embedder_id, threads, max_codes: codes scanned per query at most, 0 for
    twice nprobe average lists, ALL_CODES for no budget) and, for exclusions,
    the queries' @game_ids (@count of them)."""
    q = _lib.new_options(RetrieverQuery)
    check(_query_init(byref(q), RETRIEVER_QUERY_VERSION))
    _lib.fill_options(q, fields)
    if game_ids is not None:
        if count is None:
            count = len(game_ids)
        q._games = _lib.in_buffer(game_ids, c_uint32, count, "game_ids")
        q.game_ids = ctypes.cast(q._games, POINTER(c_uint32))
    return q


def _query_ref(query, rows):
    """byref(@query) for a search of @rows query rows: C reads one game id per
    row from query.game_ids, so an array of another length never reaches it."""
    if not isinstance(query, RetrieverQuery):
        raise TypeError("query must be a RetrieverQuery (see retriever_query()), not %s" % type(query).__name__)
    address = ctypes.cast(query.game_ids, c_void_p).value
    if address:
        games = getattr(query, "_games", None)
        if games is None or ctypes.addressof(games) != address:
            raise ValueError("query.game_ids was not set by retriever_query(): its length cannot be checked")
        if len(games) != rows:
            raise ValueError("query.game_ids holds %d game ids for %d query rows" % (len(games), rows))
    return byref(query)


def default_factory(dim, count):
    """The FAISS factory string sp_retriever_create() picks for @count keys of dimension @dim."""
    buf = ctypes.create_string_buffer(128)
    check(_default_factory(_lib.uint32(dim, "dim"), _lib.uint64(count, "count"), buf, len(buf)))
    return buf.value.decode()


def game_half(game_id):
    """Half (0 or 1) that holds the keys of game @game_id in a two-half retriever."""
    return _game_half(_lib.uint32(game_id, "game_id"))


def _rows(data, dim, name):
    """(ctypes float array, row count) of a float32 key buffer or sequence of dim-multiples."""
    try:
        n = memoryview(data).nbytes // 4
    except TypeError:
        n = len(data)
    if dim == 0 or n % dim:
        raise ValueError("%s holds %d values, not a multiple of the dimension %d" % (name, n, dim))
    return _lib.in_buffer(data, c_float, n, name), n // dim


class Retriever(_lib.Handle):
    """sp_retriever: a FAISS key index with per-key position and game ids.
    Searches may run from many threads at once (also during add())."""

    _free = _free

    def __init__(self, dim, expected_count=0, options=None, **fields):
        """An empty retriever for keys of dimension @dim; train() it, then add()."""
        opts = options if options is not None else retriever_options(**fields)
        ptr = c_void_p()
        check(_create(byref(ptr), _lib.uint32(dim, "dim"), _lib.uint64(expected_count, "expected_count"),
                      byref(opts)))
        _lib.Handle.__init__(self, ptr.value)

    @classmethod
    def _wrap(cls, pointer):
        r = cls.__new__(cls)
        _lib.Handle.__init__(r, pointer)
        return r

    @classmethod
    def build(cls, keys, position_ids, game_ids, dim, options=None, **fields):
        """Create, train on a sample and add all keys (sp_retriever_build)."""
        k, n = _rows(keys, _lib.uint32(dim, "dim"), "keys")
        ptr = c_void_p()
        opts = options if options is not None else retriever_options(**fields)
        check(_build(byref(ptr), k, _lib.in_buffer(position_ids, c_uint64, n, "position_ids"),
                     _lib.in_buffer(game_ids, c_uint32, n, "game_ids"), n, dim, byref(opts)))
        return cls._wrap(ptr.value)

    @classmethod
    def load(cls, path, flags=0, options=None):
        """Open a .spi file (checked section by section). Raises FormatError, FileIOError or VersionError."""
        ptr = c_void_p()
        opts = byref(options) if options is not None else None
        check(_load(byref(ptr), _lib.path(path), _lib.uint32(int(flags), "flags"), opts))
        return cls._wrap(ptr.value)

    def train(self, keys, dim=None):
        """Train the quantizers on sample @keys."""
        dim = self.dim if dim is None else dim
        k, n = _rows(keys, dim, "keys")
        check(_train(self._p, k, n, dim))

    def add(self, keys, position_ids, game_ids, dim=None):
        """Add keys with their ids (online growth works after load too)."""
        dim = self.dim if dim is None else dim
        k, n = _rows(keys, dim, "keys")
        check(_add(self._p, k, _lib.in_buffer(position_ids, c_uint64, n, "position_ids"),
                   _lib.in_buffer(game_ids, c_uint32, n, "game_ids"), n, dim))

    def search(self, queries, k, query=None, dim=None, **fields):
        """The @k nearest keys of each query: (ids, distances, games), three
        array.array of count*k entries (NO_ID / inf / NO_GAME where fewer qualify).
        @query is a RetrieverQuery, or give its fields (nprobe, rerank, exclude,
        game_ids, embedder_id, threads, max_codes) as keywords."""
        dim = self.dim if dim is None else dim
        x, n = _rows(queries, dim, "queries")
        k = _lib.uint32(k, "k")
        if query is None:
            query = retriever_query(count=n, **fields)
        elif fields:
            raise TypeError("give either query or keyword fields, not both")
        query_ref = _query_ref(query, n)
        ids = array.array("Q", bytes(8 * n * k))
        dist = array.array("f", bytes(4 * n * k))
        games = array.array("I", bytes(4 * n * k))
        check(_search(self._p, x, n, dim, k, query_ref, _lib.out_buffer(ids, c_uint64, n * k, "ids"),
                      _lib.out_buffer(dist, c_float, n * k, "distances"),
                      _lib.out_buffer(games, c_uint32, n * k, "games")))
        return ids, dist, games

    def save(self, path):
        """Write a .spi file atomically."""
        check(_save(self._p, _lib.path(path)))

    def precompute(self, keys, position_ids, game_ids, k, path, query=None, dim=None):
        """Write the .spn neighbour file of these positions (other half / other games)."""
        dim = self.dim if dim is None else dim
        x, n = _rows(keys, dim, "keys")
        q = byref(query) if query is not None else None
        check(_precompute(self._p, x, _lib.in_buffer(position_ids, c_uint64, n, "position_ids"),
                          _lib.in_buffer(game_ids, c_uint32, n, "game_ids"), n, dim, _lib.uint32(k, "k"), q,
                          _lib.path(path)))

    def ids(self, half=0):
        """(position ids, game ids) held by @half, as array.array('Q') and array.array('I')."""
        n = self.half_count(half)
        pos = array.array("Q", bytes(8 * n))
        games = array.array("I", bytes(4 * n))
        check(_ids(self._p, _lib.uint32(half, "half"), _lib.out_buffer(pos, c_uint64, n, "pos") if n else None,
                   _lib.out_buffer(games, c_uint32, n, "games") if n else None, n, None))
        return pos, games

    @property
    def dim(self):
        return _dim(self._p)

    @property
    def count(self):
        return _count(self._p)

    def half_count(self, half):
        return _half_count(self._p, _lib.uint32(half, "half"))

    @property
    def halves(self):
        return _halves(self._p)

    @property
    def embedder_id(self):
        return _embedder_id(self._p)

    @property
    def factory(self):
        return _factory(self._p).decode()

    @property
    def bytes_per_key(self):
        return _bytes_per_key(self._p)


class Neighbours(_lib.Handle):
    """sp_neighbours: an opened .spn pre-computed neighbour file."""

    _free = _nb_free

    def __init__(self, path):
        ptr = c_void_p()
        check(_nb_open(byref(ptr), _lib.path(path)))
        _lib.Handle.__init__(self, ptr.value)

    def __len__(self):
        return _nb_count(self._p)

    @property
    def k(self):
        return _nb_k(self._p)

    @property
    def embedder_id(self):
        """Id of the embedder whose keys found the neighbours."""
        return _nb_embedder_id(self._p)

    def row(self, index):
        """(position id, list of k neighbour ids, list of k squared distances) of row @index."""
        k = self.k
        pid = c_uint64()
        ids = (c_uint64 * k)()
        dist = (c_float * k)()
        check(_nb_row(self._p, _lib.uint64(index, "index"), byref(pid), ids, dist))
        return pid.value, list(ids), [float(d) for d in dist]


__all__ = ["ALL_CODES", "Exclude", "LoadFlags", "NO_ID", "NO_GAME", "Neighbours", "Pca", "Retriever",
           "RetrieverOptions", "RetrieverQuery", "default_factory", "game_half", "position_planes",
           "retriever_options", "retriever_query"]
