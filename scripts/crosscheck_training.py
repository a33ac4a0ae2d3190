#!/usr/bin/env python3
"""Cross-check 3: precision-audit's f64 training against an independent float64 numpy version.

For each config, precision-audit trains in f64 and exports its inputs (data.csv, schedule.csv,
params_initial.csv). This script re-implements the MLP from the documented maths alone -- dense
layers y = x.W + b, the hidden activation, a linear output layer, the mse/mae/relative losses,
softmax cross-entropy over K logits (stable log-sum-exp and naive) and binary cross-entropy
on a sigmoid output, on the built-in classification data, and their gradients, backpropagation, SGD with momentum (PyTorch) and Adam -- trains on the same
batches in the same order and compares its loss with precision-audit's f64 `loss` column at
every step. precision-audit's results are read only to compare.

Elementwise operations are the same IEEE operations in the same order, so they agree bit for bit
given equal inputs. Reductions do not: precision-audit sums sequentially with fused
multiply-adds, numpy's matmul goes through BLAS and its sums are pairwise. Those reorderings
differ by a few units in the last place and training carries the differences on, so the bound
is a relative 1e-12 per step. Hyper-parameters and the derived constants 1 - beta and the bias
corrections 1 - beta^t are taken exactly from their decimals and rounded once to f64, as
precision-audit documents (PyTorch would compute 1 - 0.9 in f64: 0.09999999999999998).

Usage: crosscheck_training.py [--binary target/release/precision-audit]
"""

import argparse
import sys

import numpy as np

from crosscheck_common import Audit, describe, exact, full_config

TOLERANCE = 1e-12

CONFIGS = [
    {"loss": "mse", "activation": "relu", "optimizer": "sgd", "lr": "0.05"},
    {"loss": "mse", "activation": "tanh", "optimizer": "adam", "lr": "0.01"},
    {"loss": "relative", "eps": "1e-8", "activation": "relu", "optimizer": "adam", "lr": "0.01"},
    {"loss": "relative", "eps": "1e-8", "activation": "tanh", "optimizer": "sgd",
     "lr": "1e-10", "momentum": "0.9"},
    {"loss": "mae", "activation": "sigmoid", "optimizer": "sgd", "lr": "0.1",
     "momentum": "0.5", "layers": "16,8", "batch-size": "24"},
    {"loss": "relative", "eps": "1e-3", "activation": "tanh", "optimizer": "adam",
     "lr": "0.003", "layers": "8,8", "batch-size": "16", "beta2": "0.99", "adam-eps": "1e-8"},
    {"loss": "softmax-ce", "task": "classification", "activation": "relu", "optimizer": "adam",
     "lr": "0.05", "classes": "3"},
    {"loss": "softmax-ce-naive", "task": "classification", "activation": "tanh",
     "optimizer": "sgd", "lr": "0.1", "momentum": "0.5", "classes": "4", "layers": "8,8"},
    {"loss": "bce", "task": "classification", "activation": "tanh", "optimizer": "adam",
     "lr": "0.01", "classes": "2", "eps": "1e-7"},
]

ACTIVATIONS = {
    "relu": lambda z: np.maximum(z, 0.0),
    "tanh": np.tanh,
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "identity": lambda z: z,
}


def activation_grad(name, g, z, a):
    if name == "relu":
        return np.where(z > 0, g, 0.0)
    if name == "tanh":
        return g * (1.0 - a * a)
    if name == "sigmoid":
        return g * (a * (1.0 - a))
    return g


def softmax_cross_entropy(kind, p, labels):
    """Mean cross-entropy of the logits p (batch x K) against integer labels, and d loss / d p:
    softmax(p) - onehot(y), over the batch size."""
    rows = np.arange(p.shape[0])
    labels = labels.reshape(-1).astype(int)
    if kind == "softmax-ce":
        shifted = p - p.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        sums = e.sum(axis=1, keepdims=True)
        terms = np.log(sums[:, 0]) - shifted[rows, labels]
    else:
        e = np.exp(p)
        sums = e.sum(axis=1, keepdims=True)
        terms = -np.log(e[rows, labels] / sums[:, 0])
    one_hot = np.zeros_like(p)
    one_hot[rows, labels] = 1.0
    return np.mean(terms), (e / sums - one_hot) / float(p.shape[0])


def loss_and_grad(kind, p, y, eps):
    """The batch loss and d loss / d p."""
    if kind.startswith("softmax"):
        return softmax_cross_entropy(kind, p, y)
    if kind == "bce":
        s = 1.0 / (1.0 + np.exp(-p))
        terms = -(y * np.log(s + eps) + (1.0 - y) * np.log(1.0 - s + eps))
        d_s = -(y / (s + eps) - (1.0 - y) / (1.0 - s + eps))
        return np.mean(terms), d_s * (s * (1.0 - s)) / float(p.size)
    diff = p - y
    n = float(diff.size)
    if kind == "mse":
        return np.mean(diff * diff), (diff * 2.0) / n
    if kind == "mae":
        return np.mean(np.abs(diff)), np.sign(diff) / n
    denominator = np.abs(y) + eps
    return np.mean(np.abs(diff) / denominator), (np.sign(diff) / denominator) / n


class Optimizer:
    """SGD (PyTorch: buf = momentum*buf + g; p -= lr*buf) or Adam, one state per tensor."""

    def __init__(self, config, params):
        self.kind = config["optimizer"]
        self.lr = float(exact(config["lr"]))
        self.momentum = float(exact(config["momentum"]))
        self.beta = [exact(config["beta1"]), exact(config["beta2"])]
        self.one_minus = [float(1 - b) for b in self.beta]
        self.adam_eps = float(exact(config["adam-eps"]))
        self.first = [np.zeros_like(p) for p in params]
        self.second = [np.zeros_like(p) for p in params]

    def update(self, params, grads, t):
        if self.kind == "adam":
            beta1, beta2 = (float(b) for b in self.beta)
            bc1, bc2 = (float(1 - b**t) for b in self.beta)
        for i, (p, g) in enumerate(zip(params, grads)):
            if self.kind == "sgd":
                if self.momentum != 0:
                    self.first[i] = self.momentum * self.first[i] + 1.0 * g
                    g = self.first[i]
                params[i] = p - self.lr * g
            else:
                self.first[i] = beta1 * self.first[i] + self.one_minus[0] * g
                self.second[i] = beta2 * self.second[i] + self.one_minus[1] * (g * g)
                m_hat, v_hat = self.first[i] / bc1, self.second[i] / bc2
                params[i] = p - self.lr * (m_hat / (np.sqrt(v_hat) + self.adam_eps))


def train(config, features, targets, schedule, initial):
    """The loss of every step, before that step's update."""
    params = [np.array(t, dtype=np.float64).reshape(1, -1) if k else np.array(t, dtype=np.float64)
              for w, b in initial for k, t in enumerate((w, b))]
    act, act_name = ACTIVATIONS[config["activation"]], config["activation"]
    eps = float(exact(config["eps"]))
    optimizer = Optimizer(config, params)
    x_all, y_all = np.array(features), np.array(targets).reshape(-1, 1)
    depth = len(initial)
    losses = {}
    for step, rows in schedule:
        x = x_all[rows]
        inputs, hidden = [], []
        for layer in range(depth):
            inputs.append(x)
            z = x @ params[2 * layer] + params[2 * layer + 1]
            if layer + 1 < depth:
                x = act(z)
                hidden.append((z, x))
        losses[step], grad_z = loss_and_grad(config["loss"], z, y_all[rows], eps)
        grads = [None] * len(params)
        for layer in reversed(range(depth)):
            grads[2 * layer] = inputs[layer].T @ grad_z
            grads[2 * layer + 1] = grad_z.sum(axis=0, keepdims=True)
            if layer > 0:
                z, a = hidden[layer - 1]
                grad_z = activation_grad(act_name, grad_z @ params[2 * layer].T, z, a)
        optimizer.update(params, grads, step)
    return losses


def relative(a, b):
    if a == b:
        return 0.0
    return abs(a - b) / abs(b) if b != 0 else float("inf")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default="target/release/precision-audit")
    args = parser.parse_args()
    failed = False
    for overrides in CONFIGS:
        config = full_config(overrides)
        with Audit(args.binary, config) as audit:
            features, targets = audit.data()
            schedule = audit.schedule()
            ours = train(config, features, targets, schedule, audit.params())
            theirs = audit.losses("loss")  # read only to compare
            drift = max(relative(a, b) for a, b in zip(audit.losses("loss").values(),
                                                       audit.losses("reference_loss").values()))
        worst = max(relative(ours[s], theirs[s]) for s in theirs)
        ok = sorted(ours) == sorted(theirs) and worst <= TOLERANCE
        failed |= not ok
        print(f"  {'ok  ' if ok else 'FAIL'} {describe(config)}: {len(theirs)} steps, "
              f"max rel diff {worst:.2e} (precision-audit's own f64-vs-MPFR drift {drift:.2e}); "
              f"loss {theirs[1]:.6g} -> {theirs[max(theirs)]:.6g}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
