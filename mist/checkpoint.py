"""Inference checkpoints: a folder with `model.safetensors` and `config.json`.

safetensors holds tensors only, so loading can never execute code (unlike pickle). The JSON
carries what rebuilds the model (architecture config), the format and package versions, and
how the model was trained, so a checkpoint explains itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from mist import __version__
from mist.network.model import ModelConfig, build_model
from mist.network.routed import RoutedMI

FORMAT_VERSION = 1
WEIGHTS, CONFIG = "model.safetensors", "config.json"


def save_checkpoint(model: torch.nn.Module, model_config: ModelConfig, folder, training: dict | None = None,
                    card: dict | None = None) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / WEIGHTS))
    config = {"format_version": FORMAT_VERSION, "mist_version": __version__,
              "model": model_config.to_dict(), "training": training or {}, "card": card or {}}
    (folder / CONFIG).write_text(json.dumps(config, indent=2, default=str))
    return folder


def read_config(folder) -> dict:
    folder = Path(folder)
    path = folder / CONFIG
    if not folder.is_dir():
        raise FileNotFoundError(f"checkpoint folder {folder} does not exist")
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {folder} has no {CONFIG}")
    try:
        config = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from None
    version = config.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(f"{path}: checkpoint format {version!r}, this mist reads format {FORMAT_VERSION}")
    return config


def load_checkpoint(folder) -> tuple[torch.nn.Module, dict]:
    """Rebuild the model from config.json and fill it from model.safetensors (strictly).

    A folder whose config lists `experts` is a routed checkpoint: each expert is a checkpoint in
    a subfolder with the N where its range starts; the result is a RoutedMI."""
    folder = Path(folder)
    config = read_config(folder)
    if "experts" in config:
        return _load_routed(folder, config)
    weights = folder / WEIGHTS
    if not weights.is_file():
        raise FileNotFoundError(f"checkpoint {folder} has no {WEIGHTS}")
    try:
        model_config = ModelConfig(**config["model"])
    except TypeError as err:
        raise ValueError(f"{folder / CONFIG}: model config does not match this mist version: {err}") from None
    model = build_model(model_config)
    state = load_file(str(weights))
    expected = model.state_dict()
    missing, unexpected = set(expected) - set(state), set(state) - set(expected)
    bad_shapes = [k for k in set(expected) & set(state) if expected[k].shape != state[k].shape]
    if missing or unexpected or bad_shapes:
        raise ValueError(f"weights in {weights} do not match the architecture in {CONFIG}: "
                         f"missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}, "
                         f"wrong shapes {sorted(bad_shapes)[:5]}")
    model.load_state_dict(state)
    calibration = config.get("calibration")
    model.head.set_calibration(calibration["offsets_z"] if calibration else None)
    model.eval()
    return model, config


def _load_routed(folder: Path, config: dict) -> tuple[RoutedMI, dict]:
    experts, starts, expert_configs = [], [], []
    for spec in config["experts"]:
        name = str(spec.get("folder", ""))
        if not name or Path(name).name != name or name in (".", ".."):
            raise ValueError(f"{folder / CONFIG}: expert folder {name!r} must be a plain subfolder name")
        if "experts" in read_config(folder / name):
            raise ValueError(f"{folder / name}: routed checkpoints cannot be nested")
        model, sub_config = load_checkpoint(folder / name)
        experts.append(model)
        starts.append(int(spec["n_min"]))
        expert_configs.append(sub_config)
    routed = RoutedMI(experts, starts, blend=float(config.get("blend", 1.0))).eval()
    return routed, {**config, "expert_configs": expert_configs}


def training_prior(config: dict) -> dict:
    """The prior settings a (single-network) checkpoint was trained with; {} if unrecorded."""
    return config.get("training", {}).get("config", {}).get("data", {}).get("prior", {})


def trained_n_max(config: dict) -> int:
    """The largest N a checkpoint was trained on (routed: over its experts); 2048 if unrecorded."""
    if "expert_configs" in config:
        return max(trained_n_max(c) for c in config["expert_configs"])
    return int(training_prior(config).get("n_max", 2048))
