#!/usr/bin/env bash
# Boots Debian 12's 6.1 cloud kernel (linux-image-cloud-amd64 from bookworm)
# under qemu (TCG, no KVM) with a busybox initramfs holding build/agenttrail,
# runs tests/vm/init.sh there as /init, and checks its results.
# See tests/vm/README.md. Run as root, from any directory:
#   bash tests/vm/run.sh
# Environment:
#   AGENTTRAIL_VM_CACHE    kernel package cache (default /var/cache/agenttrail-vm)
#   AGENTTRAIL_VM_TIMEOUT  seconds for the whole VM run (default 600)
#   AGENTTRAIL_VM_MEM      guest memory in MiB (default 2048)
#   AGENTTRAIL_VM_SMP      guest CPUs (default 2)
#   AGENTTRAIL_VM_LOG      also copy the full serial log to this file
#   AGENTTRAIL_VM_BENCH    1: the bench of the BPF-LSM backend instead of the
#                          checks (tests/vm/bench-host.sh; not part of the
#                          normal run; default timeout 1800)
# The last line is "vm: N passed, M failed"; the exit status is 0 only when
# every planned check passed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${AGENTTRAIL_VM_CACHE:-/var/cache/agenttrail-vm}
BENCH=${AGENTTRAIL_VM_BENCH:-}
[ "$BENCH" = 1 ] || BENCH=""
VM_TIMEOUT=${AGENTTRAIL_VM_TIMEOUT:-$([ -n "$BENCH" ] && echo 1800 || echo 600)}
VM_MEM=${AGENTTRAIL_VM_MEM:-2048}
VM_SMP=${AGENTTRAIL_VM_SMP:-2}
META=linux-image-cloud-amd64
# Kernel command line: serial console on the 8250 UART (built into the
# kernel), BPF-LSM enabled for the guard work, reboot (= qemu exits, with
# -no-reboot) at once on panic.
APPEND="console=ttyS0 lsm=lockdown,capability,landlock,yama,apparmor,bpf panic=-1"

say() { echo "vm: $*" >&2; }
die() {
	say "$*"
	echo "vm: 0 passed, 1 failed"
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "run as root (installs packages, builds an initramfs with device nodes)"

# --- host packages ---------------------------------------------------------------
# shellcheck source=../../scripts/lib/packages.sh
. "$REPO/scripts/lib/packages.sh"
ensure_packages qemu-system-x86 busybox-static cpio || die "cannot install qemu, busybox or cpio"

# --- the agenttrail binary -----------------------------------------------------------
AT="$REPO/build/agenttrail"
if [ ! -x "$AT" ]; then
	say "build/agenttrail missing: running scripts/setup.sh"
	bash "$REPO/scripts/setup.sh" >&2
fi
[ -x "$AT" ] || die "no $AT after scripts/setup.sh"

# --- the kernel: the versioned package behind linux-image-cloud-amd64 ---------------
# The metapackage only depends on linux-image-6.1.0-N-cloud-amd64; that one is
# downloaded (not installed) into $CACHE and unpacked there once.
resolve_kernel() {
	apt-cache depends "$META" 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-6\.1\..*-cloud-amd64$/ { print $2; exit }'
}
mkdir -p "$CACHE"
kpkg=$(resolve_kernel || true)
if [ -z "$kpkg" ]; then
	apt-get update -qq || true
	kpkg=$(resolve_kernel || true)
fi
KDIR=""
if [ -n "$kpkg" ]; then
	kver=$(apt-cache show --no-all-versions "$kpkg" 2>/dev/null | awk '/^Version:/ { print $2; exit }')
	[ -n "$kver" ] || die "apt knows $kpkg but not its version"
	KDIR="$CACHE/${kpkg}_$kver"
	if [ ! -d "$KDIR/boot" ]; then
		deb=$(ls "$CACHE/${kpkg}_${kver//:/%3a}_"*.deb 2>/dev/null | head -n1 || true)
		if [ -z "$deb" ]; then
			say "downloading $kpkg $kver into $CACHE"
			(cd "$CACHE" && apt-get download -q -o APT::Sandbox::User=root "$kpkg=$kver" >&2)
			deb=$(ls "$CACHE/${kpkg}_${kver//:/%3a}_"*.deb 2>/dev/null | head -n1 || true)
			[ -n "$deb" ] || die "apt-get download $kpkg=$kver left no .deb in $CACHE"
		fi
		rm -rf "$KDIR.tmp"
		dpkg-deb -x "$deb" "$KDIR.tmp"
		mv "$KDIR.tmp" "$KDIR"
	fi
else
	# No package lists (offline): use a kernel unpacked by an earlier run.
	KDIR=$(ls -d "$CACHE"/linux-image-6.1.*-cloud-amd64_* 2>/dev/null | grep -v '\.tmp$' | sort -V | tail -n1 || true)
	[ -n "$KDIR" ] || die "cannot resolve $META (apt-cache depends) and nothing cached in $CACHE"
	say "apt cannot resolve $META; using cached $(basename "$KDIR")"
fi
VMLINUZ=$(ls "$KDIR"/boot/vmlinuz-* 2>/dev/null | head -n1 || true)
KCONFIG=$(ls "$KDIR"/boot/config-* 2>/dev/null | head -n1 || true)
[ -n "$VMLINUZ" ] && [ -n "$KCONFIG" ] || die "no vmlinuz/config in $KDIR"
# Everything this boot relies on must be built in: the initramfs carries no
# modules.
for opt in SERIAL_8250 SERIAL_8250_CONSOLE BLK_DEV_INITRD RD_GZIP DEVTMPFS TMPFS \
	BPF_SYSCALL DEBUG_INFO_BTF BPF_LSM BPF_EVENTS FTRACE_SYSCALLS CGROUP_BPF SECURITYFS UNIX INET; do
	grep -qx "CONFIG_$opt=y" "$KCONFIG" || die "$(basename "$KCONFIG"): CONFIG_$opt is not built in"
done

# --- the initramfs -------------------------------------------------------------------
WORK=$(mktemp -d /tmp/agenttrail-vm.XXXXXX)
QEMU_PID=""
WATCH_PID=""
cleanup() {
	! declare -F bench_cleanup >/dev/null || bench_cleanup
	[ -z "$WATCH_PID" ] || kill "$WATCH_PID" 2>/dev/null || true
	if [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null; then
		kill "$QEMU_PID" 2>/dev/null || true
		wait "$QEMU_PID" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ROOT="$WORK/root"
mkdir -p "$ROOT"/{bin,dev,etc,proc,sys,tmp,root,usr,var/lib}
BUSYBOX=/bin/busybox # from busybox-static
if ldd "$BUSYBOX" >/dev/null 2>&1; then die "$BUSYBOX is not static (is busybox-static installed?)"; fi
cp "$BUSYBOX" "$ROOT/bin/busybox"
for a in $("$BUSYBOX" --list); do
	[ "$a" = busybox ] || ln -s busybox "$ROOT/bin/$a"
done
ln -s bin "$ROOT/sbin"
ln -s ../bin "$ROOT/usr/bin"
ln -s ../bin "$ROOT/usr/sbin"

cp "$AT" "$ROOT/bin/agenttrail"
# The guard checks' workloads (make, git, ssh, rm stand-ins, a DNS server...)
cc -static -O2 -Wall -o "$ROOT/bin/at-tool" "$HERE/at-tool.c" ||
	die "cannot build tests/vm/at-tool.c statically (libc6-dev has libc.a)"
# The host's evasion attempts (io_uring, execveat, setsid daemons, cgroup
# moves, threads, datagrams), against the BPF-LSM backend here
cc -static -O1 -Wall -o "$ROOT/bin/evasion" "$HERE/../e2e/evasion.c" -lpthread ||
	die "cannot build tests/e2e/evasion.c statically"
# Every shared library agenttrail needs, at the path ldd names, and the loader.
for lib in $(ldd "$AT" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' | sort -u); do
	mkdir -p "$ROOT$(dirname "$lib")"
	cp -L "$lib" "$ROOT$lib"
done
# Fail here, with a clear message, rather than in the guest.
chroot "$ROOT" /bin/agenttrail version >/dev/null 2>&1 ||
	die "build/agenttrail does not run inside the initramfs tree (missing library?)"

echo agenttrail-vm-test >"$ROOT/etc/hostname-test"
echo "root:x:0:0:root:/root:/bin/sh" >"$ROOT/etc/passwd"
echo "root:x:0:" >"$ROOT/etc/group"
cp "$HERE/init.sh" "$ROOT/init"
chmod 755 "$ROOT/init"
mknod "$ROOT/dev/console" c 5 1
if [ -n "$BENCH" ]; then
	# shellcheck source=bench-host.sh
	. "$HERE/bench-host.sh"
	bench_prepare
fi
(cd "$ROOT" && find . -print0 | cpio --null -o -H newc -R 0:0 --quiet) | gzip -1 >"$WORK/initrd.gz"
say "kernel $(basename "$VMLINUZ") ($(basename "$KDIR")), initramfs $(du -h "$WORK/initrd.gz" | cut -f1)"

# --- boot ----------------------------------------------------------------------------
# Under TCG the guest kernel has been seen, rarely, to lock up for good while
# it patches its own text (both vCPUs stuck at the int3 of a static branch in
# syscall_trace_enter; an RCU stall report, then soft lockups). watch_guest
# ends such a run early: a stall or lockup report and no check finished for
# STALL_S seconds (a whole healthy run takes about 75 s). The boot is then
# tried once more, and said so; a second stall fails the test.
LOG="$WORK/serial.log"
STALL_S=120
STALL_RE='soft lockup|self-detected stall|detected stalls on CPUs'

watch_guest() {
	local results=0 since n now
	since=$(date +%s)
	while kill -0 "$QEMU_PID" 2>/dev/null; do
		sleep 2
		n=$(grep -cE '^(VMTEST RESULT|VMBENCH SAMPLE)' "$LOG" 2>/dev/null || true)
		now=$(date +%s)
		if [ "$n" != "$results" ]; then
			results=$n
			since=$now
		elif [ $((now - since)) -ge "$STALL_S" ] && grep -qE "$STALL_RE" "$LOG"; then
			touch "$WORK/stalled"
			kill "$QEMU_PID" 2>/dev/null || true
			return
		fi
	done
}

boot() {
	say "booting under TCG (timeout ${VM_TIMEOUT}s); usually 15-60 s"
	rm -f "$WORK/stalled"
	start=$(date +%s)
	set +e
	timeout "$VM_TIMEOUT" qemu-system-x86_64 \
		-accel tcg -cpu max -smp "$VM_SMP" -m "$VM_MEM" \
		-nographic -no-reboot -nic none \
		-kernel "$VMLINUZ" -initrd "$WORK/initrd.gz" -append "$APPEND" \
		</dev/null >"$LOG" 2>"$WORK/qemu.err" &
	QEMU_PID=$!
	watch_guest &
	WATCH_PID=$!
	wait "$QEMU_PID"
	qrc=$?
	QEMU_PID=""
	wait "$WATCH_PID"
	set -e
	elapsed=$(($(date +%s) - start))
}

[ -z "$BENCH" ] || bench_host before
boot
if [ -e "$WORK/stalled" ]; then
	say "the guest kernel stalled after ${elapsed}s (no check finished for ${STALL_S}s):"
	tr -d '\r' <"$LOG" | grep -m3 -E "$STALL_RE|RIP: 0010" | sed 's/^/vm:   /' >&2 || true
	say "booting once more; a second stall fails the test"
	boot
fi
if [ -n "${AGENTTRAIL_VM_LOG:-}" ]; then
	cp "$LOG" "$AGENTTRAIL_VM_LOG"
fi

# --- results -------------------------------------------------------------------------
tr -d '\r' <"$LOG" >"$WORK/clean.log"
CLEAN="$WORK/clean.log"
extra_fail=()
if grep -q '^VMTEST BEGIN' "$CLEAN"; then
	# The test section, with the full libbpf -v logs folded (the guest prints
	# the lines that matter after each); a very long section is shortened.
	sed -n '/^VMTEST BEGIN/,$p' "$CLEAN" | awk -v keep="${AGENTTRAIL_VM_LOG:-}" '
		/^VMTEST LOG BEGIN/ { print; inlog = 1; n = 0; next }
		/^VMTEST LOG END/ {
			print "[" n " lines of libbpf -v output folded" (keep ? "; all in " keep : "; AGENTTRAIL_VM_LOG=FILE keeps them") "]"
			print; inlog = 0; next
		}
		inlog { n++; next }
		{ print }' >"$WORK/section.log"
	n=$(wc -l <"$WORK/section.log")
	if [ "$n" -gt 1500 ]; then
		head -n 300 "$WORK/section.log"
		echo "[... $((n - 1200)) lines left out; AGENTTRAIL_VM_LOG=FILE keeps the whole log ...]"
		tail -n 900 "$WORK/section.log"
	else
		cat "$WORK/section.log"
	fi
else
	echo "[the guest never reached its checks; last lines of the serial log]"
	tail -n 80 "$CLEAN"
	extra_fail+=("boot")
fi
[ -s "$WORK/qemu.err" ] && sed 's/^/qemu: /' "$WORK/qemu.err" >&2
if [ -e "$WORK/stalled" ]; then
	extra_fail+=("guest_stall")
	say "qemu killed after ${elapsed}s: the guest kernel stalled again"
elif [ "$qrc" -eq 124 ]; then
	extra_fail+=("timeout")
	say "qemu killed after ${VM_TIMEOUT}s"
elif [ "$qrc" -ne 0 ]; then
	extra_fail+=("qemu_exit_$qrc")
fi
grep -q '^VMTEST END' "$CLEAN" || extra_fail+=("vmtest_end")
# The bench: the host's loops once more, and the report (even from a
# partial run: what the guest measured is kept).
if [ -n "$BENCH" ] && grep -q '^VMBENCH SAMPLE' "$CLEAN"; then
	bench_host after
	bench_report || extra_fail+=("bench_report")
fi

passed=0
failed=0
plan=$(sed -n 's/^VMTEST PLAN //p' "$CLEAN" | head -n1)
for name in $plan; do
	if grep -qx "VMTEST RESULT PASS $name" "$CLEAN" && ! grep -q "^VMTEST RESULT FAIL $name\b" "$CLEAN"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		grep -q "^VMTEST RESULT FAIL $name\b" "$CLEAN" || say "no result for $name"
	fi
done
for f in "${extra_fail[@]}"; do
	say "FAIL $f"
	failed=$((failed + 1))
done
kline=$(grep -m1 '^VMTEST BEGIN' "$CLEAN" | sed 's/^VMTEST BEGIN //' || true)
say "kernel package $(basename "$KDIR"); ${kline:-guest never started}; qemu wall time ${elapsed}s"
echo "vm: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
