"""Bindings of semiparam/model.h: the learned model (a MuZero-style network
trained inside the library), its `.spm` files and its inference.

    with Model(board_size=9, channels=32) as m:
        m.save("m.spm")
    with Model.load("m.spm") as m, Game(9) as g:
        state, logits, value = m.initial(g.planes(m.options.history))
        state, logits, value = m.recurrent(state, [40])
        [l.name for l in m.layers()]  # ["repr", "repr.block1", ..., "value.hidden"]
        keys = m.activations(g.planes(m.options.history), layer="repr.block3")

Arrays go in as float32 buffers (array.array('f'), numpy arrays) or
sequences of numbers, and come out as flat array('f') unless an output
buffer is given. Inference may run on several threads at once; creating,
loading into, saving and closing need the model to themselves.
(The searcher-model part of model.h is semiparam.model_search.)
"""
import array
import collections
import ctypes
import enum
from ctypes import (POINTER, byref, c_char, c_char_p, c_float, c_int, c_int32, c_size_t, c_uint32, c_uint64,
                    c_void_p)

from . import _lib
from ._lib import function
from .core import check
# model.h's searcher part is bound in model_search.py; its version is model.h's too.
from .model_search import MODEL_SEARCH_OPTIONS_VERSION, ModelSearchMode, ModelSearchModel  # noqa: F401
from .nn import NnOptions

MODEL_OPTIONS_VERSION = 2
#: SP_NEIGHBOUR_PLANES: planes of one retrieved neighbour (dataset.h).
NEIGHBOUR_PLANES = 17
MODEL_INFO_VERSION = 1
MODEL_LAYER_VERSION = 1
#: SP_MODEL_LAYER_NAME_MAX: the longest layer name, with its NUL.
LAYER_NAME_MAX = 32
MAX_BATCH = 65536


class ValueKind(enum.IntEnum):
    """sp_value_kind: the value head."""
    TANH = 0  #: one scalar through tanh, trained by MSE against the outcome


class ModelOptions(ctypes.Structure):
    """sp_model_options (the architecture); build with model_options()."""
    _c_name_ = "sp_model_options"
    _fields_ = [("version", c_uint32), ("board_size", c_int32), ("history", c_int32), ("channels", c_int32),
                ("repr_blocks", c_int32), ("dyn_blocks", c_int32), ("policy_channels", c_int32),
                ("value_channels", c_int32), ("value_hidden", c_int32), ("value_kind", c_int32),
                ("neighbours", c_int32), ("neighbour_channels", c_int32), ("neighbour_blocks", c_int32)]


class _ModelInfo(ctypes.Structure):
    _c_name_ = "sp_model_info"
    _fields_ = [("version", c_uint32), ("input_planes", c_int32), ("num_actions", c_int32),
                ("state_size", c_int32), ("parameters", c_uint64), ("flops_initial", c_uint64),
                ("flops_recurrent", c_uint64), ("content_hash", c_uint64)]


class _ModelLayer(ctypes.Structure):
    _c_name_ = "sp_model_layer"
    _fields_ = [("version", c_uint32), ("name", c_char * LAYER_NAME_MAX), ("channels", c_int32),
                ("height", c_int32), ("width", c_int32), ("size", c_uint64)]


#: One entry of Model.layers() (see sp_model_layer): size = channels x height x width floats per position.
ModelLayer = collections.namedtuple("ModelLayer", ["name", "channels", "height", "width", "size"])

#: What Model.describe() returns (see sp_model_info).
ModelInfo = collections.namedtuple("ModelInfo", ["input_planes", "num_actions", "state_size", "parameters",
                                                 "flops_initial", "flops_recurrent", "content_hash"])

_options_init = function("sp_model_options_init", c_int, [POINTER(ModelOptions), c_uint32])
_create = function("sp_model_create", c_int, [POINTER(c_void_p), POINTER(ModelOptions), POINTER(NnOptions)])
_load = function("sp_model_load", c_int, [POINTER(c_void_p), c_char_p, POINTER(NnOptions)])
_load_into = function("sp_model_load_into", c_int, [c_void_p, c_char_p])
_save = function("sp_model_save", c_int, [c_void_p, c_char_p])
_free = function("sp_model_free", None, [c_void_p])
_get_options = function("sp_model_get_options", c_int, [c_void_p, POINTER(ModelOptions)])
_describe = function("sp_model_describe", c_int, [c_void_p, POINTER(_ModelInfo)])
_initial = function("sp_model_initial", c_int, [c_void_p, POINTER(c_float), c_int32, POINTER(c_float),
                                                 POINTER(c_float), POINTER(c_float)])
_layer_count = function("sp_model_layer_count", c_int32, [c_void_p])
_layer_info = function("sp_model_layer_info", c_int, [c_void_p, c_int32, POINTER(_ModelLayer)])
_activations = function("sp_model_activations", c_int, [c_void_p, c_char_p, POINTER(c_float), c_int32,
                                                         POINTER(c_float), c_size_t])
_initial_neighbours = function("sp_model_initial_neighbours", c_int,
                               [c_void_p, POINTER(c_float), POINTER(c_float), c_int32, POINTER(c_float),
                                POINTER(c_float), POINTER(c_float)])
_initial_ids = function("sp_model_initial_ids", c_int, [c_void_p, POINTER(c_float), c_void_p, POINTER(c_uint64),
                                                       c_int32, POINTER(c_float), POINTER(c_float), POINTER(c_float)])
_set_embedder = function("sp_model_set_embedder", c_int, [c_void_p, c_uint64])
_embedder_id = function("sp_model_embedder_id", c_uint64, [c_void_p])
_check_retrieval = function("sp_model_check_retrieval", c_int, [c_void_p, c_uint64, c_int32])
_recurrent = function("sp_model_recurrent", c_int, [c_void_p, POINTER(c_float), POINTER(c_int32), c_int32,
                                                     POINTER(c_float), POINTER(c_float), POINTER(c_float)])


def model_options(**fields):
    """ModelOptions with the library's defaults, then @fields (board_size,
    history, channels, repr_blocks, dyn_blocks, policy_channels,
    value_channels, value_hidden, value_kind, neighbours, neighbour_channels,
    neighbour_blocks). neighbours > 0 makes the retrieval model of the
    paper's Eq. 2."""
    opts = _lib.new_options(ModelOptions)
    check(_options_init(byref(opts), MODEL_OPTIONS_VERSION))
    return _lib.fill_options(opts, fields)


def _nn_arg(nn):
    if nn is None:
        return None
    if not isinstance(nn, NnOptions):
        raise TypeError("nn must be an NnOptions (semiparam.nn.nn_options()), not %s" % type(nn).__name__)
    return byref(nn)


def _element_count(data, name):
    """Elements in a buffer or a sequence of numbers."""
    try:
        with memoryview(data) as view:
            return view.nbytes // view.itemsize if view.itemsize else 0
    except TypeError:
        if isinstance(data, (str, bytes)) or not hasattr(data, "__len__"):
            raise TypeError("%s must be a sequence of numbers or a buffer, not %s" % (name, type(data).__name__))
        return len(data)


def _rows(data, per_row, name):
    """The rows (n) @data holds, @per_row elements each: 1..MAX_BATCH of them."""
    count = _element_count(data, name)
    if count == 0 or count % per_row:
        raise ValueError("%s holds %d elements: not a whole number of rows of %d" % (name, count, per_row))
    n = count // per_row
    if n > MAX_BATCH:
        raise ValueError("%s holds %d rows, at most %d per call" % (name, n, MAX_BATCH))
    return n


def _output(out, count, name):
    """(the buffer returned, the ctypes view C writes)."""
    if out is None:
        out = array.array("f", bytes(4 * count))
    return out, _lib.out_buffer(out, c_float, count, name)


class Model(_lib.Handle):
    """sp_model: a model's parameters, the network that runs them and its
    inference workspaces. Create one (Model(...) or Model.create(...)) with
    fresh parameters from nn.seed, or Model.load() a `.spm` file (sp-train's
    output or checkpoint). Closing it first closes what borrows it (searcher
    views, trainers)."""

    _free = _free

    def __init__(self, options=None, nn=None, **fields):
        """@options (ModelOptions) or keyword @fields (board_size=9, channels=64, ...);
        @nn an NnOptions (backend, threads, precision, seed) or None for the defaults."""
        if options is None:
            options = model_options(**fields)
        elif not isinstance(options, ModelOptions):
            raise TypeError("options must be a ModelOptions, not %s" % type(options).__name__)
        elif fields:
            raise TypeError("give either options or keyword fields, not both")
        ptr = c_void_p()
        check(_create(byref(ptr), byref(options), _nn_arg(nn)))
        self._init(ptr.value)

    def _init(self, pointer):
        super().__init__(pointer)
        self._dependents = _lib.Dependents()
        options = ModelOptions()
        options.version = MODEL_OPTIONS_VERSION
        check(_get_options(pointer, byref(options)))
        self._options = options
        info = _ModelInfo()
        info.version = MODEL_INFO_VERSION
        check(_describe(pointer, byref(info)))
        self._plane_floats = info.input_planes * (info.num_actions - 1)
        self._state_floats = info.state_size
        self._actions = info.num_actions
        self._layers = []
        for i in range(_layer_count(pointer)):
            layer = _ModelLayer()
            layer.version = MODEL_LAYER_VERSION
            check(_layer_info(pointer, i, byref(layer)))
            self._layers.append(ModelLayer(layer.name.decode("utf-8"), layer.channels, layer.height, layer.width,
                                           layer.size))

    @classmethod
    def create(cls, options=None, nn=None, **fields):
        """The same as Model(@options, @nn, **@fields)."""
        return cls(options, nn, **fields)

    @classmethod
    def load(cls, path, nn=None):
        """A model read from the `.spm` file at @path (its architecture comes
        from the file; a trainer's checkpoint loads too)."""
        ptr = c_void_p()
        check(_load(byref(ptr), _lib.path(path), _nn_arg(nn)))
        model = cls.__new__(cls)
        model._init(ptr.value)  # owns the pointer from its first line: a failure frees it
        return model

    def _close_dependents(self):
        dependents = self.__dict__.get("_dependents")
        if dependents is not None:
            dependents.close_all()

    def _register_dependent(self, child):
        """@child (a trainer, a searcher view) is closed before this model is freed."""
        self._dependents.add(child)

    _register_search = _register_dependent

    def load_into(self, path):
        """Read the parameters of the `.spm` file at @path into this model,
        whose architecture must be the file's (FormatError naming the field
        that differs, the model then unchanged)."""
        check(_load_into(self._p, _lib.path(path)))

    def save(self, path):
        """Write the model (architecture and parameters) to @path atomically."""
        check(_save(self._p, _lib.path(path)))

    @property
    def options(self):
        """The architecture (a copy of the model's ModelOptions)."""
        return ModelOptions.from_buffer_copy(self._options)

    def describe(self):
        """ModelInfo: sizes, trained parameters, FLOPs per position, content hash."""
        info = _ModelInfo()
        info.version = MODEL_INFO_VERSION
        check(_describe(self._p, byref(info)))
        return ModelInfo(info.input_planes, info.num_actions, info.state_size, info.parameters,
                         info.flops_initial, info.flops_recurrent, info.content_hash)

    @property
    def num_actions(self):
        return self._actions

    @property
    def state_size(self):
        return self._state_floats

    def initial(self, planes, state=None, logits=None, value=None):
        """Initial inference of n observations: @planes holds n x
        input_planes x size x size floats (Game.planes(history) is one).
        Returns (state, logits, value): n x state_size, n x num_actions and n
        floats, in flat array('f') or in the float32 buffers given."""
        n = _rows(planes, self._plane_floats, "planes")
        src = _lib.in_buffer(planes, c_float, n * self._plane_floats, "planes")
        state, state_c = _output(state, n * self._state_floats, "state")
        logits, logits_c = _output(logits, n * self._actions, "logits")
        value, value_c = _output(value, n, "value")
        check(_initial(self._p, src, n, state_c, logits_c, value_c))
        return state, logits, value

    def initial_neighbours(self, planes, neighbours, state=None, logits=None, value=None):
        """Initial inference of a retrieval model (options.neighbours = N > 0)
        over n observations (@planes as in initial()) and their neighbours:
        @neighbours holds n x N x NEIGHBOUR_PLANES x size x size floats
        (Dataset.neighbour_planes() of each), or None for all zeros (the
        baseline: initial() does the same). Returns what initial() does."""
        n = _rows(planes, self._plane_floats, "planes")
        src = _lib.in_buffer(planes, c_float, n * self._plane_floats, "planes")
        nbr = None
        if neighbours is not None:
            per = max(self._options.neighbours, 1) * NEIGHBOUR_PLANES * (self._actions - 1)
            if _element_count(neighbours, "neighbours") != n * per:
                raise ValueError("neighbours holds %d floats, %d observations need %d" % (
                    _element_count(neighbours, "neighbours"), n, n * per))
            nbr = _lib.in_buffer(neighbours, c_float, n * per, "neighbours")
        state, state_c = _output(state, n * self._state_floats, "state")
        logits, logits_c = _output(logits, n * self._actions, "logits")
        value, value_c = _output(value, n, "value")
        check(_initial_neighbours(self._p, src, nbr, n, state_c, logits_c, value_c))
        return state, logits, value

    def initial_ids(self, planes, dataset, ids, state=None, logits=None, value=None):
        """initial_neighbours() with each neighbour given by its position id
        in @dataset (a semiparam.dataset.Dataset): @ids holds n x N ids, and
        2**64 - 1 (no such key) reads as zeros."""
        from .dataset import Dataset
        n = _rows(planes, self._plane_floats, "planes")
        src = _lib.in_buffer(planes, c_float, n * self._plane_floats, "planes")
        count = n * max(self._options.neighbours, 1)
        if _element_count(ids, "ids") != count:
            raise ValueError("ids holds %d ids, %d observations need %d" % (_element_count(ids, "ids"), n, count))
        id_buf = _lib.in_buffer(ids, c_uint64, count, "ids")
        state, state_c = _output(state, n * self._state_floats, "state")
        logits, logits_c = _output(logits, n * self._actions, "logits")
        value, value_c = _output(value, n, "value")
        with _lib.borrow(dataset, Dataset, "dataset") as dp:
            check(_initial_ids(self._p, src, dp, id_buf, n, state_c, logits_c, value_c))
        return state, logits, value

    @property
    def embedder_id(self):
        """The id of the embedder whose neighbours a retrieval model reads
        (recorded by set_embedder() or its file); 0 for none."""
        return _embedder_id(self._p)

    def set_embedder(self, embedder_id):
        """Record the embedder (its id, Embedder.id) whose neighbours this
        retrieval model reads; saved with the model."""
        check(_set_embedder(self._p, embedder_id))

    def check_retrieval(self, embedder_id, neighbours):
        """InvalidArgumentError unless the model may run with @neighbours
        neighbours from the embedder @embedder_id."""
        check(_check_retrieval(self._p, embedder_id, neighbours))

    def layers(self):
        """The layers activations() reads, as ModelLayer(name, channels,
        height, width, size): "repr" first (the hidden state), then
        "repr.block1".. (each representation block's output), "policy.conv"
        and "value.hidden"."""
        return list(self._layers)

    def activations(self, planes, layer="repr", out=None):
        """The activations of @layer (a name from layers()) for n
        observations (@planes as in initial()), computed as initial()
        computes them; "repr" equals initial()'s state. Returns n x
        layer size floats (each position's in channel, row, column order) in a
        flat array('f'), or in the float32 buffer @out (e.g. a numpy array of
        shape (n, size)). An unknown name is an InvalidArgumentError naming it."""
        name = _lib.text(layer, "layer")
        n = _rows(planes, self._plane_floats, "planes")
        src = _lib.in_buffer(planes, c_float, n * self._plane_floats, "planes")
        size = next((entry.size for entry in self._layers if entry.name.encode("utf-8") == name), None)
        if size is None:  # the library names the layer and lists the model's
            check(_activations(self._p, name, src, n, (c_float * 1)(), 0))
        out, out_c = _output(out, n * size, "out")
        check(_activations(self._p, name, src, n, out_c, n * size))
        return out

    def recurrent(self, state, actions, next_state=None, logits=None, value=None):
        """Recurrent inference of n (state, action) pairs: @state holds n x
        state_size floats (states from this model), @actions n actions in
        0..num_actions-1 (size*size is pass). Returns (next_state, logits,
        value) as initial() does."""
        n = _rows(state, self._state_floats, "state")
        src = _lib.in_buffer(state, c_float, n * self._state_floats, "state")
        if _element_count(actions, "actions") != n:
            raise ValueError("%d actions for %d states" % (_element_count(actions, "actions"), n))
        acts = _lib.in_buffer(actions, c_int32, n, "actions")
        next_state, next_c = _output(next_state, n * self._state_floats, "next_state")
        logits, logits_c = _output(logits, n * self._actions, "logits")
        value, value_c = _output(value, n, "value")
        check(_recurrent(self._p, src, acts, n, next_c, logits_c, value_c))
        return next_state, logits, value

    def __repr__(self):
        if self.closed:
            return "<semiparam.Model closed>"
        o = self._options
        return "<semiparam.Model %dx%d, %d channels, %d + %d blocks>" % (
            o.board_size, o.board_size, o.channels, o.repr_blocks, o.dyn_blocks)
