"""Bindings of semiparam/embed.h: the embedder that turns Go positions into
d-dimensional keys (a PCA of the raw observation planes, or of one layer of a
trained model's activations), its `.spe` files, and the PCA itself.

    with Model.load("models/baseline.spm") as m, Dataset.load("games.spd") as ds:
        with Embedder.fit(m, ds, dim=64, sample=50000) as e:
            keys, games = e.embed_positions(ds, range(1000))
            e.save("baseline.spe")
    with Embedder.load("baseline.spe", model=m) as e:
        key = e.embed_games([game])

Keys come out as flat array('f') of count x dim floats (numpy arrays and
other float32 buffers go in, and can be given as outputs); the embedder's id
goes to the retriever of its keys (retriever_options(embedder_id=e.id)) and to
every query. A learned embedder borrows its model: the model must stay open
while the embedder lives (closing the model closes the embedder first).
"""
import array
import contextlib
import ctypes
import enum
from ctypes import POINTER, byref, c_char, c_char_p, c_double, c_float, c_int, c_int32, c_size_t, c_uint32, \
    c_uint64, c_void_p

from . import _lib
from ._lib import function
from .core import check

EMBEDDER_OPTIONS_VERSION = 1
EMBEDDER_INFO_VERSION = 1
#: SP_MODEL_LAYER_NAME_MAX: the longest layer name, with its NUL.
LAYER_NAME_MAX = 32
#: Rows one embed_planes()/embed_games() call takes at most (embed.h: n below 2^31).
MAX_ROWS = (1 << 31) - 1


class EmbedderKind(enum.IntEnum):
    """sp_embedder_kind: what an embedder reads."""
    RAW = 0  #: the observation planes, then a PCA
    LEARNED = 1  #: one layer of a trained model's activations, then a PCA


class EmbedderOptions(ctypes.Structure):
    """sp_embedder_options: how to fit an embedder; build with embedder_options()."""
    _c_name_ = "sp_embedder_options"
    _fields_ = [("version", c_uint32), ("kind", c_int32), ("layer", c_char_p), ("dim", c_uint32),
                ("history", c_int32), ("sample", c_uint64), ("batch", c_int32), ("threads", c_uint32),
                ("seed", c_uint64)]


class _EmbedderInfo(ctypes.Structure):
    _c_name_ = "sp_embedder_info"
    _fields_ = [("version", c_uint32), ("kind", c_int32), ("dim", c_uint32), ("input_dim", c_uint32),
                ("board_size", c_int32), ("history", c_int32), ("layer", c_char * LAYER_NAME_MAX),
                ("model_hash", c_uint64), ("id", c_uint64), ("explained_variance", c_double)]


_pca_train = function("sp_pca_train", c_int, [POINTER(c_void_p), POINTER(c_float), c_uint64, c_uint32, c_uint32,
                                              c_uint32])
_pca_free = function("sp_pca_free", None, [c_void_p])
_pca_apply = function("sp_pca_apply", c_int, [c_void_p, POINTER(c_float), c_uint64, c_uint32, POINTER(c_float)])
_pca_dim_in = function("sp_pca_dim_in", c_uint32, [c_void_p])
_pca_dim_out = function("sp_pca_dim_out", c_uint32, [c_void_p])
_pca_components = function("sp_pca_components", c_int, [c_void_p, POINTER(c_float), POINTER(c_float)])
_pca_id = function("sp_pca_id", c_uint64, [c_void_p])
_pca_save = function("sp_pca_save", c_int, [c_void_p, c_char_p])
_pca_load = function("sp_pca_load", c_int, [POINTER(c_void_p), c_char_p])
_position_planes = function("sp_pca_position_planes", c_int, [c_void_p, POINTER(c_uint64), c_uint64, c_int,
                                                               POINTER(c_float), c_size_t, POINTER(c_uint32)])
_position_keys = function("sp_pca_position_keys", c_int, [c_void_p, c_void_p, POINTER(c_uint64), c_uint64, c_int,
                                                           POINTER(c_float), POINTER(c_uint32)])
_options_init = function("sp_embedder_options_init", c_int, [POINTER(EmbedderOptions), c_uint32])
_fit = function("sp_embedder_fit", c_int, [POINTER(c_void_p), c_void_p, c_void_p, POINTER(EmbedderOptions)])
_from_pca = function("sp_embedder_from_pca", c_int, [POINTER(c_void_p), c_void_p, c_int32, c_int32])
_free = function("sp_embedder_free", None, [c_void_p])
_id = function("sp_embedder_id", c_uint64, [c_void_p])
_dim = function("sp_embedder_dim", c_uint32, [c_void_p])
_pca = function("sp_embedder_pca", c_void_p, [c_void_p])
_describe = function("sp_embedder_describe", c_int, [c_void_p, POINTER(_EmbedderInfo)])
_embed_planes = function("sp_embedder_embed_planes", c_int, [c_void_p, POINTER(c_float), c_uint64,
                                                              POINTER(c_float)])
_embed_games = function("sp_embedder_embed_games", c_int, [c_void_p, POINTER(c_void_p), c_uint64, POINTER(c_float)])
_embed_positions = function("sp_embedder_embed_positions", c_int, [c_void_p, c_void_p, POINTER(c_uint64), c_uint64,
                                                                    POINTER(c_float), POINTER(c_uint32)])
_save = function("sp_embedder_save", c_int, [c_void_p, c_char_p])
_load = function("sp_embedder_load", c_int, [POINTER(c_void_p), c_char_p, c_void_p])


def _rows(data, dim, name):
    """(ctypes float array, row count) of a float32 buffer or sequence holding whole rows of @dim."""
    try:
        with memoryview(data) as view:
            count = view.nbytes // view.itemsize if view.itemsize else 0
    except TypeError:
        count = len(data)
    if dim == 0 or count % dim:
        raise ValueError("%s holds %d values, not a multiple of the dimension %d" % (name, count, dim))
    return _lib.in_buffer(data, c_float, count, name), count // dim


def _output(out, count, name):
    """(the buffer returned, the ctypes view C writes): a new array('f') when @out is None."""
    if out is None:
        out = array.array("f", bytes(4 * count))
    return out, _lib.out_buffer(out, c_float, count, name)


def _borrow_dataset(dataset):
    from .dataset import Dataset
    return _lib.borrow(dataset, Dataset, "dataset")


def _model_class():
    from .model import Model
    return Model


def _register(child, model):
    """@child is closed before @model frees its C object (Model keeps such a list)."""
    register = getattr(model, "_register_dependent", None)
    if register:
        register(child)


def embedder_options(layer=None, **fields):
    """EmbedderOptions with the library's defaults, then @layer (a model layer
    name, None for "repr") and @fields (kind, dim, history, sample, batch,
    threads, seed)."""
    opts = _lib.new_options(EmbedderOptions)
    check(_options_init(byref(opts), EMBEDDER_OPTIONS_VERSION))
    if "kind" in fields:
        fields["kind"] = int(EmbedderKind(fields["kind"]))
    _lib.fill_options(opts, fields)
    opts._layer = _lib.text(layer, "layer", allow_none=True)  # kept alive with the struct
    opts.layer = opts._layer
    return opts


class Pca(_lib.Handle):
    """sp_pca: a trained PCA projection (FAISS PCAMatrix) from feature vectors to keys: y = A (x - mean)."""

    _free = _pca_free

    def __init__(self, samples, dim_in, dim_out, threads=0):
        """Train on @samples (count x @dim_in floats) to @dim_out dimensions."""
        x, n = _rows(samples, _lib.uint32(dim_in, "dim_in"), "samples")
        ptr = c_void_p()
        check(_pca_train(byref(ptr), x, n, dim_in, _lib.uint32(dim_out, "dim_out"), _lib.uint32(threads, "threads")))
        _lib.Handle.__init__(self, ptr.value)

    @classmethod
    def load(cls, path):
        """Open a .spp file."""
        ptr = c_void_p()
        check(_pca_load(byref(ptr), _lib.path(path)))
        p = cls.__new__(cls)
        _lib.Handle.__init__(p, ptr.value)
        return p

    def apply(self, data, out=None):
        """Project count x dim_in floats; returns array('f') of count x dim_out (or fills @out)."""
        x, n = _rows(data, self.dim_in, "data")
        out, out_c = _output(out, n * self.dim_out, "out")
        check(_pca_apply(self._p, x, n, self.dim_in, out_c))
        return out

    def components(self):
        """(mean, matrix): array('f') of dim_in floats and of dim_out x dim_in
        floats (row-major), so that apply(x) is matrix (x - mean)."""
        mean = array.array("f", bytes(4 * self.dim_in))
        matrix = array.array("f", bytes(4 * self.dim_in * self.dim_out))
        check(_pca_components(self._p, _lib.out_buffer(mean, c_float, self.dim_in, "mean"),
                              _lib.out_buffer(matrix, c_float, self.dim_in * self.dim_out, "matrix")))
        return mean, matrix

    def save(self, path):
        """Write a .spp file atomically."""
        check(_pca_save(self._p, _lib.path(path)))

    def position_keys(self, dataset, positions, history=8):
        """Keys of dataset @positions: (array('f') of count x dim_out, array('I') of game ids)."""
        n = len(positions)
        keys = array.array("f", bytes(4 * n * self.dim_out))
        games = array.array("I", bytes(4 * n))
        with _borrow_dataset(dataset) as ds:
            check(_position_keys(self._p, ds, _lib.in_buffer(positions, c_uint64, n, "positions"), n,
                                 _lib.integer(history, "history"), _lib.out_buffer(keys, c_float, n * self.dim_out),
                                 _lib.out_buffer(games, c_uint32, n, "games")))
        return keys, games

    @property
    def dim_in(self):
        return _pca_dim_in(self._p)

    @property
    def dim_out(self):
        return _pca_dim_out(self._p)

    @property
    def id(self):
        """A hash of the matrix; the id of the raw embedder made from it (Embedder.from_pca)."""
        return _pca_id(self._p)


def _no_free(pointer):
    """An embedder's PCA belongs to the embedder, which frees it."""


class _EmbedderPca(Pca):
    """The PCA inside an embedder (sp_embedder_pca): usable while the embedder is open."""

    _free = staticmethod(_no_free)

    def __init__(self, embedder, pointer):
        _lib.Handle.__init__(self, pointer)
        self._parent = embedder


def position_planes(dataset, positions, history=8):
    """Raw observation planes of dataset @positions: (array('f') of count x
    planes x size x size, array('I') of game ids)."""
    from .go import plane_count
    n = len(positions)
    size = dataset.board_size
    count = n * plane_count(history) * size * size
    out = array.array("f", bytes(4 * count))
    games = array.array("I", bytes(4 * n))
    with _borrow_dataset(dataset) as ds:
        check(_position_planes(ds, _lib.in_buffer(positions, c_uint64, n, "positions"), n,
                               _lib.integer(history, "history"), _lib.out_buffer(out, c_float, count), count,
                               _lib.out_buffer(games, c_uint32, n, "games")))
    return out, games


class Embedder(_lib.Handle):
    """sp_embedder: the key (and query) function of the paper, position ->
    dim floats. Immutable once made: any number of threads may embed at once."""

    _free = _free

    def __init__(self, *args, **kwargs):
        raise TypeError("make an Embedder with Embedder.fit(), Embedder.from_pca() or Embedder.load()")

    @classmethod
    def _wrap(cls, pointer, model):
        e = cls.__new__(cls)
        _lib.Handle.__init__(e, pointer)  # owns the pointer from here: a failure below frees it
        e.model = model
        if model is not None:
            e._parent = model
            _register(e, model)
        info = e._info()
        e._kind = EmbedderKind(info.kind)
        e._planes_per_row = info.board_size * info.board_size * _plane_count(info.history)
        e._board_size = info.board_size
        return e

    @classmethod
    def fit(cls, model, dataset, kind=None, layer=None, options=None, **fields):
        """Fit on a sample of @dataset's training positions. @model: a trained
        Model for a learned embedder, None for a raw one; @kind defaults to
        what @model says (EmbedderKind.LEARNED with a model, RAW without).
        @layer the model layer read (None: "repr"); @fields: dim, history (raw),
        sample, batch, threads, seed. Or give a whole EmbedderOptions as @options."""
        if options is None:
            if kind is None:
                kind = EmbedderKind.RAW if model is None else EmbedderKind.LEARNED
            options = embedder_options(layer, kind=kind, **fields)
        elif not isinstance(options, EmbedderOptions):
            raise TypeError("options must be an EmbedderOptions, not %s" % type(options).__name__)
        elif fields or kind is not None or layer is not None:
            raise TypeError("give either options or keyword fields, not both")
        ptr = c_void_p()
        with contextlib.ExitStack() as stack:
            mp = stack.enter_context(_lib.borrow(model, _model_class(), "model")) if model is not None else None
            dp = stack.enter_context(_borrow_dataset(dataset))
            check(_fit(byref(ptr), mp, dp, byref(options)))
        return cls._wrap(ptr.value, model)

    @classmethod
    def from_pca(cls, pca, board_size, history):
        """The raw-plane embedder of an existing Pca (copied) over
        plane_count(@history) x @board_size^2 planes; its id is pca.id."""
        ptr = c_void_p()
        with _lib.borrow(pca, Pca, "pca") as pp:
            check(_from_pca(byref(ptr), pp, _lib.integer(board_size, "board_size"), _lib.integer(history, "history")))
        return cls._wrap(ptr.value, None)

    @classmethod
    def load(cls, path, model=None):
        """Open a .spe file. A learned embedder needs the Model it was made
        from (MisuseError without it or with another); a raw one takes none."""
        ptr = c_void_p()
        if model is None:
            check(_load(byref(ptr), _lib.path(path), None))
        else:
            with _lib.borrow(model, _model_class(), "model") as mp:
                check(_load(byref(ptr), _lib.path(path), mp))
        return cls._wrap(ptr.value, model)

    def save(self, path):
        """Write a .spe file atomically (the model is not in it, only its content hash)."""
        check(_save(self._p, _lib.path(path)))

    def _info(self):
        info = _EmbedderInfo()
        info.version = EMBEDDER_INFO_VERSION
        check(_describe(self._p, byref(info)))
        return info

    def describe(self):
        """What the embedder is: a dict of kind (EmbedderKind), dim, input_dim,
        board_size, history, layer ("" for raw), model_hash (0 for raw), id and
        explained_variance (share of the fitting sample's variance the keys keep)."""
        info = self._info()
        return {"kind": EmbedderKind(info.kind), "dim": info.dim, "input_dim": info.input_dim,
                "board_size": info.board_size, "history": info.history, "layer": info.layer.decode(),
                "model_hash": info.model_hash, "id": info.id, "explained_variance": info.explained_variance}

    @property
    def id(self):
        """A hash of what the embedder computes: equal ids, equal keys. Give it
        as embedder_id to the retriever of its keys and to every query."""
        return _id(self._p)

    @property
    def dim(self):
        """Key dimension d."""
        return _dim(self._p)

    @property
    def kind(self):
        return self._kind

    @property
    def board_size(self):
        return self._board_size

    @property
    def pca(self):
        """The embedder's Pca (its components() recompute keys by hand); valid while the embedder is open."""
        return _EmbedderPca(self, _pca(self._p))

    def embed_planes(self, planes, out=None):
        """Keys of n observations: @planes holds n x plane_count(history) x
        size x size floats (Game.planes(history) is one). Returns n x dim
        floats as array('f'), or fills the float32 buffer @out."""
        x, n = _rows(planes, self._planes_per_row, "planes")
        if n == 0 or n > MAX_ROWS:
            raise ValueError("planes hold %d observations: 1..%d per call" % (n, MAX_ROWS))
        out, out_c = _output(out, n * self.dim, "out")
        check(_embed_planes(self._p, x, n, out_c))
        return out

    def embed_games(self, games, out=None):
        """Keys of the current positions of @games (Game objects of the
        embedder's board size), as embed_planes()."""
        from .go import Game
        games = list(games)
        n = len(games)
        if n == 0 or n > MAX_ROWS:
            raise ValueError("%d games: 1..%d per call" % (n, MAX_ROWS))
        out, out_c = _output(out, n * self.dim, "out")
        with contextlib.ExitStack() as stack:
            pointers = (c_void_p * n)(*[stack.enter_context(_lib.borrow(g, Game, "games[%d]" % i))
                                        for i, g in enumerate(games)])
            check(_embed_games(self._p, pointers, n, out_c))
        return out

    def embed_positions(self, dataset, positions, out=None):
        """Keys of @dataset's @positions (position ids in any order; sorted is
        fastest), on the threads the embedder was fitted with. Returns (keys:
        count x dim floats in input order, game_ids: array('I'))."""
        positions = positions if hasattr(positions, "__len__") else list(positions)
        if isinstance(positions, range):
            positions = array.array("Q", positions)
        n = len(positions)
        if n == 0:
            raise ValueError("no positions to embed")
        out, out_c = _output(out, n * self.dim, "out")
        games = array.array("I", bytes(4 * n))
        with _borrow_dataset(dataset) as ds:
            check(_embed_positions(self._p, ds, _lib.in_buffer(positions, c_uint64, n, "positions"), n, out_c,
                                   _lib.out_buffer(games, c_uint32, n, "game_ids")))
        return out, games

    def __repr__(self):
        if self.closed:
            return "<semiparam.Embedder closed>"
        return "<semiparam.Embedder %s, %dx%d, dim %d, id %016x>" % (
            self._kind.name.lower(), self._board_size, self._board_size, self.dim, self.id)


def _plane_count(history):
    from .go import plane_count
    return plane_count(history)


__all__ = ["EMBEDDER_INFO_VERSION", "EMBEDDER_OPTIONS_VERSION", "Embedder", "EmbedderKind", "EmbedderOptions",
           "LAYER_NAME_MAX", "Pca", "embedder_options", "position_planes"]
