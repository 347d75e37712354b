"""A bank of Gaussian-mixture settings whose MI was estimated once by Monte Carlo.

Mixtures have no closed-form MI, so each parameter setting gets `monte_carlo_mi` once, at bank
build time (`python scripts/build_mixture_bank.py`), and its standard error is stored beside it.
Training then samples settings from the bank instead of paying a Monte Carlo run per dataset.
Which entries a split may draw (training and evaluation use disjoint parts) is decided by
`mist.data.splits.bank_indices`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from tqdm.auto import trange

from mist.data.other_families import GaussianMixture, random_gaussian_mixture
from mist.data.splits import bank_indices

BANK_PATH = Path(__file__).with_name("mixture_bank.npz")
MAX_COMPONENTS, MAX_SIDE_DIM = 4, 3


def build_bank(n_settings: int = 512, seed: int = 20251123, mc_samples: int = 50_000,
               max_se: float = 0.02, progress: bool = True) -> dict:
    """Arrays describing `n_settings` random mixtures (padded to 4 components, 6 dims)."""
    rng = np.random.default_rng(seed)
    d_max = 2 * MAX_SIDE_DIM
    out = {"weights": np.zeros((n_settings, MAX_COMPONENTS)),
           "means": np.zeros((n_settings, MAX_COMPONENTS, d_max)),
           "covs": np.zeros((n_settings, MAX_COMPONENTS, d_max, d_max)),
           "n_components": np.zeros(n_settings, np.int64), "dim_x": np.zeros(n_settings, np.int64),
           "dim_y": np.zeros(n_settings, np.int64), "mi": np.zeros(n_settings),
           "mi_se": np.zeros(n_settings), "mc_samples": np.zeros(n_settings, np.int64)}
    for i in trange(n_settings, desc="mixture bank", disable=not progress):
        dx, dy = (int(v) for v in rng.integers(1, MAX_SIDE_DIM + 1, size=2))
        g = random_gaussian_mixture(dx, dy, int(rng.integers(2, MAX_COMPONENTS + 1)), rng,
                                    mc_samples=mc_samples, max_se=max_se)
        k, d = len(g.weights), dx + dy
        out["weights"][i, :k], out["means"][i, :k, :d], out["covs"][i, :k, :d, :d] = g.weights, g.means, g.covs
        out["n_components"][i], out["dim_x"][i], out["dim_y"][i] = k, dx, dy
        out["mi"][i], out["mi_se"][i], out["mc_samples"][i] = g.mi, g.mi_se, g.mc_samples
    return out


@lru_cache(maxsize=4)
def load_bank(path: str = str(BANK_PATH)) -> tuple[GaussianMixture, ...]:
    if not Path(path).is_file():
        raise FileNotFoundError(f"mixture bank {path} is missing; build it with scripts/build_mixture_bank.py")
    with np.load(path, allow_pickle=False) as a:
        bank = []
        for i in range(len(a["mi"])):
            k, dx, d = int(a["n_components"][i]), int(a["dim_x"][i]), int(a["dim_x"][i] + a["dim_y"][i])
            bank.append(GaussianMixture(a["weights"][i, :k], a["means"][i, :k, :d], a["covs"][i, :k, :d, :d],
                                        dx, mc_samples=int(a["mc_samples"][i]),
                                        precomputed=(float(a["mi"][i]), float(a["mi_se"][i]))))
    return tuple(bank)


def draw_from_bank(rng: np.random.Generator, split: str, max_dx: int, max_dy: int) -> GaussianMixture:
    """A bank entry with dim_x <= max_dx and dim_y <= max_dy, from the part of the bank `split`
    may see (`mist.data.splits.bank_indices`)."""
    bank = load_bank()
    fits = [i for i in bank_indices(split, len(bank)) if bank[i].dim_x <= max_dx and bank[i].dim_y <= max_dy]
    return bank[fits[rng.integers(len(fits))]]
