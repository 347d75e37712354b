"""Pools of exact low-dimensional bases for the families beyond the Gaussian copula.

Building one such base costs 2-16 ms (its MI is a quadrature or an exact sum), 100-500 times the
cost of sampling 64 points from it; a training batch of 64 small sets would spend most of its
time in quadrature. So each family kind has a pool: entry i of (kind, part, variant) is a pure
function of those four (its own SeedSequence), built on first use and memoized. A prior draws an
entry index from the batch's generator, so batches stay pure functions of (seed, split, index),
and lifts the entry freshly per set (extra columns, side mixes, swaps: mist.data.lifting).

* part: "train" entries serve the training-prior splits, "eval" entries the evaluation suites,
  so no evaluation set shares a base (function, noise, table) with a training set.
* variant: "in" builds from the training sub-kinds; "held_out" from the sub-kinds that only the
  out-of-distribution halves of the suites see (functions, shapes, encodings in mist.data.splits).

| kind       | base (dims)                                  | MI target drawn per entry   |
|------------|----------------------------------------------|-----------------------------|
| functional | Y = f(X) + noise, 1 x 1 (functional.py)      | U(0, 5.5), capped by f      |
| shape      | circle/rings/spiral/plus/X-shape, 1 x 1      | U(0, 2.5), capped by shape  |
| counts     | Poisson/binomial count vs latent, 1 x 1      | U(0, 2), capped by link     |
| discrete   | joint table or quantized Gaussian, <= 10 x 10| U(0, 2.3), capped by H      |
| labels     | class label vs Gaussian features, <= 4 x 10  | U(0, 2.3), capped by H(Y)   |
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from mist.data import counts, discrete, functional, labels, shapes
from mist.data import splits as S
from mist.data.lifting import Swapped

POOL_SEED = 20261203
POOL_SIZES = {"train": 8192, "eval": 2048}
PARTS = ("train", "eval")
VARIANTS = ("in", "held_out")
KIND_TAGS = {"functional": 0, "shape": 1, "counts": 2, "discrete": 3, "labels": 4}


def part_for(split: str) -> str:
    """The pool part a split draws from: training-prior splits "train", evaluation suites "eval"."""
    return "train" if S.check_split(split) in S.TRAINING_PRIOR_SPLITS else "eval"


def _functional(rng, variant):
    fns = S.HELD_OUT_FUNCTIONS if variant == "held_out" else S.TRAINING_FUNCTIONS
    return functional.random_functional_pair(rng, float(rng.uniform(0.0, 5.5)), functions=fns)


def _shape(rng, variant):
    names = S.HELD_OUT_SHAPES if variant == "held_out" else S.TRAINING_SHAPES
    fns = S.HELD_OUT_FUNCTIONS if variant == "held_out" else S.TRAINING_FUNCTIONS
    return shapes.random_shape_pair(rng, float(rng.uniform(0.0, 2.5)), shapes=names, functions=fns)


def _counts(rng, variant):
    return counts.random_counts_pair(rng, float(rng.uniform(0.0, 2.0)))


def _encodings(variant):
    return S.HELD_OUT_ENCODINGS if variant == "held_out" else S.TRAINING_ENCODINGS


def _discrete(rng, variant):
    target, enc = float(rng.uniform(0.0, 2.3)), _encodings(variant)
    if rng.random() < 0.5:
        return discrete.random_table(rng, target_mi=target, encodings=enc, max_dim=(10, 10))
    return discrete.random_quantized(rng, target, encodings=enc, max_dim=(10, 10))


def _labels(rng, variant):
    return labels.random_labels_pair(rng, 4, 10, float(rng.uniform(0.0, 2.3)), _encodings(variant))


_BUILDERS = {"functional": _functional, "shape": _shape, "counts": _counts, "discrete": _discrete,
             "labels": _labels}


@lru_cache(maxsize=None)
def pool_entry(kind: str, part: str, variant: str, index: int):
    """Entry `index` of the (kind, part, variant) pool: a JointDistribution with exact MI."""
    if kind not in KIND_TAGS or part not in PARTS or variant not in VARIANTS:
        raise ValueError(f"unknown pool ({kind!r}, {part!r}, {variant!r}); kinds {list(KIND_TAGS)}, "
                         f"parts {PARTS}, variants {VARIANTS}")
    if not 0 <= index < POOL_SIZES[part]:
        raise ValueError(f"pool index {index} outside 0..{POOL_SIZES[part] - 1}")
    key = (KIND_TAGS[kind], PARTS.index(part), VARIANTS.index(variant), index)
    rng = np.random.default_rng(np.random.SeedSequence(POOL_SEED, spawn_key=key))
    return _BUILDERS[kind](rng, variant)


def draw_parts(kind: str, split: str, variant: str, dim_x: int, dim_y: int, rng: np.random.Generator,
               max_parts: int = 3, tries: int = 16) -> list:
    """1..max_parts pool entries that fit side by side in (dim_x, dim_y) (each swapped with
    probability 1/2); an entry that does not fit is redrawn up to `tries` times. [] if none fits."""
    part, size = part_for(split), POOL_SIZES[part_for(split)]
    want = int(rng.integers(1, min(dim_x, dim_y, max_parts) + 1))
    chosen, used_x, used_y = [], 0, 0
    for _ in range(want):
        for _ in range(tries):
            base = pool_entry(kind, part, variant, int(rng.integers(size)))
            base = _maybe_swapped(base, rng)
            if used_x + base.dim_x <= dim_x and used_y + base.dim_y <= dim_y:
                chosen.append(base)
                used_x, used_y = used_x + base.dim_x, used_y + base.dim_y
                break
    return chosen


def _maybe_swapped(base, rng: np.random.Generator):
    """`base` or its sides swapped, with probability 1/2 each (I(X; Y) = I(Y; X))."""
    return Swapped(base) if rng.random() < 0.5 else base
