#!/usr/bin/python3
"""Fields appended to a versioned public struct, for the ABI check.

A struct whose first field is `uint32_t version` may grow at its end when the
version grows with it: the library then reads and writes only the fields of
the caller's version (docs/architecture.md, "How options structs grow").
abidiff cannot know that rule, so check-abi.sh compares the baseline with a
projection of the current ABI in which such appends are cut off again; any
other change (a field inserted, removed, retyped or moved, an append without a
new version, a struct embedded by value that grew) still reaches abidiff.

  abi_appends.py versions INCLUDE_DIR
      each versioned struct of the headers and its version ("sp_x_options 2")
  abi_appends.py project BASELINE.abi BASELINE.versions CURRENT.abi INCLUDE_DIR
      CURRENT.abi with the accepted appends removed, on stdout; what was
      accepted or refused, on stderr
"""
import glob
import os
import re
import sys

STRUCT = re.compile(r"typedef struct (sp_\w+) \{\s*uint32_t version;\s*/\*\*<\s*(?:::)?(SP_\w+)")
DEFINE = re.compile(r"^#define (SP_\w+_VERSION) (\d+)\s*$", re.M)
# A struct's definition in abidw's XML (declaration-only entries end in "/>").
CLASS = re.compile(r"(<class-decl name='(sp_\w+)' size-in-bits=')(\d+)('[^>]*?(?<!/)>)(.*?)(</class-decl>)", re.S)
MEMBER = re.compile(r"[ \t]*<data-member access='public' layout-offset-in-bits='(\d+)'>\s*"
                    r"<var-decl name='(\w+)'.*?</data-member>\n?", re.S)


def versions(include_dir):
    text = "".join(open(p, encoding="utf-8").read() for p in sorted(glob.glob(os.path.join(include_dir, "*.h"))))
    defines = {name: int(value) for name, value in DEFINE.findall(text)}
    return {struct: defines[macro] for struct, macro in STRUCT.findall(text) if macro in defines}


def layouts(abi):
    """struct name -> (size in bits, [(member, offset)]) of its first definition."""
    out = {}
    for m in CLASS.finditer(abi):
        out.setdefault(m.group(2), (int(m.group(3)), [(n, int(o)) for o, n in
                                                        ((mm.group(1), mm.group(2)) for mm in MEMBER.finditer(m.group(5)))]))
    return out


def project(baseline_abi, baseline_versions, current_abi, include_dir):
    base = layouts(open(baseline_abi, encoding="utf-8").read())
    old_versions = {}
    for line in open(baseline_versions, encoding="utf-8"):
        if line.strip():
            name, version = line.split()
            old_versions[name] = int(version)
    new_versions = versions(include_dir)
    current = open(current_abi, encoding="utf-8").read()

    accepted = {}
    for name, (size, members) in layouts(current).items():
        if name not in base or name not in old_versions or name not in new_versions:
            continue
        old_size, old_members = base[name]
        if members == old_members or members[:len(old_members)] != old_members:
            continue  # unchanged, or changed inside: abidiff's business
        appended = [n for n, _ in members[len(old_members):]]
        if new_versions[name] <= old_versions[name]:
            sys.stderr.write("refused: %s appends %s without a new version (still %d)\n"
                             % (name, ", ".join(appended), new_versions[name]))
            continue
        accepted[name] = (old_size, {n for n, _ in old_members})
        sys.stderr.write("accepted: %s appends %s with version %d (baseline %d)\n"
                         % (name, ", ".join(appended), new_versions[name], old_versions[name]))

    def cut(m):
        if m.group(2) not in accepted:
            return m.group(0)
        old_size, keep = accepted[m.group(2)]
        body = MEMBER.sub(lambda mm: mm.group(0) if mm.group(2) in keep else "", m.group(5))
        return m.group(1) + str(old_size) + m.group(4) + body + m.group(6)

    sys.stdout.write(CLASS.sub(cut, current))


def main(argv):
    if len(argv) == 3 and argv[1] == "versions":
        for name, version in sorted(versions(argv[2]).items()):
            print(name, version)
    elif len(argv) == 6 and argv[1] == "project":
        project(*argv[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
