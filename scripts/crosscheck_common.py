"""Shared plumbing of the training cross-checks: run a precision-audit audit with --csv into a
temporary directory and read back what it exported (data, batch schedule, initial parameters)
and, for comparison only, what it computed (steps.csv, params_reference.csv).

Every flag is passed explicitly, so the re-implementations never depend on the binary's defaults.
"""

import csv
import os
import subprocess
import tempfile
from fractions import Fraction

# The flags of one training run; a config overrides some of them.
DEFAULTS = {
    "loss": "mse", "eps": "1e-8", "activation": "relu", "layers": "10", "optimizer": "sgd",
    "lr": "0.01", "momentum": "0", "beta1": "0.9", "beta2": "0.999", "adam-eps": "1e-7",
    "epochs": "20", "batch-size": "32", "seed": "42",
}


def full_config(overrides):
    config = dict(DEFAULTS)
    config.update(overrides)
    return config


def describe(config):
    """A short name: loss, activation, optimizer, then the other flags that differ from DEFAULTS."""
    always = ("loss", "activation", "optimizer")
    rest = [f"{k}={v}" for k, v in config.items() if k not in always and DEFAULTS.get(k) != v]
    return "/".join(config[k] for k in always) + (f" ({', '.join(rest)})" if rest else "")


class Audit:
    """One audit run in f64 with its CSV export, removed on exit."""

    def __init__(self, binary, config, extra=()):
        self.binary, self.config, self.extra = binary, config, list(extra)

    def __enter__(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="crosscheck-")
        self.dir = self._tmp.name
        flags = [f"--{k}={v}" for k, v in self.config.items()]
        self.stdout = subprocess.run(
            [self.binary, *flags, "--formats", "f64", *self.extra, "--csv", self.dir],
            check=True, capture_output=True, text=True).stdout
        return self

    def __exit__(self, *exc):
        self._tmp.cleanup()

    def rows(self, name):
        with open(os.path.join(self.dir, name), newline="") as f:
            return list(csv.DictReader(f))

    # --- inputs: what the run was given --------------------------------------------------------

    def data(self):
        """(features as a list of rows, targets): the last column is the target."""
        with open(os.path.join(self.dir, "data.csv"), newline="") as f:
            lines = list(csv.reader(f))[1:]
        return [[float(v) for v in r[:-1]] for r in lines], [float(r[-1]) for r in lines]

    def schedule(self):
        """[(step, [data row per batch position])], in step order."""
        steps = {}
        for r in self.rows("schedule.csv"):
            steps.setdefault(int(r["step"]), []).append((int(r["position"]), int(r["row"])))
        return [(s, [row for _, row in sorted(pos)]) for s, pos in sorted(steps.items())]

    def params(self, name="params_initial.csv"):
        """[(weight as inputs x outputs lists, bias as a list)] per layer, input layer first."""
        layers = {}
        for r in self.rows(name):
            layer = layers.setdefault(int(r["layer"]), {"weight": {}, "bias": {}})
            layer[r["tensor"]][(int(r["row"]) - 1, int(r["column"]) - 1)] = float(r["value"])
        result = []
        for index in sorted(layers):
            w, b = layers[index]["weight"], layers[index]["bias"]
            rows, cols = max(i for i, _ in w) + 1, max(j for _, j in w) + 1
            result.append(([[w[(i, j)] for j in range(cols)] for i in range(rows)],
                           [b[(0, j)] for j in range(cols)]))
        return result

    # --- outputs: read only to compare ---------------------------------------------------------

    def losses(self, column):
        """{step: value of `column`} of the f64 lane in steps.csv (loss or reference_loss)."""
        return {int(r["step"]): float(r[column]) for r in self.rows("steps.csv")
                if r["format"] == "f64"}


def exact(decimal_text):
    """A hyper-parameter as the exact rational its decimal denotes."""
    return Fraction(decimal_text)
