"""Exact invariance to strictly decreasing per-coordinate maps (canonical column signs)."""

import numpy as np
import pytest
import torch

from mist.network.config import ModelConfig, build_model
from mist.network.normalize import orient_codes, rank_codes, score_table


def _data(seed, n=60, dx=3, dy=2):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, n, dx, generator=g, dtype=torch.float64)
    y = x[..., :dy].square() + 0.3 * torch.randn(2, n, dy, generator=g, dtype=torch.float64)
    return x, y


@pytest.mark.parametrize("arch", ["pooled", "two_axis", "row_set"])
def test_decreasing_maps_leave_the_output_unchanged(arch):
    model = build_model(ModelConfig(arch=arch, width=8, heads=2, blocks=1, n_inducing=2, pair_channels=4,
                                    head_width=16)).double().eval()
    for seed in range(3):
        x, y = _data(seed)
        fx, fy = torch.tensor([-1.0, 1.0, -1.0]), torch.tensor([1.0, -1.0])
        with torch.no_grad():
            a = model(x, y)
            b = model(torch.where(fx < 0, torch.exp(-x), x), torch.where(fy < 0, -y.pow(3), y))
            c = model(x, y, soft_ranks=0.05)
            d = model(x * fx, y * fy, soft_ranks=0.05)
        assert torch.equal(a, b)                      # hard ranks: exactly
        torch.testing.assert_close(c, d)              # soft ranks: to rounding


def test_without_orientation_the_network_is_not_invariant():
    """The test above can fail: an unoriented network tells x from -x."""
    model = build_model(ModelConfig(arch="pooled", width=8, heads=2, blocks=1, pair_channels=4, head_width=16,
                                    orient_signs=False)).double().eval()
    x, y = _data(0)
    with torch.no_grad():
        assert not torch.allclose(model(x, y), model(-x, y))


def test_orient_codes_mirrors_a_column_and_is_idempotent():
    x, y = _data(1)
    codes = rank_codes(torch.cat([x, y], -1))
    once = orient_codes(codes)
    assert torch.equal(orient_codes(once), once)
    n = codes.shape[-1]
    flipped = codes.clone()
    flipped[:, 1] = (2 * n - 2) - flipped[:, 1]   # a reversed column = mirrored codes
    assert torch.equal(orient_codes(flipped), once)
    t = score_table(n)
    assert torch.allclose(t, -t.flip(0))


def test_discrete_columns_orient_too():
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.integers(0, 3, (1, 200, 1)).astype(np.float64))
    y = x + torch.from_numpy(rng.standard_normal((1, 200, 1)))
    codes = rank_codes(torch.cat([x, y], -1))
    assert torch.equal(orient_codes(rank_codes(torch.cat([-x, y], -1))), orient_codes(codes))


def test_old_checkpoints_keep_unoriented_scores(tmp_path):
    """A config written before orient_signs existed (no such key) loads unoriented, as trained."""
    import json

    from mist.checkpoint import load_checkpoint, save_checkpoint
    from mist.network.config import ModelConfig, build_model
    cfg = ModelConfig(width=8, heads=2, blocks=1, n_inducing=2, pair_channels=2, head_width=16)
    save_checkpoint(build_model(cfg), cfg, tmp_path / "old")
    path = tmp_path / "old" / "config.json"
    config = json.loads(path.read_text())
    del config["model"]["orient_signs"]
    path.write_text(json.dumps(config))
    model, loaded = load_checkpoint(tmp_path / "old")
    assert loaded["model"]["orient_signs"] is False and model.cfg.orient_signs is False
