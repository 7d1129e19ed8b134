#!/bin/sh
# /init of the agenttrail test VM (busybox ash; see tests/vm/README.md).
#
# Mounts what agenttrail needs, runs the checks, prints one line per check on
# the serial console and powers off:
#   VMTEST BEGIN ...
#   VMTEST PLAN name...               every check this run will report
#   VMTEST RESULT PASS|FAIL name[: why]
#   VMTEST END passed=N failed=M
# tests/vm/run.sh (on the host) parses these lines. Anything that is not a
# marker (doctor output, the recorded JSONL, libbpf logs, kernel messages) is
# there for a human reading the log.
export PATH=/bin
export HOME=/root
umask 022

PLAN="doctor_runs doctor_btf doctor_bpf_lsm lsm_bpf_active
record_status exec_cat_argv open_read open_write session_end_no_loss exec_wake_known
net_status net_connect net_sock_close_bytes net_no_loss
guard_status guard_connect_blocked guard_clean_connect guard_violation_event
guard_write_blocked guard_exec_blocked guard_metadata_blocked guard_kill
guard_lsm_mechanism guard_lsm_unlink guard_lsm_rename guard_lsm_subtree
seccomp_status seccomp_unlink_rename lsm_full_to_fanotify
contracts_status contract_commit contract_rm contract_untrusted contract_declassify
contract_subtree_label contract_egress_domain
evasion_status evasion_uring_open evasion_uring_connect evasion_execveat evasion_links
evasion_daemon evasion_cgroup evasion_thread evasion_udp"

mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tracefs tracefs /sys/kernel/tracing
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t securityfs securityfs /sys/kernel/security
mount -t bpf bpf /sys/fs/bpf
mount -t tmpfs tmpfs /tmp
ip link set lo up
hostname agenttrail-vm

# A recording that hangs must not eat the host's whole time budget.
REC_TIMEOUT=300
PASSED=0
FAILED=0

now() { read -r up _ </proc/uptime; echo "$up"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

pass() { PASSED=$((PASSED + 1)); echo "VMTEST RESULT PASS $1"; }
fail() { FAILED=$((FAILED + 1)); echo "VMTEST RESULT FAIL $1${2:+: $2}"; }
# check NAME WHY COMMAND...: PASS if COMMAND succeeds, else FAIL with WHY.
check() {
	_name=$1
	_why=$2
	shift 2
	if "$@"; then pass "$_name"; else fail "$_name" "$_why"; fi
}

# line_with FILE STRING...: some line of FILE contains every STRING.
line_with() {
	_f=$1
	shift
	[ -s "$_f" ] || return 1
	cp "$_f" /tmp/.lw.0
	for _s in "$@"; do
		grep -F -e "$_s" /tmp/.lw.0 >/tmp/.lw.1 || return 1
		mv /tmp/.lw.1 /tmp/.lw.0
	done
	return 0
}

show() { # show TITLE FILE: a file on the console between markers
	echo "----- $1 -----"
	cat "$2" 2>/dev/null
	echo
	echo "----- end $1 -----"
}

# After a failed recording: the same command again with -v, so that libbpf's
# program-load log (with the verifier's message) reaches the console. The
# whole log sits between VMTEST LOG markers (run.sh folds it away unless
# AGENTTRAIL_VM_LOG keeps it); the lines that matter follow it: every
# failure/error line and the last 60 lines of each verifier log.
verbose_rerun() {
	_what=$1
	shift
	timeout "$REC_TIMEOUT" agenttrail record -v "$@" </dev/null >/tmp/v.log 2>&1
	_rc=$?
	echo "VMTEST LOG BEGIN $_what: agenttrail record -v (rc=$_rc, $(wc -l </tmp/v.log) lines)"
	cat /tmp/v.log
	echo "VMTEST LOG END $_what"
	echo "----- $_what: libbpf and verifier messages from the -v run (rc=$_rc) -----"
	awk '
		/BEGIN PROG LOAD LOG/ { inlog = 1; n = 0; print; next }
		/END PROG LOAD LOG/ {
			s = n > 60 ? n - 60 : 0
			if (s) print "  [... " s " earlier verifier lines ...]"
			for (i = s; i < n; i++) print buf[i % 60]
			print
			inlog = 0
			next
		}
		inlog { buf[n % 60] = $0; n++; next }
		tolower($0) ~ /fail|error|refus|invalid|unknown|not found|not supported|denied|permission/ { print }
	' /tmp/v.log | tail -n 300
	echo "----- end $_what -----"
}

echo
echo "VMTEST BEGIN kernel=$(uname -r) uptime=$(now)s cpus=$(nproc)"
echo "VMTEST PLAN" $PLAN
echo "cmdline: $(cat /proc/cmdline)"

# --- doctor -------------------------------------------------------------------
t=$(now)
agenttrail doctor >/tmp/doctor.txt 2>&1
rc=$?
show "agenttrail doctor (rc=$rc, $(since "$t")s)" /tmp/doctor.txt
check doctor_runs "exit status $rc" [ "$rc" -eq 0 ]
check doctor_btf "no 'BTF yes' line" grep -Eq '^  BTF +yes' /tmp/doctor.txt
check doctor_bpf_lsm "BPF-LSM does not work: $(grep -E '^  BPF-LSM ' /tmp/doctor.txt)" \
	grep -Eq '^  BPF-LSM +yes +loads and attaches' /tmp/doctor.txt
check lsm_bpf_active "active LSMs: $(cat /sys/kernel/security/lsm 2>&1)" \
	grep -Eq '(^|,)bpf(,|$)' /sys/kernel/security/lsm

# --- files and processes -------------------------------------------------------
CMD='cat /etc/hostname-test; echo hi > /tmp/out.txt; ls /nonexistent'
/bin/sh -c "$CMD" >/dev/null 2>&1
want=$?
rm -f /tmp/out.txt /tmp/ev.jsonl
t=$(now)
timeout "$REC_TIMEOUT" agenttrail record --no-db --jsonl /tmp/ev.jsonl -- /bin/sh -c "$CMD" \
	</dev/null >/tmp/rec.out 2>/tmp/rec.err
rc=$?
cat /tmp/rec.out /tmp/rec.err >/tmp/rec.log
show "record files (rc=$rc, command alone exits $want, $(since "$t")s): output" /tmp/rec.log
show "record files: JSONL" /tmp/ev.jsonl
check record_status "agenttrail exited $rc, the command alone exits $want" [ "$rc" -eq "$want" ]
check exec_cat_argv "no exec with argv [cat, /etc/hostname-test]" \
	line_with /tmp/ev.jsonl '"type":"exec"' '"argv":["cat","/etc/hostname-test"]'
check open_read "no read open of /etc/hostname-test" \
	line_with /tmp/ev.jsonl '"type":"open"' '"path":"/etc/hostname-test"' '"access":"read"' '"errno":null'
check open_write "no write open of /tmp/out.txt" \
	line_with /tmp/ev.jsonl '"type":"open"' '"path":"/tmp/out.txt"' '"access":"write"' '"create":true'
check session_end_no_loss "no session_end with lost_total 0" \
	line_with /tmp/ev.jsonl '"type":"session_end"' '"lost_total":0'
if [ "$rc" -ne "$want" ] || ! grep -q '"type":"session_end"' /tmp/ev.jsonl; then
	verbose_rerun files --no-db --jsonl /tmp/ev-v.jsonl -- /bin/sh -c "$CMD"
fi

# An exec of a program already looked at for TLS (here: remembered without
# a library by the first run) does not wake the reader at once: this
# kernel's inode change time is read as user space's stat() sees it.
LOOP='i=0; while [ $i -lt 20 ]; do /bin/true; i=$((i+1)); done'
for run in cold warm; do
	AGENTTRAIL_TLS_CACHE=/tmp/tls-cache timeout "$REC_TIMEOUT" agenttrail record --no-db \
		--quiet --stats -- /bin/sh -c "$LOOP" </dev/null >/dev/null 2>/tmp/wake-$run.txt
done
show "exec wakeups, warm cache: --stats" /tmp/wake-warm.txt
check exec_wake_known "$(grep 'exec records' /tmp/wake-cold.txt) / $(grep 'exec records' /tmp/wake-warm.txt)" \
	sh -c "grep -q 'exec records: [1-9][0-9]* woke the reader at once' /tmp/wake-cold.txt &&
	       grep -q 'exec records: 0 woke the reader at once, 21 did not' /tmp/wake-warm.txt"

# --- network: loopback TCP ------------------------------------------------------
# The server runs outside the session; its stdin is a FIFO kept open by a
# sleeper so that it never half-closes first and waits for the client's EOF.
PORT=5555
mkfifo /tmp/nc.in
sleep 600 >/tmp/nc.in &
sleeper=$!
nc -l -p "$PORT" </tmp/nc.in >/tmp/nc.srv 2>&1 &
server=$!
i=0
while ! netstat -ltn 2>/dev/null | grep -q ":$PORT "; do
	i=$((i + 1))
	[ "$i" -gt 100 ] && break
	sleep 0.1
done
NETCMD="echo hello | nc 127.0.0.1 $PORT"
rm -f /tmp/net.jsonl
t=$(now)
timeout "$REC_TIMEOUT" agenttrail record --no-db --jsonl /tmp/net.jsonl -- /bin/sh -c "$NETCMD" \
	</dev/null >/tmp/net.out 2>/tmp/net.err
rc=$?
cat /tmp/net.out /tmp/net.err >/tmp/net.log
show "record net (rc=$rc, $(since "$t")s): output" /tmp/net.log
show "record net: JSONL" /tmp/net.jsonl
got=$(cat /tmp/nc.srv 2>/dev/null)
check net_status "agenttrail exited $rc, server received '$got'" [ "$rc" -eq 0 -a "$got" = hello ]
check net_connect "no connect to 127.0.0.1:$PORT" \
	line_with /tmp/net.jsonl '"type":"connect"' '"family":"inet"' '"daddr":"127.0.0.1"' "\"dport\":$PORT," '"ret":0'
check net_sock_close_bytes "no sock_close of :$PORT with bytes_sent 6" \
	line_with /tmp/net.jsonl '"type":"sock_close"' "\"dport\":$PORT," '"bytes_sent":6,'
check net_no_loss "no session_end with lost_total 0" \
	line_with /tmp/net.jsonl '"type":"session_end"' '"lost_total":0'
kill "$server" "$sleeper" 2>/dev/null
if [ "$rc" -ne 0 ] || ! grep -q '"type":"session_end"' /tmp/net.jsonl; then
	verbose_rerun net --no-db --jsonl /tmp/net-v.jsonl -- /bin/sh -c true
fi

# --- guard: labels, connect in the kernel, file and exec rules -----------------
# (busybox runs applets such as touch inside the shell, without exec: the exec
# rule is about a script)
mkdir -p /root/.ssh
echo "-----BEGIN OPENSSH PRIVATE KEY-----" >/root/.ssh/id_rsa
echo "# rc" >/root/.bashrc
ip addr add 169.254.169.254/32 dev lo
mkdir -p /tmp/prot
echo keep >/tmp/prot/keep
printf '#!/bin/sh\ntouch /tmp/forbidden\n' >/tmp/forbidden-tool
chmod 755 /tmp/forbidden-tool
cat >/tmp/guard.yaml <<'POLICY'
version: 1
labels:
  SECRET:
    files: ["~/.ssh/**"]
rules:
  - name: no-exfil
    on: [connect, send]
    when: SECRET
    effect: block
    reason: "{comm} read {labels}; {op} to {target} refused"
  - name: kill-81
    on: connect
    target: {endpoints: ["169.254.169.254:81"]}
    effect: kill
    reason: "killed"
  - name: metadata
    on: connect
    target: {endpoints: ["169.254.169.254"]}
    effect: block
    reason: "no cloud metadata"
  - name: protect
    on: [write, unlink, rename]
    target: {paths: ["~/.bashrc", "/tmp/prot/**"]}
    effect: block
    reason: "{target} is protected"
  - name: no-touch
    on: exec
    target: {command: "forbidden-tool"}
    effect: block
    reason: "not that file"
POLICY
PORT=5556
mkfifo /tmp/nc2.in
sleep 600 >/tmp/nc2.in &
sleeper=$!
nc -l -p "$PORT" </tmp/nc2.in >/tmp/nc2.srv 2>&1 &
server=$!
i=0
while ! netstat -ltn 2>/dev/null | grep -q ":$PORT "; do
	i=$((i + 1))
	[ "$i" -gt 100 ] && break
	sleep 0.1
done
GCMD="echo clean | nc 127.0.0.1 $PORT; echo clean=\$?
echo meta | nc -w 2 169.254.169.254 $PORT; echo meta=\$?
echo k | nc -w 2 169.254.169.254 81; echo kill=\$?
echo x >>/root/.bashrc; echo bashrc=\$?
rm -f /root/.bashrc; echo rm=\$?
echo evil >/tmp/evil; mv /tmp/evil /root/.bashrc; echo mv=\$?
mkdir -p /tmp/prot/later; echo x >/tmp/prot/later/f; echo subtree=\$?
rm -f /tmp/prot/keep; echo rm-subtree=\$?
/tmp/forbidden-tool; echo touch=\$?
read l </root/.ssh/id_rsa
echo secret | nc 127.0.0.1 $PORT; echo secret=\$?"
t=$(now)
timeout "$REC_TIMEOUT" agenttrail run --policy /tmp/guard.yaml --no-db --jsonl /tmp/guard.jsonl \
	-- /bin/sh -c "$GCMD" </dev/null >/tmp/guard.out 2>/tmp/guard.err
rc=$?
cat /tmp/guard.out /tmp/guard.err >/tmp/guard.log
show "run --policy (rc=$rc, $(since "$t")s): output" /tmp/guard.log
show "run --policy: JSONL violations" /tmp/guard.jsonl
check guard_status "agenttrail run exited $rc" [ "$rc" -eq 0 ]
if [ "$rc" -ne 0 ]; then
	agenttrail run -v --policy /tmp/guard.yaml --no-db -- /bin/true >/tmp/guard-v.log 2>&1
	sed -n '/BEGIN PROG LOAD LOG/,/END PROG LOAD LOG/p' /tmp/guard-v.log | tail -n 40 >/tmp/guard-v.tail
	show "run --policy -v: the refused program" /tmp/guard-v.tail
fi
guard_write_ok() {
	[ "$rc" -eq 0 ] && [ "$(cat /root/.bashrc)" = "# rc" ] &&
		line_with /tmp/guard.jsonl '"rule":"protect"'
}
guard_file_kept() {
	[ "$rc" -eq 0 ] && [ "$(cat "$1")" = "# rc" ] && grep -q "$2" /tmp/guard.out
}
guard_subtree_ok() {
	[ "$rc" -eq 0 ] && [ ! -s /tmp/prot/later/f ] && [ -e /tmp/prot/keep ] &&
		grep -q '^subtree=1$' /tmp/guard.out && grep -q '^rm-subtree=1$' /tmp/guard.out
}
guard_exec_ok() {
	[ "$rc" -eq 0 ] && [ ! -e /tmp/forbidden ] && line_with /tmp/guard.jsonl '"rule":"no-touch"'
}
check guard_connect_blocked "the secret reader's connect went through" grep -q '^secret=1$' /tmp/guard.out
check guard_clean_connect "a clean connect was refused" grep -q '^clean=0$' /tmp/guard.out
check guard_violation_event "no violation event of rule no-exfil" \
	line_with /tmp/guard.jsonl '"type":"violation"' '"rule":"no-exfil"' '"labels":["SECRET"]'
check guard_write_blocked "~/.bashrc was written, or no violation of rule protect" guard_write_ok
check guard_exec_blocked "touch /tmp/forbidden ran, or no violation of rule no-touch" guard_exec_ok
check guard_metadata_blocked "no metadata violation" \
	line_with /tmp/guard.jsonl '"type":"violation"' '"rule":"metadata"'
check guard_lsm_mechanism "the protect rule was not decided by the LSM" \
	line_with /tmp/guard.jsonl '"rule":"protect"' '"mechanism":"lsm"' '"target":"/root/.bashrc"'
check guard_lsm_unlink "rm of ~/.bashrc: $(grep '^rm=' /tmp/guard.out)" \
	guard_file_kept /root/.bashrc '^rm=1$'
check guard_lsm_rename "mv over ~/.bashrc: $(grep '^mv=' /tmp/guard.out)" \
	guard_file_kept /root/.bashrc '^mv=1$'
check guard_lsm_subtree "$(grep -E '^(subtree|rm-subtree)=' /tmp/guard.out | tr '\n' ' ')" \
	guard_subtree_ok
check guard_kill "nc to :81 was not killed: $(grep kill= /tmp/guard.out)" grep -q '^kill=137$' /tmp/guard.out
kill "$server" "$sleeper" 2>/dev/null

# --- unlink and rename rules BPF-LSM does not take (paths_except): the
# command's seccomp filter decides them, on this kernel too; and ten rules
# naming one file, more than an LSM file entry holds: the rest go to
# fanotify instead of failing the run
mkdir -p /tmp/sn/keep/skip
echo k >/tmp/sn/keep/a
echo k >/tmp/sn/keep/skip/b
echo '# ten' >/tmp/sn/ten
cat >/tmp/sn.yaml <<'POLICY'
version: 1
rules:
  - name: keep
    on: [unlink, rename]
    target: {paths: ["/tmp/sn/keep/**"], paths_except: ["/tmp/sn/keep/skip/**"]}
    effect: block
    reason: "{target} is kept"
  - name: ten-1
    on: write
    target: {paths: ["/tmp/sn/ten"]}
    effect: block
    reason: "ten"
  - name: ten-2
    on: write
    target: {paths: ["/tmp/sn/ten"]}
    effect: block
    reason: "ten"
  - name: ten-3
    on: write
    target: {paths: ["/tmp/sn/ten"]}
    effect: block
    reason: "ten"
  - name: ten-4
    on: write
    target: {paths: ["/tmp/sn/ten"]}
    effect: block
    reason: "ten"
  - name: ten-5
    on: write
    target: {paths: ["/tmp/sn/ten"]}
    effect: block
    reason: "ten"
  - name: ten-6
    on: write
    target: {paths: ["/tmp/sn/ten"]}
    effect: block
    reason: "ten"
  - name: ten-7
    on: write
    target: {paths: ["/tmp/sn/ten"]}
    effect: block
    reason: "ten"
  - name: ten-8
    on: write
    target: {paths: ["/tmp/sn/ten"]}
    effect: block
    reason: "ten"
  - name: ten-9
    on: write
    target: {paths: ["/tmp/sn/ten"]}
    effect: block
    reason: "ten"
  - name: ten-10
    on: write
    target: {paths: ["/tmp/sn/ten"]}
    effect: block
    reason: "ten"
POLICY
SCMD="rm /tmp/sn/keep/a; echo rm-kept=\$?
rm /tmp/sn/keep/skip/b; echo rm-skip=\$?
cd /tmp/sn && mv keep/a /tmp/sn/moved; echo mv-kept=\$?
echo x >>/tmp/sn/ten; echo ten=\$?"
t=$(now)
timeout "$REC_TIMEOUT" agenttrail run --policy /tmp/sn.yaml --no-db --jsonl /tmp/sn.jsonl --stats \
	-- /bin/sh -c "$SCMD" </dev/null >/tmp/sn.out 2>/tmp/sn.err
rc=$?
cat /tmp/sn.out /tmp/sn.err >/tmp/sn.log
show "run --policy (seccomp; rc=$rc, $(since "$t")s): output" /tmp/sn.log
sn_ok() {
	[ "$rc" -eq 0 ] && grep -q '^rm-kept=1$' /tmp/sn.out && grep -q '^rm-skip=0$' /tmp/sn.out &&
		grep -q '^mv-kept=1$' /tmp/sn.out && [ -e /tmp/sn/keep/a ] && [ ! -e /tmp/sn/keep/skip/b ] &&
		line_with /tmp/sn.jsonl '"rule":"keep"' '"mechanism":"seccomp"' '"target":"/tmp/sn/keep/a"'
}
sn_full_ok() {
	[ "$rc" -eq 0 ] && grep -q '^ten=1$' /tmp/sn.out && [ "$(cat /tmp/sn/ten)" = "# ten" ] &&
		grep -q 'go to fanotify' /tmp/sn.err
}
check seccomp_status "agenttrail run exited $rc" [ "$rc" -eq 0 ]
check seccomp_unlink_rename "$(grep -E '^(rm-kept|rm-skip|mv-kept)=' /tmp/sn.out | tr '\n' ' ')" sn_ok
check lsm_full_to_fanotify "$(grep -E '^ten=' /tmp/sn.out) $(grep -c 'go to fanotify' /tmp/sn.err)" \
	sn_full_ok

# --- the other contracts: causal order, rm -r, untrusted input, declassify,
# egress by domain (at-tool: static stand-ins for make, git, ssh, rm, a
# redactor, a plain copy, a DNS server; see tests/vm/at-tool.c)
mkdir -p /tmp/bin /tmp/ws/src /tmp/ws/build /tmp/outside/x
for n in make git ssh rm redact copy; do cp /bin/at-tool /tmp/bin/$n; done
echo 'int a;' >/tmp/ws/src/a.c
for a in 10.9.0.53 10.9.0.7 10.9.0.8; do ip addr add $a/32 dev lo; done
cat >/tmp/contracts.yaml <<'POLICY'
version: 1
workspace: /tmp/ws
labels:
  SECRET:
    files: ["~/.ssh/**"]
  UNTRUSTED:
    endpoints: ["*"]
    except: ["10.9.0.53:53", "127.0.0.1:5559"]
flows:
  - executables: ["/tmp/bin/redact"]
    declassify: [SECRET]
rules:
  - name: no-exfil
    on: [connect, send]
    when: SECRET
    effect: block
    reason: "{labels} data may not leave"
  - name: egress
    on: [connect, send]
    target:
      endpoints: ["*"]
      except: ["api.allowed.test:5558", "127.0.0.0/8", "10.9.0.53:53"]
    effect: block
    reason: "{target} is not on the allow-list"
  - name: tests-before-commit
    on: exec
    target: {command: "git commit"}
    unless:
      - after: {command: "make test", exit: 0, since: ["src/**"]}
    effect: block
    reason: "run make test first"
  - name: rm-outside
    on: exec
    target:
      command: ["rm -r*"]
      operands_outside: ["{workspace}/**"]
    effect: block
    reason: "rm -r outside the workspace"
  - name: untrusted-ssh
    on: exec
    target: {command: "ssh"}
    when: UNTRUSTED
    effect: block
    reason: "untrusted data in, no ssh out"
POLICY
at-tool dns-serve 10.9.0.53 10.9.0.7 10.9.0.8 &
dns=$!
echo payload | nc -l -p 5557 >/dev/null 2>&1 &
l1=$!
nc -l -p 5559 >/tmp/nc5559.out 2>&1 &
l2=$!
nc -l -p 5558 >/dev/null 2>&1 &
l3=$!
sleep 1
CCMD='export PATH=/tmp/bin:$PATH; cd /tmp/ws
git commit -m x; echo commit-untested=$?
make test; git commit -m x; echo commit-tested=$?
echo "int b;" >>src/a.c; git commit -m x; echo commit-stale=$?
/tmp/bin/rm -r /tmp/outside; echo rm-outside=$?
/tmp/bin/rm -r /tmp/ws/build; echo rm-inside=$?
at-tool recv-exec 127.0.0.1 5557 /tmp/bin/ssh; echo untrusted-ssh=$?
ssh; echo clean-ssh=$?
sh -c "redact </root/.ssh/id_rsa >/tmp/ws/redacted.txt"
sh -c "copy </root/.ssh/id_rsa >/tmp/ws/copied.txt"
sh -c "nc 127.0.0.1 5559 </tmp/ws/copied.txt"; echo copied-send=$?
sh -c "nc 127.0.0.1 5559 </tmp/ws/redacted.txt"; echo redacted-send=$?
echo k >/root/.ssh/later
sh -c "read l </root/.ssh/later; nc 127.0.0.1 5559 </dev/null"; echo subtree-secret=$?
at-tool dns-connect 10.9.0.53 api.allowed.test 5558; echo dns-allowed=$?
at-tool dns-connect 10.9.0.53 other.test 5558; echo dns-other=$?
exit 0'
t=$(now)
timeout "$REC_TIMEOUT" agenttrail run --policy /tmp/contracts.yaml --no-db --jsonl /tmp/contracts.jsonl \
	-- /bin/sh -c "$CCMD" </dev/null >/tmp/contracts.out 2>/tmp/contracts.err
rc=$?
cat /tmp/contracts.out /tmp/contracts.err >/tmp/contracts.log
show "run --policy contracts (rc=$rc, $(since "$t")s): output" /tmp/contracts.log
kill "$dns" "$l1" "$l2" "$l3" 2>/dev/null
has() { grep -q "^$1\$" /tmp/contracts.out; }
c_commit() { has commit-untested=126 && has commit-tested=0 && has commit-stale=126; }
# (busybox's own rm is an applet run without exec: the stand-in is called by path)
c_rm() { has rm-outside=126 && has rm-inside=0; }
c_untrusted() { has "recv-exec errno=1" && has untrusted-ssh=126 && has clean-ssh=0; }
c_declassify() { has copied-send=1 && has redacted-send=0 && grep -q BEGIN /tmp/nc5559.out; }
# a file created after the policy loaded in a labelled directory carries its label
c_subtree_label() { has subtree-secret=1; }
# (resolve and connect at once: the kernel binds the answer, not agenttrail)
c_egress() { has dns-allowed=0 && has dns-other=1; }
check contracts_status "agenttrail run exited $rc" [ "$rc" -eq 0 ]
check contract_commit "$(grep commit- /tmp/contracts.out | tr '\n' ' ')" c_commit
check contract_rm "$(grep rm- /tmp/contracts.out | tr '\n' ' ')" c_rm
check contract_untrusted "$(grep -E 'ssh|recv-exec' /tmp/contracts.out | tr '\n' ' ')" c_untrusted
check contract_declassify "$(grep send= /tmp/contracts.out | tr '\n' ' ')" c_declassify
check contract_subtree_label "$(grep subtree-secret /tmp/contracts.out)" c_subtree_label
check contract_egress_domain "$(grep dns-connect /tmp/contracts.out | tr '\n' ' ')" c_egress

# --- evasions, with the BPF-LSM backend deciding files and exec by path --------
cp /bin/at-tool /tmp/bin/forbidden-tool
ln /root/.bashrc /root/hard 2>/dev/null || { echo "# rc" >/root/.bashrc; ln /root/.bashrc /root/hard; }
ln -s /root/.bashrc /root/soft
mkdir -p /sys/fs/cgroup/elsewhere
cat >/tmp/evasion.yaml <<'POLICY'
version: 1
labels:
  SECRET:
    files: ["~/.ssh/**"]
rules:
  - name: no-exfil
    on: [connect, send]
    when: SECRET
    effect: block
    reason: "{labels} data may not leave"
  - name: protect
    on: [write, unlink, rename]
    target: {paths: ["~/.bashrc"]}
    effect: block
    reason: "{target} is protected"
  - name: no-forbidden-tool
    on: exec
    target: {paths: ["/tmp/bin/forbidden-tool"]}
    effect: block
    reason: "not that program"
POLICY
ECMD='S=/root/.ssh/id_rsa
evasion uring-open inline /root/.bashrc wr uring-open-wr
evasion uring-open inline /root/.bashrc rd uring-open-rd
evasion uring-open async /root/.bashrc trunc uring-open-async
evasion uring-connect inline $S 127.0.0.1 5561 uring-connect
evasion uring-connect async $S 127.0.0.1 5561 uring-connect-async
evasion execveat dirfd /tmp/bin/forbidden-tool forbidden-tool execveat-dirfd
evasion execveat empty-opath /tmp/bin/forbidden-tool innocent execveat-opath
evasion execveat fdcwd /tmp/bin/forbidden-tool forbidden-tool execveat-fdcwd
sh -c "echo x >>/root/hard"; echo hard=$?
sh -c "echo x >>/root/soft"; echo soft=$?
evasion daemon-connect ancestor $S 127.0.0.1 5561 daemon /tmp/daemon.done
i=0; while [ ! -e /tmp/daemon.done ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
evasion cgroup-connect /sys/fs/cgroup/elsewhere $S 127.0.0.1 5561 cgroup-move
evasion thread-connect reader-alive $S 127.0.0.1 5561 thread
evasion udp-send 6mapped $S 127.0.0.1 5561 udp-mapped
exit 0'
t=$(now)
timeout "$REC_TIMEOUT" agenttrail run --policy /tmp/evasion.yaml --no-db --jsonl /tmp/evasion.jsonl \
	-- /bin/sh -c "$ECMD" </dev/null >/tmp/evasion.out 2>/tmp/evasion.err
rc=$?
cat /tmp/evasion.out /tmp/evasion.err >/tmp/evasion.log
show "run --policy evasions (rc=$rc, $(since "$t")s): output" /tmp/evasion.log
eh() { grep -q "^$1\$" /tmp/evasion.out; }
e_open() { eh "uring-open-wr errno=1" && eh "uring-open-rd ok" && eh "uring-open-async errno=1" &&
	line_with /tmp/evasion.jsonl '"rule":"protect"' '"mechanism":"lsm"'; }
e_connect() { eh "uring-connect errno=1" && eh "uring-connect-async errno=1"; }
e_execveat() { eh "execveat-dirfd errno=1" && eh "execveat-opath errno=1" &&
	eh "execveat-fdcwd errno=1" && line_with /tmp/evasion.jsonl '"rule":"no-forbidden-tool"' '"mechanism":"lsm"'; }
e_links() { eh hard=1 && eh soft=1 && [ "$(head -n1 /root/.bashrc)" = "# rc" ]; }
check evasion_status "agenttrail run exited $rc" [ "$rc" -eq 0 ]
check evasion_uring_open "$(grep uring-open /tmp/evasion.out | tr '\n' ' ')" e_open
check evasion_uring_connect "$(grep uring-connect /tmp/evasion.out | tr '\n' ' ')" e_connect
check evasion_execveat "$(grep execveat /tmp/evasion.out | tr '\n' ' ')" e_execveat
check evasion_links "$(grep -E '^(hard|soft)=' /tmp/evasion.out | tr '\n' ' ')" e_links
check evasion_daemon "$(grep daemon /tmp/evasion.out | tr '\n' ' ')" eh "daemon errno=1"
check evasion_cgroup "$(grep cgroup-move /tmp/evasion.out | tr '\n' ' ')" eh "cgroup-move errno=1"
check evasion_thread "$(grep thread /tmp/evasion.out | tr '\n' ' ')" eh "thread errno=1"
check evasion_udp "$(grep udp /tmp/evasion.out | tr '\n' ' ')" eh "udp-mapped errno=1"

echo "VMTEST END passed=$PASSED failed=$FAILED uptime=$(now)s"
sync
poweroff -f
# Not reached; if it were, init exiting panics the kernel and panic=-1 with
# -no-reboot ends qemu.
sleep 5
