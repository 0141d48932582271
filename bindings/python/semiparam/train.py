"""Bindings of semiparam/train.h: training a model offline on a dataset's
games (MuZero-style K-step unrolls, exact checkpoints) and the test metrics
of any model.

    with Trainer(model, dataset, batch_size=64, optimizer=Optimizer.ADAMW, learning_rate=1e-3) as t:
        stats = t.run(100)
        t.save("run.spm")
    report = evaluate(model, dataset, unroll=5, max_positions=10000)
    print(report.top1[0], report.floor_top1[0])

The model is any open handle of an sp_model (semiparam.model.Model); the
trainer holds it for itself while it lives (no inference on it meanwhile),
and evaluate() may run on it between Trainer.run() calls.
"""
import collections
import ctypes
import enum
from ctypes import POINTER, byref, c_double, c_float, c_int, c_int32, c_int64, c_uint32, c_uint64, c_void_p

from . import _lib
from ._lib import function
from .core import PROGRESS_FN, check, progress_thunk
from .dataset import Dataset

MAX_UNROLL = 15
# Versions of the structs below as they mirror them (SP_X_VERSION of train.h).
TRAINER_OPTIONS_VERSION = 2
TRAIN_STATS_VERSION = 2
EVAL_OPTIONS_VERSION = 2
EVAL_REPORT_VERSION = 2


class Optimizer(enum.IntEnum):
    """sp_optimizer."""
    SGD = 0    #: SGD with momentum; weight decay as an L2 term
    ADAMW = 1  #: AdamW: decoupled weight decay


class EvalNeighbours(enum.IntEnum):
    """sp_eval_neighbours: what a retrieval model reads in evaluate()."""
    RETRIEVED = 0  #: each position's own neighbours from the file
    ZEROED = 1  #: every x_i = 0
    RANDOM = 2  #: each slot another position's (never of the same game)


class Schedule(enum.IntEnum):
    """sp_lr_schedule: the learning rate after the warm-up."""
    CONSTANT = 0
    STEP = 1    #: multiplied by gamma every step_size steps
    COSINE = 2  #: cosine down to min_lr at total_steps


_Steps = c_double * (MAX_UNROLL + 1)
_Counts = c_uint64 * (MAX_UNROLL + 1)


class TrainerOptions(ctypes.Structure):
    """sp_trainer_options; build with trainer_options()."""
    _c_name_ = "sp_trainer_options"
    _fields_ = [("version", c_uint32), ("batch_size", c_int32), ("unroll", c_int32), ("symmetries", c_int32),
                ("optimizer", c_int32), ("schedule", c_int32), ("learning_rate", c_double), ("momentum", c_double),
                ("adam_beta1", c_double), ("adam_beta2", c_double), ("weight_decay", c_double),
                ("value_weight", c_double), ("clip_norm", c_double), ("warmup_steps", c_int64),
                ("total_steps", c_int64), ("step_size", c_int64), ("gamma", c_double), ("min_lr", c_double),
                ("min_rating", c_float), ("test_fraction", c_float), ("split_seed", c_uint64), ("seed", c_uint64),
                ("threads", c_int32), ("progress", PROGRESS_FN), ("progress_payload", c_void_p),
                ("micro_batches", c_int32), ("neighbours", c_void_p), ("neighbour_dropout", c_float),
                ("neighbour_randomise", c_float), ("neighbour_regularisation", c_float),
                ("zero_neighbours", c_int32)]


class TrainStatsStruct(ctypes.Structure):
    """sp_train_stats (Trainer.run() returns it as a TrainStats)."""
    _c_name_ = "sp_train_stats"
    _fields_ = [("version", c_uint32), ("unroll", c_int32), ("step", c_int64), ("loss", c_double),
                ("policy_loss", _Steps), ("value_loss", _Steps), ("learning_rate", c_double),
                ("grad_norm", c_double), ("positions", c_uint64), ("regularisation", c_double)]


class EvalOptions(ctypes.Structure):
    """sp_eval_options; build with eval_options()."""
    _c_name_ = "sp_eval_options"
    _fields_ = [("version", c_uint32), ("unroll", c_int32), ("part", c_int32), ("batch_size", c_int32),
                ("min_rating", c_float), ("test_fraction", c_float), ("split_seed", c_uint64),
                ("max_positions", c_uint64), ("seed", c_uint64), ("progress", PROGRESS_FN),
                ("progress_payload", c_void_p), ("neighbours", c_void_p), ("neighbour_mode", c_int32)]


class EvalReportStruct(ctypes.Structure):
    """sp_eval_report (evaluate() returns it as an EvalReport)."""
    _c_name_ = "sp_eval_report"
    _fields_ = [("version", c_uint32), ("unroll", c_int32), ("positions", c_uint64), ("count", _Counts),
                ("top1", _Steps), ("policy_ce", _Steps), ("value_mse", _Steps), ("floor_top1", _Steps),
                ("floor_value_mse", _Steps), ("floor_value", c_double), ("value_mse_se", _Steps)]


#: The figures of a training step; the per-step lists run over k = 0..unroll.
TrainStats = collections.namedtuple("TrainStats", "step unroll loss policy_loss value_loss learning_rate grad_norm "
                                                  "positions regularisation")
#: Test metrics per unroll step k = 0..unroll (lists), the floors, and the positions counted.
EvalReport = collections.namedtuple("EvalReport", "unroll positions count top1 policy_ce value_mse floor_top1 "
                                                  "floor_value_mse floor_value value_mse_se")

_trainer_options_init = function("sp_trainer_options_init", c_int, [POINTER(TrainerOptions), c_uint32])
_trainer_create = function("sp_trainer_create", c_int, [POINTER(c_void_p), c_void_p, c_void_p,
                                                        POINTER(TrainerOptions)])
_trainer_free = function("sp_trainer_free", None, [c_void_p])
_trainer_run = function("sp_trainer_run", c_int, [c_void_p, c_int64, POINTER(TrainStatsStruct)])
_trainer_get_stats = function("sp_trainer_get_stats", c_int, [c_void_p, POINTER(TrainStatsStruct)])
_trainer_save = function("sp_trainer_save", c_int, [c_void_p, ctypes.c_char_p])
_trainer_resume = function("sp_trainer_resume", c_int, [c_void_p, ctypes.c_char_p])
_eval_options_init = function("sp_eval_options_init", c_int, [POINTER(EvalOptions), c_uint32])
_model_evaluate = function("sp_model_evaluate", c_int, [c_void_p, c_void_p, POINTER(EvalOptions),
                                                        POINTER(EvalReportStruct)])


def _no_progress(fields, where):
    if "progress" in fields or "progress_payload" in fields:
        raise TypeError("pass progress= to %s instead" % where)


def trainer_options(**fields):
    """TrainerOptions with the library's defaults, then @fields (batch_size,
    unroll, optimizer, schedule, learning_rate, ..., min_rating, seed,
    micro_batches: the batch run as that many slices, each with its own
    batch statistics, gradients averaged; for a retrieval model
    neighbour_dropout, neighbour_randomise, neighbour_regularisation,
    zero_neighbours, and the neighbour file as Trainer(neighbours=...))."""
    _no_progress(fields, "Trainer()")
    opts = _lib.new_options(TrainerOptions)
    check(_trainer_options_init(byref(opts), TRAINER_OPTIONS_VERSION))
    return _lib.fill_options(opts, fields)


def eval_options(**fields):
    """EvalOptions with the library's defaults, then @fields (unroll, part,
    batch_size, min_rating, test_fraction, split_seed, max_positions, seed,
    neighbour_mode; the neighbour file as evaluate(neighbours=...))."""
    _no_progress(fields, "evaluate()")
    opts = _lib.new_options(EvalOptions)
    check(_eval_options_init(byref(opts), EVAL_OPTIONS_VERSION))
    return _lib.fill_options(opts, fields)


def _options_arg(options, cls, build, fields):
    if options is None:
        return build(**fields)
    if not isinstance(options, cls):
        raise TypeError("options must be a %s, not %s" % (cls.__name__, type(options).__name__))
    if fields:
        raise TypeError("give either options or keyword fields, not both")
    return options


def _model_class():
    """What a model argument must be: semiparam.model.Model once it exists
    (a Dataset or a Game passed by mistake must not reach C as a model)."""
    try:
        from .model import Model
    except ImportError:
        return _lib.Handle
    return Model


def _steps(values, unroll):
    return [values[k] for k in range(unroll + 1)]


def _train_stats(stats):
    return TrainStats(stats.step, stats.unroll, stats.loss, _steps(stats.policy_loss, stats.unroll),
                      _steps(stats.value_loss, stats.unroll), stats.learning_rate, stats.grad_norm,
                      stats.positions, stats.regularisation)


class Trainer(_lib.Handle):
    """sp_trainer: a training run of one model over the training split of one
    dataset (the sampler, the optimizer state, the step). It borrows both,
    which must stay open while it lives; one thread at a time.
    @progress(task, done, total), called after each step of run(), cancels
    the run by returning true (the steps done stay done). A retrieval model
    (neighbours > 0) trains on the positions of @neighbours (an open
    semiparam.retriever.Neighbours, which must stay open while the trainer
    lives) with their pre-computed neighbours."""

    _free = _trainer_free

    def __init__(self, model, dataset, options=None, progress=None, neighbours=None, **fields):
        options = _options_arg(options, TrainerOptions, trainer_options, fields)
        self._errors = []
        self.neighbours = neighbours
        # The C trainer calls this thunk during run(): it lives as long as the trainer.
        thunk = progress_thunk(progress, self._errors) if progress is not None else None
        options = TrainerOptions.from_buffer_copy(options)
        options.progress = thunk if thunk is not None else PROGRESS_FN()
        options.neighbours = _neighbours_arg(neighbours)
        ptr = c_void_p()
        with _lib.borrow(model, _model_class(), "model") as mp, _lib.borrow(dataset, Dataset, "dataset") as dp:
            check(_trainer_create(byref(ptr), mp, dp, byref(options)))
        super().__init__(ptr.value)
        self._thunk = thunk
        self._parent = model
        self.model, self.dataset = model, dataset
        self.unroll, self.batch_size = options.unroll, options.batch_size
        # Closed before either parent frees its C object.
        dataset._samplers.add(self)
        for name in ("_register_dependent", "_register_search"):
            register = getattr(model, name, None)
            if register:
                register(self)
                break

    def _call(self, status):
        if status < 0 and self._errors:
            error = self._errors.pop(0)
            del self._errors[:]
            raise error
        return check(status)

    def run(self, steps):
        """Take @steps (>= 1) optimizer steps; return the last one's TrainStats."""
        steps = _lib.integer(steps, "steps", 1, (1 << 63) - 1)
        stats = TrainStatsStruct()
        stats.version = TRAIN_STATS_VERSION
        with _lib.borrow(self.dataset, Dataset, "dataset"):
            self._call(_trainer_run(self._p, steps, byref(stats)))
        return _train_stats(stats)

    def stats(self):
        """The figures now: steps and positions done (a resumed trainer's
        come from its checkpoint) and the last step's losses (0 before one)."""
        stats = TrainStatsStruct()
        stats.version = TRAIN_STATS_VERSION
        check(_trainer_get_stats(self._p, byref(stats)))
        return _train_stats(stats)

    def save(self, path):
        """Write a checkpoint (model, optimizer state, step, sampler position)
        atomically; Model.load() reads it as a model."""
        check(_trainer_save(self._p, _lib.path(path)))

    def resume(self, path):
        """Continue from a checkpoint of save(). FormatError, with nothing
        changed, for another architecture or other batch options."""
        with _lib.borrow(self.dataset, Dataset, "dataset"):
            check(_trainer_resume(self._p, _lib.path(path)))

    def __repr__(self):
        return "<semiparam.Trainer batch %d, unroll %d%s>" % (self.batch_size, self.unroll,
                                                            ", closed" if self.closed else "")


def _neighbours_arg(neighbours):
    """The C pointer of an open Neighbours, or None."""
    if neighbours is None:
        return None
    from .retriever import Neighbours
    if not isinstance(neighbours, Neighbours):
        raise TypeError("neighbours must be a semiparam.retriever.Neighbours, not %s" % type(neighbours).__name__)
    if neighbours.closed:
        raise ValueError("the Neighbours file is closed")
    return neighbours._p


def evaluate(model, dataset, options=None, progress=None, neighbours=None, **fields):
    """Test metrics of @model on a part of @dataset (default: the test split,
    unroll 5, every position; max_positions= for a seeded sample) as an
    EvalReport. @progress(task, done, total) may cancel by returning true.
    A retrieval model reads the neighbours of an open Neighbours file
    @neighbours (only its positions are evaluated), or zeros without one."""
    options = EvalOptions.from_buffer_copy(_options_arg(options, EvalOptions, eval_options, fields))
    options.neighbours = _neighbours_arg(neighbours)
    errors = []
    thunk = progress_thunk(progress, errors) if progress is not None else None
    options.progress = thunk if thunk is not None else PROGRESS_FN()
    report = EvalReportStruct()
    report.version = EVAL_REPORT_VERSION
    with _lib.borrow(model, _model_class(), "model") as mp, _lib.borrow(dataset, Dataset, "dataset") as dp:
        status = _model_evaluate(mp, dp, byref(options), byref(report))
    if status < 0 and errors:
        raise errors[0]
    check(status)
    k = report.unroll
    return EvalReport(k, report.positions, [report.count[i] for i in range(k + 1)], _steps(report.top1, k),
                      _steps(report.policy_ce, k), _steps(report.value_mse, k), _steps(report.floor_top1, k),
                      _steps(report.floor_value_mse, k), report.floor_value, _steps(report.value_mse_se, k))
