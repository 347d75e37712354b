"""Start training from an exported checkpoint whose head reads fewer input features.

Every tensor is copied as is, except the head's first linear layer when the new model adds input
features: its old columns are copied and the new columns start at zero, so the warm-started
network computes exactly what the checkpoint did until training teaches it to use the new inputs.
"""

from __future__ import annotations

import torch
from safetensors.torch import load_file

from mist.checkpoint import WEIGHTS, read_config

_WIDENABLE = "head.mlp.0.weight"


def warm_start(model: torch.nn.Module, folder) -> dict:
    """Fill `model` from the checkpoint in `folder`; returns that checkpoint's config."""
    config = read_config(folder)
    old = load_file(str(f"{folder}/{WEIGHTS}"))
    new = model.state_dict()
    if set(old) != set(new):
        raise ValueError(f"warm start from {folder}: parameter names differ: "
                         f"{sorted(set(old) ^ set(new))[:5]}")
    for name, tensor in old.items():
        target = new[name]
        if tensor.shape == target.shape:
            target.copy_(tensor)
        elif name == _WIDENABLE and tensor.shape[0] == target.shape[0] and tensor.shape[1] < target.shape[1]:
            target.zero_()
            target[:, :tensor.shape[1]] = tensor
        else:
            raise ValueError(f"warm start from {folder}: {name} has shape {tuple(tensor.shape)}, "
                             f"the new model needs {tuple(target.shape)}")
    return config
