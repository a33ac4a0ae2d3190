#!/usr/bin/env python3
"""Cross-check: the recipe lanes (fp8-tensor, mxfp8-e4m3, mxfp8-e5m2, mxfp6-e3m2, mxfp6-e2m3,
mxfp4, mxint8, nvfp4) against an independent re-implementation of a short training run, bit
for bit.

precision-audit trains a tiny MLP (3 features, hidden layers 6 and 4, relu, SGD) with --csv
in four jobs: mse on the built-in data in batches of 40 (so that the weight gradients'
reduction over the batch spans two MX blocks and three NVFP4 blocks) under --mx-scale floor and
rceil; the relative loss with eps = 1e-8, whose loss gradients near 1e8 / 40 make fp8-tensor
clip its e5m2 gradients until the amax history has seen them; and a stress data set with rows
of f32 subnormals, rows of zeros and values of 1e4 in one batch (MX scales clamped at 2^-127,
NVFP4 blocks flushed whole, e4m3 forward operands clipped). This script reads what each run was
given (data.csv, schedule.csv, params_initial.csv), trains the same network on the same batches
with numpy, and compares the results exactly.

The semantics re-implemented, from the README and the documented recipes (not from the Rust):

* Everything in f32: every elementwise op rounded once (an f64 operation on two f32 values
  rounded to f32 is the correctly rounded f32 operation: 53 >= 2*24 + 2); the mse loss is
  mean((p - y)^2) summed left to right in row-major order and divided once, its gradient
  ((p - y) * 2) / n; relu' is 1 where z > 0; SGD w - lr*g with lr rounded once from its decimal.
* Matmuls are sequential fused multiply-adds over k from 0 in f32. numpy's matmul is not, so
  each term is emulated: the product of two f32 is exact in f64, the sum acc + product is taken
  in f64 with round-to-odd (TwoSum decides the sticky bit) and rounded once to f32, which is
  the correctly rounded fma (53 >= 24 + 2).
* Before each matmul both operands are quantized along the matmul's reduction dimension (rows
  of a plain left operand, columns of a transposed one; columns of a plain right operand, rows
  of a transposed one), dequantized exactly, and rounded to f32.
  - MX (OCP MX v1.0): blocks of 32 from the line's start; X = 2^(floor(log2 amax) - emax_elem)
    (floor) or the smallest power of two with amax / X <= max_elem (rceil, found by search),
    clamped to 2^-127..2^127, 2^-127 for an all-zero block; elements V/X rounded by ml_dtypes
    (from float32, where V/X is exact) after clipping to +-max_elem; MXINT8 on the grid 2^-6,
    ties to even, +-127/64.
  - NVFP4: s = f32(amax_tensor / 2688); per block of 16, b = e4m3(f32(f32(amax_block / 6) / s))
    saturating (ml_dtypes), scale = f32(b * s) (a zero scale flushes the block), elements the
    exact quotient x / scale rounded to e2m1 (ties to even, saturating): decided by exact
    comparisons of x with the grid's midpoints times the scale (x / scale itself is not exact
    in binary, so ml_dtypes cannot be given it without a rounding of its own).
  - fp8-tensor (Transformer Engine DelayedScaling, HYBRID): one scale per quantization op
    (quant.<matmul>.lhs|rhs), 1 at step 1; after each step the op's amax joins its history
    (up to 1024 steps) and scale = f32(fp8_max / max(history)), kept when that max is 0;
    e5m2 for the gradient operands (rhs of bwd.*.weight_grad, lhs of bwd.*.input_grad), e4m3
    for the others; elements f32(x * scale) to the FP8 format, saturating (ml_dtypes after
    clipping); value = element * f32(1 / scale), then rounded to f32.
* The f32 lane is checked too: it is the same emulation without quantization.

What is compared, per lane: the loss of every step (steps.csv), every final parameter
(params_<lane>.csv), each data row's loss term after training (rows.csv: the whole data set
through the network with the scales as they stand, which must not move them), all as f32 bits;
and the events of the quantization ops: per op over the run (ops.csv's quant.* rows) and per
step (steps.csv) for overflow = elements clipped, i.e. whose rounding with an unbounded
exponent exceeds the element's largest value; underflow = nonzero operand elements stored as
zero; scale_saturated = blocks whose scale was clamped (an MX exponent outside -127..127, an
NVFP4 block scale that rounds past 448).

Result: every lane agrees with precision-audit bit for bit, and every event count (33 lane
runs, 0 disagreements). One disagreement was precision-audit's: in the stress job its quant.*
ops counted as underflow the elements their operand already held as 0 where the reference's
operand was below f32's smallest normal (the rule for arithmetic ops, applied to the
quantization as to any cast), where the README defines a quantization's underflow as a nonzero
element flushed to zero; the zero had been counted by the op that made it (fwd.dense1.matmul).
Fixed in src/audit/compare.rs (test: recipes::a_quantization_underflows_only_where_it_flushes).
A step's underflow in steps.csv still holds those f32 ops, so it is compared per op only.

Choices of precision-audit that the emulation follows because they are its documented
semantics, not bugs: (1) fp8-tensor rounds each dequantized element (an FP8 value times the
f32 inverse scale, up to 28 significant bits) to f32 before the matmul, where cuBLAS multiplies
the accumulated FP8 products by the scale inverses afterwards (README, "Recipe lanes");
(2) precision-audit takes the NVFP4 element as the f64 quotient x / scale rounded to e2m1, where
this script rounds the exact quotient: the two always agree, since x and scale are f32, so a
quotient that is not exactly an e2m1 tie or grid value stays some 2^-28 (relative) away from
it, far beyond the 2^-53 an f64 rounding moves it; (3) the loss of a step is the batch loss
before the update, and summary.csv's final_loss is the last step's (not the full data set's,
which rows.csv holds). Not exercised: NaN and inf operands (a NaN block has a NaN scale), an
MX scale clamped at 2^127 (f32 cannot hold a block that large).

The check cannot pass vacuously: deliberately wrong variants of the emulation (rceil for
floor, floor for rceil, e4m3 for fp8-tensor's gradients, current instead of delayed scaling,
an amax history of one step, blocks along the wrong axis, MX blocks of a whole line, NVFP4
blocks of 32, a matmul that rounds each product before adding, an element counted as clipped
whenever it is above the largest value) must each disagree with the binary; the script fails
if one does not, and if the run never clips or flushes.

Usage: crosscheck_recipes.py [--binary target/release/precision-audit]
"""

import argparse
import bisect
import copy
import csv
import math
import os
import struct
import subprocess
import sys
import tempfile
from fractions import Fraction

import ml_dtypes
import numpy as np

COMMON = ["--activation", "relu", "--optimizer", "sgd", "--momentum", "0", "--layers", "6,4",
          "--seed", "7", "--reference", "double-double"]
BUILT_IN = ["--samples", "80", "--features", "3", "--data-seed", "3", "--batch-size", "40"]
MX_LANES = ["mxfp8-e4m3", "mxfp8-e5m2", "mxfp6-e3m2", "mxfp6-e2m3", "mxfp4", "mxint8"]
ALL_LANES = ["f32", "fp8-tensor", *MX_LANES, "nvfp4"]
# The jobs. The relative loss with eps = 1e-8 has loss gradients near 1e8 / 40 at the zero
# targets: fp8-tensor clips them (e5m2 at scale 1) until its amax history has seen them. The
# stress data (see stress_data) puts rows of f32 subnormals, zero rows and values of 1e4 in one
# batch: MX scales clamped at 2^-127 (scale_saturated), NVFP4 blocks flushed whole, e4m3 forward
# operands clipped at fp8-tensor's first step.
JOBS = {
    "mse": {"loss": "mse", "lr": "0.01", "epochs": 3, "rule": "floor", "lanes": ALL_LANES},
    "mse rceil": {"loss": "mse", "lr": "0.01", "epochs": 3, "rule": "rceil", "lanes": MX_LANES},
    "relative": {"loss": "relative", "eps": "1e-8", "lr": "1e-9", "epochs": 4, "rule": "floor",
                 "lanes": ALL_LANES},
    "stress": {"loss": "mse", "lr": "1e-9", "epochs": 2, "rule": "floor", "lanes": ALL_LANES,
               "data": True},
}
MX_BLOCK, NVFP4_BLOCK, AMAX_HISTORY = 32, 16, 1024
EVENTS = ("overflow", "underflow", "scale_saturated")


# --- f32 arithmetic on f64 arrays that hold f32 values -------------------------------------

def r32(x):
    """x rounded once to f32 (ties to even), held in f64."""
    with np.errstate(over="ignore"):
        return np.asarray(x, dtype=np.float64).astype(np.float32).astype(np.float64)


def fma32(acc, product):
    """f32(acc + product) with one rounding: product is exact in f64; the f64 sum is rounded to
    odd (the TwoSum error is the sticky bit), then to f32."""
    acc, product = np.broadcast_arrays(acc, product)
    s = np.ascontiguousarray(acc + product)
    b = s - acc
    err = (acc - (s - b)) + (product - b)
    even = (s.view(np.int64) & 1) == 0
    odd = np.where((err != 0) & even, np.nextafter(s, np.where(err > 0, np.inf, -np.inf)), s)
    return r32(odd)


def matmul(lhs, rhs, fused=True):
    """lhs (m x k) . rhs (k x n): per output, k from 0, one f32 fma per term (or, unfused, the
    product rounded to f32 and then added: the wrong variant)."""
    acc = np.zeros((lhs.shape[0], rhs.shape[1]))
    for k in range(lhs.shape[1]):
        product = np.outer(lhs[:, k], rhs[k, :])
        acc = fma32(acc, product) if fused else r32(acc + r32(product))
    return acc


def decimal_to_f32(text):
    """The decimal rounded once to f32 (ties to even), by exact comparison with neighbours."""
    exact = Fraction(text)
    guess = np.float32(float(exact))
    candidates = [np.nextafter(guess, np.float32(-np.inf)), guess,
                  np.nextafter(guess, np.float32(np.inf))]
    def key(c):
        even = struct.unpack("<I", struct.pack("<f", c))[0] % 2
        return (abs(Fraction(float(c)) - exact), even)
    return float(min(candidates, key=key))


def floor_log2(x):
    return math.frexp(x)[1] - 1


# --- element formats ------------------------------------------------------------------------

class Element:
    """A narrow float element: conversions by ml_dtypes (saturating by clipping first)."""

    def __init__(self, dtype, width):
        self.dtype = dtype
        self.max = float(ml_dtypes.finfo(dtype).max)
        self.emax = floor_log2(self.max)
        self.precision = ml_dtypes.finfo(dtype).nmant + 1
        # The non-negative finite values and their codes (sign bit clear), by magnitude; at a
        # tie, the even code is the even significand.
        codes = np.arange(2 ** (width - 1), dtype=np.uint8)
        values = codes.view(dtype).astype(np.float64)
        keep = np.isfinite(values)
        order = np.argsort(values[keep], kind="stable")
        self.grid = [float(v) for v in values[keep][order]]
        self.codes = [int(c) for c in codes[keep][order]]

    def clips(self, q):
        """Per element: q rounded to nearest even with the element's precision and an unbounded
        exponent is above the largest value (e4m3: 450 rounds to 448 and is not clipped)."""
        return np.array([self.rounds_past(Fraction(abs(float(v)))) for v in np.ravel(q)],
                        dtype=bool).reshape(np.shape(q))

    def rounds_past(self, x):
        if x <= Fraction(self.max):
            return False
        quantum = Fraction(2) ** (floor_log2(float(x)) - (self.precision - 1))
        steps = x / quantum
        down = math.floor(steps)
        if steps - down > Fraction(1, 2) or (steps - down == Fraction(1, 2) and down % 2 == 1):
            down += 1
        return down * quantum > Fraction(self.max)

    def round(self, q):
        """q to the element, ties to even, saturating. q must be exact in f32, or so far below
        the element's smallest subnormal that f32's rounding of it cannot matter (an MX block's
        f32 subnormals divided by a large scale)."""
        q = np.clip(np.asarray(q, dtype=np.float64), -self.max, self.max)
        return q.astype(np.float32).astype(self.dtype).astype(np.float64)

    def round_quotient(self, x, divisor):
        """The exact quotient x / divisor (divisor > 0) rounded to the element, ties to even,
        saturating, by exact comparisons: grid values and midpoints times an f32 divisor are
        exact in f64."""
        out = np.empty(len(x))
        top = self.grid[-1]
        for i, v in enumerate(x):
            a = abs(v)
            if a >= top * divisor:
                q = top
            else:
                j = bisect.bisect_right([g * divisor for g in self.grid], a) - 1
                lo, hi = self.grid[j], self.grid[j + 1]
                mid = (lo + hi) / 2 * divisor
                q = lo if a < mid else hi if a > mid else (lo if self.codes[j] % 2 == 0 else hi)
            out[i] = math.copysign(q, v)
        return out


class Int8Element:
    """MXINT8: multiples of 2^-6 within +-127/64."""
    max = 127 / 64
    emax = 0

    def round(self, q):
        return np.clip(np.round(np.asarray(q) * 64), -127, 127) / 64

    def clips(self, q):
        return np.abs(np.round(np.asarray(q) * 64)) > 127


E4M3 = Element(ml_dtypes.float8_e4m3fn, 8)
E5M2 = Element(ml_dtypes.float8_e5m2, 8)
E2M1 = Element(ml_dtypes.float4_e2m1fn, 4)
MX_ELEMENTS = {
    "mxfp8-e4m3": E4M3, "mxfp8-e5m2": E5M2,
    "mxfp6-e3m2": Element(ml_dtypes.float6_e3m2fn, 6),
    "mxfp6-e2m3": Element(ml_dtypes.float6_e2m3fn, 6),
    "mxfp4": E2M1, "mxint8": Int8Element(),
}


# --- quantizers -----------------------------------------------------------------------------

def mx_exponent(amax, element, rule):
    if amax == 0:
        return -127
    floor = floor_log2(amax) - element.emax
    if rule == "floor":
        e = floor
    else:  # the smallest e with amax <= max * 2^e, by exact search
        e = floor - 2
        while Fraction(amax) > Fraction(element.max) * Fraction(2) ** e:
            e += 1
    return max(-127, min(127, e))


def along(tensor, axis, block, quantize):
    """quantize applied to consecutive blocks of each line along axis (1: rows, 0: columns)."""
    lines = tensor if axis == 1 else tensor.T
    out = np.empty_like(lines)
    for i in range(lines.shape[0]):
        for start in range(0, lines.shape[1], block):
            out[i, start:start + block] = quantize(lines[i, start:start + block])
    return out if axis == 1 else out.T


class Quantizer:
    """A recipe's quantizer, counting per step the events an audit reports for its ops:
    overflow (an element clipped), underflow (a nonzero element stored as zero) and
    scale_saturated (a block whose scale left its format's range). `variant` names a
    deliberately wrong emulation."""

    def __init__(self, lane, rule, variant=None):
        self.lane, self.rule, self.variant = lane, rule, variant
        self.delayed = {}
        self.events = dict.fromkeys(EVENTS, 0)
        self.steps = []
        self.by_op = {}
        self.op = None

    def count(self, event, n):
        """n events of the kind `event` in the current quantization op and step."""
        self.events[event] += int(n)
        totals = self.by_op.setdefault(self.op, dict.fromkeys(EVENTS, 0))
        totals[event] += int(n)

    def __call__(self, op, operand, tensor, axis):
        """The operand as the matmul takes it: quantized, dequantized and rounded to f32."""
        if self.variant == "wrong axis":
            axis = 1 - axis
        self.op = f"quant.{op}.{operand}"
        values = r32(self.quantize(op, operand, tensor, axis))
        self.count("underflow", np.sum((values == 0) & (tensor != 0)))
        return values

    def quantize(self, op, operand, tensor, axis):
        if self.lane in MX_ELEMENTS:
            element = MX_ELEMENTS[self.lane]
            rule = self.rule
            if self.variant == "other rule":
                rule = "rceil" if rule == "floor" else "floor"
            size = 10 ** 9 if self.variant == "MX blocks of a whole line" else MX_BLOCK

            def block(v):
                e = mx_exponent(float(np.max(np.abs(v))), element, rule)
                self.count("scale_saturated",
                           e in (-127, 127) and mx_exponent_unclamped(v, element, rule) != e)
                x = math.ldexp(1.0, e)
                clipped = (np.abs(v / x) > element.max if self.variant == "clipped when above max"
                           else element.clips(v / x))
                self.count("overflow", np.sum(clipped))
                return element.round(v / x) * x
            return along(tensor, axis, size, block)
        if self.lane == "nvfp4":
            amax = float(np.max(np.abs(tensor)))
            s = float(r32(amax / 2688.0)) if amax > 0 else 1.0
            size = 32 if self.variant == "NVFP4 blocks of 32" else NVFP4_BLOCK

            def block(v):
                wanted = r32(r32(np.max(np.abs(v)) / 6.0) / s)
                self.count("scale_saturated", E4M3.clips(wanted))
                scale = float(r32(float(E4M3.round(wanted)) * s))
                if scale == 0:
                    return np.zeros_like(v)
                self.count("overflow", sum(
                    E2M1.rounds_past(Fraction(abs(float(x))) / Fraction(scale)) for x in v))
                return E2M1.round_quotient(v, scale) * scale
            return along(tensor, axis, size, block)
        assert self.lane == "fp8-tensor"
        gradient = (op.startswith("bwd.") and
                    ((op.endswith(".weight_grad") and operand == "rhs") or
                     (op.endswith(".input_grad") and operand == "lhs")))
        element = E5M2 if gradient and self.variant != "e4m3 gradients" else E4M3
        state = self.delayed.setdefault(f"quant.{op}.{operand}",
                                        {"element": element, "scale": 1.0, "history": [],
                                         "current": 0.0})
        amax = float(np.max(np.abs(tensor)))
        state["current"] = max(state["current"], amax)
        scale = state["scale"]
        if self.variant == "current scaling" and amax > 0:
            scale = float(r32(element.max / amax))
        inverse = float(r32(1.0 / scale))
        scaled = r32(tensor * scale)
        self.count("overflow", np.sum(element.clips(scaled)))
        return element.round(scaled) * inverse

    def end_step(self):
        self.steps.append(self.events)
        self.events = {key: 0 for key in self.events}
        history = 1 if self.variant == "amax history of 1" else AMAX_HISTORY
        for state in self.delayed.values():
            state["history"] = ([state["current"]] + state["history"])[:history]
            state["current"] = 0.0
            largest = max(state["history"])
            if largest > 0 and math.isfinite(largest):
                state["scale"] = float(r32(state["element"].max / largest))


def mx_exponent_unclamped(v, element, rule):
    """The block's scale exponent before the clamp to E8M0's range (0 blocks take -127)."""
    amax = float(np.max(np.abs(v)))
    if amax == 0:
        return -127
    e = floor_log2(amax) - element.emax
    return e if rule == "floor" or amax <= element.max * 2.0 ** e else e + 1


# --- the network ----------------------------------------------------------------------------

class Net:
    def __init__(self, job, params, quantizer=None, fused=True):
        self.params = [(r32(w), r32(b)) for w, b in params]
        self.quantizer, self.fused = quantizer, fused
        self.loss, self.lr = job["loss"], decimal_to_f32(job["lr"])
        self.eps = decimal_to_f32(job["eps"]) if "eps" in job else None

    def matmul(self, op, a, b, lhs_t, rhs_t):
        if self.quantizer is not None:
            a = r32(self.quantizer(op, "lhs", a, 0 if lhs_t else 1))
            b = r32(self.quantizer(op, "rhs", b, 1 if rhs_t else 0))
        return matmul(a.T if lhs_t else a, b.T if rhs_t else b, self.fused)

    def forward(self, x, y):
        """The loss, and what the backward pass needs: each layer's input, each hidden
        pre-activation, p - y, and the loss terms."""
        depth = len(self.params)
        inputs, hidden = [], []
        for i, (w, b) in enumerate(self.params, start=1):
            z = r32(self.matmul(f"fwd.dense{i}.matmul", x, w, False, False) + b)
            inputs.append(x)
            if i == depth:
                break
            x = np.maximum(z, 0.0)
            hidden.append(z)
        diff = r32(z - y)
        if self.loss == "mse":  # (p - y)^2
            terms = r32(diff * diff)
        else:  # |p - y| / (|y| + eps)
            terms = r32(np.abs(diff) / r32(np.abs(y) + self.eps))
        total = 0.0
        for t in terms.ravel():
            total = float(r32(total + t))
        loss = float(r32(total / terms.size))
        return loss, inputs, hidden, diff, terms

    def evaluate(self, x, y):
        """Each data row's loss term over the whole data set, with the parameters and scales as
        they stand: a copy of the quantizer runs it, so no scale moves on."""
        quantizer = self.quantizer
        self.quantizer = copy.deepcopy(quantizer)
        try:
            terms = self.forward(x, y)[4]
        finally:
            self.quantizer = quantizer
        return terms[:, 0]

    def step(self, x, y):
        depth = len(self.params)
        loss, inputs, hidden, diff, terms = self.forward(x, y)
        n = float(terms.size)
        if self.loss == "mse":  # (p - y) * 2
            pointwise = r32(diff * 2.0)
        else:  # sign(p - y) / (|y| + eps)
            pointwise = r32(np.sign(diff) / r32(np.abs(y) + self.eps))
        g = r32(pointwise / n)
        grads = [None] * depth
        for i in range(depth, 0, -1):
            weight_grad = self.matmul(f"bwd.dense{i}.weight_grad", inputs[i - 1], g, True, False)
            bias_grad = np.zeros((1, g.shape[1]))
            for row in g:
                bias_grad = r32(bias_grad + row)
            grads[i - 1] = (weight_grad, bias_grad)
            if i == 1:
                break
            grad_a = self.matmul(f"bwd.dense{i}.input_grad", g, self.params[i - 1][0], False, True)
            g = np.where(hidden[i - 2] > 0, grad_a, 0.0)
        self.params = [(r32(w - r32(self.lr * gw)), r32(b - r32(self.lr * gb)))
                       for (w, b), (gw, gb) in zip(self.params, grads)]
        if self.quantizer is not None:
            self.quantizer.end_step()
        return loss


# --- the binary's run -----------------------------------------------------------------------

def rows(directory, name):
    with open(os.path.join(directory, name), newline="") as f:
        return list(csv.DictReader(f))


def read_params(directory, name):
    layers = {}
    for r in rows(directory, name):
        layer = layers.setdefault(int(r["layer"]), {"weight": {}, "bias": {}})
        layer[r["tensor"]][(int(r["row"]) - 1, int(r["column"]) - 1)] = float(r["value"])
    out = []
    for index in sorted(layers):
        tensors = []
        for kind in ("weight", "bias"):
            cells = layers[index][kind]
            shape = (max(i for i, _ in cells) + 1, max(j for _, j in cells) + 1)
            t = np.zeros(shape)
            for (i, j), v in cells.items():
                t[i, j] = v
            tensors.append(t)
        out.append(tuple(tensors))
    return out


def stress_data(path):
    """48 rows of 3 features and a target, in 16 groups of 3 rows: a row of f32 subnormals
    (amax below 2^-127 times every element's largest power of two), a row of zeros and a row
    of magnitudes up to 1e4, each feature column mixing them."""
    rng = np.random.default_rng(20261130)
    lines = ["x1,x2,x3,y"]
    for _ in range(16):
        for scale in (1e-40, 0.0, 1e4):
            x = rng.uniform(0.25, 1.0, 3) * scale
            lines.append(",".join(repr(float(v)) for v in x) + f",{rng.uniform(-1, 1)!r}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def run_binary(binary, job, directory):
    flags = [*COMMON, "--loss", job["loss"], "--lr", job["lr"], "--epochs", str(job["epochs"]),
             "--mx-scale", job["rule"]]
    if "eps" in job:
        flags += ["--eps", job["eps"]]
    if job.get("data"):
        os.makedirs(directory, exist_ok=True)
        data = os.path.join(directory, "stress.csv")
        stress_data(data)
        flags += ["--data", data, "--batch-size", "48"]
    else:
        flags += BUILT_IN
    out = os.path.join(directory, "out")
    subprocess.run([binary, *flags, "--formats", ",".join(job["lanes"]), "--csv", out],
                   check=True, capture_output=True, text=True)
    directory, lanes = out, job["lanes"]
    with open(os.path.join(directory, "data.csv"), newline="") as f:
        data = np.array([[float(v) for v in r] for r in list(csv.reader(f))[1:]])
    steps = {}
    for r in rows(directory, "schedule.csv"):
        steps.setdefault(int(r["step"]), []).append((int(r["position"]), int(r["row"])))
    schedule = [[row for _, row in sorted(p)] for _, p in sorted(steps.items())]
    losses = {lane: [] for lane in lanes}
    events = {lane: [] for lane in lanes}
    for r in rows(directory, "steps.csv"):
        losses[r["format"]].append(float(r["loss"]))
        events[r["format"]].append({key: int(r[key]) for key in EVENTS})
    finals = {lane: read_params(directory, f"params_{lane}.csv") for lane in lanes}
    op_events = {lane: {} for lane in lanes}
    for r in rows(directory, "ops.csv"):
        if r["op"].startswith("quant."):
            op_events[r["format"]][r["op"]] = {key: int(r[key]) for key in EVENTS}
    terms = {lane: [] for lane in lanes}
    for r in rows(directory, "rows.csv"):
        terms[r["format"]].append((int(r["row"]), float(r["term"])))
    return {"job": job, "features": r32(data[:, :-1]), "targets": r32(data[:, -1:]),
            "schedule": schedule, "initial": read_params(directory, "params_initial.csv"), "losses": losses,
            "params": finals, "events": events, "op_events": op_events,
            "terms": {lane: [t for _, t in sorted(v)] for lane, v in terms.items()}}


def bits(x):
    return np.asarray(x, dtype=np.float32).view(np.uint32)


def emulate(run, lane, variant=None):
    """The step losses, final parameters and per-step events of `lane` trained by the
    emulation."""
    rule = run["job"]["rule"]
    quantizer = None if lane == "f32" else Quantizer(lane, rule, variant)
    net = Net(run["job"], run["initial"], quantizer, fused=variant != "unfused matmul")
    losses = [net.step(run["features"][batch], run["targets"][batch])
              for batch in run["schedule"]]
    events = (quantizer.steps if quantizer else [dict.fromkeys(EVENTS, 0) for _ in losses],
              quantizer.by_op if quantizer else {})
    return losses, net.params, events, net.evaluate(run["features"], run["targets"])


def disagreements(run, lane, losses, params, terms):
    """The step losses, final parameter elements and each data row's loss term after training
    (rows.csv) that differ from the binary's, in bits."""
    count = int(np.sum(bits(losses) != bits(run["losses"][lane])))
    count += int(np.sum(bits(terms) != bits(run["terms"][lane])))
    for (w, b), (bw, bb) in zip(params, run["params"][lane]):
        count += int(np.sum(bits(w) != bits(bw))) + int(np.sum(bits(b) != bits(bb)))
    return count


def event_disagreements(run, lane, events):
    """The event counts that differ from precision-audit's: per quantization op over the run
    (ops.csv), and per step (steps.csv) for overflow and scale_saturated, which the lane's f32
    ops do not produce here. (A step's underflow count also holds the f32 ops whose result is
    zero where the reference's is below f32's smallest normal, as the README defines it: a
    matmul of flushed operands, in the stress job.)"""
    steps, by_op = events
    wrong = [(f"step {step}", key, mine[key], theirs[key])
             for step, (mine, theirs) in enumerate(zip(steps, run["events"][lane]), start=1)
             for key in ("overflow", "scale_saturated") if mine[key] != theirs[key]]
    theirs = run["op_events"][lane]
    for op in sorted(set(by_op) | set(theirs)):
        mine, their = by_op.get(op, {}), theirs.get(op, {})
        wrong += [(op, key, mine.get(key), their.get(key)) for key in EVENTS
                  if mine.get(key) != their.get(key)]
    return wrong


# Deliberately wrong emulations, each of which must disagree with the binary: (job, lane,
# variant).
WRONG = [
    ("mse", "mxfp4", "other rule"),
    ("mse", "mxfp8-e4m3", "other rule"),
    ("mse rceil", "mxfp4", "other rule"),
    ("mse", "fp8-tensor", "e4m3 gradients"),
    ("mse", "fp8-tensor", "current scaling"),
    ("mse", "fp8-tensor", "amax history of 1"),
    ("relative", "fp8-tensor", "e4m3 gradients"),
    ("relative", "fp8-tensor", "amax history of 1"),
    ("mse", "mxfp8-e4m3", "wrong axis"),
    ("mse", "mxfp4", "MX blocks of a whole line"),
    ("mse", "nvfp4", "NVFP4 blocks of 32"),
    ("mse", "f32", "unfused matmul"),
    ("mse", "mxfp8-e4m3", "clipped when above max"),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default="target/release/precision-audit")
    args = parser.parse_args()
    failures = 0
    totals = {}
    with tempfile.TemporaryDirectory(prefix="crosscheck-recipes-") as tmp:
        runs = {}
        for index, (name, job) in enumerate(JOBS.items()):
            run = runs[name] = run_binary(args.binary, job, os.path.join(tmp, str(index)))
            for lane in job["lanes"]:
                losses, params, events, terms = emulate(run, lane)
                wrong = disagreements(run, lane, losses, params, terms)
                wrong_events = event_disagreements(run, lane, events)
                counts = {key: sum(e[key] for e in events[0]) for key in EVENTS}
                print(f"{name:>9} {lane:>10}: {len(losses)} step losses, {len(terms)} row "
                      f"terms, {sum(w.size + b.size for w, b in params)} parameters, events "
                      + " ".join(f"{k}={v}" for k, v in counts.items())
                      + f": {wrong} disagreements, {len(wrong_events)} in events")
                for where, key, mine, theirs in wrong_events[:5]:
                    print(f"  {where} {key}: emulated {mine}, precision-audit {theirs}")
                if job["rule"] == "rceil":
                    assert counts["overflow"] == 0, "rceil never clips"
                for key in EVENTS:
                    totals[lane, key] = totals.get((lane, key), 0) + counts[key]
                failures += int(wrong > 0 or bool(wrong_events))
        for lane in ("fp8-tensor", "mxfp8-e4m3", "mxfp4"):
            assert totals[lane, "overflow"] > 0 and totals[lane, "underflow"] > 0, \
                f"{lane} clips and flushes somewhere, so that the counts are tested"
        assert totals["mxfp4", "scale_saturated"] > 0, "the stress job clamps MX scales"
        for name, lane, variant in WRONG:
            losses, params, events, terms = emulate(runs[name], lane, variant)
            wrong = (disagreements(runs[name], lane, losses, params, terms)
                     + len(event_disagreements(runs[name], lane, events)))
            print(f"wrong variant: {name} {lane} with {variant}: {wrong} disagreements")
            if wrong == 0:
                print(f"  FAIL: the check does not tell {variant!r} from the binary")
                failures += 1
    print(f"crosscheck_recipes: {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
