#!/bin/sh
# /init of the VM bench (AGENTTRAIL_VM_BENCH=1 bash tests/vm/run.sh; see
# tests/vm/README.md, "Bench mode"): the added time per open, fork+exec and
# connect of the BPF-LSM backend on Debian 12's 6.1 kernel, under TCG.
#
# First it checks that BPF-LSM is what decides the policies' file and exec
# rules (doctor, the LSM list, `agenttrail check`, no fanotify group in a
# running agenttrail); then, with kernel.bpf_stats_enabled, the BPF time per
# open of the same programs the host measures (its calibration); then, with
# the statistics off, interleaved rounds of the configurations. It prints the
# markers tests/vm/run.sh counts (VMTEST PLAN/RESULT/END) and the VMBENCH
# lines bench/vm-lsm.py reads, and powers off. /bench/params sets ROUNDS,
# N_OPEN, N_FORK, N_CONN.
export PATH=/bin
export HOME=/root
umask 022

PLAN="bench_doctor_lsm bench_lsm_active bench_policy32_lsm bench_policy256_lsm
bench_no_fanotify bench_bpf_record bench_bpf_lsm bench_bpf_outside bench_runs_clean bench_samples"

mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tracefs tracefs /sys/kernel/tracing
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t securityfs securityfs /sys/kernel/security
mount -t bpf bpf /sys/fs/bpf
mount -t tmpfs tmpfs /tmp
# Only errors and worse on the console (the stall watcher needs those):
# a kernel message must not land in the middle of a result line.
echo 4 >/proc/sys/kernel/printk
ip link set lo up
hostname agenttrail-vm

. /bench/params
. /bench/bench-lib.sh
LOOPS=/bin/loops
TRUE=/bin/at-true
BPFTOOL=/bin/bpftool
AGENTTRAIL=/bin/agenttrail
BTMP=/tmp/bench
mkdir -p "$BTMP"
# agenttrail's ~ for the generated policies (bench/vm-lsm.py policies)
PHOME=/bench/policy/home
P32=/bench/policy-32.yaml
P256=/bench/policy-256.yaml

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "VMTEST RESULT PASS $1"; }
fail() { FAILED=$((FAILED + 1)); echo "VMTEST RESULT FAIL $1${2:+: $2}"; }
check() {
	_name=$1
	_why=$2
	shift 2
	if "$@"; then pass "$_name"; else fail "$_name" "$_why"; fi
}
show() {
	echo "----- $1 -----"
	cat "$2" 2>/dev/null
	echo "----- end $1 -----"
}
now() { read -r up _ </proc/uptime; echo "$up"; }

echo
echo "VMTEST BEGIN kernel=$(uname -r) uptime=$(now)s cpus=$(nproc) bench"
echo "VMTEST PLAN" $PLAN
echo "VMBENCH PARAMS rounds=$ROUNDS n_open=$N_OPEN n_fork=$N_FORK n_conn=$N_CONN"

# --- is BPF-LSM what decides? ---------------------------------------------------
agenttrail doctor >"$BTMP/doctor.txt" 2>&1
show "agenttrail doctor" "$BTMP/doctor.txt"
check bench_doctor_lsm "$(grep -E '^  BPF-LSM ' "$BTMP/doctor.txt")" \
	grep -Eq '^  BPF-LSM +yes +loads and attaches' "$BTMP/doctor.txt"
check bench_lsm_active "lsm list: $(cat /sys/kernel/security/lsm)" \
	grep -q '\bbpf\b' /sys/kernel/security/lsm

# policy_lsm N FILE: agenttrail check reads FILE as N rules and names BPF-LSM
# for every file and exec operation of them (and fanotify for none).
policy_lsm() {
	HOME=$PHOME agenttrail check "$2" >"$BTMP/check-$1.txt" 2>&1 || return 1
	grep -q ": valid: .* $1 rules," "$BTMP/check-$1.txt" || return 1
	awk '/^    / { $1 = ""; sub(/^ /, ""); n[$0]++ } END { for (m in n) print n[m], m }' \
		"$BTMP/check-$1.txt" | sort -rn >"$BTMP/mech-$1.txt"
	show "agenttrail check $2: operations per mechanism" "$BTMP/mech-$1.txt"
	awk -v n="$1" '{ c = $1; sub(/^[0-9]+ /, ""); print "VMBENCH MECH policy=" n " count=" c " mechanism=" $0 }' \
		"$BTMP/mech-$1.txt"
	grep -q 'BPF-LSM' "$BTMP/mech-$1.txt" && ! grep -Eq 'fanotify|OBSERVED' "$BTMP/mech-$1.txt"
}
check bench_policy32_lsm "see the mechanisms above" policy_lsm 32 "$P32"
check bench_policy256_lsm "see the mechanisms above" policy_lsm 256 "$P256"

# enforce_clean ERRFILE RC N: an enforcing run exited 0 after loading N rules,
# decided nothing and counted no violation (a rule that fired would mean the
# loops measured something else than they do bare).
enforce_clean() {
	[ "$2" -eq 0 ] && grep -q "^agenttrail: enforcing .*: $3 rules," "$1" &&
		! grep -Eq '^agenttrail: (block|kill|notify) ' "$1" &&
		grep -Eq '^violation +0 +0$' "$1"
}
DIRTY=""
dirty() {
	DIRTY="$DIRTY $1"
	show "$1: agenttrail's stderr" "$2"
}

# The held session of enforce256-outside: agenttrail run --policy P256 on a
# cat that waits on a FIFO; the loops run outside it. hold_start also checks
# that this agenttrail opened no fanotify group (with every file and exec
# rule in the LSM, none is needed).
hold_start() {
	bench_settle "$AGENTTRAIL"
	rm -f "$BTMP/hold" "$BTMP/hold.ready"
	mkfifo "$BTMP/hold"
	HOME=$PHOME agenttrail run --policy "$P256" --no-db --stats --ready-file "$BTMP/hold.ready" \
		-- cat <"$BTMP/hold" >/dev/null 2>"$BTMP/hold.err" &
	HOLD_PID=$!
	exec 8>"$BTMP/hold"
	_i=0
	while [ ! -e "$BTMP/hold.ready" ] && [ "$_i" -lt 1200 ] && kill -0 "$HOLD_PID" 2>/dev/null; do
		sleep 0.1
		_i=$((_i + 1))
	done
	[ -e "$BTMP/hold.ready" ]
}
fanotify_fds() { ls -l "/proc/$HOLD_PID/fd" 2>/dev/null | grep -c 'anon_inode:\[fanotify\]'; }
hold_stop() {
	exec 8>&-
	wait "$HOLD_PID"
	HOLD_RC=$?
}

hold_start
FAN=$(fanotify_fds)
ls -l "/proc/$HOLD_PID/fd" >"$BTMP/hold-fds.txt" 2>&1
"$BPFTOOL" prog show | grep -E '^[0-9]+: lsm ' >"$BTMP/lsm-progs.txt"
hold_stop
show "agenttrail run --policy P256: its open files" "$BTMP/hold-fds.txt"
show "BPF-LSM programs while it ran" "$BTMP/lsm-progs.txt"
check bench_no_fanotify "fanotify groups: $FAN, LSM programs: $(wc -l <"$BTMP/lsm-progs.txt")" \
	[ "$FAN" -eq 0 -a -s "$BTMP/lsm-progs.txt" ]
enforce_clean "$BTMP/hold.err" "$HOLD_RC" 256 || dirty hold-check "$BTMP/hold.err"

# --- BPF time per open, with the statistics on -------------------------------------
# The same open loop as on the host, observed by agenttrail record (the host
# runs this too: its ratio is the BPF calibration), and enforcing P256 (the
# LSM programs' own time per call; the host cannot load them).
echo 1 >/proc/sys/kernel/bpf_stats_enabled
BAD_REC=""
BAD_LSM=""
BAD_OUT=""
t=1
while [ "$t" -le "$TURNS" ]; do
	bpf_open_turn "record/$t" agenttrail record --no-db --quiet >"$BTMP/bpf.txt" 2>&1 ||
		BAD_REC="$BAD_REC $t"
	cat "$BTMP/bpf.txt"
	bpf_open_turn "enforce256/$t" env HOME=$PHOME agenttrail run --policy "$P256" --no-db --quiet \
		>"$BTMP/bpf.txt" 2>&1 && grep -q 'name=guard_file_open' "$BTMP/bpf.txt" ||
		BAD_LSM="$BAD_LSM $t"
	cat "$BTMP/bpf.txt"
	# the loop outside every session, while another is recorded (the host
	# runs this too), and while P256 is enforced on another
	bpf_outside_turn "outside-record/$t" agenttrail record --no-db --quiet \
		>"$BTMP/bpf.txt" 2>&1 || BAD_OUT="$BAD_OUT record/$t"
	cat "$BTMP/bpf.txt"
	# (not --quiet: enforce_clean looks for its "enforcing ..." line)
	bpf_outside_turn "outside256/$t" env HOME=$PHOME agenttrail run --policy "$P256" --no-db \
		--stats >"$BTMP/bpf.txt" 2>&1 && enforce_clean "$BTMP/hold.err" 0 256 ||
		BAD_OUT="$BAD_OUT 256/$t"
	cat "$BTMP/bpf.txt"
	t=$((t + 1))
done
check bench_bpf_record "failed turns:$BAD_REC" [ -z "$BAD_REC" ]
check bench_bpf_lsm "turns that failed, or where guard_file_open did not run:$BAD_LSM" [ -z "$BAD_LSM" ]
check bench_bpf_outside "failed turns:$BAD_OUT" [ -z "$BAD_OUT" ]
echo 0 >/proc/sys/kernel/bpf_stats_enabled

# --- interleaved rounds ----------------------------------------------------------
# TCG translates guest code to host code the first time it runs: one pass of
# the loops, not counted, so that the first configuration of round 1 does not
# pay for translating the kernel's open, fork, exec and connect paths.
bench_settle "$AGENTTRAIL"
bench_bare 0 warmup >/dev/null || echo "warm-up pass failed: $(cat "$BTMP/bare.err")"
W=$(bench_workload)
CONFIGS="bare in-session enforce32 enforce256 enforce256-outside"

run_config() { # ROUND CONFIG
	case $2 in
	bare)
		bench_bare "$1" bare
		;;
	in-session)
		agenttrail record --no-db --quiet --stats -- sh -c "$W" >"$BTMP/s.out" 2>"$BTMP/s.err"
		_rc=$?
		[ "$_rc" -eq 0 ] || dirty "round $1 $2 (exit $_rc)" "$BTMP/s.err"
		bench_samples "$BTMP/s.out" "$1" "$2"
		;;
	enforce32 | enforce256)
		_n=${2#enforce}
		HOME=$PHOME agenttrail run --policy "/bench/policy-$_n.yaml" --no-db --stats \
			-- sh -c "$W" >"$BTMP/s.out" 2>"$BTMP/s.err"
		_rc=$?
		enforce_clean "$BTMP/s.err" "$_rc" "$_n" || dirty "round $1 $2 (exit $_rc)" "$BTMP/s.err"
		bench_samples "$BTMP/s.out" "$1" "$2"
		;;
	enforce256-outside)
		if ! hold_start; then
			hold_stop
			dirty "round $1 $2: agenttrail run never got ready" "$BTMP/hold.err"
			return 1
		fi
		_fan=$(fanotify_fds)
		bench_bare "$1" "$2"
		_brc=$?
		hold_stop
		enforce_clean "$BTMP/hold.err" "$HOLD_RC" 256 && [ "$_fan" -eq 0 ] ||
			dirty "round $1 $2 (exit $HOLD_RC, fanotify $_fan)" "$BTMP/hold.err"
		return $_brc
		;;
	esac
}

MISSING=""
r=1
while [ "$r" -le "$ROUNDS" ]; do
	# each round starts one configuration later, so that none is always
	# first (after the previous round's teardown) or last
	set -- $CONFIGS
	k=$(((r - 1) % $#))
	while [ "$k" -gt 0 ]; do
		_first=$1
		shift
		set -- "$@" "$_first"
		k=$((k - 1))
	done
	t=$(now)
	for c in "$@"; do
		# the previous configuration's agenttrail gone (hold_start waits too)
		bench_settle "$AGENTTRAIL" || DIRTY="$DIRTY settle-$r/$c"
		run_config "$r" "$c" || MISSING="$MISSING $r/$c"
	done
	echo "VMBENCH ROUND $r done order=$(echo "$@" | tr ' ' ,) seconds=$(awk -v a="$t" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')"
	r=$((r + 1))
done
check bench_runs_clean "not clean:$DIRTY" [ -z "$DIRTY" ]
check bench_samples "missing samples:$MISSING" [ -z "$MISSING" ]

echo "VMTEST END passed=$PASSED failed=$FAILED uptime=$(now)s"
sync
poweroff -f
sleep 5
