#!/usr/bin/env python3
"""Save a Keras MLP and its data for precision-audit (needs keras, numpy and safetensors).
Put your model and data in place of the example; the model is a stack of Dense layers with one
hidden activation (relu, tanh, sigmoid or linear) and a linear output. Then:
    precision-audit --init-params model.safetensors --data data.npz --loss relative --csv out/
"""
import keras
import numpy as np
from safetensors.numpy import save_file

model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(16, activation="tanh"),
                          keras.layers.Dense(1)])
x, y = np.random.rand(100, 2), np.random.rand(100, 1)

dense = [layer for layer in model.layers if layer.weights]
# Keys dense/kernel ([in, out]), dense/bias, dense_1/kernel, ...: named by position, in order.
save_file({f"{'dense' if i == 0 else f'dense_{i}'}/{part}": np.asarray(w)
           for i, layer in enumerate(dense) for part, w in zip(("kernel", "bias"), layer.get_weights())},
          "model.safetensors", metadata={"activation": dense[0].get_config()["activation"]})
np.savez("weights.npz", *model.get_weights())  # the same parameters as arr_0, arr_1, ...
np.savez("data.npz", x=x, y=y)
