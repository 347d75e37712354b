"""Warm start: a checkpoint's weights in a model whose head reads extra (zero-weighted) inputs."""

import pytest
import torch

from mist.checkpoint import load_checkpoint
from mist.network.config import ModelConfig, build_model
from mist.train.warm_start import warm_start


def test_widened_head_starts_exactly_where_the_checkpoint_was(tiny_checkpoint):
    old, config = load_checkpoint(tiny_checkpoint)
    new = build_model(ModelConfig(**{**config["model"], "debiased_copula": True})).eval()
    warm_start(new, tiny_checkpoint)
    x, y = torch.randn(2, 25, 2), torch.randn(2, 25, 3)
    torch.testing.assert_close(new(x, y), old(x, y))
    assert new.head.mlp[0].weight[:, -3:].abs().sum() == 0


def test_incompatible_architecture_is_refused(tiny_checkpoint):
    _, config = load_checkpoint(tiny_checkpoint)
    wider = build_model(ModelConfig(**{**config["model"], "width": 16}))
    with pytest.raises(ValueError, match="shape"):
        warm_start(wider, tiny_checkpoint)
