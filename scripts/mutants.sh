#!/usr/bin/env bash
# Mutation testing of the numeric core with cargo-mutants: does a wrong rounding, a flipped
# comparison or a deleted statement in format/, kernel/, audit/compare.rs, train/ or model/
# make a test fail? Not run in CI (each mutant is a release build); see README.md (Testing).
#
#   bash scripts/mutants.sh                      # every mutant of the core (about 1,600; days)
#   bash scripts/mutants.sh --shard 0/300 --sharding round-robin  # ~6 spread mutants, < 1 hour
#   bash scripts/mutants.sh -f src/format/round.rs                # one file
#   JOBS=2 bash scripts/mutants.sh ...           # build and test two mutants at a time
#
# Extra arguments go to cargo-mutants (`cargo mutants --help`); results land in
# mutants.out/ (caught.txt, missed.txt, unviable.txt, timeout.txt, outcomes.json).
#
# The tests run are the ones that exercise the core and run in seconds: the unit tests (the
# rounding primitives, the comparator, the round_pair midpoint test, the kernels), the format
# tests (TestFloat vectors, exhaustive f16/bf16, narrow formats against exact rounding) and the
# training tests (gradients against finite differences, hand-computed optimizer steps). The
# CLI snapshot tests would catch more but take minutes per mutant: a survivor of this run can
# be tried against them with `cargo test --release --test cli` in its mutated copy.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo-mutants >/dev/null 2>&1; then
    echo "mutants.sh: cargo-mutants is not installed: cargo install --locked cargo-mutants" >&2
    exit 2
fi

core=(
    --file 'src/format/**'
    --file 'src/kernel/**'
    --file src/audit/compare.rs
    --file 'src/train/**'
    --file 'src/model/**'
)
tests=(
    --cargo-test-arg=--lib
    --cargo-test-arg=--test=formats
    --cargo-test-arg=--test=training
)

# Release builds, as every test here runs; each mutant rebuilds the crate and its three test
# targets (5-10 minutes on one core: the first, unmutated build also rebuilds the
# dependencies, about 15 minutes). A test that hangs under a mutant (a loop whose exit was
# mutated) times out.
exec cargo mutants "${core[@]}" "${tests[@]}" \
    --profile release \
    --copy-target true \
    --jobs "${JOBS:-1}" \
    --minimum-test-timeout 120 \
    "$@"
