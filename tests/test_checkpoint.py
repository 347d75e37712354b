"""Checkpoints: one owner of the format (mist/checkpoint.py), old formats keep loading, and every
tampered or broken file is refused with an error that names the file and the field."""

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from mist import MIEstimator
from mist.checkpoint import (CALIBRATION_KEY, CONFIG, FORMAT_VERSION, WEIGHTS, load_checkpoint, read_config,
                             save_checkpoint, served_n_max, update_record, upgrade_checkpoint)
from mist.network.config import ModelConfig, build_model

FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE = json.loads((FIXTURES / "v1_reference_outputs.json").read_text())


def _outputs(model, key):
    ref = REFERENCE[key]
    with torch.no_grad():
        return model(torch.tensor(ref["x"]), torch.tensor(ref["y"])).double(), torch.tensor(ref["z"], dtype=torch.float64)


@pytest.mark.parametrize("name", ["ckpt_v1_single", "ckpt_v1_routed"])
def test_format_1_loads_and_gives_what_the_format_1_loader_gave(name, tmp_path):
    """Fixtures written by the format-1 code (before the calibration became a weight), with the
    outputs that code computed: the migrating loader reproduces them exactly, and so does the
    folder after upgrade_checkpoint rewrites it in the current format."""
    model, config = load_checkpoint(FIXTURES / name)
    assert config["source_format"] == 1 and config["format_version"] == FORMAT_VERSION
    for n in (20, 150):
        got, want = _outputs(model, f"{name}/{n}")
        torch.testing.assert_close(got, want, rtol=0, atol=1e-6)
    folder = tmp_path / name
    shutil.copytree(FIXTURES / name, folder)
    assert upgrade_checkpoint(folder) and not upgrade_checkpoint(folder)
    upgraded, config2 = load_checkpoint(folder)
    assert config2["source_format"] == FORMAT_VERSION and config2["served_n"] == config["served_n"]
    for n in (20, 150):
        got, want = _outputs(upgraded, f"{name}/{n}")
        torch.testing.assert_close(got, want, rtol=0, atol=1e-6)


def test_format_1_served_range_and_calibration_are_migrated():
    _, single = load_checkpoint(FIXTURES / "ckpt_v1_single")
    assert single["served_n"] == [8, 300]  # from the training record, now explicit
    model, routed = load_checkpoint(FIXTURES / "ckpt_v1_routed")
    assert routed["served_n"] == [8, 2048] and served_n_max(routed) == 2048
    torch.testing.assert_close(model.experts[1].head.calibration_z, torch.tensor([-0.04] * 4 + [0.0] + [0.04] * 4))


def test_calibration_is_state_not_a_loader_setting(tiny_checkpoint, tmp_path):
    """What model(x, y) returns does not depend on who loaded it: the offsets travel in the
    state dict, so a plain load_state_dict reproduces the calibrated model."""
    folder = tmp_path / "c"
    shutil.copytree(tiny_checkpoint, folder)
    model, _ = load_checkpoint(folder)
    model.head.set_calibration([-0.1, -0.1, -0.1, -0.1, 0.0, 0.1, 0.1, 0.1, 0.1])
    save_checkpoint(model, model.cfg, folder)
    other = build_model(model.cfg)
    other.load_state_dict(load_file(str(folder / WEIGHTS)))
    x, y = torch.randn(2, 30, 2), torch.randn(2, 30, 1)
    torch.testing.assert_close(other.eval()(x, y), load_checkpoint(folder)[0](x, y))
    assert CALIBRATION_KEY in load_file(str(folder / WEIGHTS))


def test_update_record_keeps_everything_else(tiny_checkpoint, tmp_path):
    folder = tmp_path / "c"
    shutil.copytree(tiny_checkpoint, folder)
    before = read_config(folder)
    update_record(folder, card={"measured": {"imd": 1.0}})
    after = read_config(folder)
    assert after["card"] == {"measured": {"imd": 1.0}} and after["model"] == before["model"]
    with pytest.raises(ValueError, match="cannot change 'model'"):
        update_record(folder, model={})


# --------------------------------------------------------------------------- tampering
def _single(tmp_path, tiny_checkpoint) -> Path:
    folder = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, folder)
    return folder


def _edit_config(folder, edit):
    path = folder / CONFIG
    config = json.loads(path.read_text())
    edit(config)
    path.write_text(json.dumps(config))


def _edit_weights(folder, edit):
    state = load_file(str(folder / WEIGHTS))
    edit(state)
    save_file(state, str(folder / WEIGHTS))


def _set_model(key, value):
    return lambda c: c["model"].__setitem__(key, value)


CONFIG_CASES = {
    "format": (lambda c: c.__setitem__("format_version", 99), "format_version"),
    "format_string": (lambda c: c.__setitem__("format_version", "2"), "format_version"),
    "no_model": (lambda c: c.pop("model"), "'model'"),
    "unknown_key": (_set_model("colour", "red"), "colour"),
    "huge_blocks": (_set_model("blocks", 100000), "model.blocks"),
    "negative_width": (_set_model("width", -1), "model.width"),
    "string_width": (_set_model("width", "16"), "model.width"),
    "zero_heads": (_set_model("heads", 0), "model.heads"),
    "indivisible_heads": (_set_model("heads", 3), "model.width"),
    "bad_arch": (_set_model("arch", "transformer"), "model.arch"),
    "bad_levels": (_set_model("levels", [0.9, 0.5, 0.1]), "model.levels"),
    "one_level": (_set_model("levels", [0.5]), "model.levels"),
    "nan_ridge": (_set_model("ridge", float("nan")), "model.ridge"),
    "served_n_reversed": (lambda c: c.__setitem__("served_n", [2048, 8]), "served_n"),
    "served_n_string": (lambda c: c.__setitem__("served_n", "all"), "served_n"),
    "served_n_huge": (lambda c: c.__setitem__("served_n", [8, 10**12]), "served_n"),
}


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_tampered_configs_are_refused_naming_file_and_field(case, tiny_checkpoint, tmp_path):
    folder = _single(tmp_path, tiny_checkpoint)
    edit, field = CONFIG_CASES[case]
    _edit_config(folder, edit)
    t0 = time.perf_counter()
    with pytest.raises(ValueError) as err:
        MIEstimator.from_pretrained(folder)
    assert time.perf_counter() - t0 < 10
    assert str(folder / CONFIG) in str(err.value) and field in str(err.value), str(err.value)


WEIGHT_CASES = {
    "nan": (lambda s: s["head.mlp.0.weight"].__setitem__((0, 0), float("nan")), "head.mlp.0.weight"),
    "inf": (lambda s: s["head.mlp.0.bias"].__setitem__(0, float("inf")), "head.mlp.0.bias"),
    "int32": (lambda s: s.__setitem__("head.mlp.0.bias", s["head.mlp.0.bias"].to(torch.int32)), "dtype"),
    "float64": (lambda s: s.__setitem__("head.mlp.0.bias", s["head.mlp.0.bias"].double()), "dtype"),
    "missing": (lambda s: s.pop("head.mlp.0.bias"), "missing"),
    "extra": (lambda s: s.__setitem__("evil", torch.zeros(1)), "unexpected"),
    "shape": (lambda s: s.__setitem__("head.mlp.0.bias", torch.zeros(3)), "wrong shapes"),
    "nan_calibration": (lambda s: s.__setitem__(CALIBRATION_KEY, torch.full((9,), float("nan"))), CALIBRATION_KEY),
}


@pytest.mark.parametrize("case", sorted(WEIGHT_CASES))
def test_tampered_weights_are_refused_naming_file_and_tensor(case, tiny_checkpoint, tmp_path):
    folder = _single(tmp_path, tiny_checkpoint)
    edit, field = WEIGHT_CASES[case]
    _edit_weights(folder, edit)
    with pytest.raises(ValueError) as err:
        load_checkpoint(folder)
    assert WEIGHTS in str(err.value) and field in str(err.value), str(err.value)


@pytest.mark.parametrize("content", [b"", b"\x00" * 7, b"not safetensors at all, just text", b"\xff" * 100])
def test_garbage_weight_files_are_refused_naming_the_file(content, tiny_checkpoint, tmp_path):
    folder = _single(tmp_path, tiny_checkpoint)
    (folder / WEIGHTS).write_bytes(content)
    with pytest.raises(ValueError, match="not a readable safetensors file") as err:
        load_checkpoint(folder)
    assert str(folder / WEIGHTS) in str(err.value)


def test_truncated_weight_file_is_refused(tiny_checkpoint, tmp_path):
    folder = _single(tmp_path, tiny_checkpoint)
    data = (folder / WEIGHTS).read_bytes()
    (folder / WEIGHTS).write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="safetensors"):
        load_checkpoint(folder)


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"\xff\xfe\x00garbage", b"null"])
def test_unreadable_configs_are_refused(content, tiny_checkpoint, tmp_path):
    folder = _single(tmp_path, tiny_checkpoint)
    (folder / CONFIG).write_bytes(content)
    with pytest.raises(ValueError) as err:
        load_checkpoint(folder)
    assert str(folder / CONFIG) in str(err.value)


def test_pickles_are_never_executed(tiny_checkpoint, tmp_path):
    """A malicious pickle in place of the weights is refused as not safetensors, and never run."""
    import pickle

    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    folder = _single(tmp_path, tiny_checkpoint)
    (folder / WEIGHTS).write_bytes(pickle.dumps(Evil()))
    with pytest.raises(ValueError):
        load_checkpoint(folder)
    assert not marker.exists()


V1_CALIBRATION_CASES = {"nan": [float("nan")] * 9, "short": [0.0, 0.1], "strings": ["a"] * 9, "number": 3}


@pytest.mark.parametrize("case", sorted(V1_CALIBRATION_CASES))
def test_format_1_calibration_offsets_are_checked(case, tmp_path):
    folder = tmp_path / "v1"
    shutil.copytree(FIXTURES / "ckpt_v1_single", folder)
    _edit_config(folder, lambda c: c["calibration"].__setitem__("offsets_z", V1_CALIBRATION_CASES[case]))
    with pytest.raises(ValueError, match="calibration.offsets_z") as err:
        load_checkpoint(folder)
    assert str(folder / CONFIG) in str(err.value)


ROUTED_CASES = {
    "experts_not_list": (lambda c: c.__setitem__("experts", "expert0"), "experts"),
    "experts_empty": (lambda c: c.__setitem__("experts", []), "experts"),
    "expert_not_object": (lambda c: c["experts"].__setitem__(0, "expert0"), "experts[0]"),
    "n_min_string": (lambda c: c["experts"][1].__setitem__("n_min", "128"), "experts[1].n_min"),
    "n_min_missing": (lambda c: c["experts"][1].pop("n_min"), "experts[1].n_min"),
    "n_min_order": (lambda c: c["experts"][1].__setitem__("n_min", 4), "strictly increasing"),
    "blend_nan": (lambda c: c.__setitem__("blend", float("nan")), "blend"),
    "blend_small": (lambda c: c.__setitem__("blend", 0.5), "blend"),
    "folder_missing": (lambda c: c["experts"][1].__setitem__("folder", "nowhere"), "nowhere"),
}


@pytest.mark.parametrize("case", sorted(ROUTED_CASES))
def test_tampered_routed_configs_are_refused(case, tmp_path):
    folder = tmp_path / "routed"
    shutil.copytree(FIXTURES / "ckpt_v1_routed", folder)
    edit, field = ROUTED_CASES[case]
    _edit_config(folder, edit)
    with pytest.raises((ValueError, FileNotFoundError)) as err:
        load_checkpoint(folder)
    assert field in str(err.value) and str(folder) in str(err.value), str(err.value)


def test_missing_files_are_named(tiny_checkpoint, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_checkpoint(tmp_path / "nowhere")
    folder = _single(tmp_path, tiny_checkpoint)
    (folder / WEIGHTS).unlink()
    with pytest.raises(FileNotFoundError, match=WEIGHTS):
        load_checkpoint(folder)
    with pytest.raises(FileNotFoundError, match="no checkpoint folder"):
        MIEstimator.from_pretrained("no-such-checkpoint")
    with pytest.raises(TypeError, match="checkpoint must be"):
        MIEstimator.from_pretrained(3.5)


def test_saved_checkpoint_round_trips(tmp_path):
    torch.manual_seed(1)
    cfg = ModelConfig(arch="pooled", width=8, heads=2, blocks=1, pair_channels=2, head_width=16)
    model = build_model(cfg).eval()
    folder = save_checkpoint(model, cfg, tmp_path / "p", training={"config": {"data": {"prior": {"n_max": 500}}}})
    loaded, config = load_checkpoint(folder)
    assert config["served_n"] == [8, 500] and config["source_format"] == FORMAT_VERSION
    est = MIEstimator(loaded, config)
    assert est.max_n == 500
    x = np.random.default_rng(0).normal(size=(40, 2))
    assert np.isfinite(est.estimate(x, x + 1 + np.random.default_rng(1).normal(size=(40, 2))).mi)
