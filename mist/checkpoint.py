"""Inference checkpoints: the one module that reads and writes them.

A checkpoint is a folder with `config.json` and `model.safetensors`. safetensors holds tensors
only, so loading can never execute code (unlike pickle). The JSON carries what rebuilds the model
(its architecture config), the N range it serves, the format and package versions, and records of
how it was trained, calibrated and measured, so a checkpoint explains itself. A routed checkpoint
(network/routed.py) lists experts instead: each is a checkpoint in a plain subfolder.

Format history (read_config migrates older formats in memory; old folders keep loading):
  1: conformal offsets in config.json["calibration"]["offsets_z"]; the served N range implied by
     the Hydra training config (training.config.data.prior.n_max).
  2: offsets are the weight `head.calibration_z` (the model's state); `served_n` is explicit.

Everything read is checked: every error is a ValueError or FileNotFoundError naming the file and
the field, sizes are bounded (a config cannot make the loader hang or exhaust memory), weights
must be finite float32 tensors of the architecture's exact names and shapes.
"""

from __future__ import annotations

import json
import math
from dataclasses import fields
from importlib import resources
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from mist import __version__
from mist.network.config import ModelConfig, build_model
from mist.network.routed import RoutedMI
from mist.network.stat_head import NETWORK_LEVELS, STATISTICS, StatHead

FORMAT_VERSION = 2
READS_FORMATS = (1, 2)
WEIGHTS, CONFIG, CARD = "model.safetensors", "config.json", "MODEL_CARD.md"
STAT_HEAD, STAT_HEAD_WEIGHTS = "stat_head", "stat_head.safetensors"  # optional (design §12q)
DEFAULT_CHECKPOINT = "mist-default"
CALIBRATION_KEY = "head.calibration_z"
_V1_SERVED_N = (8, 2048)  # what a format-1 checkpoint without a training record was used for
MAX_N_LIMIT = 10**7

# upper bounds on the architecture fields: far above any trained model, low enough that building
# the model stays fast and small whatever a config.json says
_SIZE_LIMITS = {"width": 4096, "heads": 256, "blocks": 64, "n_inducing": 4096, "pair_channels": 4096,
                "head_width": 16384, "max_dim": 4096, "block_hidden": 65536,
                "poly_degree": 6, "poly_max_features": 4096}
_ARCHS = ("two_axis", "pooled", "row_set")


# ------------------------------------------------------------------------------------ names
def default_checkpoint_path(name: str = DEFAULT_CHECKPOINT) -> Path:
    """A checkpoint shipped inside the package (the repository's checkpoints/ folder)."""
    return Path(str(resources.files("mist.checkpoints").joinpath(name)))


def shipped_checkpoints() -> list[str]:
    """Names of the checkpoints shipped with the package, e.g. ["mist-default"]."""
    root = Path(str(resources.files("mist.checkpoints")))
    return sorted(p.name for p in root.iterdir() if (p / CONFIG).is_file())


def resolve_checkpoint(path=None) -> Path:
    """None -> the default shipped checkpoint; an existing folder -> itself; otherwise the name of
    a shipped checkpoint ("mist-default"). Anything else is a FileNotFoundError that lists the names."""
    if path is None:
        return default_checkpoint_path()
    if not isinstance(path, (str, Path)):
        raise TypeError(f"checkpoint must be a folder path or the name of a shipped checkpoint, got {type(path).__name__}")
    if Path(path).is_dir():
        return Path(path)
    if str(path) in shipped_checkpoints():
        return default_checkpoint_path(str(path))
    raise FileNotFoundError(f"no checkpoint folder {str(path)!r}, and no shipped checkpoint of that name "
                            f"(shipped: {shipped_checkpoints()})")


# ---------------------------------------------------------------------------------- writing
def save_checkpoint(model: torch.nn.Module, model_config: ModelConfig, folder, training: dict | None = None,
                    served_n: tuple[int, int] | None = None) -> Path:
    """Write a single-network checkpoint. served_n: the (min, max) N it is meant for; by default
    the N range of the training prior recorded in `training` (training.config.data.prior)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _write_weights(model, folder)
    training = training or {}
    if served_n is None:
        prior = _training_prior(training)
        served_n = (int(prior.get("n_min", _V1_SERVED_N[0])), int(prior.get("n_max", _V1_SERVED_N[1])))
    config = {"format_version": FORMAT_VERSION, "mist_version": __version__, "model": model_config.to_dict(),
              "served_n": [int(served_n[0]), int(served_n[1])], "training": training}
    _write_config(folder, config)
    return folder


def save_routed(folder, experts: list[tuple[str, int]], blend: float = 1.0) -> Path:
    """Write the top-level config of a routed checkpoint whose experts are already saved in the
    subfolders named in `experts` [(subfolder, smallest N it serves)]. The served range runs from
    the first expert's n_min to the largest N any expert serves."""
    folder = Path(folder)
    specs = [{"folder": name, "n_min": int(n_min)} for name, n_min in experts]
    config = {"format_version": FORMAT_VERSION, "mist_version": __version__, "experts": specs, "blend": float(blend)}
    _check_routed(folder, config)
    top = max(read_config(folder / s["folder"])["served_n"][1] for s in specs)
    config["served_n"] = [specs[0]["n_min"], top]
    _write_config(folder, config)
    return folder


def update_record(folder, **records) -> dict:
    """Set top-level record fields (e.g. card=..., calibration=...) in folder/config.json, keeping
    everything else. The architecture, weights format and served range cannot be changed this way."""
    for key in records:
        if key in ("format_version", "model", "experts", "served_n"):
            raise ValueError(f"update_record cannot change {key!r}; write a new checkpoint instead")
    config = read_config(folder)
    _upgrade_on_disk_if_needed(folder, config)
    stored = json.loads((Path(folder) / CONFIG).read_text())
    stored.update(records)
    _write_config(Path(folder), stored)
    return stored


def write_calibration(folder, offsets_z: list[float], record: dict) -> None:
    """Store conformal offsets in a single-network checkpoint: as the weight head.calibration_z
    (what the model applies) and, with `record` (how they were fitted), in config.json."""
    model, config = load_checkpoint(folder)
    if "experts" in config:
        raise ValueError(f"{folder}: calibrate each expert of a routed checkpoint in its own subfolder")
    model.head.set_calibration(offsets_z)
    _write_weights(model, Path(folder))  # update_record then writes config.json in the current format
    update_record(folder, calibration={**record, "offsets_z": [float(v) for v in offsets_z]})


def save_stat_head(folder, head: StatHead, record: dict) -> None:
    """Store the singular-regime head (mist.network.stat_head) in a checkpoint: its weights in
    stat_head.safetensors, what rebuilds and bounds it (and `record`: how it was fitted) in
    config.json["stat_head"]."""
    folder = Path(folder)
    state = {k: v.detach().cpu().float().contiguous() for k, v in head.state_dict().items()}
    save_file(state, str(folder / STAT_HEAD_WEIGHTS))
    spec = {"file": STAT_HEAD_WEIGHTS, "width": head.head.mlp[0].out_features, "statistics": list(STATISTICS),
            "network_levels": list(NETWORK_LEVELS), **record}
    _check_stat_head(spec, folder / CONFIG)
    update_record(folder, **{STAT_HEAD: spec})


def load_stat_head(folder, config: dict, levels) -> tuple[StatHead, dict] | None:
    """(the head, its config record) of a checkpoint, or None when it has none. The weights are
    checked as the network's are (names, shapes, float32, finite); a head for other quantile
    levels or other statistics than this mist version computes is refused."""
    spec = config.get(STAT_HEAD)
    if spec is None:
        return None
    head = StatHead(spec["width"], levels)
    if len(spec["levels"]) != len(levels) or any(abs(a - b) > 1e-6 for a, b in zip(spec["levels"], levels)):
        raise ValueError(f"{Path(folder) / CONFIG}: field 'stat_head.levels' {spec['levels']} differs from the "
                         f"network's quantile levels {list(levels)}")
    weights = Path(folder) / spec["file"]
    state = _read_weights(weights)
    _check_state(state, head.state_dict(), weights, f"field '{STAT_HEAD}' of {CONFIG}")
    head.load_state_dict(state)
    return head.eval(), spec


def upgrade_checkpoint(folder) -> bool:
    """Rewrite an older-format checkpoint (and its experts) in the current format, in place.
    Weights and outputs are unchanged. Returns whether anything was rewritten."""
    config = read_config(folder)
    changed = False
    for spec in config.get("experts", []):
        changed |= upgrade_checkpoint(Path(folder) / spec["folder"])
    return _upgrade_on_disk_if_needed(folder, config) or changed


def _upgrade_on_disk_if_needed(folder, config: dict) -> bool:
    folder = Path(folder)
    if json.loads((folder / CONFIG).read_text()).get("format_version") == FORMAT_VERSION:
        return False
    if "experts" not in config:
        model, _ = load_checkpoint(folder)
        _write_weights(model, folder)
    stored = {k: v for k, v in config.items() if k not in ("expert_configs", "source_format")}
    _write_config(folder, stored)
    return True


def _write_weights(model: torch.nn.Module, folder: Path) -> None:
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / WEIGHTS))


def _write_config(folder: Path, config: dict) -> None:
    tmp = folder / (CONFIG + ".tmp")  # write then rename: a crash never leaves half a config
    tmp.write_text(json.dumps(config, indent=2, default=str) + "\n")
    tmp.replace(folder / CONFIG)


# ---------------------------------------------------------------------------------- reading
def read_config(folder) -> dict:
    """config.json of a checkpoint folder, checked and migrated to the current format (in
    memory; `source_format` says what was on disk)."""
    folder = Path(folder)
    path = folder / CONFIG
    if not folder.is_dir():
        raise FileNotFoundError(f"checkpoint folder {folder} does not exist")
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {folder} has no {CONFIG}")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(config).__name__}")
    version = config.get("format_version")
    if version not in READS_FORMATS or isinstance(version, bool):
        raise ValueError(f"{path}: format_version {version!r}; this mist (version {__version__}) reads formats "
                         f"{list(READS_FORMATS)}")
    config = dict(config, source_format=version)
    if "experts" in config:
        _check_routed(folder, config)
        if version == 1:
            tops = [read_config(folder / s["folder"])["served_n"][1] for s in config["experts"]]
            config["served_n"] = [config["experts"][0]["n_min"], max(tops)]
    else:
        _check_model_config(config.get("model"), path)
        # written before sign orientation existed: those networks read unoriented scores
        config["model"] = {"orient_signs": False, **config["model"]}
        if version == 1:
            prior = _training_prior(config.get("training"))
            config["served_n"] = [prior.get("n_min", _V1_SERVED_N[0]), prior.get("n_max", _V1_SERVED_N[1])]
    config["served_n"] = _check_served_n(config.get("served_n"), path)
    if "regime_calibration" in config:
        _check_regime_calibration(config["regime_calibration"], path)
    if STAT_HEAD in config:
        _check_stat_head(config[STAT_HEAD], path)
    config["format_version"] = FORMAT_VERSION
    return config


def load_checkpoint(folder) -> tuple[torch.nn.Module, dict]:
    """Rebuild the model from config.json and fill it from model.safetensors (strictly, checked).

    A folder whose config lists `experts` is a routed checkpoint: each expert is a checkpoint in
    a subfolder with the N where its range starts; the result is a RoutedMI."""
    folder = Path(folder)
    config = read_config(folder)
    if "experts" in config:
        return _load_routed(folder, config)
    model_config = ModelConfig(**config["model"])
    try:
        model = build_model(model_config)
    except ValueError as err:
        raise ValueError(f"{folder / CONFIG}: field 'model': {err}") from None
    model.load_state_dict(read_state(folder, config, model))
    model.eval()
    return model, config


def read_state(folder, config: dict, model: torch.nn.Module) -> dict:
    """The checked, migrated state dict of a single-network checkpoint, for `model` (built from
    its config): exact names and shapes, float32, finite."""
    weights = Path(folder) / WEIGHTS
    if not weights.is_file():
        raise FileNotFoundError(f"checkpoint {folder} has no {WEIGHTS}")
    state = _read_weights(weights)
    expected = model.state_dict()
    if config.get("source_format") == 1 and CALIBRATION_KEY in expected and CALIBRATION_KEY not in state:
        offsets = (config.get("calibration") or {}).get("offsets_z")
        state[CALIBRATION_KEY] = _v1_offsets(offsets, expected[CALIBRATION_KEY], Path(folder) / CONFIG)
    _check_state(state, expected, weights, f"the architecture in {CONFIG}")
    return state


def _read_weights(weights: Path) -> dict:
    try:
        return load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as err:
        raise ValueError(f"{weights}: not a readable safetensors file ({err})") from None


def _check_state(state: dict, expected: dict, weights: Path, against: str) -> None:
    """The tensors read from `weights` have exactly the names, shapes and dtypes of `expected`
    (a module's state_dict) and are finite; else a ValueError naming the file and the tensor."""
    missing, unexpected = set(expected) - set(state), set(state) - set(expected)
    bad_shapes = sorted(k for k in set(expected) & set(state) if expected[k].shape != state[k].shape)
    if missing or unexpected or bad_shapes:
        raise ValueError(f"weights in {weights} do not match {against}: "
                         f"missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}, "
                         f"wrong shapes {[(k, tuple(state[k].shape)) for k in bad_shapes[:5]]}")
    for name, tensor in state.items():
        if tensor.dtype != expected[name].dtype:
            raise ValueError(f"{weights}: tensor {name!r} has dtype {tensor.dtype}, expected {expected[name].dtype}")
        if not torch.isfinite(tensor).all():
            raise ValueError(f"{weights}: tensor {name!r} has NaN or inf values (weights must be finite)")


def _v1_offsets(offsets, like: torch.Tensor, path: Path) -> torch.Tensor:
    if offsets is None:
        return torch.zeros_like(like)
    try:
        values = torch.tensor([float(v) for v in offsets], dtype=like.dtype)
    except (TypeError, ValueError):
        raise ValueError(f"{path}: field 'calibration.offsets_z' must be a list of numbers") from None
    if values.shape != like.shape or not torch.isfinite(values).all():
        raise ValueError(f"{path}: field 'calibration.offsets_z' must hold {like.numel()} finite numbers, "
                         f"got {offsets!r:.200}")
    return values


def _load_routed(folder: Path, config: dict) -> tuple[RoutedMI, dict]:
    experts, starts, expert_configs = [], [], []
    for spec in config["experts"]:
        model, sub_config = load_checkpoint(folder / spec["folder"])
        experts.append(model)
        starts.append(spec["n_min"])
        expert_configs.append(sub_config)
    try:
        routed = RoutedMI(experts, starts, blend=config.get("blend", 1.0)).eval()
    except ValueError as err:
        raise ValueError(f"{folder / CONFIG}: {err}") from None
    return routed, {**config, "expert_configs": expert_configs}


# ----------------------------------------------------------------------------------- checks
def _check_model_config(model: dict, path: Path) -> None:
    if not isinstance(model, dict):
        raise ValueError(f"{path}: field 'model' must be an object with the architecture, got {type(model).__name__}")
    known = {f.name: f for f in fields(ModelConfig)}
    unknown = sorted(set(model) - set(known))
    if unknown:
        raise ValueError(f"{path}: field 'model' has keys {unknown} that this mist version does not know")
    for key, value in model.items():
        where = f"{path}: field 'model.{key}'"
        if key in _SIZE_LIMITS:
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _SIZE_LIMITS[key]:
                raise ValueError(f"{where} must be an integer in [0, {_SIZE_LIMITS[key]}], got {value!r:.100}")
        elif key == "arch" and value not in _ARCHS:
            raise ValueError(f"{where} must be one of {list(_ARCHS)}, got {value!r:.100}")
        elif key == "gram_dtype" and value not in ("float32", "float64"):
            raise ValueError(f"{where} must be 'float32' or 'float64', got {value!r:.100}")
        elif key in ("debiased_copula", "orient_signs") and not isinstance(value, bool):
            raise ValueError(f"{where} must be true or false, got {value!r:.100}")
        elif key == "ridge" and not (_is_real(value) and 0 <= value < 1e6):
            raise ValueError(f"{where} must be a finite number >= 0, got {value!r:.100}")
        elif key == "levels":
            _check_levels(value, where)
        elif key == "hist_bins" and not (isinstance(value, list) and len(value) <= 8 and all(
                isinstance(r, int) and not isinstance(r, bool) and 2 <= r <= 64 for r in value)):
            raise ValueError(f"{where} must be a list of at most 8 integers in [2, 64], got {value!r:.100}")
    for key in ("hist_bins", "poly_degree"):
        if model.get(key) and model.get("arch") != "pooled":
            raise ValueError(f"{path}: field 'model.{key}' is only read by arch 'pooled'")
    if model.get("poly_degree") == 1:
        raise ValueError(f"{path}: field 'model.poly_degree' must be 0 (none) or 2..6, got 1")
    for key in ("width", "heads", "head_width"):
        if key in model and model[key] < 1:
            raise ValueError(f"{path}: field 'model.{key}' must be >= 1, got {model[key]}")
    width, heads = model.get("width", ModelConfig.width), model.get("heads", ModelConfig.heads)
    if width % heads:
        raise ValueError(f"{path}: field 'model.width' ({width}) must be a multiple of 'model.heads' ({heads})")


def _check_levels(levels, where: str) -> None:
    ok = isinstance(levels, list) and 3 <= len(levels) <= 99 and len(levels) % 2 == 1 and all(map(_is_real, levels))
    if ok:
        ok = all(0 < a < b < 1 for a, b in zip(levels, levels[1:])) and abs(levels[len(levels) // 2] - 0.5) < 1e-6
    if not ok:
        raise ValueError(f"{where} must be an odd-length increasing list of levels in (0, 1) with 0.5 in the "
                         f"middle, got {levels!r:.200}")


def _check_routed(folder: Path, config: dict) -> None:
    path = folder / CONFIG
    experts = config.get("experts")
    if not isinstance(experts, list) or not experts or len(experts) > 16:
        raise ValueError(f"{path}: field 'experts' must be a list of 1 to 16 experts")
    for i, spec in enumerate(experts):
        if not isinstance(spec, dict):
            raise ValueError(f"{path}: field 'experts[{i}]' must be an object with 'folder' and 'n_min'")
        name, n_min = spec.get("folder"), spec.get("n_min")
        if not isinstance(name, str) or not name or Path(name).name != name or name in (".", ".."):
            raise ValueError(f"{path}: field 'experts[{i}].folder' must be a plain subfolder name, got {name!r:.100}")
        if not isinstance(n_min, int) or isinstance(n_min, bool) or not 2 <= n_min <= MAX_N_LIMIT:
            raise ValueError(f"{path}: field 'experts[{i}].n_min' must be an integer in [2, {MAX_N_LIMIT}], got {n_min!r:.100}")
        sub = folder / name / CONFIG
        if sub.is_file():
            try:
                nested = "experts" in json.loads(sub.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError, TypeError):
                nested = False  # read_config of the expert reports it
            if nested:
                raise ValueError(f"{folder / name}: routed checkpoints cannot be nested")
    blend = config.get("blend", 1.0)
    if not _is_real(blend) or not 1 <= blend <= 100:
        raise ValueError(f"{path}: field 'blend' must be a number in [1, 100], got {blend!r:.100}")


REGIMES = ("reduced", "singular")  # mist.regime_calibration


def _check_regime_calibration(value, path: Path) -> None:
    where = f"{path}: field 'regime_calibration'"
    if not isinstance(value, dict):
        raise ValueError(f"{where} must be an object with 'regime', 'n_range' and 'offsets_z', got {value!r:.100}")
    if value.get("regime") not in REGIMES:
        raise ValueError(f"{where}.regime must be one of {list(REGIMES)}, got {value.get('regime')!r:.100}")
    n_range = value.get("n_range")
    if not _is_n_range(n_range):
        raise ValueError(f"{where}.n_range must be [n_min, n_max] with 2 <= n_min <= n_max, got {n_range!r:.100}")
    offsets = value.get("offsets_z")
    ok = isinstance(offsets, list) and 3 <= len(offsets) <= 99 and len(offsets) % 2 == 1 and all(
        _is_real(v) and abs(v) <= 10 for v in offsets)
    if not ok or offsets[len(offsets) // 2] != 0:
        raise ValueError(f"{where}.offsets_z must be an odd-length list of finite z offsets in [-10, 10] with 0 "
                         f"in the middle, got {offsets!r:.200}")


def _check_stat_head(value, path: Path) -> None:
    def where(key=""):
        return f"{path}: field '{STAT_HEAD}{'.' + key if key else ''}'"
    if not isinstance(value, dict):
        raise ValueError(f"{where()} must be an object, got {value!r:.100}")
    if value.get("file") != STAT_HEAD_WEIGHTS:  # a fixed name: a config cannot point the loader elsewhere
        raise ValueError(f"{where('file')} must be {STAT_HEAD_WEIGHTS!r}, got {value.get('file')!r:.100}")
    if value.get("statistics") != list(STATISTICS) or value.get("network_levels") != list(NETWORK_LEVELS):
        raise ValueError(f"{where('statistics')}: the head reads statistics or network levels this mist version "
                         f"does not compute ({str(value.get('statistics'))[:120]})")
    width = value.get("width")
    if not isinstance(width, int) or isinstance(width, bool) or not 1 <= width <= 4096:
        raise ValueError(f"{where('width')} must be an integer in [1, 4096], got {width!r:.100}")
    n_range, dim_max = value.get("n_range"), value.get("dim_max")
    if not _is_n_range(n_range):
        raise ValueError(f"{where('n_range')} must be [n_min, n_max] with 2 <= n_min <= n_max, got {n_range!r:.100}")
    if not isinstance(dim_max, int) or isinstance(dim_max, bool) or not 1 <= dim_max <= 4096:
        raise ValueError(f"{where('dim_max')} must be an integer in [1, 4096], got {dim_max!r:.100}")
    _check_levels(value.get("levels"), where("levels"))


def regime_calibration(config: dict, n_levels: int) -> tuple[str, tuple[int, int], torch.Tensor] | None:
    """(regime, (n_min, n_max), z offsets (n_levels,) float64) of the estimator-level conformal step
    (docs/design.md §12f; fitted by mist.regime_calibration), or None when the checkpoint has none."""
    record = config.get("regime_calibration")
    if record is None:
        return None
    offsets = record["offsets_z"]  # checked by read_config
    if len(offsets) != n_levels:
        raise ValueError(f"field 'regime_calibration' has {len(offsets)} offsets for the network's "
                         f"{n_levels} quantile levels")
    return record["regime"], tuple(record["n_range"]), torch.tensor(offsets, dtype=torch.float64)


def _check_served_n(value, path: Path) -> list[int]:
    ok = isinstance(value, (list, tuple)) and len(value) == 2 and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value)
    if not ok or not 2 <= value[0] <= value[1] <= MAX_N_LIMIT:
        raise ValueError(f"{path}: field 'served_n' must be [n_min, n_max] with 2 <= n_min <= n_max <= "
                         f"{MAX_N_LIMIT}, got {value!r:.100}")
    return [int(value[0]), int(value[1])]


def _is_n_range(v) -> bool:
    """[n_min, n_max] of ints with 2 <= n_min <= n_max."""
    return (isinstance(v, list) and len(v) == 2 and all(isinstance(k, int) and not isinstance(k, bool) for k in v)
            and 2 <= v[0] <= v[1])


def _is_real(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _training_prior(training) -> dict:
    """The prior settings a network was trained with, from its training record; {} if unrecorded."""
    try:
        prior = training.get("config", {}).get("data", {}).get("prior", {})
    except AttributeError:
        return {}
    return prior if isinstance(prior, dict) else {}


def training_prior(config: dict) -> dict:
    """The prior settings a (single-network) checkpoint was trained with; {} if unrecorded."""
    return _training_prior(config.get("training"))


def served_n_max(config: dict) -> int:
    """The largest N a loaded checkpoint serves without subset averaging (its config's served_n)."""
    return int(config["served_n"][1])


# mist.data.prior.PriorConfig.dim_max, for training records that leave it at its default (this
# layer does not import the generator; tests/test_reduce.py holds the two equal)
RECORD_DEFAULT_DIM_MAX = 32


def trained_dim_max(config: dict) -> int | None:
    """The most columns per side that a single network's prior drew (its training record);
    None when the config has no training record. (Routed checkpoints: MIEstimator.dim_max asks
    each expert the router blends at N.)"""
    if not isinstance(config.get("training"), dict):
        return None
    return int(training_prior(config).get("dim_max", RECORD_DEFAULT_DIM_MAX))
