#!/bin/sh
# Run an MPI test program under mpirun with NP ranks (more ranks than cores
# allowed). Exit 77 (meson: skipped) only when mpirun is absent.
# Usage: run-mpi.sh NP PROGRAM [ARGS...]
np=$1; shift
if ! command -v mpirun >/dev/null 2>&1; then
    echo "SKIP: mpirun not found (tools/setup installs openmpi-bin)"; exit 77
fi
# CI runs as root; Open MPI refuses that unless told twice.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# One OpenMP thread per rank: ranks already share the cores.
export OMP_NUM_THREADS=1
exec mpirun -np "$np" --oversubscribe "$@"
