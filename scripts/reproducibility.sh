#!/usr/bin/env bash
# Bit-for-bit reproducibility across builds: the output files of a fixed audit must be
# byte-identical between the default release build and one built with
# RUSTFLAGS="-C target-cpu=native" (which lets the compiler use FMA, AVX and friends), and
# between one and two worker threads. Prints one PASS/FAIL line per comparison.
#
#   scripts/reproducibility.sh [BINARY]
#
# BINARY defaults to target/release/precision-audit; the native build goes to target/native.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
binary="$(realpath -m "${1:-target/release/precision-audit}")"
if [ ! -x "$binary" ]; then
    echo "reproducibility: no executable at $binary (run cargo build --release first)" >&2
    exit 2
fi

RUSTFLAGS="-C target-cpu=native" cargo build --release --quiet --target-dir target/native
native="$root/target/native/release/precision-audit"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Small but complete: every format, the relative loss with its f16 failure, dropout, tanh
# (correctly rounded elementary functions), Adam; --plot draws the SVG files and report.html too.
audit=(--loss relative --eps 1e-8 --activation tanh --dropout 0.1 --epochs 5 --verify-reference --plot)

"$binary" "${audit[@]}" --threads 1 --csv "$work/default-1" >/dev/null
"$binary" "${audit[@]}" --threads 2 --csv "$work/default-2" >/dev/null
"$binary" "${audit[@]}" --threads 2 --csv "$work/default-again" >/dev/null
"$native" "${audit[@]}" --threads 2 --csv "$work/native" >/dev/null

failed=0
compare() {
    local label="$1" a="$2" b="$3"
    if diff -r "$a" "$b" >/dev/null; then
        echo "PASS reproducibility: $label ($(ls "$a" | wc -l) files, CSV, safetensors and pictures, byte-identical)"
    else
        echo "FAIL reproducibility: $label"
        diff -r "$a" "$b" | head -20
        failed=1
    fi
}
compare "two runs" "$work/default-2" "$work/default-again"
compare "1 vs 2 threads" "$work/default-1" "$work/default-2"
compare "default vs target-cpu=native build" "$work/default-2" "$work/native"
exit "$failed"
