"""MI-preserving ways to put a low-dimensional family into (dim_x, dim_y) columns.

* independent extra columns (``mist.data.other_families.Lifted``: appended, columns shuffled);
* one invertible linear map per side applied to the whole side, signal and extras together
  (``mix="rotation"``: Haar orthogonal; ``mix="linear"``: well-conditioned, condition <= 4);
* swapping the sides (:class:`Swapped`), since I(X; Y) = I(Y; X).

Each is a bijection of X alone or of Y alone (or a relabelling), so I(X; Y), its standard error and
the family are the base's exactly.
"""

from __future__ import annotations

import numpy as np

from mist.data.distributions import JointDistribution, random_orthogonal, random_well_conditioned
from mist.data.other_families import Lifted
from mist.data.transforms import LinearMix, Transformed

MIXES = ("none", "rotation", "linear")


def side_mix(kind: str, d: int, rng: np.random.Generator) -> LinearMix | None:
    """The (d, d) side map for ``kind`` in MIXES; None for "none" or d == 1 (a scalar map is pointless)."""
    if kind not in MIXES:
        raise ValueError(f"unknown mix {kind!r}; choose from {MIXES}")
    if kind == "none" or d == 1:
        return None
    return LinearMix(random_orthogonal(d, rng) if kind == "rotation" else random_well_conditioned(d, rng))


def lift(base: JointDistribution, dim_x: int, dim_y: int, rng: np.random.Generator,
         mix: str | tuple[str, str] = "none", marginals: tuple[str, ...] = ("gaussian",)) -> JointDistribution:
    """``base`` with independent extra columns up to (dim_x, dim_y) and an optional side mix.

    ``mix`` (one of MIXES, or a pair for X and Y) applies to each side as a whole (signal and extras):
    MI is unchanged. Mixing a side that holds discrete columns makes them continuous; pass "none"
    for that side to keep them discrete.
    """
    mix_x, mix_y = (mix, mix) if isinstance(mix, str) else mix
    dist = base if (dim_x, dim_y) == (base.dim_x, base.dim_y) else Lifted(base, dim_x, dim_y, rng, marginals)
    tx, ty = side_mix(mix_x, dim_x, rng), side_mix(mix_y, dim_y, rng)
    return dist if tx is None and ty is None else Transformed(dist, tx, ty)


class Swapped:
    """``(Y, X)`` for ``(X, Y) ~ base``: same MI, standard error and family."""

    def __init__(self, base: JointDistribution):
        self.base = base
        self.dim_x, self.dim_y = base.dim_y, base.dim_x
        self.family, self.mi, self.mi_se = base.family, base.mi, base.mi_se

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """x (n, dim_x), y (n, dim_y): the base's y and x."""
        x, y = self.base.sample(n, rng)
        return y, x

    def params(self) -> dict:
        return {**self.base.params(), "dim_x": self.dim_x, "dim_y": self.dim_y, "swapped": True}
