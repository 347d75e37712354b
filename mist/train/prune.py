"""Structured pruning of a one-block pooled model: keep the block's most useful hidden units.

The block's hidden layer is most of the pooled model's per-cell work at inference. Unit j adds
out.weight[:, j] * relu(z_j) to every cell, so its importance is mean(relu(z_j)) over cells
times |out.weight[:, j]|; a unit that never fires has importance 0 and removing it changes
nothing. Pruning copies the kept units' rows of cell / own_block / other_block / column and
their columns of out; every other tensor is unchanged.
"""

from __future__ import annotations

import torch

from mist.network.config import ModelConfig, build_model
from mist.network.normalize import normalize_cells
from mist.network.pooled import PooledMI


def _check(model) -> None:
    if not isinstance(model, PooledMI) or len(model.blocks) != 1:
        raise ValueError(f"pruning needs a pooled model with one block, got {type(model).__name__}")


def unit_importance(model: PooledMI, batches) -> torch.Tensor:
    """(H,) mean relu(z_j) over every cell of `batches` (dicts with x (B, N, dx), y (B, N, dy)),
    times the norm of out.weight[:, j]."""
    _check(model)
    out = model.blocks[0].out
    sums = []

    def record(module, args):  # out's input is relu(z), (B, N, C, H)
        r = args[0].reshape(-1, args[0].shape[-1])
        sums.append((r.sum(0), len(r)))

    hook = out.register_forward_pre_hook(record)
    try:
        with torch.inference_mode():
            for batch in batches:  # the per-cell path: forward() takes the table path, where
                x, y = batch["x"], batch["y"]  # out only sees per-column means of relu(z)
                model.forward_scores(normalize_cells(x, y, None), x.shape[-1])
    finally:
        hook.remove()
    mean_r = sum(s for s, _ in sums) / sum(k for _, k in sums)
    return mean_r * out.weight.detach().norm(dim=0)


def prune_hidden_units(model: PooledMI, keep: torch.Tensor) -> PooledMI:
    """A new model whose block keeps only hidden units `keep` (1-D indices), in that order."""
    _check(model)
    keep = torch.as_tensor(keep, dtype=torch.long)
    pruned = build_model(ModelConfig(**{**model.cfg.to_dict(), "block_hidden": len(keep)}))
    state = model.state_dict()
    for name in ("cell.weight", "cell.bias", "own_block.weight", "other_block.weight", "column.weight"):
        state[f"blocks.0.{name}"] = state[f"blocks.0.{name}"][keep]
    state["blocks.0.out.weight"] = state["blocks.0.out.weight"][:, keep]
    pruned.load_state_dict(state)
    return pruned.eval()
