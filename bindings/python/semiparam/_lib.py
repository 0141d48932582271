"""Loading libsemiparam and checking Python arguments before they reach C.

Everything here is shared plumbing for the per-header modules (core, go, sgf, ...);
nothing in it is public API.
"""
import ctypes
import ctypes.util
import functools
import glob
import inspect
import math
import numbers
import operator
import os
import struct
import sys
import threading
import weakref

#: Environment variable naming the shared library to load (a path).
ENV_VAR = "SEMIPARAM_LIBRARY"
SONAME = "libsemiparam.so.0"

_SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def _build_tree_candidates():
    # A checkout's own build directories (build/, build-asan/, ...), the
    # conventional "build" first, then the most recently built. An installed
    # package has no checkout around it.
    if not os.path.exists(os.path.join(_SOURCE_ROOT, "bindings", "python", "semiparam", "_lib.py")):
        return []
    # os.path.exists skips dangling links (a build directory left half made).
    found = [p for p in glob.glob(os.path.join(_SOURCE_ROOT, "build*", "lib", SONAME)) if os.path.exists(p)]
    found.sort(key=lambda p: (os.path.basename(os.path.dirname(os.path.dirname(p))) != "build",
                              -os.path.getmtime(p)))
    return found


def _load():
    path = os.environ.get(ENV_VAR)
    if path:
        # An explicit choice never falls back silently to another copy.
        try:
            return ctypes.CDLL(path), path
        except OSError as exc:
            raise ImportError("%s=%s cannot be loaded: %s" % (ENV_VAR, path, exc)) from exc
    tried = []
    for candidate in _build_tree_candidates():
        try:
            return ctypes.CDLL(candidate), candidate
        except OSError as exc:
            tried.append("%s (%s)" % (candidate, exc))
    for name in (SONAME, ctypes.util.find_library("semiparam")):
        if not name:
            continue
        try:
            return ctypes.CDLL(name), name
        except OSError as exc:
            tried.append("%s (%s)" % (name, exc))
    raise ImportError("libsemiparam not found: set %s to the path of %s, build it under %s/build, "
                      "or install it; tried: %s" % (ENV_VAR, SONAME, _SOURCE_ROOT, "; ".join(tried) or "nothing"))


LIB, LIBRARY_PATH = _load()


#: Names of the C functions the modules declare (tests/test_coverage.py compares them with the headers).
BOUND = set()


def function(name, restype, argtypes):
    """Declare a C function. A library that lacks it (an older build) fails on call, not on import."""
    BOUND.add(name)
    try:
        fn = getattr(LIB, name)
    except AttributeError:
        def missing(*args):
            from .core import UnsupportedError
            raise UnsupportedError("%s is not in %s (the library is older than these bindings)"
                                   % (name, LIBRARY_PATH), status=-7)
        missing.__name__ = name
        missing.available = False
        return missing
    fn.restype = restype
    fn.argtypes = argtypes
    fn.available = True
    return fn


def has_function(name):
    """Whether the loaded library exports @name."""
    return hasattr(LIB, name)


# --------------------------------------------------------------------------
# Argument checks: a wrong Python value raises TypeError/ValueError here
# instead of being truncated or dereferenced by ctypes.
# --------------------------------------------------------------------------

def integer(value, name, lo=-(1 << 31), hi=(1 << 31) - 1):
    """An int-like value (not bool) within [lo, hi]; numpy integers pass."""
    if isinstance(value, bool):
        raise TypeError("%s must be an integer, not bool" % name)
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError("%s must be an integer, not %s" % (name, type(value).__name__)) from None
    if value < lo or value > hi:
        raise ValueError("%s=%d outside %d..%d" % (name, value, lo, hi))
    return value


def uint32(value, name):
    return integer(value, name, 0, (1 << 32) - 1)


def uint64(value, name):
    return integer(value, name, 0, (1 << 64) - 1)


def real(value, name, finite=False):
    """A real number (int or float, not bool) as a Python float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError("%s must be a number, not %s" % (name, type(value).__name__))
    value = float(value)
    if finite and not math.isfinite(value):
        raise ValueError("%s must be finite" % name)
    return value


def _int_range(ctype):
    bits = 8 * ctypes.sizeof(ctype)
    signed = ctype(-1).value == -1
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def new_options(cls):
    """A zeroed options struct for its _options_init(opts, VERSION): the
    library writes only the fields of the version these bindings mirror, so
    a newer library never writes past it."""
    return cls()


def fill_options(opts, overrides):
    """Set fields of an options struct (already filled by its _options_init
    function) from keyword @overrides, each checked against its C type."""
    fields = dict(type(opts)._fields_)
    for name, value in overrides.items():
        ctype = fields.get(name)
        if ctype is None:
            raise TypeError("%s has no field %r (fields: %s)" % (type(opts).__name__, name, ", ".join(fields)))
        if ctype in (ctypes.c_float, ctypes.c_double):
            value = real(value, name)
        else:
            lo, hi = _int_range(ctype)
            value = integer(value, name, lo, hi)
        setattr(opts, name, value)
    return opts


def text(value, name, allow_none=False):
    """A str (encoded UTF-8) or bytes without NUL, as bytes for a `const char *`."""
    if value is None and allow_none:
        return None
    if isinstance(value, str):
        value = value.encode("utf-8")
    elif not isinstance(value, bytes):
        raise TypeError("%s must be str or bytes, not %s" % (name, type(value).__name__))
    if b"\0" in value:
        raise ValueError("%s contains a NUL character" % name)
    return value


def path(value, name="path"):
    """A filesystem path (str, bytes or os.PathLike) as bytes."""
    try:
        value = os.fsencode(os.fspath(value))
    except TypeError:
        raise TypeError("%s must be a path (str, bytes or os.PathLike), not %s"
                        % (name, type(value).__name__)) from None
    if b"\0" in value:
        raise ValueError("%s contains a NUL character" % name)
    return value


def handle(value, cls, name):
    """The C pointer of a live handle of class @cls."""
    if not isinstance(value, cls):
        raise TypeError("%s must be a %s, not %s" % (name, cls.__name__, type(value).__name__))
    return value._p


def _format_ok(fmt, ctype):
    """Whether a buffer of struct-module format @fmt holds @ctype elements
    (same kind, signedness and size; native byte order)."""
    if fmt[:1] in ("@", "=", "<" if sys.byteorder == "little" else ">"):
        fmt = fmt[1:]
    if len(fmt) != 1 or fmt not in "fdbhilqnBHILQN":
        return False
    if struct.calcsize(fmt) != ctypes.sizeof(ctype):
        return False
    if ctype in (ctypes.c_float, ctypes.c_double):
        return fmt in "fd"
    return fmt in ("bhilqn" if ctype(-1).value == -1 else "BHILQN")


def out_buffer(out, ctype, count, name="out"):
    """A ctypes array of @count @ctype sharing the memory of @out.

    @out is any writable, C-contiguous object with the buffer protocol
    (bytearray, array.array, numpy arrays) holding at least @count elements
    of the right type; the result is a view, not a copy.
    """
    try:
        view = memoryview(out)
    except TypeError:
        raise TypeError("%s must support the buffer protocol (bytearray, array.array, numpy array), not %s"
                        % (name, type(out).__name__)) from None
    with view:
        if view.readonly:
            raise ValueError("%s is read-only" % name)
        if not view.c_contiguous:
            raise ValueError("%s must be C-contiguous" % name)
        if not _format_ok(view.format, ctype) or view.itemsize != ctypes.sizeof(ctype):
            raise TypeError("%s must hold %s elements, not format %r" % (name, ctype.__name__, view.format))
        if view.nbytes < count * ctypes.sizeof(ctype):
            raise ValueError("%s holds %d elements, %d needed" % (name, view.nbytes // view.itemsize, count))
    return (ctype * count).from_buffer(out)


def in_buffer(data, ctype, count, name):
    """A ctypes array of @count @ctype read from @data: a buffer of that type
    (shared when writable, copied when read-only) or a sequence of numbers."""
    try:
        view = memoryview(data)
    except TypeError:
        view = None
    if view is None:
        if isinstance(data, (str, bytes)) or not hasattr(data, "__len__"):
            raise TypeError("%s must be a sequence of numbers or a buffer, not %s" % (name, type(data).__name__))
        if len(data) != count:
            raise ValueError("%s holds %d elements, %d expected" % (name, len(data), count))
        if ctype is ctypes.c_float:
            values = [real(v, name + " element") for v in data]
        else:  # flags are welcome as bools
            lo, hi = _int_range(ctype)
            values = [integer(int(v) if isinstance(v, bool) else v, name + " element", lo, hi) for v in data]
        return (ctype * count)(*values)
    with view:
        if not view.c_contiguous:
            raise ValueError("%s must be C-contiguous" % name)
        if not _format_ok(view.format, ctype) or view.itemsize != ctypes.sizeof(ctype):
            raise TypeError("%s must hold %s elements, not format %r" % (name, ctype.__name__, view.format))
        if view.nbytes != count * ctypes.sizeof(ctype):
            raise ValueError("%s holds %d elements, %d expected" % (name, view.nbytes // view.itemsize, count))
        readonly = view.readonly
        if readonly:
            return (ctype * count).from_buffer_copy(view)
    return (ctype * count).from_buffer(data)


class Handle:
    """Base of every handle: owns one C object, released by close(), by
    leaving a `with` block, or (last resort) when garbage-collected.

    Every method and property a subclass defines runs with the handle marked
    busy (a counter under a lock), and with the handle it borrows (`_parent`,
    e.g. a Search's GoEvaluator) marked first. close() refuses a busy handle
    with MisuseError: freeing the C object under a call still using it (from
    another thread, or from a callback of that call) would crash the process.
    """

    _free = None  # the C function releasing the object; set by subclasses
    _parent = None  # a Handle this one borrows; set by subclasses that have one
    #: Methods run before the pointer is set (constructors' helpers).
    _unguarded = frozenset(("__init__", "__new__", "__del__", "__enter__", "__exit__", "__repr__", "close", "_init",
                            "_close_dependents"))

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name, value in list(vars(cls).items()):
            if name in cls._unguarded or (name.startswith("__") and name not in ("__str__", "__len__")):
                continue
            if inspect.isfunction(value):
                setattr(cls, name, _guarded(value))
            elif isinstance(value, property):
                setattr(cls, name, property(value.fget and _guarded(value.fget), value.fset and _guarded(value.fset),
                                            value.fdel, value.__doc__))

    def __init__(self, pointer):
        self._guard = threading.Lock()
        self._busy = 0
        self._ptr = pointer

    @property
    def _p(self):
        ptr = self.__dict__.get("_ptr")
        if not ptr:
            raise ValueError("operation on a closed %s" % type(self).__name__)
        return ptr

    @property
    def closed(self):
        """True once close() was called."""
        return not self.__dict__.get("_ptr")

    def _hold(self):
        """Mark this handle (its parent first) in use; ValueError when closed."""
        parent = self._parent
        if parent is not None:
            parent._hold()
        try:
            with self._guard:
                self._p  # raises on a closed handle
                self._busy += 1
        except BaseException:
            if parent is not None:
                parent._release()
            raise

    def _release(self):
        with self._guard:
            self._busy -= 1
        if self._parent is not None:
            self._parent._release()

    def _close_dependents(self):
        """Close the handles borrowing this one (none by default)."""

    def close(self):
        """Release the C object now; later calls on this handle raise ValueError. Idempotent.
        Raises MisuseError while a call uses the handle (or a handle borrowing it)."""
        guard = self.__dict__.get("_guard")
        if guard is None:  # the constructor failed before there was an object
            return
        with guard:
            ptr = self.__dict__.get("_ptr")
            if not ptr:
                return
            if self._busy:
                from .core import MisuseError
                raise MisuseError("close() of a %s in use by %d call%s (from another thread, or from a callback "
                                  "of its own call): close it after the call returns"
                                  % (type(self).__name__, self._busy, "" if self._busy == 1 else "s"))
            self._ptr = None  # no call can start from here on
        try:
            self._close_dependents()
        except BaseException:
            # A dependent refused (it is in use): the C object stays, still open.
            self._ptr = ptr
            raise
        self._free_after_dependents(ptr)

    def _free_after_dependents(self, ptr):
        """Free the C object once no dependent holds a C object of its own,
        then tell the Dependents lists this handle is in. Only the garbage
        collection of a cycle (at interpreter exit: a module's globals and
        its functions) leaves one: it clears the weak references of the lists
        before it calls any finalizer, in no set order, so a model can go
        before the search or agent whose tree holds its states; the last
        of them to go frees it then."""
        for value in list(vars(self).values()):
            if isinstance(value, Dependents) and value._defer(lambda: self._free_after_dependents(ptr)):
                return
        type(self)._free(ptr)
        for registrar in self.__dict__.pop("_registrars", ()):
            registrar._freed()

    def __enter__(self):
        self._p  # entering a closed handle is an error
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown may have torn the module down
            pass


def _guarded(fn):
    """@fn(self, ...) run with self held in use (see Handle)."""
    @functools.wraps(fn)
    def call(self, *args, **kwargs):
        self._hold()
        try:
            return fn(self, *args, **kwargs)
        finally:
            self._release()
    return call


class borrow:
    """`with borrow(value, cls, name) as ptr:` the C pointer of handle @value
    (type-checked like handle()), held in use for the block so that it can be
    closed neither by another thread nor by a callback while C reads it."""

    def __init__(self, value, cls, name):
        handle(value, cls, name)
        self._handle = value

    def __enter__(self):
        self._handle._hold()
        return self._handle._p

    def __exit__(self, *exc):
        self._handle._release()
        return False


class Dependents:
    """Handles borrowing a parent (searches of an evaluator, samplers of a
    dataset): the parent closes them before it goes, so none is left
    pointing at freed memory. Held weakly; the children hold the parent."""

    def __init__(self):
        self._refs = weakref.WeakSet()
        self._lock = threading.Lock()
        self._live = 0  # children added whose C object is not freed yet
        self._then = None  # the parent's free, waiting for them

    def add(self, child):
        if child.closed:
            return
        self._refs.add(child)
        with self._lock:
            self._live += 1
        child.__dict__.setdefault("_registrars", []).append(self)

    def _freed(self):
        """A child freed its C object."""
        with self._lock:
            self._live -= 1
            then = self._then if self._live == 0 else None
            if then is not None:
                self._then = None
        if then is not None:
            then()

    def _defer(self, then):
        """Whether a child still holds a C object; then() runs when the last one is freed."""
        with self._lock:
            if self._live == 0:
                return False
            self._then = then
            return True

    def close_all(self):
        for child in list(self._refs):
            child.close()
