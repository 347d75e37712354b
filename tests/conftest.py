"""Shared fixtures."""

import pytest
import torch

from mist.checkpoint import save_checkpoint
from mist.network.config import ModelConfig, build_model
from mist.train.schemas import register_schemas

register_schemas()  # conf/data and conf/model build on the library dataclasses (mist/train/schemas.py)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """A small real (untrained) model saved as an inference checkpoint folder."""
    torch.manual_seed(0)
    cfg = ModelConfig(width=8, heads=2, blocks=1, n_inducing=2, pair_channels=2, head_width=16)
    folder = tmp_path_factory.mktemp("ckpt")
    save_checkpoint(build_model(cfg), cfg, folder)
    return folder


@pytest.fixture
def one_thread():
    """Run a test on one torch thread: small sets are faster so, and on a busy machine (shared
    cores) two threads per tiny op can be ~20x slower than one."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
