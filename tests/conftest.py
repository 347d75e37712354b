"""Shared fixtures."""

import pytest
import torch

from mist.checkpoint import save_checkpoint
from mist.network.model import ModelConfig, build_model


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """A small real (untrained) model saved as an inference checkpoint folder."""
    torch.manual_seed(0)
    cfg = ModelConfig(width=8, heads=2, blocks=1, n_inducing=2, pair_channels=2, head_width=16)
    folder = tmp_path_factory.mktemp("ckpt")
    save_checkpoint(build_model(cfg), cfg, folder)
    return folder
