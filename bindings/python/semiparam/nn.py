"""Bindings of semiparam/nn.h: the compute backend and the options shared by
every network the library runs on oneDNN."""
import ctypes
import enum
from ctypes import POINTER, byref, c_int, c_uint32, c_uint64

from . import _lib
from ._lib import function
from .core import check

NN_OPTIONS_VERSION = 1


class Backend(enum.IntEnum):
    """sp_backend: where a network runs."""
    AUTO = 0
    CPU = 1
    GPU = 2


class Precision(enum.IntEnum):
    """sp_precision: arithmetic of inference (training is always f32)."""
    F32 = 0
    BF16 = 1


class NnOptions(ctypes.Structure):
    """sp_nn_options; build with nn_options() so that `version` and the defaults are set."""
    _c_name_ = "sp_nn_options"
    _fields_ = [("version", c_uint32), ("backend", c_int), ("threads", c_int), ("precision", c_int),
                ("seed", c_uint64)]


_options_init = function("sp_nn_options_init", c_int, [POINTER(NnOptions), c_uint32])
_device_count = function("sp_nn_device_count", c_int, [c_int, POINTER(c_int)])


def nn_options(**fields):
    """NnOptions with the library's defaults, then @fields (backend, threads, precision, seed)."""
    opts = _lib.new_options(NnOptions)
    check(_options_init(byref(opts), NN_OPTIONS_VERSION))
    return _lib.fill_options(opts, fields)


def device_count(backend):
    """Devices oneDNN can drive for Backend.CPU or Backend.GPU (0 GPUs on most machines)."""
    out = c_int()
    check(_device_count(_lib.integer(backend, "backend"), byref(out)))
    return out.value
