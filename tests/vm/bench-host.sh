# The host side of the VM bench, sourced by tests/vm/run.sh (bash) only when
# AGENTTRAIL_VM_BENCH=1 (see tests/vm/README.md, "Bench mode"). run.sh calls:
#   bench_prepare   after the initramfs tree is built: adds the static loops,
#                   a static true, bpftool and its libraries, the generated
#                   policies and tests/vm/bench-init.sh as /init
#   bench_host PHASE  before the boot (PHASE before) and after it (after): the
#                   bare loops on the host, the same binary and counts as in
#                   the guest; before the boot also the BPF time per open of
#                   agenttrail record (kernel.bpf_stats_enabled for a moment)
#   bench_report    the Markdown report (stdout, AGENTTRAIL_VM_BENCH_MD) and
#                   the JSON (AGENTTRAIL_VM_BENCH_JSON), by bench/vm-lsm.py
#   bench_cleanup   on exit: kernel.bpf_stats_enabled back as it was

BENCH_ROUNDS=${AGENTTRAIL_VM_BENCH_ROUNDS:-5}
BENCH_HOST_ROUNDS=${AGENTTRAIL_VM_BENCH_HOST_ROUNDS:-5}
BENCH_TURNS=${AGENTTRAIL_VM_BENCH_TURNS:-3}
# the host's turns are cheap (a fraction of a second each) and noisier
BENCH_HOST_TURNS=${AGENTTRAIL_VM_BENCH_HOST_TURNS:-5}
# Iterations per loop, chosen for TCG: each loop takes a second or two in
# the guest (and some milliseconds to a fraction of a second on the host).
N_OPEN=${AGENTTRAIL_VM_BENCH_OPEN:-40000}
N_FORK=${AGENTTRAIL_VM_BENCH_FORK:-200}
N_CONN=${AGENTTRAIL_VM_BENCH_CONN:-3000}
BENCH_JSON=${AGENTTRAIL_VM_BENCH_JSON:-$REPO/bench/results-vm-lsm.json}
BENCH_MD=${AGENTTRAIL_VM_BENCH_MD:-}
BENCH_STATS_WAS=""
BENCH_T0=$(date +%s)

bench_cleanup() {
	[ -z "$BENCH_STATS_WAS" ] || sysctl -qw "kernel.bpf_stats_enabled=$BENCH_STATS_WAS" || true
}

# copy_with_libs BINARY DEST ROOT: BINARY as DEST in the tree ROOT, with every
# shared library ldd names for it at the same path.
copy_with_libs() {
	local lib
	cp "$1" "$3$2" || return 1
	for lib in $(ldd "$1" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' | sort -u); do
		mkdir -p "$3$(dirname "$lib")" || return 1
		cp -L "$lib" "$3$lib" || return 1
	done
}

bench_prepare() {
	local bpftool
	mkdir -p "$WORK/hostbin" "$ROOT/bench"
	# One static build of each, run as the same file on both sides.
	cc -static -O2 -std=gnu11 -Wall -Wextra -Werror -pthread -o "$WORK/hostbin/loops" \
		"$REPO/bench/loops.c" || die "cannot build bench/loops.c statically"
	printf 'int main(void) { return 0; }\n' >"$WORK/true.c"
	cc -static -O2 -o "$WORK/hostbin/at-true" "$WORK/true.c" || die "cannot build a static true"
	cp "$WORK/hostbin/loops" "$WORK/hostbin/at-true" "$ROOT/bin/"
	bpftool=$(command -v bpftool || true)
	[ -n "$bpftool" ] || bpftool=/usr/sbin/bpftool
	[ -x "$bpftool" ] || die "no bpftool (package bpftool) for the BPF statistics"
	BENCH_BPFTOOL=$bpftool
	copy_with_libs "$bpftool" /bin/bpftool "$ROOT" || die "cannot copy bpftool into the initramfs"
	chroot "$ROOT" /bin/bpftool version >/dev/null 2>&1 || die "bpftool does not run in the initramfs"
	python3 "$REPO/bench/vm-lsm.py" policies "$ROOT" >&2 || die "cannot generate the policies"
	cp "$HERE/bench-lib.sh" "$ROOT/bench/bench-lib.sh"
	cat >"$ROOT/bench/params" <<-EOF
		ROUNDS=$BENCH_ROUNDS
		TURNS=$BENCH_TURNS
		N_OPEN=$N_OPEN
		N_FORK=$N_FORK
		N_CONN=$N_CONN
	EOF
	cp "$HERE/bench-init.sh" "$ROOT/init"
	chmod 755 "$ROOT/init"
}

# bench_host PHASE: the host's lines into $WORK/host.txt: the bare loops,
# then the BPF time per open (statistics on for that alone).
bench_host() {
	local t
	say "bench: $BENCH_HOST_ROUNDS rounds of the bare loops on the host ($1 the boot)"
	bench_host_run bench_host_loops "$1"
	say "bench: BPF time per open of agenttrail record on the host ($BENCH_HOST_TURNS turns)"
	BENCH_STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled) || die "cannot read kernel.bpf_stats_enabled"
	sysctl -qw kernel.bpf_stats_enabled=1 || die "cannot set kernel.bpf_stats_enabled"
	for t in $(seq "$BENCH_HOST_TURNS"); do
		bench_host_run bpf_open_turn "record/$1-$t" "$AT" record --no-db --quiet
		bench_host_run bpf_outside_turn "outside-record/$1-$t" "$AT" record --no-db --quiet
	done
	bench_cleanup
	BENCH_STATS_WAS=""
}

bench_host_loops() {
	local r
	bench_settle "$AGENTTRAIL"
	# the machine is shared: say what else ran
	echo "VMBENCH HOSTINFO phase=$1 loadavg=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' /)" \
		"other_agenttrail=$(($(pidof agenttrail | wc -w) - $(agenttrail_pids "$AGENTTRAIL" | wc -w)))"
	for r in $(seq "$BENCH_HOST_ROUNDS"); do
		bench_bare "$r" bare "phase=$1" || { cat "$BTMP/bare.err"; return 1; }
	done
}

# bench_host_run FUNCTION ARGS...: a function of bench-lib.sh with the host's
# binaries, its lines appended to $WORK/host.txt.
bench_host_run() {
	(
		# bench-lib.sh checks every status itself (it also runs in ash
		# without -e): run.sh's -e and pipefail are not for it
		set +e +o pipefail
		LOOPS=$WORK/hostbin/loops
		TRUE=$WORK/hostbin/at-true
		BPFTOOL=$BENCH_BPFTOOL
		AGENTTRAIL=$(readlink -f "$AT")
		BTMP=$WORK/btmp
		mkdir -p "$BTMP"
		# shellcheck source=bench-lib.sh
		. "$HERE/bench-lib.sh"
		"$@"
	) >>"$WORK/host.txt" 2>&1 || {
		tail -n 30 "$WORK/host.txt" >&2
		die "the host side of the bench failed ($1)"
	}
}

bench_report() {
	local meta=$WORK/meta.txt
	{
		echo "date=$(date -u +%F)"
		echo "host=$(uname -r), $(nproc) x $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
		echo "guest_kernel=$(grep -m1 '^VMTEST BEGIN' "$CLEAN" | sed 's/.*kernel=\([^ ]*\).*/\1/')"
		echo "kernel_package=$(basename "$KDIR")"
		echo "smp=$VM_SMP"
		echo "mem=$VM_MEM"
		echo "qemu=$(qemu-system-x86_64 --version | head -n1 | awk '{ print $4 }')"
		echo "git=$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)"
		echo "command=AGENTTRAIL_VM_BENCH=1 bash tests/vm/run.sh"
		echo "host_rounds=$BENCH_HOST_ROUNDS"
		echo "qemu_s=$elapsed"
		echo "total_s=$(($(date +%s) - BENCH_T0))"
	} >"$meta"
	python3 "$REPO/bench/vm-lsm.py" report --vm "$CLEAN" --host "$WORK/host.txt" --meta "$meta" \
		--json "$BENCH_JSON" ${BENCH_MD:+--md "$BENCH_MD"}
}
