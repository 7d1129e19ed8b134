#!/usr/bin/env bash
# Installs every Debian package agenttrail needs to build, run and test, and
# builds it into build/. Idempotent: packages already present are not
# fetched again, and the build is incremental.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libbpf-dev bpftool libelf-dev zlib1g-dev
  libjansson-dev libsqlite3-dev sqlite3 libcmocka-dev
  python3 iproute2 util-linux procps
)

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: run as root (installs packages; agenttrail loads eBPF programs)" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
echo "setup: built $BUILD_DIR/agenttrail"
