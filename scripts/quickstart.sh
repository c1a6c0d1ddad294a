#!/usr/bin/env bash
# README quick start, step 1: prepare the machine, then run the quickstart workload through the
# whole matrix and print where the tuning report is.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
./scripts/setup.sh
cargo run --release --quiet -- matrix workloads/quickstart.json "$@"
