#!/usr/bin/env bash
# README quick start, step 2: prepare the machine, then run the test suite. Tests build in the
# release profile, the one `cargo run --release` and `cargo bench` use, so one build serves all.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
./scripts/setup.sh
cargo test --release "$@"
