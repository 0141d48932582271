"""The bindings follow the C headers: one Python module per public header,
every SP_API function declared by some module, and every public struct
mirrored field by field (a struct grown in C but not here would make
_options_init() write past the Python copy).

A new header therefore comes with bindings/python/semiparam/<header>.py and
bindings/python/tests/test_<header>.py, listed in bindings/python/meson.build.
"""
import ctypes
import glob
import importlib
import os
import pkgutil
import re
import unittest

import semiparam
from semiparam import _lib

ROOT = os.environ.get("SP_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", "..", ".."))
# dist.h is libsemiparam-mpi's, a separate C library for MPI programs with no
# Python binding (dist.h and docs/scaling.md say why).
HEADERS = sorted(h for h in glob.glob(os.path.join(ROOT, "include", "semiparam", "*.h"))
                 if os.path.basename(h) != "dist.h")


def strip_comments(text):
    return re.sub(r"//[^\n]*", "", re.sub(r"/\*.*?\*/", "", text, flags=re.S))


def header_functions(text):
    return set(re.findall(r"SP_API[^;]*?\b(sp_\w+)\s*\(", strip_comments(text)))


def header_structs(text):
    structs = {}
    for name, body in re.findall(r"typedef\s+struct\s+(sp_\w+)\s*\{(.*?)\}\s*\1\s*;", strip_comments(text), re.S):
        fields = []
        for decl in body.split(";"):
            decl = re.sub(r"\[[^\]]*\]", "", decl).strip()  # array bounds
            if decl:
                fields.append(re.findall(r"\w+", decl)[-1])
        structs[name] = fields
    return structs


def python_modules():
    modules = {}
    for info in pkgutil.iter_modules(semiparam.__path__):
        if not info.name.startswith("_"):
            modules[info.name] = importlib.import_module("semiparam." + info.name)
    return modules


class TestCoverage(unittest.TestCase):
    def setUp(self):
        self.assertTrue(HEADERS, "no headers under %s" % ROOT)
        self.modules = python_modules()

    def test_one_module_per_header(self):
        missing = [os.path.basename(h) for h in HEADERS
                   if os.path.splitext(os.path.basename(h))[0] not in self.modules]
        self.assertEqual(missing, [], "headers without a Python module in bindings/python/semiparam/")

    def test_every_function_is_bound(self):
        declared = set()
        for h in HEADERS:
            with open(h) as f:
                declared |= header_functions(f.read())
        self.assertEqual(sorted(declared - _lib.BOUND), [], "SP_API functions without a Python binding")
        self.assertEqual(sorted(_lib.BOUND - declared), [], "bindings of functions no header declares")

    def test_header_comments_name_what_exists(self):
        # The headers are the documentation: a function or header they point
        # to (sp_x(), x.h) must exist, or the reader is sent nowhere.
        texts = {}
        for h in HEADERS:
            with open(h) as f:
                texts[os.path.basename(h)] = f.read()
        declared = set().union(*(header_functions(t) for t in texts.values()))
        files = set(texts) | {"semiparam.h", "version.h"}
        for name, text in texts.items():
            comments = " ".join(re.findall(r"/\*.*?\*/", text, flags=re.S))
            with self.subTest(header=name):
                self.assertEqual(sorted(set(re.findall(r"\b(sp_\w+)\(\)", comments)) - declared), [],
                                 "functions named in comments that no header declares")
                self.assertEqual(sorted(set(re.findall(r"\b([a-z_]+\.h)\b", comments)) - files), [],
                                 "headers named in comments that do not exist")

    def test_structs_match_field_by_field(self):
        bound = {}
        for module in self.modules.values():
            for obj in vars(module).values():
                if isinstance(obj, type) and issubclass(obj, ctypes.Structure) and hasattr(obj, "_c_name_"):
                    bound[obj._c_name_] = [f[0] for f in obj._fields_]
        for h in HEADERS:
            with open(h) as f:
                for name, fields in header_structs(f.read()).items():
                    with self.subTest(struct=name):
                        self.assertIn(name, bound, "%s (%s) has no ctypes.Structure with _c_name_"
                                      % (name, os.path.basename(h)))
                        self.assertEqual(bound[name], fields)

    def test_struct_versions_match_the_headers(self):
        # The bindings pass their mirror's version to the C inits and into the
        # structs they fill: a field appended in C and mirrored here without
        # the new version would be ignored by the library.
        for h in HEADERS:
            with open(h) as f:
                text = f.read()
            defines = dict(re.findall(r"^#define (SP_\w+_VERSION) (\d+)", text, re.M))
            module = self.modules[os.path.splitext(os.path.basename(h))[0]]
            for struct, macro in re.findall(r"typedef struct (sp_\w+) \{\s*uint32_t version;\s*/\*\*<\s*(?:::)?(SP_\w+)",
                                            text):
                with self.subTest(struct=struct):
                    self.assertEqual(getattr(module, macro[len("SP_"):], None), int(defines[macro]),
                                     "%s.%s" % (module.__name__, macro[len("SP_"):]))

    def test_inits_take_the_version_and_refuse_others(self):
        inits = {}
        for module in self.modules.values():
            for obj in vars(module).values():
                if getattr(obj, "available", False) and re.fullmatch(r"sp_\w+_init", getattr(obj, "__name__", "")):
                    inits[obj.__name__] = (module, obj)
        self.assertIn("sp_game_options_init", inits)
        for name, (module, init) in sorted(inits.items()):
            cls = init.argtypes[0]._type_
            version = getattr(module, cls._c_name_[len("sp_"):].upper() + "_VERSION")
            with self.subTest(init=name):
                opts = cls()
                status = init(ctypes.byref(opts), version)
                if status == semiparam.core.Status.UNSUPPORTED:
                    continue  # a module left out of this build
                self.assertEqual(status, 0)
                self.assertEqual(opts.version, version)
                self.assertEqual(init(ctypes.byref(cls()), 0), semiparam.core.Status.INVALID_ARG)
                self.assertEqual(init(ctypes.byref(cls()), version + 1), semiparam.core.Status.VERSION)


if __name__ == "__main__":
    unittest.main()
