#!/usr/bin/env python3
"""Cross-check: the narrow formats of `precision-audit round` against ml_dtypes and exact rounding.

Formats: e4m3 (ml_dtypes float8_e4m3fn), e5m2 (float8_e5m2), e2m3 (float6_e2m3fn), e3m2
(float6_e3m2fn), e2m1 (float4_e2m1fn). tf32 and typed eXmY formats have no ml_dtypes type; the
Rust tests (tests/formats/narrow.rs) check them against exact rational rounding.

1. Decoding, exhaustively. Every bit pattern of each format is decoded by ml_dtypes. Every
   finite value (signed zeros included) must come back from `round` bit for bit, exactly, of
   the same class; the largest finite, smallest normal and smallest subnormal of `formats
   --output csv` must be ml_dtypes' finfo; and the midpoint between each pair of neighbouring
   values must round to one of the two (so precision-audit has no value ml_dtypes lacks).
2. Conversion. A dense sample around every tie (each midpoint, the f64s and the f32s beside
   it), the subnormal boundary, the overflow threshold, and log-uniform random values, written
   as exact decimals, is rounded by precision-audit with each format's default overflow rule
   and compared with (a) exact rational rounding (Fractions, ties to even) and (b) ml_dtypes'
   conversion from f64 and, for values exact in f32, from f32. Every disagreement with ml_dtypes
   must be explained, and is counted by its explanation:
   * double rounding through f32: ml_dtypes 0.6 converts an f64 to these types through float32,
     so its answer is the correct rounding of float32(x) instead of x;
   * NaN policy: FP6/FP4 have no NaN; ml_dtypes stores NaN as -0, precision-audit keeps NaN
     (an input no encoding holds, shown as such);
   * overflow policy: every value is also rounded with --overflow saturate (CUDA's
     __NV_SATFINITE: 448 for e4m3, 57344 for e5m2, infinities too), where ml_dtypes gives NaN
     (e4m3) or inf (e5m2); ml_dtypes' answer must then be the default rule's.
   Anything else fails, and so does any disagreement on a value exact in f32 (which ml_dtypes
   rounds once) that is not overflow policy.

Usage: crosscheck_narrow.py [--binary target/release/precision-audit]
"""

import argparse
import csv
import io
import math
import struct
import subprocess
import sys
from decimal import Decimal
from fractions import Fraction

import ml_dtypes
import numpy as np

SEED = 20261130
# name -> (ml_dtypes type, bits, default overflow rule: what precision-audit does by default)
FORMATS = {
    "e4m3": (ml_dtypes.float8_e4m3fn, 8, "nan"),
    "e5m2": (ml_dtypes.float8_e5m2, 8, "ieee"),
    "e2m3": (ml_dtypes.float6_e2m3fn, 6, "saturate"),
    "e3m2": (ml_dtypes.float6_e3m2fn, 6, "saturate"),
    "e2m1": (ml_dtypes.float4_e2m1fn, 4, "saturate"),
}
ARG_BYTES = 250_000


def exact_decimal(x):
    """A decimal that is exactly the f64 x ("-0" for negative zero)."""
    if x == 0:
        return "-0" if math.copysign(1, x) < 0 else "0"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return format(Decimal(float(x)), "e").replace("E", "e").replace("e+", "e")


def same(a, b):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return struct.pack("<d", a) == struct.pack("<d", b)


def run_round(binary, fmt, texts, overflow=None):
    """text -> (stored, class, rel_error) for `fmt`, from as few invocations as fit."""
    rows, chunk, size = {}, [], 0
    flags = ["--overflow", overflow] if overflow else []

    def flush():
        out = subprocess.run([binary, "round", "--formats", fmt, *flags, "--output", "csv", "--",
                              *chunk], check=True, capture_output=True, text=True).stdout
        for row in csv.DictReader(io.StringIO(out)):
            hx = row["hex"]
            stored = float(hx) if hx in ("inf", "-inf", "nan") else float.fromhex(hx)
            rows[row["value"]] = (stored, row["class"], float(row["rel_error"]))

    for text in dict.fromkeys(texts):
        if size + len(text) > ARG_BYTES:
            flush()
            chunk, size = [], 0
        chunk.append(text)
        size += len(text) + 1
    if chunk:
        flush()
    return rows


def facts(binary):
    out = subprocess.run([binary, "formats", "--formats", ",".join(FORMATS), "--output", "csv"],
                         check=True, capture_output=True, text=True).stdout
    return {row["format"]: row for row in csv.DictReader(io.StringIO(out))}


# --- exact rounding ----------------------------------------------------------------------------


def floor_log2(q):
    """floor(log2 q) of a positive Fraction."""
    e = q.numerator.bit_length() - q.denominator.bit_length()
    return e if Fraction(2) ** e <= q else e - 1


def round_exact(x, fi, rule):
    """The f64 x rounded to nearest-even in the format of finfo `fi`, overflow by `rule`."""
    if math.isnan(x):
        return math.nan
    if math.isinf(x):
        return x if rule == "ieee" else (math.nan if rule == "nan" else math.copysign(fi_max(fi), x))
    if x == 0:
        return x
    q = abs(Fraction(x))
    t = int(fi.nmant) + 1
    emin = int(math.log2(float(fi.smallest_normal)))
    quantum = Fraction(2) ** (max(floor_log2(q), emin) - (t - 1))
    n, rest = divmod(q, quantum)
    if rest * 2 > quantum or (rest * 2 == quantum and n % 2 == 1):
        n += 1
    value = float(n * quantum)
    if value > fi_max(fi):
        value = {"ieee": math.inf, "nan": math.nan, "saturate": fi_max(fi)}[rule]
    return math.copysign(value, x)


def fi_max(fi):
    return float(fi.max)


# --- the samples -------------------------------------------------------------------------------


def finite_values(dtype, bits):
    """Every finite value of the format, ascending, -0 and +0 both (as f64)."""
    patterns = np.arange(2**bits, dtype=np.uint8).view(dtype).astype(np.float64)
    return patterns


def samples(values, fi, rng):
    """Dense f64 samples: midpoints, their f64 and f32 neighbours, edges, random values."""
    pos = sorted({v for v in values if np.isfinite(v) and v >= 0})
    xs = []
    for a, b in zip(pos, pos[1:]):
        m = (a + b) / 2
        xs += [a, m, math.nextafter(m, math.inf), math.nextafter(m, -math.inf)]
        f = np.float32(m)
        xs += [float(np.nextafter(f, np.float32(np.inf))), float(np.nextafter(f, np.float32(0)))]
        xs += [a + (b - a) * k / 8 for k in range(1, 8)]
    top, step = pos[-1], pos[-1] - pos[-2]
    xs += [top + step * k / 16 for k in range(1, 40)]
    threshold = top + step / 2
    xs += [math.nextafter(threshold, math.inf), math.nextafter(threshold, -math.inf),
           float(np.nextafter(np.float32(threshold), np.float32(np.inf))), top * 64, 1e30,
           math.inf]
    tiny = float(fi.smallest_subnormal)
    xs += [tiny / 2, math.nextafter(tiny / 2, math.inf), math.nextafter(tiny / 2, 0),
           tiny / 4, tiny * 0.75, 1e-30, 1e-300, 0.0]
    xs += list(np.exp2(rng.uniform(math.log2(tiny) - 3, math.log2(top) + 2, size=3000)))
    return [float(s * x) for x in xs for s in (1.0, -1.0)] + [math.nan]


def explain(x, lib, fi, used, default):
    """Why ml_dtypes' `lib` for x differs from precision-audit's exact rounding under `used`
    (None if it does not). ml_dtypes overflows by `default`, the format's default rule."""
    if math.isnan(x):
        return "agree" if math.isnan(lib) else ("NaN policy (ml_dtypes: -0)" if lib == 0
                                                else None)
    f32 = float(np.float32(x))
    for rule in dict.fromkeys([used, default]):
        policy = "" if rule == used else f" + overflow policy ({used})"
        if same(round_exact(x, fi, rule), lib):
            return "agree" if not policy else policy[3:]
        if f32 != x and same(round_exact(f32, fi, rule), lib):
            return "double rounding through f32" + policy
    return None


def ml_from(xs, dtype, via):
    with np.errstate(over="ignore", invalid="ignore"):
        return np.array(xs, dtype=via).astype(dtype).astype(np.float64)


# --- the checks --------------------------------------------------------------------------------


def check_format(binary, name, fmt_facts, failures, rng):
    dtype, bits, rule = FORMATS[name]
    fi = ml_dtypes.finfo(dtype)
    for column, want in [("max_finite", fi.max), ("min_normal", fi.smallest_normal),
                         ("min_subnormal", fi.smallest_subnormal),
                         ("precision_bits", int(fi.nmant) + 1)]:
        if float(fmt_facts[column]) != float(want):
            failures.append(f"{name}: formats says {column} = {fmt_facts[column]}, "
                            f"ml_dtypes {want}")

    # 1. Every bit pattern.
    decoded = finite_values(dtype, bits)
    finite = [v for v in decoded if np.isfinite(v)]
    texts = [exact_decimal(v) for v in finite]
    pos = sorted({v for v in finite if v >= 0})
    mids = [exact_decimal((a + b) / 2) for a, b in zip(pos, pos[1:])]
    got = run_round(binary, name, texts + mids)
    for v, text in zip(finite, texts):
        stored, cls, rel = got[text]
        if not same(stored, v) or rel != 0:
            failures.append(f"{name}: pattern value {v!r} stored as {stored!r} (rel {rel})")
        want_cls = "zero" if v == 0 else ("subnormal" if abs(v) < fi.smallest_normal
                                          else "normal")
        if cls != want_cls:
            failures.append(f"{name}: {v!r} is {cls}, want {want_cls}")
    for (a, b), text in zip(zip(pos, pos[1:]), mids):
        if got[text][0] not in (a, b):
            failures.append(f"{name}: midpoint of neighbours {a!r}, {b!r} stored as "
                            f"{got[text][0]!r}: a value ml_dtypes lacks")
    specials = len(decoded) - len(finite)

    # 2. Conversions, with the default rule and with saturation.
    xs = samples(decoded, fi, rng)
    texts = ["nan" if math.isnan(x) else exact_decimal(x) for x in xs]
    counts = {}
    ml64 = ml_from(xs, dtype, np.float64)
    ml32 = ml_from([float(np.float32(x)) for x in xs], dtype, np.float64)
    for rule_flag in (None, "saturate"):
        used = rule_flag or rule
        rows = run_round(binary, name, texts, rule_flag)
        for x, text, lib, lib32 in zip(xs, texts, ml64, ml32):
            stored = rows[text][0]
            exact = round_exact(x, fi, used)
            if not same(stored, exact) and not (math.isnan(x) and math.isnan(stored)):
                failures.append(f"{name} ({used}): {text} stored as {stored!r}, exact rounding "
                                f"gives {exact!r}")
                continue
            reason = explain(x, lib, fi, used, rule)
            if reason is None:
                failures.append(f"{name} ({used}): {text}: precision-audit {stored!r}, "
                                f"ml_dtypes {lib!r}, unexplained")
            else:
                counts[reason] = counts.get(reason, 0) + 1
        # Values exact in f32: ml_dtypes rounds them once and must agree but for policy.
        for x, text, lib32 in zip(xs, texts, ml32):
            if float(np.float32(x)) == x and not math.isnan(x):
                stored = rows[text][0]
                if not same(stored, lib32) and not (rule_flag and same(
                        round_exact(x, fi, rule), lib32)):
                    failures.append(f"{name} ({used}): f32 {text}: precision-audit "
                                    f"{stored!r}, ml_dtypes {lib32!r}")
    print(f"  {name}: {len(decoded)} patterns ({len(finite)} finite, {specials} inf/NaN) "
          f"decode as ml_dtypes; {2 * len(xs)} conversions: "
          + ", ".join(f"{k} {v}" for k, v in counts.items()))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default="target/release/precision-audit")
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    all_facts = facts(args.binary)
    failures = []
    with np.errstate(over="ignore", invalid="ignore"):
        for name in FORMATS:
            check_format(args.binary, name, all_facts[name], failures, rng)
    # ml_dtypes' e4m3 edge, pinned: 464 ties to 448; the next f64 above 464 is also 448 (it goes
    # through float32, where it is 464 again); the next float32 above 464 and 480 are NaN: no
    # saturation. precision-audit: 448, NaN, NaN, NaN (or 448 throughout with saturate).
    above = [math.nextafter(464.0, math.inf), float(np.nextafter(np.float32(464), np.inf))]
    edge = ml_from([464.0, *above, 480.0], ml_dtypes.float8_e4m3fn, np.float64)
    if not (edge[0] == 448 and edge[1] == 448 and np.isnan(edge[2]) and np.isnan(edge[3])):
        failures.append(f"ml_dtypes float8_e4m3fn at 464, 464+ulp64, 464+ulp32, 480: {edge}")
    for f in failures[:20]:
        print("  " + f)
    if failures:
        print(f"  {len(failures)} failures")
        sys.exit(1)


if __name__ == "__main__":
    main()
