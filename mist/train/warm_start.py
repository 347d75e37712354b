"""Start training from an exported checkpoint whose head reads fewer input features.

Every tensor is copied as is, except the head's first linear layer when the new model adds input
features: its old columns are copied and the new columns start at zero, so the warm-started
network computes exactly what the checkpoint did until training teaches it to use the new inputs.
The conformal calibration is not copied: it belongs to the weights it was fitted for, and a
network in training gives raw quantiles (the export calibrates again).
"""

from __future__ import annotations

import torch

from mist.checkpoint import CALIBRATION_KEY, read_config, read_state
from mist.network.config import ModelConfig, build_model

_WIDENABLE = "head.mlp.0.weight"


def warm_start(model: torch.nn.Module, folder) -> dict:
    """Fill `model` from the single-network checkpoint in `folder`; returns that checkpoint's config."""
    config = read_config(folder)
    if "experts" in config:
        raise ValueError(f"warm start from {folder}: a routed checkpoint; start from one of its experts' folders")
    old = read_state(folder, config, build_model(ModelConfig(**config["model"])))
    new = model.state_dict()
    if set(old) != set(new):
        raise ValueError(f"warm start from {folder}: parameter names differ: "
                         f"{sorted(set(old) ^ set(new))[:5]}")
    for name, tensor in old.items():
        target = new[name]
        if name == CALIBRATION_KEY:
            target.zero_()
        elif tensor.shape == target.shape:
            target.copy_(tensor)
        elif name == _WIDENABLE and tensor.shape[0] == target.shape[0] and tensor.shape[1] < target.shape[1]:
            target.zero_()
            target[:, :tensor.shape[1]] = tensor
        else:
            raise ValueError(f"warm start from {folder}: {name} has shape {tuple(tensor.shape)}, "
                             f"the new model needs {tuple(target.shape)}")
    return config
