"""Bindings of semiparam/core.h: status codes as exceptions, version queries,
the random number generator and the process-wide log/progress callbacks."""
import ctypes
import enum
import threading
from ctypes import c_char_p, c_double, c_int, c_uint32, c_uint64, c_void_p

from . import _lib
from ._lib import function


class Status(enum.IntEnum):
    """sp_status: 0 is success, failures are negative; values never change."""
    OK = 0
    INVALID_ARG = -1
    NOMEM = -2
    IO = -3
    FORMAT = -4
    ILLEGAL_MOVE = -5
    NO_DEVICE = -6
    UNSUPPORTED = -7
    BUFFER_TOO_SMALL = -8
    MISUSE = -9
    VERSION = -10
    CANCELLED = -11
    INTERNAL = -12


class Feature(enum.IntEnum):
    """sp_feature: optional parts of a build, see has_feature()."""
    GPU = 1
    FAISS_C_API = 2
    FAISS_BRIDGE = 3
    NN = 4
    RETRIEVAL = 5


class LogLevel(enum.IntEnum):
    """sp_log_level: severity of a log message."""
    ERROR = 0
    WARNING = 1
    INFO = 2
    DEBUG = 3


_status_str = function("sp_status_str", c_char_p, [c_int])
_last_error = function("sp_last_error", c_char_p, [])
_clear_error = function("sp_clear_error", None, [])
_version = function("sp_version", c_uint32, [])
_version_string = function("sp_version_string", c_char_p, [])
_has_feature = function("sp_has_feature", c_int, [c_int])


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------

class SemiparamError(Exception):
    """A call into libsemiparam failed. `status` is the sp_status code and
    `message` the library's sp_last_error() text at the time of failure."""

    status = None

    def __init__(self, message, status=None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status

    def __str__(self):
        if self.message:
            return self.message
        return _status_str(self.status).decode() if self.status is not None else "error"

    def __repr__(self):
        return "%s(%r, status=%r)" % (type(self).__name__, self.message, self.status)


class InvalidArgumentError(SemiparamError, ValueError):
    """SP_ERR_INVALID_ARG: an argument is out of range or malformed."""
    status = Status.INVALID_ARG


class NoMemoryError(SemiparamError, MemoryError):
    """SP_ERR_NOMEM: an allocation failed."""
    status = Status.NOMEM


class FileIOError(SemiparamError):
    """SP_ERR_IO: a file could not be read or written."""
    status = Status.IO


class FormatError(SemiparamError):
    """SP_ERR_FORMAT: input data is corrupt, truncated or foreign."""
    status = Status.FORMAT


class IllegalMoveError(SemiparamError):
    """SP_ERR_ILLEGAL_MOVE: the move breaks the rules of the game."""
    status = Status.ILLEGAL_MOVE


class NoDeviceError(SemiparamError):
    """SP_ERR_NO_DEVICE: the requested compute device is absent."""
    status = Status.NO_DEVICE


class UnsupportedError(SemiparamError):
    """SP_ERR_UNSUPPORTED: not supported by this build (or this library is too old)."""
    status = Status.UNSUPPORTED


class BufferTooSmallError(SemiparamError):
    """SP_ERR_BUFFER_TOO_SMALL: a caller buffer is too small."""
    status = Status.BUFFER_TOO_SMALL


class MisuseError(SemiparamError):
    """SP_ERR_MISUSE: the call breaks the API contract (wrong order or state)."""
    status = Status.MISUSE


class VersionError(SemiparamError):
    """SP_ERR_VERSION: options or a file are newer than this library."""
    status = Status.VERSION


class CancelledError(SemiparamError):
    """SP_ERR_CANCELLED: a progress callback asked to stop."""
    status = Status.CANCELLED


class InternalError(SemiparamError):
    """SP_ERR_INTERNAL: a dependency failed unexpectedly."""
    status = Status.INTERNAL


_ERRORS = {cls.status: cls for cls in (
    InvalidArgumentError, NoMemoryError, FileIOError, FormatError, IllegalMoveError, NoDeviceError,
    UnsupportedError, BufferTooSmallError, MisuseError, VersionError, CancelledError, InternalError)}


def error_for(status):
    """The exception for a failed call's @status, carrying sp_last_error()."""
    message = _last_error().decode("utf-8", "replace")
    cls = _ERRORS.get(status)
    return cls(message) if cls else SemiparamError(message, status=status)


def check(status):
    """Raise the exception matching a negative sp_status; return @status otherwise."""
    if status >= 0:
        return status
    if status == Status.CANCELLED:
        pending = _take_callback_error()
        if pending is not None:
            # The callback's own exception (KeyboardInterrupt, a bug in it)
            # is what the caller wants to see, not the cancellation it caused.
            raise pending
    raise error_for(status)


def status_str(status):
    """Static name of a status code ("invalid argument", ...)."""
    return _status_str(_lib.integer(status, "status")).decode()


def last_error():
    """The calling thread's latest failure text ("" when none)."""
    return _last_error().decode("utf-8", "replace")


def clear_error():
    """Forget the calling thread's latest failure text."""
    _clear_error()


# --------------------------------------------------------------------------
# Version and features
# --------------------------------------------------------------------------

def version():
    """Library version as MAJOR*10000 + MINOR*100 + PATCH."""
    return _version()


def version_string():
    """Library version as "MAJOR.MINOR.PATCH"."""
    return _version_string().decode()


def version_info():
    """Library version as a (major, minor, patch) tuple."""
    number = _version()
    return (number // 10000, number // 100 % 100, number % 100)


def has_feature(feature):
    """Whether this build has @feature (a Feature)."""
    return bool(_has_feature(_lib.integer(feature, "feature")))


# --------------------------------------------------------------------------
# Random numbers
# --------------------------------------------------------------------------

_rng_create = function("sp_rng_create", c_int, [ctypes.POINTER(c_void_p), c_uint64])
_rng_free = function("sp_rng_free", None, [c_void_p])
_rng_seed = function("sp_rng_seed", c_int, [c_void_p, c_uint64])
_rng_next = function("sp_rng_next", c_uint64, [c_void_p])
_rng_below = function("sp_rng_below", c_uint32, [c_void_p, c_uint32])
_rng_uniform = function("sp_rng_uniform", c_double, [c_void_p])


class Rng(_lib.Handle):
    """sp_rng: xoshiro256** seeded with splitmix64; equal seeds give equal
    streams everywhere. Use one generator per thread."""

    _free = _rng_free

    def __init__(self, seed=0):
        seed = _lib.uint64(seed, "seed")
        ptr = c_void_p()
        check(_rng_create(ctypes.byref(ptr), seed))
        super().__init__(ptr.value)

    def seed(self, seed):
        """Restart the stream from @seed (0 .. 2**64-1)."""
        check(_rng_seed(self._p, _lib.uint64(seed, "seed")))

    def next(self):
        """Next 64 random bits as an int."""
        return _rng_next(self._p)

    def below(self, bound):
        """Uniform int in [0, bound) for 1 <= bound < 2**32."""
        bound = _lib.uint32(bound, "bound")
        if bound == 0:
            raise ValueError("bound must be positive")
        return _rng_below(self._p, bound)

    def uniform(self):
        """Uniform float in [0, 1)."""
        return _rng_uniform(self._p)


# --------------------------------------------------------------------------
# Log and progress callbacks (process-wide)
# --------------------------------------------------------------------------

LOG_FN = ctypes.CFUNCTYPE(None, c_int, c_char_p, c_void_p)
PROGRESS_FN = ctypes.CFUNCTYPE(c_int, c_char_p, c_uint64, c_uint64, c_void_p)

_set_log_callback = function("sp_set_log_callback", None, [LOG_FN, c_int, c_void_p])
_set_progress_callback = function("sp_set_progress_callback", None, [PROGRESS_FN, c_void_p])

# The C library holds bare function pointers: the ctypes thunks must live
# as long as they are installed, so they are kept here.
_callbacks = {"log": None, "progress": None}
_errors_lock = threading.Lock()
_callback_errors = []


def _take_callback_error():
    with _errors_lock:
        return _callback_errors.pop() if _callback_errors else None


def progress_thunk(fn, errors):
    """A PROGRESS_FN calling fn(task, done, total): a true result cancels; an
    exception cancels too and is appended to @errors for the caller to re-raise."""
    if not callable(fn):
        raise TypeError("progress must be callable or None, not %s" % type(fn).__name__)

    def thunk(task, done, total, payload):
        try:
            return 1 if fn(task.decode("utf-8", "replace") if task is not None else "", done, total) else 0
        except BaseException as exc:  # KeyboardInterrupt too: stop the work, re-raise after it
            errors.append(exc)
            return 1

    return PROGRESS_FN(thunk)


def set_log_callback(fn, max_level=LogLevel.INFO):
    """Send the library's log messages up to @max_level to fn(level, message),
    level being a LogLevel and message a str; None silences the library.
    Exceptions raised by @fn are reported through sys.unraisablehook."""
    max_level = _lib.integer(max_level, "max_level")
    if fn is None:
        _set_log_callback(LOG_FN(), 0, None)
        _callbacks["log"] = None
        return
    if not callable(fn):
        raise TypeError("fn must be callable or None, not %s" % type(fn).__name__)

    def thunk(level, message, payload):
        try:
            level = LogLevel(level)
        except ValueError:
            pass
        fn(level, message.decode("utf-8", "replace") if message is not None else "")

    c_fn = LOG_FN(thunk)
    _set_log_callback(c_fn, max_level, None)
    _callbacks["log"] = c_fn


def set_progress_callback(fn):
    """Report long work as fn(task, done, total) (total 0 when unknown); a
    true return value cancels the work, which then fails with CancelledError.
    An exception raised by @fn cancels the work too and is re-raised by the
    call that was running. None stops the reports."""
    if fn is None:
        _set_progress_callback(PROGRESS_FN(), None)
        _callbacks["progress"] = None
        return
    if not callable(fn):
        raise TypeError("fn must be callable or None, not %s" % type(fn).__name__)

    c_fn = progress_thunk(fn, _callback_errors)
    _set_progress_callback(c_fn, None)
    _callbacks["progress"] = c_fn
