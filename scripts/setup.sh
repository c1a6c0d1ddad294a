#!/usr/bin/env bash
# Prepares a machine to build statebench; every README command and .ci/run call it first.
#
# 1. libclang: the rocksdb crate runs bindgen at build time, which loads libclang.
# 2. RocksDB: compiled once per machine into ~/.cache/statebench (or $STATEBENCH_CACHE) and linked
#    from there by every build profile through .cargo/config.toml, so `cargo test`, `cargo run
#    --release` and `cargo bench` never compile RocksDB's C++ again (that takes 15-30 minutes here).
#
# Safe to run any number of times: each step is skipped when its result is already in place.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${STATEBENCH_CACHE:-$HOME/.cache/statebench}"

say() { printf 'setup: %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

have_libclang() {
    [ -n "${LIBCLANG_PATH:-}" ] && return 0
    ldconfig -p 2>/dev/null | grep -q 'libclang\(-[0-9.]*\)\?\.so' && return 0
    compgen -G '/usr/lib/llvm-*/lib/libclang*.so*' >/dev/null
}

if ! have_libclang; then
    say "installing libclang-dev (bindgen needs it to build the rocksdb crate)"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq libclang-dev >/dev/null
fi

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
    (cd "$work" && env -u ROCKSDB_LIB_DIR -u SNAPPY_LIB_DIR CARGO_TARGET_DIR="$work/target" \
        cargo build --release --quiet)
    out="$(dirname "$(ls -t "$work"/target/release/build/librocksdb-sys-*/out/librocksdb.a | head -n1)")"
    staging="$lib_dir.partial"
    rm -rf "$staging" && mkdir -p "$staging"
    cp "$out/librocksdb.a" "$out/libsnappy.a" "$staging/"
    rm -rf "$lib_dir" && mv "$staging" "$lib_dir"
    rm -rf "$work"
    say "RocksDB library cached in $lib_dir"
fi

ln -sfn "$lib_dir" "$repo/.rocksdb-prebuilt"
