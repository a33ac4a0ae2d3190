#!/usr/bin/env python3
"""Save a PyTorch MLP and its data for precision-audit (needs torch, numpy and safetensors).
Put your model and data in place of the example; the model is an nn.Sequential of Linear layers
with one hidden activation (ReLU, Tanh, Sigmoid or Identity) and a linear output. Then:
    precision-audit --init-params model.safetensors --data data.npz --loss relative --csv out/
"""
import numpy as np
import torch
from safetensors.torch import save_file

model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
x, y = torch.rand(100, 2), torch.rand(100, 1)

# Keys 0.weight ([out, in]), 0.bias, 2.weight, ...; the activation's name goes in the metadata.
save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()},
          "model.safetensors", metadata={"activation": type(model[1]).__name__})
np.savez("data.npz", x=x.numpy(), y=y.numpy())
