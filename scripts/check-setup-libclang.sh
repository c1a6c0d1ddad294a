#!/usr/bin/env bash
# Checks scripts/setup.sh's libclang step the way it once failed on a fresh machine: there,
# Debian's libclang-cpp14 (clang's C++ library) was present but not libclang1-14 (the C library
# bindgen loads), setup.sh took one for the other and skipped the install, and the RocksDB build
# died in bindgen.
#
# Inside a private mount namespace (`unshare -m`) every libclang.so* and libclang-N.so* on the
# machine is hidden behind overlay whiteouts and the loader's cache is rebuilt without them, so the
# machine looks like that fresh one; `apt-get` is replaced by a stub that records what it was asked
# to install. Each case then runs `scripts/setup.sh libclang` (the libclang step alone) and checks
# the exit status, what apt-get was asked and what setup.sh said. Nothing outside the namespace
# changes. Needs root (CI and these machines run as root).
#
# Prints one line per case and a closing "N passed, N failed"; exits non-zero when a case failed.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [ "${1:-}" != "--inside-namespace" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "check-setup-libclang: needs root for unshare -m and overlay mounts; skipped" >&2
        exit 0
    fi
    exec unshare --mount --propagation private "${BASH_SOURCE[0]}" --inside-namespace
fi

scratch="$(mktemp -d)"
# A tmpfs, so the overlays' upper directories are on a filesystem overlayfs accepts.
mount -t tmpfs tmpfs "$scratch"
mkdir -p "$scratch/bin" "$scratch/up" "$scratch/work"

# Hide every file bindgen could load as libclang: whiteouts (0/0 character devices) in an overlay
# over each directory holding one. libclang-cpp.so.N stays visible, as on the failing machine.
n=0
while IFS= read -r dir; do
    n=$((n + 1))
    mkdir -p "$scratch/up/$n" "$scratch/work/$n"
    for file in "$dir"/libclang.so* "$dir"/libclang-[0-9]*.so*; do
        [ -e "$file" ] || [ -L "$file" ] || continue
        mknod "$scratch/up/$n/$(basename "$file")" c 0 0
    done
    mount -t overlay overlay -o "lowerdir=$dir,upperdir=$scratch/up/$n,workdir=$scratch/work/$n" "$dir"
done < <(find /usr /opt -xdev \( -name 'libclang.so*' -o -name 'libclang-[0-9]*.so*' \) \
    -printf '%h\n' 2>/dev/null | sort -u)
# The loader's cache as ldconfig would build it now (-X: create or update no links anywhere).
ldconfig -X -C "$scratch/ld.so.cache" 2>/dev/null
mount --bind "$scratch/ld.so.cache" /etc/ld.so.cache

# The namespace must now look like the failing machine: no loadable libclang anywhere.
if find /usr /opt \( -name 'libclang.so*' -o -name 'libclang-[0-9]*.so*' \) \
    -not -type c 2>/dev/null | grep -q . || ldconfig -p -C /etc/ld.so.cache | grep -q 'libclang[-.][0-9s]'; then
    echo "check-setup-libclang: could not hide libclang in the namespace" >&2
    exit 1
fi
echo "hidden: $n directories; still visible: $(find /usr /opt -name 'libclang-cpp.so*' -printf '%f ' 2>/dev/null)"

# apt-get stub: record the request, succeed (or fail when APT_STUB_FAIL is set).
cat > "$scratch/bin/apt-get" <<STUB
#!/bin/sh
echo "apt-get \$*" >> "$scratch/apt.log"
[ "\$1" != install ] || [ -z "\${APT_STUB_FAIL:-}" ]
STUB
chmod +x "$scratch/bin/apt-get"

passed=0
failed=0
# run_case NAME EXPECTED_STATUS APT_EXPECTATION(install|none) OUTPUT_PATTERN [ENV=VALUE...]
run_case() {
    local name="$1" want_status="$2" want_apt="$3" want_output="$4" status=0 problems=""
    shift 4
    : > "$scratch/apt.log"
    env -u LIBCLANG_PATH -u LD_LIBRARY_PATH PATH="$scratch/bin:$PATH" "$@" \
        "$repo/scripts/setup.sh" libclang > "$scratch/out.log" 2>&1 || status=$?
    [ "$status" -eq "$want_status" ] || problems+=" exit status $status, expected $want_status;"
    if [ "$want_apt" = install ]; then
        grep -q 'apt-get install .*libclang-dev' "$scratch/apt.log" \
            || problems+=" apt-get was not asked to install libclang-dev;"
    elif [ -s "$scratch/apt.log" ]; then
        problems+=" apt-get was called: $(tr '\n' ' ' < "$scratch/apt.log");"
    fi
    grep -q -- "$want_output" "$scratch/out.log" || problems+=" output lacks '$want_output';"
    [ "$(grep -c 'error' "$scratch/out.log")" -le 1 ] || problems+=" more than one error line;"
    if [ -z "$problems" ]; then
        passed=$((passed + 1)); echo "ok: $name"
    else
        failed=$((failed + 1)); echo "FAILED: $name:$problems"; sed 's/^/    | /' "$scratch/out.log"
    fi
}

mkdir -p "$scratch/cpp-only" "$scratch/c-lib"
touch "$scratch/cpp-only/libclang-cpp.so.14" "$scratch/c-lib/libclang-14.so.1"

run_case "only libclang-cpp present: installs libclang-dev" 0 install "installing libclang-dev"
run_case "libclang-N.so.N on LD_LIBRARY_PATH: found, nothing installed" 0 none "libclang: $scratch/c-lib/libclang-14.so.1" \
    LD_LIBRARY_PATH="$scratch/cpp-only:$scratch/c-lib"
run_case "LIBCLANG_PATH holding only libclang-cpp: one-line error, nothing installed" 1 none "error: LIBCLANG_PATH=" \
    LIBCLANG_PATH="$scratch/cpp-only"
run_case "LIBCLANG_PATH naming the C library: found" 0 none "libclang: $scratch/c-lib/libclang-14.so.1" \
    LIBCLANG_PATH="$scratch/c-lib/libclang-14.so.1"
run_case "install fails: one-line error saying what to do" 1 install "error: installing libclang-dev failed" \
    APT_STUB_FAIL=1

echo "check-setup-libclang: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
