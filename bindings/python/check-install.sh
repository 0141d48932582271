#!/bin/sh
# The installed Python package works with the installed library: install
# into a scratch destdir, then import semiparam from there with the library
# found on the system's search path (no SEMIPARAM_LIBRARY, no build tree).
# Usage: check-install.sh BUILD_ROOT PYTHON
set -eu
build=$1 python=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
meson install -C "$build" --no-rebuild --quiet --destdir "$tmp/dest" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; echo "FAIL: meson install"; exit 1; }
pkg=$(find "$tmp/dest" -path '*/semiparam/__init__.py' | head -n 1)
so=$(find "$tmp/dest" -name 'libsemiparam.so.0' | head -n 1)
[ -n "$pkg" ] || { echo "FAIL: the Python package was not installed"; exit 1; }
[ -n "$so" ] || { echo "FAIL: libsemiparam.so.0 was not installed"; exit 1; }
unset SEMIPARAM_LIBRARY
cd "$tmp"
PYTHONPATH=$(dirname "$(dirname "$pkg")") LD_LIBRARY_PATH=$(dirname "$so") "$python" - "$tmp/dest" <<'PY'
import sys
import semiparam as sp

assert sp.__file__.startswith(sys.argv[1]), sp.__file__
assert sp.LIBRARY_PATH == "libsemiparam.so.0", sp.LIBRARY_PATH  # from the search path
with open("/proc/self/maps") as maps:
    loaded = {line.split()[-1] for line in maps if "libsemiparam" in line}
assert loaded and all(path.startswith(sys.argv[1]) for path in loaded), loaded
with sp.Game(9) as game:
    game.play("E5")
    assert game.color_at("E5") == sp.Color.BLACK
print("ok: installed package %s %s over the installed library" % (sp.__file__, sp.version_string()))
PY
