#!/usr/bin/env bash
# The whole test suite: Rust unit, integration and snapshot tests, then the cross-checks
# against independent implementations. Run from anywhere; needs m4 for the first build.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --release --all-targets
cargo test --release --doc
