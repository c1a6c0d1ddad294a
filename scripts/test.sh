#!/usr/bin/env bash
# README quick start, step 2: prepare the machine, then run the test suite. Tests build in the
# release profile, the one `cargo run --release` and `cargo bench` use, so one build serves all.
# Ends with one summary line, "N passed, N failed", over every test binary.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
./scripts/setup.sh
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
cargo test --release --lib --bins --tests "$@" 2>&1 | tee "$log" || status=$?
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "%d passed, %d failed\n", passed, failed }' "$log"
exit "$status"
