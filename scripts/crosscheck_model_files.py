#!/usr/bin/env python3
"""Cross-check 4: models and data in the files people train with.

Parameters are written here with numpy and the `safetensors` package, laid out as PyTorch and
Keras lay them out (an nn.Sequential state_dict with [out, in] weights; Dense layers' kernels
[in, out] by name; model.get_weights() saved by np.savez), in f32 and f16, and data as .npz and
.npy. The audit started from each must write byte-identical summary.csv, ops.csv and steps.csv
to the audit started from the same values written as CSV (parameters in the
layer,tensor,row,column,value layout, data with a header row), with the widths and activation
given by flags instead of taken from the file.

Then every params_<lane>.safetensors a run writes is read back with the `safetensors` package
and must equal its params_<lane>.csv exactly, in PyTorch's layout ([out, in] weights under
nn.Sequential's keys 0, 2, 4, ...), with the activation and widths in its metadata.

Usage: crosscheck_model_files.py [--binary target/release/precision-audit]
"""

import argparse
import csv
import os
import subprocess
import sys
import tempfile

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

WIDTHS = [3, 6, 4, 1]
SAMPLES = 40
# Every lane, the relative loss with an eps every format keeps, Adam: every op of a step runs.
RUN = ["--formats", "f16,bf16,f32,f64", "--loss", "relative", "--eps", "1e-3",
       "--optimizer", "adam", "--epochs", "3", "--batch-size", "8", "--seed", "7"]
COMPARED = ["summary.csv", "ops.csv", "steps.csv"]
LANES = ["initial", "reference", "f16", "bf16", "f32", "f64"]


def network(rng):
    """[(weight as inputs x outputs, bias)] per layer, in f64."""
    layers = []
    for fan_in, fan_out in zip(WIDTHS, WIDTHS[1:]):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        layers.append((rng.uniform(-limit, limit, (fan_in, fan_out)),
                       rng.uniform(-0.1, 0.1, fan_out)))
    return layers


def cast(layers, dtype):
    """The network with every value rounded to `dtype`, back in f64 (exactly)."""
    return [(w.astype(dtype).astype(np.float64), b.astype(dtype).astype(np.float64))
            for w, b in layers]


def torch_state(layers, dtype):
    """nn.Sequential(Linear, act, Linear, act, Linear).state_dict(): weights [out, in]."""
    state = {}
    for i, (w, b) in enumerate(layers):
        state[f"{2 * i}.weight"] = np.ascontiguousarray(w.T, dtype=dtype)
        state[f"{2 * i}.bias"] = b.astype(dtype)
    return state


def keras_named(layers, dtype):
    """Dense layers dense, dense_1, ...: kernel [in, out] and bias by name."""
    state = {}
    for i, (w, b) in enumerate(layers):
        name = "dense" if i == 0 else f"dense_{i}"
        state[f"{name}/kernel"] = w.astype(dtype)
        state[f"{name}/bias"] = b.astype(dtype)
    return state


def keras_list(layers, dtype):
    """model.get_weights(): kernel, bias, kernel, bias, ..."""
    return [a.astype(dtype) for w, b in layers for a in (w, b)]


def write_params_csv(path, layers):
    with open(path, "w", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["layer", "tensor", "row", "column", "value"])
        for index, (w, b) in enumerate(layers, 1):
            for (r, c), v in np.ndenumerate(w):
                out.writerow([index, "weight", r + 1, c + 1, repr(float(v))])
            for c, v in enumerate(b):
                out.writerow([index, "bias", 1, c + 1, repr(float(v))])


def write_data_csv(path, x, y):
    with open(path, "w", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow([f"x{j + 1}" for j in range(x.shape[1])] + ["y"])
        for row, target in zip(x, y):
            out.writerow([repr(float(v)) for v in row] + [repr(float(target))])


def audit(binary, out, args):
    subprocess.run([binary, *RUN, *args, "--csv", out], check=True, capture_output=True,
                   text=True)


def read_bytes(directory, name):
    with open(os.path.join(directory, name), "rb") as f:
        return f.read()


def params_from_csv(path):
    """{(layer, tensor): array} from a parameter CSV, weights inputs x outputs."""
    entries = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            entries.setdefault((int(r["layer"]), r["tensor"]), []).append(
                (int(r["row"]) - 1, int(r["column"]) - 1, float(r["value"])))
    result = {}
    for key, cells in entries.items():
        array = np.zeros((max(c[0] for c in cells) + 1, max(c[1] for c in cells) + 1))
        for r, c, v in cells:
            array[r, c] = v
        result[key] = array
    return result


def same_bits(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and np.array_equal(a.view(np.uint64), b.view(np.uint64))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", default="target/release/precision-audit")
    binary = os.path.abspath(parser.parse_args().binary)

    rng = np.random.default_rng(2024)
    layers = network(rng)
    x = rng.uniform(0.0, 1.0, (SAMPLES, WIDTHS[0]))
    # Targets over several magnitudes, some zero: the relative loss's hard case.
    y = np.where(np.arange(SAMPLES) % 7 == 0, 0.0,
                 x.mean(axis=1) / 10.0 ** rng.integers(0, 4, SAMPLES))
    hidden = ",".join(str(w) for w in WIDTHS[1:-1])
    failures = 0

    with tempfile.TemporaryDirectory(prefix="crosscheck-model-") as tmp:
        path = lambda name: os.path.join(tmp, name)
        data_csv = path("data.csv")
        write_data_csv(data_csv, x, y)
        np.savez(path("xy.npz"), x=x, y=y)
        # The same data under the other accepted names, the target as [n, 1], deflated.
        np.savez_compressed(path("named.npz"), features=x, target=y.reshape(-1, 1))
        np.save(path("table.npy"), np.column_stack([x, y]))

        # name, how the file is written, its dtype, its data file, the activation in its
        # metadata (None: given by --activation on both sides).
        cases = [
            ("PyTorch safetensors f32", "torch.safetensors", np.float32, "xy.npz", "tanh"),
            ("PyTorch safetensors f16", "torch16.safetensors", np.float16, "table.npy", None),
            ("Keras safetensors f16", "keras.safetensors", np.float16, "named.npz", "sigmoid"),
            ("Keras get_weights npz f32", "keras.npz", np.float32, "xy.npz", None),
            ("PyTorch npz f16 (compressed)", "torch.npz", np.float16, "table.npy", None),
        ]
        for name, file_name, dtype, data_file, activation in cases:
            file_path = path(file_name)
            if file_name == "keras.npz":
                np.savez(file_path, *keras_list(layers, dtype))
            elif file_name == "torch.npz":
                np.savez_compressed(file_path, **torch_state(layers, dtype))
            else:
                state = (keras_named if file_name.startswith("keras") else torch_state)(
                    layers, dtype)
                save_file(state, file_path,
                          metadata={"activation": activation} if activation else None)
            params_csv = path(f"{file_name}.csv")
            write_params_csv(params_csv, cast(layers, dtype))

            act = activation or "relu"
            from_file, from_csv = path(f"{file_name}-out"), path(f"{file_name}-csv-out")
            flags = [] if activation else ["--activation", act]
            audit(binary, from_file, ["--init-params", file_path, "--data", path(data_file),
                                      *flags])
            audit(binary, from_csv, ["--init-params", params_csv, "--data", data_csv,
                                     "--layers", hidden, "--activation", act])
            differ = [f for f in COMPARED + ["params_initial.csv"]
                      if read_bytes(from_file, f) != read_bytes(from_csv, f)]
            initial = params_from_csv(os.path.join(from_file, "params_initial.csv"))
            exact = all(same_bits(initial[(i + 1, "weight")], w)
                        and same_bits(initial[(i + 1, "bias")][0], b)
                        for i, (w, b) in enumerate(cast(layers, dtype)))
            steps = sum(1 for _ in open(os.path.join(from_file, "steps.csv"))) - 1
            if differ or not exact:
                failures += 1
                print(f"FAIL {name} + {data_file}: differs in {differ}; "
                      f"initial parameters exact: {exact}")
            else:
                print(f"ok   {name} + {data_file}: summary/ops/steps byte-identical to the "
                      f"CSV run ({steps} step rows), initial parameters exact")

        # The exported parameters of the first case's run, read back with safetensors.
        run_dir = path("torch.safetensors-out")
        for lane in LANES:
            file_path = os.path.join(run_dir, f"params_{lane}.safetensors")
            tensors = load_file(file_path)
            with safe_open(file_path, "np") as f:
                metadata = f.metadata()
            expected = params_from_csv(os.path.join(run_dir, f"params_{lane}.csv"))
            problems = []
            if metadata != {"format": "pt", "activation": "tanh",
                            "widths": ",".join(map(str, WIDTHS))}:
                problems.append(f"metadata {metadata}")
            keys = sorted(f"{2 * i}.{t}" for i in range(len(WIDTHS) - 1)
                          for t in ("weight", "bias"))
            if sorted(tensors) != keys:
                problems.append(f"keys {sorted(tensors)}")
            else:
                for i in range(len(WIDTHS) - 1):
                    w, b = tensors[f"{2 * i}.weight"], tensors[f"{2 * i}.bias"]
                    if w.dtype != np.float64 or not same_bits(w.T, expected[(i + 1, "weight")]):
                        problems.append(f"{2 * i}.weight")
                    if b.dtype != np.float64 or not same_bits(b, expected[(i + 1, "bias")][0]):
                        problems.append(f"{2 * i}.bias")
            count = sum(t.size for t in tensors.values())
            if problems:
                failures += 1
                print(f"FAIL params_{lane}.safetensors: {', '.join(problems)}")
            else:
                print(f"ok   params_{lane}.safetensors equals params_{lane}.csv exactly "
                      f"({count} values, [out, in] weights, metadata as written)")

    print(f"model files: {failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
