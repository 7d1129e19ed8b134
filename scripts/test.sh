#!/usr/bin/env bash
# The test command: sets everything up, then runs every test layer that
# this machine supports through CTest:
#   unit  (cmocka) and e2e, also rebuilt and rerun with ASan + UBSan,
#   e2e   (real eBPF on this kernel, root),
#   vm    (the recorder on Debian's 6.1 kernel under qemu TCG),
#   fuzz  (libFuzzer on committed corpora, bounded time),
#   bench (smoke mode: checks the harness, never a time).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The benchmark's peers, for its smoke test only (not for the demo). auditd
# must not start as a service when it is installed: the benchmark runs its
# own instance for its samples and leaves auditing as it found it.
# shellcheck source=lib/packages.sh
. scripts/lib/packages.sh
if ! dpkg-query -W -f='${Status}' auditd 2>/dev/null | grep -q "install ok installed" &&
   [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  ensure_packages libbpf-tools auditd
  rm -f /usr/sbin/policy-rc.d
  trap - EXIT
else
  ensure_packages libbpf-tools auditd
fi

# A static busybox for the guard's chroot test (the VM test's initramfs uses it too).
ensure_packages busybox-static

# Sanitizer build of the library and unit tests.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DAT_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$(nproc)" >/dev/null
# Fuzz targets (clang + libFuzzer).
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAT_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"$(nproc)" >/dev/null

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure -L "unit|e2e")
(cd build-fuzz && ctest --output-on-failure -L fuzz)
# Everything else, including vm/, with the normal build: this summary is the last word.
(cd build && ctest --output-on-failure)
