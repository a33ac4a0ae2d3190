#!/usr/bin/env python3
"""Cross-check 2: precision-audit's MPFR arithmetic against mpmath at the same precision.

The binary has no command that evaluates one op, so this compares what is observable:

A. The reference trajectory. Small audits run (--formats f64 --csv --verify-reference); this
   script replays the reference's whole training in mpmath at the reference precision (113 bits;
   one run at 64) and at twice it, op by op in precision-audit's documented order: a sequential
   fused multiply-add per matmul term, sequential sums, one rounding per elementwise op,
   constants correctly rounded to 256 bits and then to the precision (1 - beta and beta^t at 256
   bits first). Every op rounds to nearest-even, as MPFR's do; mpmath's + - x / sqrt are
   correctly rounded, tanh and sigmoid are evaluated with 64 guard bits and rounded once (a
   wrong rounding would need the exact value within 2^-64 ulp of a midpoint). Ops covered: fma,
   +, -, x, /, sqrt, abs, sign, max, tanh, sigmoid.
   Compared: steps.csv's reference_loss at every step and params_reference.csv (all bit for bit
   in f64), and the --verify-reference numbers (max relative loss difference and relative
   parameter distance between the two precisions), equal to the last bit. The f64 outputs alone
   are too coarse: rounding the matmul products separately (no fma) at 113 bits still leaves
   every f64 loss equal; the --verify-reference numbers are differences of order 2^-113, so one
   wrong rounding at either precision changes them.
B. `round`'s rel_error column: |stored - x| / |x| with x the decimal at 256 bits, the difference
   rounded at 256 bits, the quotient at 64 bits, then to f64 -- replayed in mpmath bit for bit.

Usage: crosscheck_mpfr.py [--binary target/release/precision-audit]
"""

import argparse
import csv
import io
import json
import math
import struct
import subprocess
import sys
from fractions import Fraction

from mpmath import libmp

from crosscheck_common import Audit, describe, full_config

GUARD_BITS = 64
EXACT_BITS = 256  # precision-audit's exact evaluation of hyper-parameters and decimals

# (reference bits, config); a few epochs each keep the pure-Python replay quick.
CONFIGS = [
    (113, {"loss": "mse", "activation": "relu", "optimizer": "sgd", "lr": "0.05", "epochs": "4"}),
    (113, {"loss": "relative", "eps": "1e-8", "activation": "tanh", "optimizer": "adam",
           "epochs": "4"}),
    (113, {"loss": "mae", "activation": "sigmoid", "optimizer": "sgd", "lr": "0.1",
           "momentum": "0.5", "layers": "6,4", "batch-size": "24", "epochs": "3"}),
    (64, {"loss": "mse", "activation": "tanh", "optimizer": "adam", "epochs": "3"}),
]


def decimal(text, prec):
    """A decimal as precision-audit holds a constant: correctly rounded to 256 bits."""
    f = Fraction(text)
    return libmp.from_rational(f.numerator, f.denominator, prec, "n")


class Mpfr:
    """Round-to-nearest-even arithmetic on raw mpmath values at `prec` bits."""

    def __init__(self, prec):
        self.p = prec

    def round(self, x):
        return libmp.mpf_pos(x, self.p, "n")

    def add(self, a, b):
        return libmp.mpf_add(a, b, self.p, "n")

    def sub(self, a, b):
        return libmp.mpf_sub(a, b, self.p, "n")

    def mul(self, a, b):
        return libmp.mpf_mul(a, b, self.p, "n")

    def div(self, a, b):
        return libmp.mpf_div(a, b, self.p, "n")

    def fma(self, a, b, c):
        """a*b + c with one rounding: the product is exact."""
        return libmp.mpf_add(libmp.mpf_mul(a, b), c, self.p, "n")

    def sqrt(self, a):
        return libmp.mpf_sqrt(a, self.p, "n")

    def tanh(self, a):
        return self.round(libmp.mpf_tanh(a, self.p + GUARD_BITS, "n"))

    def sigmoid(self, a):
        w = self.p + GUARD_BITS
        e = libmp.mpf_exp(libmp.mpf_neg(a), w, "n")
        return self.round(libmp.mpf_div(libmp.fone, libmp.mpf_add(libmp.fone, e, w, "n"), w, "n"))

    def sign(self, a):
        return libmp.from_int(libmp.mpf_sign(a))

    # Matrices are lists of rows of raw values.
    def matmul(self, a, b):
        """a.b with a sequential fused multiply-add per term, from zero."""
        cols = list(zip(*b))
        out = []
        for row in a:
            out_row = []
            for col in cols:
                acc = libmp.fzero
                for x, y in zip(row, col):
                    acc = self.fma(x, y, acc)
                out_row.append(acc)
            out.append(out_row)
        return out

    def total(self, values):
        acc = libmp.fzero
        for v in values:
            acc = self.add(acc, v)
        return acc


def transpose(m):
    return [list(r) for r in zip(*m)]


def elementwise(f, *ms):
    return [[f(*xs) for xs in zip(*rows)] for rows in zip(*ms)]


class Network:
    """The reference's training, op by op in precision-audit's order, at `bits`."""

    def __init__(self, bits, config, initial):
        m = self.m = Mpfr(bits)
        self.config = config
        exact = lambda text: decimal(text, EXACT_BITS)  # noqa: E731
        self.params = []  # weight, bias (1 x n), per layer
        for w, b in initial:
            self.params += [[[libmp.from_float(v) for v in row] for row in w],
                            [[libmp.from_float(v) for v in b]]]
        self.eps, self.lr, self.momentum, self.adam_eps = (
            m.round(exact(config[k])) for k in ("eps", "lr", "momentum", "adam-eps"))
        self.beta = [exact(config["beta1"]), exact(config["beta2"])]  # at 256 bits
        self.beta_rounded = [m.round(b) for b in self.beta]
        self.one_minus_beta = [m.round(one_minus(b)) for b in self.beta]
        zeros = lambda t: elementwise(lambda _: libmp.fzero, t)  # noqa: E731
        self.first = [zeros(t) for t in self.params]
        self.second = [zeros(t) for t in self.params]

    def activate(self, z):
        name = self.config["activation"]
        if name == "relu":
            return z if libmp.mpf_gt(z, libmp.fzero) else libmp.fzero
        return {"tanh": self.m.tanh, "sigmoid": self.m.sigmoid}.get(name, lambda v: v)(z)

    def activation_grad(self, g, z, a):
        m, name = self.m, self.config["activation"]
        if name == "relu":
            return g if libmp.mpf_gt(z, libmp.fzero) else libmp.fzero
        if name == "tanh":
            return m.mul(g, m.sub(libmp.fone, m.mul(a, a)))
        if name == "sigmoid":
            return m.mul(g, m.mul(a, m.sub(libmp.fone, a)))
        return g

    def loss(self, prediction, target):
        """The batch loss (a sequential sum in row-major order, one division) and d loss/dp."""
        m, kind = self.m, self.config["loss"]
        diff = elementwise(m.sub, prediction, target)
        count = libmp.from_int(len(diff) * len(diff[0]))
        if kind == "mse":
            pointwise = elementwise(lambda d: m.mul(d, d), diff)
            grad = elementwise(lambda d: m.div(m.mul(d, libmp.from_int(2)), count), diff)
        elif kind == "mae":
            pointwise = elementwise(libmp.mpf_abs, diff)
            grad = elementwise(lambda d: m.div(m.sign(d), count), diff)
        else:
            denominator = elementwise(lambda t: m.add(libmp.mpf_abs(t), self.eps), target)
            pointwise = elementwise(lambda d, q: m.div(libmp.mpf_abs(d), q), diff, denominator)
            grad = elementwise(lambda d, q: m.div(m.div(m.sign(d), q), count), diff, denominator)
        return m.div(m.total(v for row in pointwise for v in row), count), grad

    def step(self, t, x, target):
        """One training step (t 1-based); returns the loss before the update."""
        m, depth = self.m, len(self.params) // 2
        inputs, hidden = [], []
        for layer in range(depth):
            inputs.append(x)
            bias = self.params[2 * layer + 1][0]
            z = [[m.add(v, b) for v, b in zip(row, bias)]
                 for row in m.matmul(x, self.params[2 * layer])]
            if layer + 1 < depth:
                x = elementwise(self.activate, z)
                hidden.append((z, x))
        loss, grad = self.loss(z, target)
        grads = [None] * len(self.params)
        for layer in reversed(range(depth)):
            grads[2 * layer] = m.matmul(transpose(inputs[layer]), grad)
            grads[2 * layer + 1] = [[m.total(column) for column in zip(*grad)]]
            if layer > 0:
                grad_a = m.matmul(grad, transpose(self.params[2 * layer]))
                grad = elementwise(self.activation_grad, grad_a, *hidden[layer - 1])
        self.update(grads, t)
        return loss

    def update(self, grads, t):
        m = self.m
        if self.config["optimizer"] == "sgd":
            for i, g in enumerate(grads):
                if libmp.mpf_sign(self.momentum) != 0:
                    # momentum*buf + 1*g: the product by one is exact.
                    self.first[i] = elementwise(
                        lambda v, gg: m.add(m.mul(self.momentum, v), gg), self.first[i], g)
                    g = self.first[i]
                self.params[i] = elementwise(lambda p, gg: m.sub(p, m.mul(self.lr, gg)),
                                             self.params[i], g)
            return
        # 1 - beta^t: the power at 256 bits (exact, then one rounding), 1 - that at 256 bits,
        # then rounded to the reference.
        bc1, bc2 = (m.round(one_minus(libmp.from_man_exp(b[1] ** t, b[2] * t, EXACT_BITS, "n")))
                    for b in self.beta)
        (beta1, beta2), (c1, c2) = self.beta_rounded, self.one_minus_beta
        for i, g in enumerate(grads):
            self.first[i] = elementwise(lambda v, gg: m.add(m.mul(beta1, v), m.mul(c1, gg)),
                                        self.first[i], g)
            self.second[i] = elementwise(
                lambda v, gg: m.add(m.mul(beta2, v), m.mul(c2, m.mul(gg, gg))), self.second[i], g)
            self.params[i] = elementwise(
                lambda p, mm, vv: m.sub(p, m.mul(self.lr, m.div(
                    m.div(mm, bc1), m.add(m.sqrt(m.div(vv, bc2)), self.adam_eps)))),
                self.params[i], self.first[i], self.second[i])


def one_minus(x):
    return libmp.mpf_sub(libmp.fone, x, EXACT_BITS, "n")


def replay(bits, config, features, targets, schedule, initial):
    """The reference's loss at every step and its final parameters, in mpmath at `bits`."""
    net = Network(bits, config, initial)
    f = libmp.from_float
    losses = {t: net.step(t, [[f(v) for v in features[r]] for r in rows],
                          [[f(targets[r])] for r in rows])
              for t, rows in schedule}
    return losses, net.params


def to_f64(x):
    return libmp.to_float(x, rnd="n")


def ulp_distance(a, b):
    """How many f64 values lie between two finite f64s (0 when equal)."""
    def key(x):
        i = struct.unpack("<q", struct.pack("<d", x))[0]
        return i if i >= 0 else -(i & 0x7FFFFFFFFFFFFFFF)
    return abs(key(a) - key(b))


def flat(params):
    """Every parameter in layer order, weight (row by row) then bias."""
    return [v for tensor in params for row in tensor for v in row]


def self_check(bits, ref, chk):
    """precision-audit's --verify-reference numbers from replays at `bits` and 2 x `bits`.

    Both are differences of order 2^-bits, so they expose the low bits of the reference that its
    f64 outputs round away: a single wrong rounding at `bits` changes them.
    """
    wide = 2 * bits
    (ref_losses, ref_params), (chk_losses, chk_params) = ref, chk
    max_loss = 0.0
    for step in ref_losses:
        a, b = ref_losses[step], chk_losses[step]
        if a != b:
            difference = libmp.mpf_sub(a, b, wide, "n")
            max_loss = max(max_loss, to_f64(libmp.mpf_abs(libmp.mpf_div(difference, b, 64, "n"))))
    distance = norm = 0.0  # f64 sums, in precision-audit's order
    for x, y in zip(flat(ref_params), flat(chk_params)):
        d = to_f64(libmp.mpf_sub(x, y, wide, "n"))
        distance += d * d
        norm += to_f64(y) * to_f64(y)
    param = math.sqrt(distance) if norm == 0 else math.sqrt(distance / norm)
    return max_loss, param


def check_trajectories(binary):
    failed = False
    for bits, overrides in CONFIGS:
        config = full_config(overrides)
        extra = ["--reference-bits", str(bits), "--verify-reference", "--output", "json"]
        with Audit(binary, config, extra) as audit:
            inputs = (config, *audit.data(), audit.schedule(), audit.params())
            # Read only to compare.
            reported = audit.losses("reference_loss")
            reported_params = flat([t for w, b in audit.params("params_reference.csv")
                                    for t in (w, [b])])
            check = json.loads(audit.stdout)["reference_check"]
        losses, params = ref = replay(bits, *inputs)
        chk = replay(2 * bits, *inputs)
        pairs = [(to_f64(losses[s]), reported[s]) for s in sorted(reported)]
        equal_losses = sum(a == b for a, b in pairs)
        worst = max(ulp_distance(a, b) for a, b in pairs)
        ours = [to_f64(v) for v in flat(params)]
        equal_params = sum(a == b for a, b in zip(ours, reported_params))
        max_loss, param = self_check(bits, ref, chk)
        self_ok = (max_loss, param) == (check["max_loss_rel_diff"], check["param_rel_diff"])
        ok = (sorted(losses) == sorted(reported) and equal_losses == len(pairs)
              and len(ours) == len(reported_params) == equal_params and self_ok)
        failed |= not ok
        print(f"  {'ok  ' if ok else 'FAIL'} {bits} bits, {describe(config)}: reference loss "
              f"bit-exact in f64 at {equal_losses}/{len(pairs)} steps (max {worst} ulp apart), "
              f"final parameters {equal_params}/{len(reported_params)}; {bits}-vs-{2 * bits}-bit "
              f"differences {'equal' if self_ok else 'DIFFER'}: max loss rel "
              f"{max_loss:.6e} (reported {check['max_loss_rel_diff']:.6e}), params rel "
              f"{param:.6e} (reported {check['param_rel_diff']:.6e})")
    return failed


# --- B: round's rel_error -------------------------------------------------------------------


REL_ERROR_VALUES = ["0.1", "1e-8", "65519", "3.14159265358979323846264338327950288",
                    "-2.7182818284590452353602874713526625", "1e-5", "6.1e-5", "1e30",
                    "-7.00000000000000000000001", "0.333333333333333333333333333333333333",
                    "1e-40", "1.0000001", "123456789.123456789", "5e-324", "1e-310",
                    "6.103515625e-05", "2049", "0.5", "-0", "inf", "nan", "1e400"]


def rel_error(text, stored):
    """precision-audit's rel_error of a stored value (an f64) for the decimal `text`."""
    low = text.strip().lower().lstrip("+-")
    if low in ("inf", "nan"):
        return 0.0 if stored != stored or stored == float(text) else float("inf")
    x = decimal(text, EXACT_BITS)
    if x == libmp.fzero:
        return 0.0 if stored == 0 else float("inf")
    if stored in (float("inf"), float("-inf")):
        return float("inf")
    difference = libmp.mpf_sub(libmp.from_float(stored), x, EXACT_BITS, "n")
    return to_f64(libmp.mpf_abs(libmp.mpf_div(difference, x, 64, "n")))


def check_rel_error(binary):
    out = subprocess.run([binary, "round", "--output", "csv", "--", *REL_ERROR_VALUES],
                         check=True, capture_output=True, text=True).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    bad = []
    for row in rows:
        hx = row["hex"]
        stored = float(hx) if hx in ("inf", "-inf", "nan") else float.fromhex(hx)
        want, got = rel_error(row["value"], stored), float(row["rel_error"])
        if not (want == got or (want != want and got != got)):
            bad.append(f"{row['value']} -> {row['format']}: rel_error {got!r}, mpmath {want!r}")
    print(f"  {'ok  ' if not bad else 'FAIL'} round rel_error (sub at 256 bits, div at 64): "
          f"{len(rows) - len(bad)}/{len(rows)} rows bit-exact")
    for line in bad:
        print("    MISMATCH", line)
    return bool(bad)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default="target/release/precision-audit")
    args = parser.parse_args()
    failed = check_trajectories(args.binary)
    failed |= check_rel_error(args.binary)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
