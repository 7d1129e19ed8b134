#!/usr/bin/env bash
# Install a real coding agent from the npm registry into a cache directory
# and print the path of its runnable program on stdout (nothing else goes
# to stdout; progress and errors go to stderr).
#
#   tests/agents/install.sh claude VERSION     # e.g. 2.1.332, or "latest"
#   tests/agents/install.sh gemini VERSION     # e.g. 0.61.0, or "latest"
#   tests/agents/install.sh codex VERSION      # e.g. 0.171.0, or "latest"
#
# Cache: $AT_AGENTS_DIR (default: <repo>/build/agents), laid out as
#   claude/VERSION/package/...   the unpacked npm package
#   claude/VERSION/.complete     written last: its presence means "installed"
#   gemini/VERSION/node_modules/@google/gemini-cli/...   npm install --prefix
#   gemini/VERSION/.complete     (same meaning)
#   codex/VERSION/package/vendor/TRIPLE/bin/codex   the unpacked platform package
#   codex/VERSION/.complete      (same meaning)
#
# Idempotent: a version whose .complete marker is present is not fetched
# again, so a second run works offline.
#
# Which package: Claude Code 2.1.110 and later publish a native (Bun-built,
# single-file) binary per platform in @anthropic-ai/claude-code-<os>-<arch>;
# from 2.1.113 on the main @anthropic-ai/claude-code package is only a thin
# wrapper (bin/claude.exe + postinstall) around it. For such a version we
# fetch the platform package with `npm pack` and unpack it with tar (no
# npm install, no postinstall scripts); the program is package/claude.
# Older releases (1.x, 2.0.x, 2.1.0-2.1.109) are a Node script cli.js in
# @anthropic-ai/claude-code itself; for those we unpack that package and
# print the path of cli.js (it starts with "#!/usr/bin/env node", so it is
# runnable as is when node is on PATH).
#
# Gemini CLI (@google/gemini-cli) is a Node.js app with dependencies (a
# bundle plus native optional packages such as node-pty): it is installed
# with `npm install --prefix DIR --ignore-scripts` (no install scripts run)
# and the path printed is its package.json "bin" entry (bundle/gemini.js in
# 0.x releases; a "#!/usr/bin/env node" script, so node must be on PATH).
#
# Codex CLI (@openai/codex) is a native Rust binary. The main package is a
# Node launcher (bin/codex.js) whose optional dependency
# @openai/codex-<os>-<arch> is an alias of a platform build published as a
# version of @openai/codex itself, VERSION-<os>-<arch> (e.g.
# 0.171.0-linux-x64; Linux builds are static musl binaries). We fetch that
# package with `npm pack` and unpack it with tar (no npm install, no
# scripts); the program printed is package/vendor/TRIPLE/bin/codex, run
# directly (the launcher only finds it and execs it), with its resources
# (codex-resources/, codex-path/) beside it as the package lays them out.
set -euo pipefail

die() { echo "install.sh: $*" >&2; exit 1; }

usage() {
    echo "usage: $0 claude|gemini|codex VERSION" >&2
    exit 2
}

[ $# -eq 2 ] || usage
agent=$1
version=$2

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${AT_AGENTS_DIR:-$root/build/agents}

command -v npm >/dev/null 2>&1 || die "npm is not installed (apt-get install npm)"
command -v tar >/dev/null 2>&1 || die "tar is not installed"

# npm view prints nothing (and exits 0) for a version that does not exist;
# it exits non-zero when the registry cannot be reached. Sets VIEW (not
# printed, so that die() ends the script, not a command substitution).
VIEW=
npm_view() {
    local errf rc=0
    errf=$(mktemp)
    VIEW=$(npm view "$1" "$2" 2>"$errf") || rc=$?
    local err
    err=$(cat "$errf"); rm -f "$errf"
    if [ $rc -ne 0 ]; then
        VIEW=
        case "$err" in
            *E404*) return 0 ;;  # no such package: same as no such version
            *ENOTFOUND*|*EAI_AGAIN*|*ECONNREFUSED*|*ECONNRESET*|*ETIMEDOUT*|*ENETUNREACH*|*network*)
                die "cannot reach the npm registry to look up $1 (offline?): $(echo "$err" | head -3)" ;;
            *) die "npm view $1 failed: $(echo "$err" | head -5)" ;;
        esac
    fi
}

platform_suffix() {
    local os arch libc=""
    case "$(uname -s)" in
        Linux) os=linux ;;
        Darwin) os=darwin ;;
        *) die "unsupported OS $(uname -s)" ;;
    esac
    case "$(uname -m)" in
        x86_64|amd64) arch=x64 ;;
        aarch64|arm64) arch=arm64 ;;
        *) die "unsupported architecture $(uname -m)" ;;
    esac
    if [ "$os" = linux ] && ! ldd --version 2>&1 | grep -qi -e glibc -e 'gnu libc'; then
        if ldd --version 2>&1 | grep -qi musl || [ -e /lib/ld-musl-x86_64.so.1 ] || [ -e /lib/ld-musl-aarch64.so.1 ]; then
            libc=-musl
        fi
    fi
    echo "$os-$arch$libc"
}

# resolve_version PACKAGE VERSION: prints VERSION, or the version a
# dist-tag such as "latest" names. Tags only are looked up: a plain version
# that is already cached needs no network at all.
resolve_version() {
    if [[ "$2" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+].*)?$ ]]; then
        printf '%s\n' "$2"
        return 0
    fi
    npm_view "$1@$2" version
    local resolved
    resolved=$(printf '%s\n' "$VIEW" | tail -1 | tr -d "' ")
    [ -n "$resolved" ] || die "no such version or tag of $1: $2"
    printf '%s\n' "$resolved"
}

# installed DEST: succeeds, printing the program's path, when DEST is
# complete (its .complete marker names the program).
installed() {
    [ -f "$1/.complete" ] || return 1
    cat "$1/.complete"
}

# locked_or_done AGENT VERSION DEST: take the install lock of AGENT VERSION
# (two installs of the same version at once: the second waits, then finds
# it done); succeeds, printing the program's path, when DEST is complete.
locked_or_done() {
    mkdir -p "$cache/$1"
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$cache/$1/.lock-$2"
        flock 9
        installed "$3" && return 0
    fi
    return 1
}

# pack_unpack PACKAGE TMP REL: `npm pack` PACKAGE (name@version) in TMP
# and unpack the tarball into TMP/out (no npm install, no scripts); the
# program TMP/out/REL must be there, and is made executable.
pack_unpack() {
    local pkg=$1 tmp=$2 rel=$3 tgz
    echo "install.sh: fetching $pkg" >&2
    if ! tgz=$(cd "$tmp" && npm pack --silent "$pkg" 2>"$tmp/npm-pack.err"); then
        die "npm pack $pkg failed (offline?): $(head -5 "$tmp/npm-pack.err")"
    fi
    tgz=$(printf '%s\n' "$tgz" | tail -1)
    [ -f "$tmp/$tgz" ] || die "npm pack $pkg did not produce a tarball"
    mkdir "$tmp/out"
    tar -xzf "$tmp/$tgz" -C "$tmp/out" --no-same-owner
    rm -f "$tmp/$tgz"
    [ -f "$tmp/out/$rel" ] || die "$pkg has no $rel"
    chmod 0755 "$tmp/out/$rel"
}

# mark_done DEST REL TMP: write DEST's .complete marker (last, atomically),
# remove TMP and print the program's path DEST/REL.
mark_done() {
    printf '%s\n' "$1/$2" > "$1/.complete.tmp"
    mv "$1/.complete.tmp" "$1/.complete"
    rm -rf "$3"
    trap - EXIT
    echo "$1/$2"
}

install_claude() {
    local v
    v=$(resolve_version @anthropic-ai/claude-code "$1") || exit 1
    local dest="$cache/claude/$v"
    installed "$dest" && return 0

    local suffix native pkg rel
    suffix=$(platform_suffix)
    native="@anthropic-ai/claude-code-$suffix"
    npm_view "$native@$v" version
    if [ -n "$VIEW" ]; then
        pkg="$native@$v"; rel=package/claude
    elif npm_view "@anthropic-ai/claude-code@$v" version && [ -n "$VIEW" ]; then
        pkg="@anthropic-ai/claude-code@$v"; rel=package/cli.js
        command -v node >/dev/null 2>&1 || echo "install.sh: warning: $pkg is a Node script and node is not on PATH" >&2
    else
        die "no such version of @anthropic-ai/claude-code: $v"
    fi

    locked_or_done claude "$v" "$dest" && return 0
    local tmp
    tmp=$(mktemp -d "$cache/claude/.tmp-$v.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    pack_unpack "$pkg" "$tmp" "$rel"
    if [ "$rel" = package/claude ]; then
        # A quick sanity check that it runs here at all.
        "$tmp/out/$rel" --version >/dev/null 2>&1 \
            || echo "install.sh: warning: $tmp/out/$rel --version failed" >&2
    fi
    rm -rf "$dest"
    mkdir -p "$dest"
    mv "$tmp/out/package" "$dest/package"
    mark_done "$dest" "$rel" "$tmp"
}

install_gemini() {
    local v pkgname=@google/gemini-cli
    v=$(resolve_version "$pkgname" "$1") || exit 1
    local dest="$cache/gemini/$v"
    installed "$dest" && return 0
    command -v node >/dev/null 2>&1 || echo "install.sh: warning: $pkgname is a Node.js app and node is not on PATH" >&2
    npm_view "$pkgname@$v" version
    [ -n "$VIEW" ] || die "no such version of $pkgname: $v"

    locked_or_done gemini "$v" "$dest" && return 0
    local tmp
    tmp=$(mktemp -d "$cache/gemini/.tmp-$v.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    echo "install.sh: installing $pkgname@$v (with its dependencies)" >&2
    if ! (cd "$tmp" && npm install --prefix "$tmp/out" --no-audit --no-fund --no-save \
              --ignore-scripts --loglevel=error "$pkgname@$v") >"$tmp/npm.out" 2>&1; then
        die "npm install $pkgname@$v failed (offline?): $(tail -5 "$tmp/npm.out")"
    fi
    local pj="$tmp/out/node_modules/$pkgname/package.json" bin
    [ -f "$pj" ] || die "npm install $pkgname@$v left no $pj"
    # The "bin" entry: a string, or an object whose "gemini" (else first) value.
    bin=$(node -e '
        const p = require(process.argv[1]);
        const b = typeof p.bin === "string" ? p.bin : (p.bin && (p.bin.gemini || Object.values(p.bin)[0]));
        if (!b) process.exit(1);
        console.log(b);' "$pj") || die "$pkgname@$v has no bin entry"
    local rel="node_modules/$pkgname/${bin#./}"
    [ -f "$tmp/out/$rel" ] || die "$pkgname@$v has no $rel"
    chmod 0755 "$tmp/out/$rel"
    rm -rf "$dest"
    mv "$tmp/out" "$dest"
    # A quick sanity check that it runs here at all.
    node "$dest/$rel" --version >/dev/null 2>&1 \
        || echo "install.sh: warning: $dest/$rel --version failed" >&2
    mark_done "$dest" "$rel" "$tmp"
}

# The Rust target triple of Codex's build for this machine.
codex_triple() {
    case "$(uname -s)-$(uname -m)" in
        Linux-x86_64|Linux-amd64) echo x86_64-unknown-linux-musl ;;
        Linux-aarch64|Linux-arm64) echo aarch64-unknown-linux-musl ;;
        Darwin-x86_64) echo x86_64-apple-darwin ;;
        Darwin-arm64|Darwin-aarch64) echo aarch64-apple-darwin ;;
        *) die "no Codex build for $(uname -s) $(uname -m)" ;;
    esac
}

install_codex() {
    local v pkgname=@openai/codex
    v=$(resolve_version "$pkgname" "$1") || exit 1
    local dest="$cache/codex/$v"
    installed "$dest" && return 0
    local suffix triple pkg rel
    suffix=$(platform_suffix)
    suffix=${suffix%-musl}  # Codex's Linux builds are musl (static) either way
    triple=$(codex_triple)
    pkg="$pkgname@$v-$suffix"
    npm_view "$pkg" version
    [ -n "$VIEW" ] || die "no platform build of $pkgname $v for $suffix ($pkg; a release without one is not supported)"
    rel="package/vendor/$triple/bin/codex"

    locked_or_done codex "$v" "$dest" && return 0
    local tmp
    tmp=$(mktemp -d "$cache/codex/.tmp-$v.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    pack_unpack "$pkg" "$tmp" "$rel"
    # A quick sanity check that it runs here at all (its state, should it
    # write any, in the temporary directory).
    CODEX_HOME="$tmp" "$tmp/out/$rel" --version >/dev/null 2>&1 \
        || echo "install.sh: warning: $tmp/out/$rel --version failed" >&2
    rm -rf "$dest"
    mkdir -p "$dest"
    mv "$tmp/out/package" "$dest/package"
    mark_done "$dest" "$rel" "$tmp"
}

case "$agent" in
    claude) install_claude "$version" ;;
    gemini) install_gemini "$version" ;;
    codex) install_codex "$version" ;;
    *) die "unknown agent '$agent' (known: claude, gemini, codex)" ;;
esac
