# Shared by the VM bench's two sides (see tests/vm/README.md, "Bench mode"):
# sourced by tests/vm/run.sh on the host (bash) and by tests/vm/bench-init.sh
# in the guest (busybox ash), so that both run the same loops and read the
# BPF statistics the same way. POSIX sh only.
#
# Every result is one line, "VMBENCH KIND key=value ...", on stdout; the
# host's report (bench/vm-lsm.py) reads the guest's from the serial log and
# the host's from a file, with the same parser.
#
# The caller sets:
#   LOOPS     bench/loops, built statically (the same file on both sides)
#   TRUE      a static program that exits 0, for the fork+exec loop
#   BPFTOOL   bpftool
#   AGENTTRAIL  the agenttrail binary the sessions run (its absolute path)
#   N_OPEN N_FORK N_CONN   iterations of the open, fork+exec, connect loops
#   BTMP      a scratch directory

# The three loops as one shell command: a session runs them all, so that
# agenttrail starts once per configuration and round, not once per loop.
bench_workload() {
	echo "$LOOPS open $N_OPEN && $LOOPS forkexec $N_FORK $TRUE && $LOOPS connect $N_CONN"
}

# bench_samples FILE ROUND CONFIG [EXTRA]: the loops' three "ns_per_op=X"
# lines in FILE as SAMPLE lines. Fails (and prints nothing) unless all three
# are there.
bench_samples() {
	[ "$(grep -c '^ns_per_op=[0-9.]*$' "$1")" -eq 3 ] || return 1
	awk -v r="$2" -v c="$3" -v x="${4:-}" '
		BEGIN { split("open forkexec connect", w, " ") }
		/^ns_per_op=[0-9.]+$/ {
			n++
			sub(/^ns_per_op=/, "")
			print "VMBENCH SAMPLE round=" r " config=" c " workload=" w[n] " ns_per_op=" $0 (x ? " " x : "")
		}' "$1"
}

# agenttrail_pids AGENTTRAIL: the processes running the binary AGENTTRAIL
# (another agenttrail on the machine is not ours to wait for).
agenttrail_pids() {
	for _p in $(pidof agenttrail); do
		[ "$(readlink "/proc/$_p/exe" 2>/dev/null)" = "$1" ] && echo "$_p"
	done
	return 0
}

# bench_settle AGENTTRAIL: wait, up to 120 s, until no process runs
# AGENTTRAIL. agenttrail exits as soon as its command is done but leaves a
# detached child that detaches its BPF programs (an RCU grace period per
# link, seconds under TCG); until then every syscall on the machine still
# runs them, and a bare sample taken then would not be bare.
bench_settle() {
	_i=0
	while [ -n "$(agenttrail_pids "$1")" ]; do
		_i=$((_i + 1))
		if [ "$_i" -gt 600 ]; then
			echo "VMBENCH WARN agenttrail still running after 120 s: $(agenttrail_pids "$1" | tr '\n' ' ')"
			return 1
		fi
		sleep 0.2
	done
	return 0
}

# bench_bare ROUND CONFIG [EXTRA]: the loops, in no session.
bench_bare() {
	sh -c "$(bench_workload)" >"$BTMP/bare.out" 2>"$BTMP/bare.err" &&
		bench_samples "$BTMP/bare.out" "$1" "$2" "${3:-}"
}

# bpf_progs FILE: each loaded program as "ID NAME RUN_TIME_NS RUN_CNT"
# (bpftool prints the run time and count only while kernel.bpf_stats_enabled
# is 1; tail-called programs have none, their time is their caller's).
bpf_progs() {
	"$BPFTOOL" prog show >"$BTMP/progs.txt" || return 1
	awk '/^[0-9]+: / {
		id = $1; sub(/:$/, "", id); name = "?"; rt = 0; rc = 0
		for (i = 2; i < NF; i++) {
			if ($i == "name") name = $(i + 1)
			if ($i == "run_time_ns") rt = $(i + 1)
			if ($i == "run_cnt") rc = $(i + 1)
		}
		print id, name, rt, rc
	}' "$BTMP/progs.txt" >"$1"
}

# bpf_open_turn TAG COMMAND...: the BPF run time per open+close of the open
# loop in a session of COMMAND (agenttrail record or run, with its options;
# "--ready-file F -- loops turns open N_OPEN" is appended). The loop waits
# for a byte on a FIFO, so the statistics are read, outside the session,
# once agenttrail is ready and again after exactly one chunk of N_OPEN opens:
# the difference, over the programs agenttrail loaded, is their time for
# that chunk. The loop's line comes back through a FIFO too, read by a
# blocking read: nothing polls while the chunk runs (every syscall, in a
# session or not, runs agenttrail's dispatcher). Prints a BPFLOOP line (the
# loop's own ns per op) and one BPF line per program that ran.
# kernel.bpf_stats_enabled must be 1.
# Without COMMAND the loop runs in no session, and the programs counted are
# those of the agenttrail whose pid is in BPF_IDS_PID (one holding a session
# elsewhere): what an open outside every session costs.
bpf_open_turn() {
	_tag=$1
	shift
	[ $# -eq 0 ] || bench_settle "$AGENTTRAIL"
	rm -f "$BTMP/turn.in" "$BTMP/turn.out" "$BTMP/turn.ready"
	mkfifo "$BTMP/turn.in" "$BTMP/turn.out" || return 1
	if [ $# -gt 0 ]; then
		"$@" --ready-file "$BTMP/turn.ready" -- "$LOOPS" turns open "$N_OPEN" \
			<"$BTMP/turn.in" >"$BTMP/turn.out" 2>"$BTMP/turn.err" &
		_pid=$!
		_ids=$_pid
	else
		_ids=${BPF_IDS_PID:-}
		[ -n "$_ids" ] || return 1
		"$LOOPS" turns open "$N_OPEN" <"$BTMP/turn.in" >"$BTMP/turn.out" 2>"$BTMP/turn.err" &
		_pid=$!
		: >"$BTMP/turn.ready"
	fi
	# the same order as the redirections above, or both sides block
	exec 7>"$BTMP/turn.in"
	exec 6<"$BTMP/turn.out"
	_i=0
	while [ ! -e "$BTMP/turn.ready" ] && [ "$_i" -lt 1200 ] && kill -0 "$_pid" 2>/dev/null; do
		sleep 0.1
		_i=$((_i + 1))
	done
	_line=""
	# this agenttrail's programs: the prog_id of every BPF fd it holds (on a
	# shared host another agenttrail may load the same programs meanwhile)
	cat "/proc/$_ids/fdinfo/"* 2>/dev/null | awk '$1 == "prog_id:" { print $2 }' |
		sort -u >"$BTMP/ours.txt"
	if [ -e "$BTMP/turn.ready" ] && [ -s "$BTMP/ours.txt" ] && bpf_progs "$BTMP/before.txt"; then
		printf x >&7
		read -r _line <&6 || _line=""
		case $_line in
		ns_per_op=*) bpf_progs "$BTMP/after.txt" || _line="" ;;
		*) _line="" ;;
		esac
	fi
	exec 7>&-
	wait "$_pid"
	_rc=$?
	exec 6<&-
	if [ -z "$_line" ] || [ "$_rc" -ne 0 ]; then
		echo "bpf_open_turn $_tag: failed (exit $_rc, loop line '$_line'); agenttrail's stderr:"
		tail -n 20 "$BTMP/turn.err"
		return 1
	fi
	echo "VMBENCH BPFLOOP tag=$_tag ops=$N_OPEN $_line"
	# the programs of this agenttrail that ran
	awk -v tag="$_tag" '
		FILENAME == ARGV[1] { ours[$1] = 1; next }
		FILENAME == ARGV[2] { rt[$1] = $3; rc[$1] = $4; next }
		($1 in ours) && ($1 in rt) && $4 > rc[$1] {
			printf "VMBENCH BPF tag=%s id=%s name=%s run_time_ns=%.0f run_cnt=%.0f\n",
				tag, $1, $2, $3 - rt[$1], $4 - rc[$1]
		}' "$BTMP/ours.txt" "$BTMP/before.txt" "$BTMP/after.txt"
}

# bpf_outside_turn TAG COMMAND...: bpf_open_turn of the loop in no session
# while COMMAND (agenttrail record or run, with its options; "--ready-file F
# -- cat" is appended) holds a session of a cat waiting on a FIFO; the
# programs counted are that agenttrail's. Fails if it never got ready or did
# not exit 0; its stderr is left in $BTMP/hold.err.
bpf_outside_turn() {
	_otag=$1
	shift
	bench_settle "$AGENTTRAIL"
	rm -f "$BTMP/hold" "$BTMP/hold.ready"
	mkfifo "$BTMP/hold" || return 1
	"$@" --ready-file "$BTMP/hold.ready" -- cat <"$BTMP/hold" >/dev/null 2>"$BTMP/hold.err" &
	_hpid=$!
	exec 8>"$BTMP/hold"
	_i=0
	while [ ! -e "$BTMP/hold.ready" ] && [ "$_i" -lt 1200 ] && kill -0 "$_hpid" 2>/dev/null; do
		sleep 0.1
		_i=$((_i + 1))
	done
	_ok=1
	if [ -e "$BTMP/hold.ready" ]; then
		BPF_IDS_PID=$_hpid
		bpf_open_turn "$_otag" || _ok=0
		unset BPF_IDS_PID
	else
		_ok=0
	fi
	exec 8>&-
	wait "$_hpid"
	_hrc=$?
	[ "$_ok" -eq 1 ] && [ "$_hrc" -eq 0 ]
}
