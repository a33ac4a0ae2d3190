#!/usr/bin/env python3
"""Writes the model and data fixtures of fixtures/models/ that the Rust tests read: the 2-3-1
network of fixtures/data/params-2-3-1.csv and the data of fixtures/data/tiny.csv, saved as
PyTorch and Keras would save them (numpy and the safetensors package only; no torch, no keras).

    .venv/bin/python scripts/make_model_fixtures.py

The files are committed; run this again only to change them. Its output is deterministic.
"""

import os

import numpy as np
from safetensors.numpy import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fixtures", "models")

# fixtures/data/params-2-3-1.csv, weights as inputs x outputs (Keras's kernel layout).
W1 = np.array([[0.5, -0.25, 1.0], [0.125, 2.0, -1.5]])
B1 = np.array([0.0, 0.1, -0.1])
W2 = np.array([[1.0], [-1.0], [0.5]])
B2 = np.array([0.01])

# fixtures/data/tiny.csv.
X = np.array([[0.5, 1.0], [0.25, 0.125], [1.0, 0.0], [0.9, 0.1]])
Y = np.array([0.75, 0.0001875, 0.0, 1e-9])


def torch_state(dtype):
    """nn.Sequential(Linear(2, 3), Tanh(), Linear(3, 1)).state_dict(): weights [out, in]."""
    state = {"0.weight": W1.T, "0.bias": B1, "2.weight": W2.T, "2.bias": B2}
    return {key: np.ascontiguousarray(value, dtype=dtype) for key, value in state.items()}


def keras_weights(dtype):
    """model.get_weights() of two Dense layers: kernel [in, out], bias [out], in order."""
    return [np.asarray(a, dtype=dtype) for a in (W1, B1, W2, B2)]


def main():
    os.makedirs(OUT, exist_ok=True)
    path = lambda name: os.path.join(OUT, name)
    save_file(torch_state(np.float32), path("torch-2-3-1-f32.safetensors"),
              metadata={"activation": "tanh"})
    # A PyTorch state_dict saved with np.savez_compressed: deflated members, f64.
    np.savez_compressed(path("torch-2-3-1-f64.npz"), **torch_state(np.float64))
    kernel_names = ["dense", "dense_1"]
    f16 = keras_weights(np.float16)
    save_file({f"{name}/{part}": f16[2 * i + j] for i, name in enumerate(kernel_names)
               for j, part in enumerate(("kernel", "bias"))},
              path("keras-2-3-1-f16.safetensors"))
    np.savez(path("keras-2-3-1-f32.npz"), *keras_weights(np.float32))
    np.savez(path("tiny.npz"), x=X, y=Y)
    # Column-major, as np.save writes a transposed array, to exercise fortran_order.
    np.save(path("tiny.npy"), np.asfortranarray(np.column_stack([X, Y])))
    for name in sorted(os.listdir(OUT)):
        print(name, os.path.getsize(path(name)))


if __name__ == "__main__":
    main()
