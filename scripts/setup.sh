#!/usr/bin/env bash
# Installs every Debian package agenttrail needs to build, run and test, and
# builds it into build/. Idempotent: packages already present are not
# fetched again, and the build is incremental.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libbpf-dev bpftool libelf-dev zlib1g-dev
  libnghttp2-dev libbrotli-dev libzstd-dev libssl-dev
  curl openssl nghttp2-client nghttp2-server gnutls-bin nodejs
  libjansson-dev libsqlite3-dev sqlite3 libcmocka-dev libyaml-dev
  python3 iproute2 util-linux procps
  git
)

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: run as root (installs packages; agenttrail loads eBPF programs)" >&2
  exit 1
fi

# shellcheck source=lib/packages.sh
. scripts/lib/packages.sh
ensure_packages "${PACKAGES[@]}"

BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
echo "setup: built $BUILD_DIR/agenttrail"
