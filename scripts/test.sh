#!/usr/bin/env bash
# The whole test suite: Rust unit, integration and snapshot tests, the cross-checks against
# independent implementations (numpy, ml_dtypes, mpmath, safetensors), and the reproducibility
# checks.
# Needs GNU m4 for the first build (rug builds GMP and MPFR from source) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."

# The Python cross-checks run in a virtual environment with pinned packages.
if ! .venv/bin/python -c 'import numpy, ml_dtypes, mpmath, safetensors, yaml' 2>/dev/null; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements.txt
fi

cargo build --release
cargo test --release --all-targets
cargo test --release --doc
bash scripts/crosscheck.sh target/release/precision-audit .venv/bin/python
bash scripts/reproducibility.sh target/release/precision-audit
