#!/bin/bash
# bench/build.sh BUILD_DIR N [TARGET...] - the `build` workload of bench/run: N
# parallel clean builds of an already configured CMake build directory.
#
# bench/run copies the project's source (git HEAD) and configures it into
# BUILD_DIR once, outside any timing.  Each of the N builds here first runs
# `make clean` (not timed), then times `cmake --build BUILD_DIR -j JOBS
# [--target TARGET...]`, with JOBS = the number of CPUs we may run on.  The last
# line on stdout is "ns_per_op=X": the mean wall time of one build (bash's
# EPOCHREALTIME).  The compilers' output goes to BUILD_DIR/bench-build.log;
# a failed build prints its tail and exits 1.
set -euo pipefail

if [ $# -lt 2 ] || ! [[ $2 =~ ^[1-9][0-9]*$ ]]; then
	echo "usage: build.sh BUILD_DIR N [TARGET...]" >&2
	exit 2
fi
dir=$1
n=$2
shift 2
target=()
[ $# -gt 0 ] && target=(--target "$@")
jobs=$(nproc)
log=$dir/bench-build.log
total=0

for ((i = 1; i <= n; i++)); do
	make -s -C "$dir" clean >/dev/null 2>&1
	t0=$EPOCHREALTIME
	if ! cmake --build "$dir" -j "$jobs" "${target[@]}" >"$log" 2>&1; then
		tail -n 40 "$log" >&2
		echo "build.sh: build $i of $n failed" >&2
		exit 1
	fi
	t1=$EPOCHREALTIME
	total=$(awk -v t="$total" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", t + b - a }')
done
awk -v t="$total" -v n="$n" 'BEGIN { printf "ns_per_op=%.1f\n", t * 1e9 / n }'
