#!/usr/bin/env python3
"""Cross-check 1: `precision-audit round` against numpy, ml_dtypes and exact rounding by mpmath.

About 12,700 values are rounded by precision-audit to f16, bf16, f32 and f64 (three big
`round --output csv` invocations). Each stored value, read back exactly from the `hex` column,
is compared bit for bit with two independent answers:

* Exact rounding, for every row. mpmath turns the decimal (an exact rational) into a lower and
  an upper bound at 1100 bits with directed rounding. Both are rounded to the format with integer
  arithmetic (ties to even, gradual underflow, overflow to inf). When the two agree, that is the
  correctly rounded value of the decimal itself.
* A library, where it rounds only once: numpy float16 and float32 (both round an f64 directly),
  ml_dtypes bfloat16, and Python's float() for f64 (correctly rounded decimal parsing). numpy
  reads a decimal string as an f64 first, so it is fair only for decimals exact in f64. Those
  decimals are written out in full (Decimal(x)), because repr(x) round-trips but is usually not
  x: at a tie of a narrower format, repr() lies slightly off the tie and the correct answer
  follows it. ml_dtypes 0.6 converts f64 to bfloat16 through float32 (two roundings), so for
  bf16 it is fair only for values exact in f32.

Outside that domain, every library disagreement must be double rounding: the library's answer
must be the correct rounding of its own intermediate value, float(text) or float32(float(text)).
Those disagreements are counted, not failed. The class, overflow and underflow columns are
checked against the exact value too.

Values: random f64s and f32s over every format's range; midpoints between neighbours of each
format (a quarter of them subnormal), written both exactly and as repr(), and the f64s on either
side of them; the subnormal boundaries; the overflow thresholds (65520 for f16); +-0, +-inf and
nan; 17-25 digit decimals; 40-digit decimals 1e-25 (relative) beside a tie, which f64 rounds onto
the tie. Fixed seed.

Usage: crosscheck_rounding.py [--binary target/release/precision-audit]
"""

import argparse
import csv
import functools
import io
import math
import struct
import subprocess
import sys
from decimal import Decimal, localcontext
from fractions import Fraction

import ml_dtypes
import numpy as np
from mpmath import libmp

SEED = 20240611
# Precision t (hidden bit included), emin, emax.
FORMATS = {
    "f16": (11, -14, 15),
    "bf16": (8, -126, 127),
    "f32": (24, -126, 127),
    "f64": (53, -1022, 1023),
}
LIBRARY = {"f16": "numpy float16", "bf16": "ml_dtypes bfloat16", "f32": "numpy float32",
           "f64": "Python float()"}
BOUND_BITS = 1100
ARG_BYTES = 250_000  # per invocation: a few invocations, far below the kernel's ARG_MAX


# --- exact rounding ----------------------------------------------------------------------------


def round_exact_mpf(mpf, fmt):
    """|mpf| (a raw mpmath value, finite) rounded to nearest-even in `fmt`, as an f64 (exact)."""
    t, emin, emax = FORMATS[fmt]
    _, man, exp, bc = mpf
    if man == 0:
        return 0.0
    quantum = max(exp + bc - 1, emin) - (t - 1)
    if exp < quantum:
        shift = quantum - exp
        kept, rest = man >> shift, man & ((1 << shift) - 1)
        half = 1 << (shift - 1)
        if rest > half or (rest == half and kept & 1):
            kept += 1
        man, exp = kept, quantum
    if man.bit_length() + exp > emax + 1:  # at or above 2^(emax+1): beyond the largest finite
        return math.inf
    return math.ldexp(man, exp)


def exact_rational(text):
    """The decimal as an exact (sign, numerator, denominator); None for inf/nan."""
    s = text.strip().lower()
    negative = s.startswith("-")
    s = s.lstrip("+-")
    if s in ("inf", "nan"):
        return None
    mantissa, _, exponent = s.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = int((whole + fraction) or "0")
    power = int(exponent or "0") - len(fraction)
    if power >= 0:
        return negative, digits * 10**power, 1
    return negative, digits, 10**-power


@functools.lru_cache(maxsize=None)
def round_exact(text, fmt):
    """The correctly rounded value of the decimal `text` in `fmt`, as an f64 (signed)."""
    s = text.strip().lower()
    if s.lstrip("+-") == "nan":
        return math.nan
    if s.lstrip("+-") == "inf":
        return -math.inf if s.startswith("-") else math.inf
    negative, num, den = exact_rational(text)
    lower = libmp.from_rational(num, den, BOUND_BITS, "f")
    upper = libmp.from_rational(num, den, BOUND_BITS, "c")
    rounded = round_exact_mpf(lower, fmt)
    if round_exact_mpf(upper, fmt) != rounded:
        raise RuntimeError(f"{text}: {BOUND_BITS} bits do not decide the rounding to {fmt}")
    return -rounded if negative else rounded


def is_exact_in(text, fmt):
    """Whether the decimal is a value of `fmt` (so a library reading it as such rounds once)."""
    r = exact_rational(text)
    if r is None:
        return True
    _, num, den = r
    value = round_exact(text, fmt)
    if math.isinf(value):
        return False
    return Fraction(abs(value)) == Fraction(num, den)  # Fraction(float) is exact


# --- the libraries -----------------------------------------------------------------------------


def library(texts, fmt):
    """What numpy / ml_dtypes / Python float() store, read back as f64."""
    as_f64 = np.array([float(t) for t in texts], dtype=np.float64)
    with np.errstate(over="ignore"):  # overflow to inf is the expected answer there
        return _cast(as_f64, fmt)


def _cast(as_f64, fmt):
    if fmt == "f16":
        return as_f64.astype(np.float16).astype(np.float64)
    if fmt == "bf16":
        return as_f64.astype(ml_dtypes.bfloat16).astype(np.float64)
    if fmt == "f32":
        return as_f64.astype(np.float32).astype(np.float64)
    return as_f64


def intermediate(text, fmt):
    """The value a library actually rounds to `fmt` (after its first rounding)."""
    x = float(text)
    return float(np.float32(x)) if fmt == "bf16" else x


# --- the values --------------------------------------------------------------------------------


def f64_text(x):
    """repr(): the shortest decimal that reads back as x. Not x itself: 0.1 is not an f64."""
    return repr(float(x))


def exact_decimal(x):
    """The exact decimal expansion of an f64 (long for tiny values): a decimal that *is* x."""
    return decimal_text(Decimal(float(x)))


def decimal_text(d):
    return format(d, "e").replace("E", "e").replace("e+", "e")


def both_spellings(xs):
    """Each f64 as its exact decimal (fair to numpy) and as repr() (usually not exact)."""
    return [t for x in xs for t in (exact_decimal(x), f64_text(x))]


def neighbours_midpoints(rng, fmt, count):
    """Midpoints between random neighbours of `fmt` (exact in f64), with random signs."""
    dtype, utype, top, tiny = {
        "f16": (np.float16, np.uint16, 0x7BFE, 0x0800),
        "bf16": (ml_dtypes.bfloat16, np.uint16, 0x7F7E, 0x0100),
        "f32": (np.float32, np.uint32, 0x7F7FFFFE, 0x01000000),
    }[fmt]
    bits = rng.integers(0, top + 1, size=count).astype(utype)
    # A quarter in the subnormal range and just above it, where rounding is most fragile.
    bits[: count // 4] = rng.integers(0, tiny, size=count // 4).astype(utype)
    low = bits.view(dtype).astype(np.float64)
    high = (bits + 1).view(dtype).astype(np.float64)
    mids = (low + high) / 2  # exact: one more bit than the format, far inside f64
    return mids * np.where(rng.random(count) < 0.5, -1.0, 1.0)


def edge_values():
    p2 = math.ldexp
    up, down = (lambda x: math.nextafter(x, math.inf)), (lambda x: math.nextafter(x, -math.inf))
    bf16_max, bf16_over = float.fromhex("0x1.fep127"), float.fromhex("0x1.ffp127")
    f32_max, f32_over = float.fromhex("0x1.fffffep127"), float.fromhex("0x1.ffffffp127")
    xs = [0.0, 1.0, 65504.0, 65519.0, down(65520.0), 65520.0, up(65520.0), 65535.0, 65536.0,
          p2(1, -24), p2(1, -25), down(p2(1, -25)), up(p2(1, -25)), p2(3, -26), p2(3, -25),
          p2(1, -14), p2(1, -14) - p2(1, -25), down(p2(1, -14) - p2(1, -25)),
          up(p2(1, -14) - p2(1, -25)), p2(1, -14) - p2(1, -24), 2049.0, 2051.0, 4097.0,
          bf16_max, bf16_over, down(bf16_over), up(bf16_over), p2(1, -133), p2(1, -134),
          up(p2(1, -134)), p2(3, -135), p2(1, -126), p2(1, -126) - p2(1, -134), 1 + p2(1, -8),
          f32_max, f32_over, down(f32_over), up(f32_over), p2(1, -149), p2(1, -150),
          up(p2(1, -150)), p2(3, -151), p2(1, -126) - p2(1, -150),
          1.7976931348623157e308, 5e-324, 2.2250738585072014e-308, 0.1, 1e-8]
    texts = both_spellings(xs) + both_spellings([-x for x in xs])
    texts += ["inf", "-inf", "nan", "-0", "0", "+1.5", ".5",
              "65519.99999999999999999999", "65520.00000000000000000001",
              "1e400", "-1e400", "1e-400", "-1e-400",
              "2.4703282292062327e-324", "2.4703282292062328e-324",  # around 2^-1075
              "1.00000000000000000000000000000000000001", "0.99999999999999999999999999999"]
    return texts


def near_tie_decimals(mids, offset_digits=25, digits=40):
    """40-digit decimals 10^-25 (relative) above or below ties: f64 rounds them onto the tie."""
    texts = []
    with localcontext() as ctx:
        ctx.prec = digits
        for i, m in enumerate(mids):
            if m == 0:
                continue
            exact = Decimal(float(m))
            delta = abs(exact).scaleb(-offset_digits)
            texts.append(decimal_text(+(exact + delta if i % 2 else exact - delta)))
    return texts


def random_decimals(rng, count):
    texts = []
    for _ in range(count):
        n = int(rng.integers(17, 26))
        digits = "".join(str(d) for d in rng.integers(0, 10, size=n))
        digits = str(int(rng.integers(1, 10))) + digits[1:]
        exponent = int(rng.integers(-50, 41))
        sign = "-" if rng.random() < 0.5 else ""
        texts.append(f"{sign}{digits[0]}.{digits[1:]}e{exponent}")
    return texts


def values():
    rng = np.random.default_rng(SEED)
    texts = edge_values()
    # Random f64s over all the ranges, log-uniform in magnitude.
    for lo, hi, n in [(-30, 20, 1500), (-155, 130, 1000), (-1080, 1024, 200)]:
        mags = np.exp2(rng.uniform(lo, hi, size=n)) * (1 + rng.random(n))
        signs = np.where(rng.random(n) < 0.5, -1.0, 1.0)
        texts += [exact_decimal(x) for x in mags * signs]
    mids = {fmt: neighbours_midpoints(rng, fmt, 800) for fmt in ("f16", "bf16", "f32")}
    for fmt, ms in mids.items():
        # Each tie as its exact decimal, and as repr(): where repr() is not exact it lies beside
        # the tie, and the correctly rounded answer follows it, not ties-to-even.
        texts += both_spellings(ms)
        # The f64 numbers just beside each tie.
        texts += [exact_decimal(math.nextafter(m, math.inf)) for m in ms[:300]]
        texts += [exact_decimal(math.nextafter(m, -math.inf)) for m in ms[300:600]]
        # 40-digit decimals 10^-25 beside the ties, which f64 rounds onto the tie.
        texts += near_tie_decimals(ms[:300])
    # bf16 ties plus or minus one f32 ulp: exact in f32, so ml_dtypes rounds them once.
    for m in mids["bf16"][:200]:
        f = np.float32(m)
        texts += [exact_decimal(np.nextafter(f, np.float32(np.inf))),
                  exact_decimal(np.nextafter(f, np.float32(-np.inf)))]
    # Random f32s over bf16's range, subnormals included: ml_dtypes rounds these once.
    f32s = np.exp2(rng.uniform(-140, 128, size=1500)).astype(np.float32)
    f32s = f32s * np.where(rng.random(1500) < 0.5, -1, 1).astype(np.float32)
    texts += [exact_decimal(x) for x in f32s if np.isfinite(x)]
    texts += random_decimals(rng, 600)
    return texts


# --- running precision-audit -------------------------------------------------------------------


def run_round(binary, texts):
    """(value, format) -> (stored f64, class, overflow, underflow), from a few invocations."""
    rows, chunks, size = {}, [[]], 0
    for text in texts:
        if size + len(text) > ARG_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append(text)
        size += len(text) + 1
    for chunk in chunks:
        out = subprocess.run(
            [binary, "round", "--formats", ",".join(FORMATS), "--output", "csv", "--", *chunk],
            check=True, capture_output=True, text=True).stdout
        for row in csv.DictReader(io.StringIO(out)):
            hx = row["hex"]
            stored = float(hx) if hx in ("inf", "-inf", "nan") else float.fromhex(hx)
            rows[(row["value"], row["format"])] = (
                stored, row["class"], row["overflow"] == "true", row["underflow"] == "true")
    return rows, len(chunks)


# --- comparison --------------------------------------------------------------------------------


def same(a, b):
    """Bitwise equality of two stored values as f64 (±0 distinct; NaN equals NaN)."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return struct.pack("<d", a) == struct.pack("<d", b)


def expected_class(x, fmt):
    _, emin, _ = FORMATS[fmt]
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "infinite"
    if x == 0:
        return "zero"
    return "subnormal" if abs(x) < math.ldexp(1, emin) else "normal"


def check_row(text, fmt, stored, cls, overflow, underflow):
    """Failures of one row against exact rounding, and its class and flags."""
    exact = round_exact(text, fmt)
    if not same(stored, exact):
        return [f"{text} -> {fmt}: expected {exact!r} (exact rounding), got {stored!r}"]
    r = exact_rational(text)
    finite_input = r is not None
    tiny = expected_class(exact, fmt) in ("zero", "subnormal")
    want = (expected_class(exact, fmt),
            finite_input and math.isinf(exact),
            finite_input and r[1] != 0 and tiny and not is_exact_in(text, fmt))
    if (cls, overflow, underflow) != want:
        return [f"{text} -> {fmt}: class/overflow/underflow {cls}/{overflow}/{underflow}, "
                f"expected {want[0]}/{want[1]}/{want[2]}"]
    return []


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default="target/release/precision-audit")
    args = parser.parse_args()

    texts = list(dict.fromkeys(t.strip() for t in values()))  # unique, in order
    rows, invocations = run_round(args.binary, texts)
    failures = []
    exact_in_f64 = sum(is_exact_in(t, "f64") for t in texts)
    print(f"rounding: {len(texts)} values ({exact_in_f64} exact in f64, "
          f"{len(texts) - exact_in_f64} decimals that are not) in {invocations} invocations")
    for fmt in FORMATS:
        fair = wrong = lib_wrong = 0
        double = {"repr() of a tie": 0, "long decimal read as f64": 0,
                  "f64 -> f32 -> bf16": 0}
        for text, lib_value in zip(texts, library(texts, fmt)):
            stored, cls, overflow, underflow = rows[(text, fmt)]
            row_failures = check_row(text, fmt, stored, cls, overflow, underflow)
            wrong += bool(row_failures)
            failures += row_failures
            lib_value = float(lib_value)
            # Python's float() rounds any decimal once; numpy and ml_dtypes read it as an f64.
            if fmt == "f64" or (
                    is_exact_in(text, "f64") and (fmt != "bf16" or is_exact_in(text, "f32"))):
                fair += 1
                if not same(stored, lib_value):
                    lib_wrong += 1
                    failures.append(f"{text} -> {fmt}: library {lib_value!r}, precision-audit "
                                    f"{stored!r} (the library rounds once here)")
            elif not same(stored, lib_value):
                # The library rounded twice: its answer must be the correct rounding of its own
                # intermediate, or the disagreement is unexplained.
                if same(lib_value, round_exact(exact_decimal(intermediate(text, fmt)), fmt)):
                    if is_exact_in(text, "f64"):
                        double["f64 -> f32 -> bf16"] += 1
                    elif text == f64_text(float(text)):
                        double["repr() of a tie"] += 1
                    else:
                        double["long decimal read as f64"] += 1
                else:
                    failures.append(f"{text} -> {fmt}: library {lib_value!r} differs from "
                                    f"{stored!r} and is not explained by double rounding")
        causes = ", ".join(f"{v} {k}" for k, v in double.items() if v) or "none"
        print(f"  {fmt}: {len(texts) - wrong}/{len(texts)} rows equal exact rounding (mpmath, "
              f"1100-bit bounds) with class and flags; {fair - lib_wrong}/{fair} equal "
              f"{LIBRARY[fmt]} where it rounds once; its double-rounding disagreements: {causes}")
    for f in failures[:20]:
        print("  MISMATCH", f)
    if failures:
        print(f"rounding: {len(failures)} mismatches")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
