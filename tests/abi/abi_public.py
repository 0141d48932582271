#!/usr/bin/env python3
"""Drop the private export node from an abidw dump (stdin -> stdout).

libsemiparam.so exports a few sp__ internals under SEMIPARAM_PRIVATE_0.1 for
libsemiparam-mpi (docs/architecture.md). They are not API, and which of them
a build has depends on its modules (a build without nn has no trainer
hooks), so the ABI baseline leaves them out: their ELF symbols and the
function declarations bound to them. Line by line, so that everything else
stays exactly as abidw wrote it (check-abi.sh reads the SONAME with sed)."""
import sys

PRIVATE = "SEMIPARAM_PRIVATE_0.1"

skipping = False
for line in sys.stdin:
    if skipping:
        skipping = "</function-decl>" not in line
        continue
    if "<elf-symbol " in line and "version='%s'" % PRIVATE in line:
        continue
    if "<function-decl " in line and "@@%s'" % PRIVATE in line:
        skipping = not line.rstrip().endswith("/>")
        continue
    sys.stdout.write(line)
