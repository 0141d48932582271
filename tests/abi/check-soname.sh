#!/bin/sh
# The SONAME stays libsemiparam.so.0 whatever the release number.
# Usage: check-soname.sh LIBRARY
set -eu
soname=$(readelf -d "$1" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
if [ "$soname" != "libsemiparam.so.0" ]; then
    echo "FAIL: SONAME is '$soname', expected libsemiparam.so.0"; exit 1
fi
echo "ok: SONAME $soname"
