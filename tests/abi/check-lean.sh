#!/bin/sh
# A build without some modules links none of their dependencies: neither the
# library's own NEEDED entries (readelf -d) nor what they pull in (ldd) name them.
# Usage: check-lean.sh LIBRARY PATTERN...   (extended regexps of library names)
set -eu
lib=$1
shift
needed=$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
loaded=$(ldd "$lib" | awk '{print $1}')
[ -n "$needed" ] && [ -n "$loaded" ] || { echo "FAIL: no dependencies read from $lib"; exit 1; }
status=0
for pattern in "$@"; do
    if found=$(printf '%s\n' "$needed" "$loaded" | grep -E "$pattern" | sort -u) && [ -n "$found" ]; then
        echo "FAIL: $lib links $(echo "$found" | tr '\n' ' ')(matches '$pattern')"
        status=1
    fi
done
[ $status -eq 0 ] && echo "ok: $lib links only: $(echo "$loaded" | tr '\n' ' ')"
exit $status
