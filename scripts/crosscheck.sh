#!/usr/bin/env bash
# The cross-checks against independent implementations (numpy, ml_dtypes, mpmath, safetensors):
# one PASS or FAIL line per check, exit status 1 when any fails. Builds nothing.
#
#   scripts/crosscheck.sh [BINARY] [PYTHON]
#
# BINARY defaults to target/release/precision-audit, PYTHON to .venv/bin/python (a venv with
# scripts/requirements.txt installed). Relative paths are taken from the crate root.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
binary="$(realpath -m "${1:-target/release/precision-audit}")"
python="${2:-.venv/bin/python}"

if [ ! -x "$binary" ]; then
    echo "crosscheck: no executable at $binary (run cargo build --release first)" >&2
    exit 2
fi
if ! "$python" -c 'import numpy, ml_dtypes, mpmath, safetensors, yaml' 2>/dev/null; then
    echo "crosscheck: $python lacks numpy/ml_dtypes/mpmath/safetensors/yaml (pip install -r scripts/requirements.txt)" >&2
    exit 2
fi

failed=0
for check in rounding narrow mpfr training gradscaler model_files mx recipes k8s_job; do
    start=${EPOCHREALTIME/./}
    "$python" "scripts/crosscheck_$check.py" --binary "$binary"
    status=$?
    elapsed=$(( (${EPOCHREALTIME/./} - start) / 100000 ))  # tenths of a second
    took="$((elapsed / 10)).$((elapsed % 10)) s"
    if [ "$status" -eq 0 ]; then
        echo "PASS crosscheck_$check ($took)"
    else
        echo "FAIL crosscheck_$check (exit $status, $took)"
        failed=1
    fi
done
exit "$failed"
