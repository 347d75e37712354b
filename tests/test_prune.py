"""Structured pruning of the pooled block (small real models)."""

import pytest
import torch

from mist.network.config import ModelConfig, build_model
from mist.train.prune import prune_hidden_units, unit_importance

CFG = dict(arch="pooled", width=8, heads=2, blocks=1, pair_channels=4, head_width=16, debiased_copula=True)


def _batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(3, 60, 2, generator=g)
    return {"x": x, "y": x[..., :1] + 0.5 * torch.randn(3, 60, 3, generator=g)}


def test_keeping_every_unit_changes_nothing():
    torch.manual_seed(0)
    m = build_model(ModelConfig(**CFG)).eval()
    b = _batch()
    pruned = prune_hidden_units(m, torch.arange(16))
    torch.testing.assert_close(pruned(b["x"], b["y"]), m(b["x"], b["y"]))


def test_units_without_output_weights_have_zero_importance_and_prune_exactly():
    torch.manual_seed(0)
    m = build_model(ModelConfig(**CFG)).eval()
    dead = torch.tensor([1, 4, 5, 9, 12])
    with torch.no_grad():
        m.blocks[0].out.weight[:, dead] = 0.0
    b = _batch()
    importance = unit_importance(m, [b, _batch(1)])
    assert torch.equal(importance[dead], torch.zeros(len(dead))) and (importance.sum() > 0)
    keep = torch.nonzero(importance).squeeze(1)  # also drops units that never fire on these sets
    assert not set(keep.tolist()) & set(dead.tolist()) and len(keep) >= 4
    pruned = prune_hidden_units(m, keep)
    assert pruned.cfg.block_hidden == len(keep) and pruned.blocks[0].out.weight.shape == (8, len(keep))
    torch.testing.assert_close(pruned(b["x"], b["y"]), m(b["x"], b["y"]))
    # and the pruned model's table path agrees with its per-cell path
    from mist.network.normalize import rank_codes, rank_gauss
    with torch.inference_mode():
        xy = torch.cat([b["x"], b["y"]], dim=-1)
        torch.testing.assert_close(pruned.forward_codes(rank_codes(xy), 2), pruned.forward_scores(rank_gauss(xy), 2),
                                   atol=1e-5, rtol=1e-5)


def test_pruning_refuses_other_architectures():
    m = build_model(ModelConfig(**{**CFG, "arch": "two_axis"}))
    with pytest.raises(ValueError, match="one block"):
        prune_hidden_units(m, torch.arange(4))


def test_importance_is_the_mean_over_cells_of_the_per_cell_activations():
    # batches of different N weight cells, not columns; forward() would take the table path,
    # where the block's out layer only sees per-column means
    from mist.network.normalize import normalize_cells
    torch.manual_seed(0)
    m = build_model(ModelConfig(**CFG)).eval()
    batches = [_batch(0), {k: v[:, :20] for k, v in _batch(1).items()}]
    seen = []
    hook = m.blocks[0].out.register_forward_pre_hook(lambda mod, args: seen.append(args[0].reshape(-1, 16)))
    with torch.inference_mode():
        for b in batches:
            m.forward_scores(normalize_cells(b["x"], b["y"], None), 2)
    hook.remove()
    expected = torch.cat(seen).mean(0) * m.blocks[0].out.weight.detach().norm(dim=0)
    torch.testing.assert_close(unit_importance(m, batches), expected)
