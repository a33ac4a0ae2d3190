"""Cross-check of dynamic loss scaling against an independent re-implementation of PyTorch's
GradScaler state machine (torch.amp.GradScaler.update / _amp_update_scale_, and Keras'
LossScaleOptimizer with its own defaults), written from their documentation, not from our code.

For each configuration, precision-audit trains mixed-precision lanes with --csv; the state
machine is fed only steps.csv's "was any gradient inf or NaN" column (first_nonfinite_grad
non-empty) and must reproduce the loss_scale and skipped columns exactly, step by step. The
configurations force overflows (the relative loss with eps = 1e-8 has loss gradients of order
1e8, beyond f16's 65504) and use short growth intervals, so both backoff and growth happen; the
check fails if either never does.
"""

import argparse
import csv
import os
import subprocess
import sys
import tempfile

import numpy as np

# (flags, initial scale, growth factor, backoff factor, growth interval)
CONFIGS = [
    (["--loss-scale", "dynamic", "--scale-growth-interval", "3"], 65536.0, 2.0, 0.5, 3),
    (["--loss-scale", "keras", "--scale-growth-interval", "5"], 32768.0, 2.0, 0.5, 5),
    (
        ["--loss-scale", "dynamic", "--scale-init", "1024", "--scale-growth-factor", "4",
         "--scale-backoff", "0.25", "--scale-growth-interval", "2"],
        1024.0, 4.0, 0.25, 2,
    ),
]

COMMON = ["--loss", "relative", "--eps", "1e-8", "--formats", "mixed-f16,mixed-bf16",
          "--epochs", "30", "--reference", "double-double"]


class GradScaler:
    """The scale is a float32 tensor; growth_tracker an int."""

    def __init__(self, init, growth, backoff, interval):
        self.scale = np.float32(init)
        self.growth, self.backoff, self.interval = np.float32(growth), np.float32(backoff), interval
        self.tracker = 0

    def update(self, found_inf):
        if found_inf:
            self.scale = np.float32(self.scale * self.backoff)
            self.tracker = 0
            return
        successful = self.tracker + 1
        if successful == self.interval:
            grown = np.float32(self.scale * self.growth)
            if np.isfinite(grown):  # the CUDA kernel keeps the scale when growing overflows
                self.scale = grown
            self.tracker = 0
        else:
            self.tracker = successful


def check(binary, flags, init, growth, backoff, interval):
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([binary, *COMMON, *flags, "--csv", out], check=True,
                       stdout=subprocess.DEVNULL)
        with open(os.path.join(out, "steps.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
    problems, grew, backed_off = [], 0, 0
    for lane in sorted({r["format"] for r in rows}):
        scaler = GradScaler(init, growth, backoff, interval)
        for r in (r for r in rows if r["format"] == lane):
            found_inf = r["first_nonfinite_grad"] != ""
            expected = (float(scaler.scale), found_inf)
            got = (float(r["loss_scale"]), r["skipped"] == "true")
            if got != expected:
                problems.append(f"{lane} step {r['step']}: expected scale/skip {expected}, got {got}")
                break
            before = scaler.scale
            scaler.update(found_inf)
            grew += scaler.scale > before
            backed_off += scaler.scale < before
    if not grew or not backed_off:
        problems.append(f"the run never {'grew' if not grew else 'backed off'}: the check would be vacuous")
    print(f"  {' '.join(flags)}: {len(rows)} lane-steps, {grew} growths, {backed_off} backoffs,"
          f" {'ok' if not problems else problems[0]}")
    return not problems


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--binary", required=True)
    args = parser.parse_args()
    ok = all([check(args.binary, *config) for config in CONFIGS])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
