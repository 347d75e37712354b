"""Who may see what: the one statement of which split sees which seeds, families, transforms and
mixture-bank entries. Every other module of mist.data asks this one.

Splits:

* ``train``: the training stream.
* ``calib``: sets for fitting the conformal interval calibration (mist/network/calibration.py).
  It stands for the training prior, so it obeys the training rules, on seeds of its own.
* ``imd``: the in-distribution evaluation suite: the training prior, on seeds of its own.
* ``oomd``: the out-of-distribution suite: what training never sees (held-out family, held-out
  transform, the evaluation part of the mixture bank).

Seeds: batch k of a split draws from ``SeedSequence(seed, spawn_key=(SPLIT_TAGS[split], k))``, so
two splits never share a random stream whatever seed and index they use.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # prior.py imports this module; the annotation only needs the name
    from mist.data.prior import PriorConfig

# The first spawn-key entry of every batch. Renumbering a split would change all of its batches
# (and so the frozen suites and the shipped model's training data).
SPLIT_TAGS = {"train": 0, "imd": 1, "oomd": 2, "calib": 3}
# Splits that stand for the training prior: held-out families and transforms are closed to them,
# and they draw from the training part of the mixture bank.
TRAINING_PRIOR_SPLITS = ("train", "calib")
SUITES = ("imd", "oomd")  # the frozen evaluation suites (mist/data/suites.py)

HELD_OUT_FAMILIES = ("gamma_exponential",)  # only the oomd suite samples these
HELD_OUT_TRANSFORMS = ("spiral",)           # only the oomd suite applies these
# Mixture-bank entries with index % 4 == 3 are reserved for the evaluation suites, so no
# evaluation set shares mixture parameters with a training set.
BANK_EVALUATION_STRIDE = 4


def check_split(split: str) -> str:
    """`split` itself, or ValueError if it is not one of SPLIT_TAGS."""
    if split not in SPLIT_TAGS:
        raise ValueError(f"unknown split {split!r}; expected one of {sorted(SPLIT_TAGS)}")
    return split


def batch_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator batch `index` of `split` draws everything from."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(SPLIT_TAGS[check_split(split)], index)))


def check_prior_for_split(families: dict, transforms: dict, split: str) -> None:
    """ValueError if a training-prior split would give weight to a held-out family or transform.

    `families` and `transforms` map names to sampling weights (PriorConfig's tables).
    """
    if check_split(split) not in TRAINING_PRIOR_SPLITS:
        return
    held = [f for f in HELD_OUT_FAMILIES if families.get(f, 0) > 0]
    held += [t for t in HELD_OUT_TRANSFORMS if transforms.get(t, 0) > 0]
    if held:
        raise ValueError(f"{held} are held out for out-of-distribution evaluation and "
                         "cannot be used in training")


def bank_indices(split: str, n: int) -> list[int]:
    """The entries of an `n`-entry mixture bank that `split` may draw, in increasing order."""
    evaluation = check_split(split) not in TRAINING_PRIOR_SPLITS
    stride = BANK_EVALUATION_STRIDE
    return [i for i in range(n) if (i % stride == stride - 1) == evaluation]


def split_priors(split: str, base: PriorConfig) -> list[PriorConfig]:
    """The priors batch k of `split` draws from (k modulo their number), derived from the
    training prior `base`, each validated for the split.

    train, calib, imd: `base` itself. oomd: even batches sample only the held-out families under
    the training transforms; odd batches the training families under only the held-out
    transforms, on both X and Y, with dims >= 2 (a spiral in 1 dim is the identity).
    """
    if check_split(split) == "oomd":
        families = {f: 0.0 for f in base.families}
        held_family = dataclasses.replace(base, families={**families, **{f: 1.0 for f in HELD_OUT_FAMILIES}})
        held_transform = dataclasses.replace(
            base, dim_min=max(2, base.dim_min),
            transforms={t: 0.0 for t in base.transforms} | {t: 1.0 for t in HELD_OUT_TRANSFORMS},
            families={**base.families, **{f: 0.0 for f in HELD_OUT_FAMILIES}})
        priors = [held_family, held_transform]
    else:
        priors = [base]
    for p in priors:
        p.validate(split)
    return priors
