"""The network's configuration (stored in every checkpoint) and the one place that builds a design.

Designs (each reads top to bottom in its own file):
  two_axis.py  TwoAxisMI: attention across a sample's cells and across samples (small N)
  pooled.py    PooledMI: mean-pooled row and column context, the fast design (large N)
  row_set.py   RowSetMI: one token per sample, a plain baseline
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from torch import nn

from mist.network.pooled import PooledMI
from mist.network.quantiles import DEFAULT_LEVELS
from mist.network.row_set import RowSetMI
from mist.network.two_axis import TwoAxisMI


@dataclass
class ModelConfig:
    """Everything needed to rebuild the network; stored in every checkpoint."""

    arch: str = "two_axis"           # "two_axis", "pooled" (fast) or "row_set" (plain baseline)
    width: int = 32
    heads: int = 4                   # attention heads
    blocks: int = 2
    n_inducing: int = 8
    pair_channels: int = 16          # 0 disables the log-det pair head
    debiased_copula: bool = False    # also feed the head channel 0 minus its exact Gaussian bias
    ridge: float = 1e-3              # added to Gram (correlation) matrices before the logdet
    gram_dtype: str = "float64"      # precision of the Gram matmul (the logdet is always float64)
    head_width: int = 128
    levels: list = field(default_factory=lambda: list(DEFAULT_LEVELS))
    max_dim: int = 32                # row_set only: it pads X and Y to this many columns
    block_hidden: int = 0            # pooled only: hidden units per block (0: 2 x width)
    orient_signs: bool = True        # canonical column signs first: exact invariance to decreasing maps
    hist_bins: list = field(default_factory=list)  # pooled only: rank-histogram resolutions ([]: none)
    poly_degree: int = 0             # pooled only: polynomial CCA inputs of degrees 2..poly_degree (0: none)
    poly_max_features: int = 40      # per side; more monomials than this: each column's own powers only

    def to_dict(self) -> dict:
        return asdict(self)


DESIGNS = {"two_axis": TwoAxisMI, "pooled": PooledMI, "row_set": RowSetMI}


def build_model(cfg: ModelConfig | dict) -> nn.Module:
    cfg = cfg if isinstance(cfg, ModelConfig) else ModelConfig(**cfg)
    if cfg.arch not in DESIGNS:
        raise ValueError(f"unknown architecture {cfg.arch!r}; expected 'two_axis', 'pooled' or 'row_set'")
    if cfg.arch == "pooled" and not cfg.pair_channels:
        raise ValueError("arch 'pooled' needs the log-det pair head (pair_channels > 0)")
    if cfg.poly_degree == 1 or cfg.poly_degree < 0 or cfg.poly_degree > 6:
        raise ValueError(f"poly_degree must be 0 (none) or 2..6, got {cfg.poly_degree}")
    if (cfg.hist_bins or cfg.poly_degree) and cfg.arch != "pooled":
        raise ValueError(f"hist_bins and poly_degree are only read by arch 'pooled', not {cfg.arch!r}")
    return DESIGNS[cfg.arch](cfg)
