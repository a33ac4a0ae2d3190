"""Cross-check of `precision-audit quantize` for the OCP MX formats against an independent
implementation of the OCP Microscaling Formats (MX) v1.0 specification, section 6.3, with the
element conversions done by ml_dtypes:

  shared scale X = 2^(floor(log2(amax)) - emax_elem)             (--mx-scale floor, OCP/torchao)
              or 2^ceil(log2(amax / max_elem))                   (--mx-scale rceil, TE/cuBLAS)
  clamped to E8M0's 2^-127 .. 2^127; an all-zero block takes 2^-127;
  P_i = quantize(V_i / X): round to nearest even in the element format, saturating at +-max.

Blocks are float32 values (what a network holds): random blocks over many binades, and
adversarial ones - the clipping case of floor (scaled amax in (448, 512) for e4m3), an amax
exactly max_elem * 2^k, ties of the element format, subnormal elements, and zeros. Exact
arithmetic (fractions) decides the scale; V_i / X is exact in float64 and, for these blocks,
in float32, so ml_dtypes rounds it once.
"""

import argparse
import csv
import io
import math
import random
import subprocess
import sys
from fractions import Fraction

import ml_dtypes
import numpy as np

# dtype, largest value, significand bits (with the implicit one)
ELEMENTS = {
    "mxfp8-e4m3": (ml_dtypes.float8_e4m3fn, 448.0, 4),
    "mxfp8-e5m2": (ml_dtypes.float8_e5m2, 57344.0, 3),
    "mxfp6-e3m2": (ml_dtypes.float6_e3m2fn, 28.0, 3),
    "mxfp6-e2m3": (ml_dtypes.float6_e2m3fn, 7.5, 4),
    "mxfp4": (ml_dtypes.float4_e2m1fn, 6.0, 2),
}


def rounds_past(x, max_elem, bits):
    """Whether round-to-nearest-even of |x| with `bits` significand bits and an unbounded
    exponent is above max_elem: the element is clipped (saturated), as opposed to a value a
    little above max that rounds down to max anyway (e4m3: (448, 464] is rounding, not
    clipping; e5m2's max 57344 has an odd last bit, so its tie 61440 goes up and clips)."""
    x = Fraction(abs(float(x)))
    if x <= max_elem:
        return False
    quantum = Fraction(2) ** (floor_log2(float(x)) - (bits - 1))
    steps = x / quantum
    down = math.floor(steps)
    if steps - down > Fraction(1, 2) or (steps - down == Fraction(1, 2) and down % 2 == 1):
        down += 1
    return down * quantum > max_elem


def floor_log2(x):
    """floor(log2(x)) of a positive float, exactly."""
    mantissa, exponent = math.frexp(x)
    return exponent - 1


def scale_exponent(amax, max_elem, rule):
    if amax == 0:
        return -127
    emax = floor_log2(max_elem)
    if rule == "floor":
        e = floor_log2(amax) - emax
    else:
        # the smallest e with amax <= max_elem * 2^e, by exact rationals
        e = floor_log2(amax) - emax - 2
        while Fraction(amax) > Fraction(max_elem) * Fraction(2) ** e:
            e += 1
    return max(-127, min(127, e))


def quantize_block(block, scheme, rule):
    dtype, max_elem, bits = ELEMENTS[scheme]
    amax = max(abs(float(v)) for v in block)
    e = scale_exponent(amax, max_elem, rule)
    x = math.ldexp(1.0, e)
    scaled = np.array([float(v) / x for v in block], dtype=np.float64)
    clipped = [rounds_past(v, max_elem, bits) for v in scaled]
    # Saturate, then round once (values above max round to max or past it: clip first).
    elements = np.clip(scaled, -max_elem, max_elem).astype(np.float32).astype(dtype)
    return x, [float(p) * x for p in elements.astype(np.float64)], list(clipped)


def blocks(rng):
    out = []
    for _ in range(60):
        scale = 2.0 ** rng.randint(-30, 30)
        out.append([np.float32(rng.gauss(0, 1) * scale) for _ in range(32)])
    for _, max_elem, _ in ELEMENTS.values():
        for k in (-10, 0, 5):
            base = max_elem * 2.0 ** k
            # amax exactly max_elem * 2^k; just above; clipping case of floor (between max and
            # the next power of two); ties of the element grid; zeros.
            out.append([np.float32(base)] + [np.float32(base / 3)] * 31)
            out.append([np.float32(base * 1.0625)] + [np.float32(-base / 7)] * 31)
            top = 2.0 ** (floor_log2(max_elem) + 1 + k)
            out.append([np.float32(top * 0.97)] + [np.float32(1.0 * 2.0**k)] * 31)
            out.append([np.float32(base)] + [np.float32(base * (1 + 2**-4) / 16)] * 31)
    out.append([np.float32(0.0)] * 32)
    out.append([np.float32(1e-40)] + [np.float32(0.0)] * 31)
    return out


def run(binary, scheme, rule, values):
    texts = [repr(float(v)) for v in values]
    result = subprocess.run(
        [binary, "quantize", "--scheme", scheme, "--mx-scale", rule, "--output", "csv", "--"]
        + texts,
        capture_output=True, text=True, check=True)
    return list(csv.DictReader(io.StringIO(result.stdout)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    args = parser.parse_args()
    rng = random.Random(20261130)
    all_blocks = blocks(rng)
    failures, checked, clipping_seen = 0, 0, 0
    for scheme in ELEMENTS:
        for rule in ("floor", "rceil"):
            values = [v for block in all_blocks for v in block]
            rows = run(args.binary, scheme, rule, values)
            for b, block in enumerate(all_blocks):
                x, expected, clipped = quantize_block(block, scheme, rule)
                got = rows[b * 32:(b + 1) * 32]
                for i, row in enumerate(got):
                    checked += 1
                    ok = (float(row["scale"]) == x and float(row["stored"]) == expected[i]
                          and (row["clipped"] == "true") == bool(clipped[i]))
                    clipping_seen += int(bool(clipped[i]))
                    if not ok and failures < 10:
                        print(f"{scheme} {rule} block {b} element {i}: value {block[i]!r}: "
                              f"got scale {row['scale']} stored {row['stored']} clipped "
                              f"{row['clipped']}; expected {x} {expected[i]} {clipped[i]}")
                    failures += int(not ok)
                if rule == "rceil":
                    assert not any(clipped), "rceil never clips"
    assert clipping_seen > 0, "the clipping case of floor is exercised"
    print(f"crosscheck_mx: {checked} elements of {len(all_blocks)} blocks x 5 formats x 2 rules, "
          f"{clipping_seen} clipped under floor, {failures} disagreements")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
