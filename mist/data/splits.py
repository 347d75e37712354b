"""Who may see what: the one statement of which split sees which seeds, families, transforms and
mixture-bank entries. Every other module of mist.data asks this one.

Splits:

* ``train``: the training stream.
* ``calib``: sets for fitting the conformal interval calibration (mist/network/calibration.py).
  It stands for the training prior, so it obeys the training rules, on seeds of its own.
* ``imd``: the in-distribution evaluation suite: the training prior, on seeds of its own.
* ``oomd``: the out-of-distribution suite: what training never sees (held-out family, held-out
  transform, the evaluation part of the mixture bank).
* ``imd`` and ``oomd`` are frozen as version 1 (also named ``imd_v1`` / ``oomd_v1``): they derive
  from ``PriorConfig()``'s defaults, which stay the version-1 prior; the extended training prior is
  a data config of its own (conf/data/extended.yaml).
* ``functional``, ``discrete``: the families beyond the Gaussian copula, from the evaluation part
  of their pools (mist.data.pools); even batches in distribution (training sub-kinds), odd
  batches held out (HELD_OUT_FUNCTIONS, HELD_OUT_SHAPES, HELD_OUT_ENCODINGS).
* ``structured``: coordinate-aligned Gaussian structure with few samples in many dimensions
  (N 8..128, 8..64 columns per side, MI 0..40).

Seeds: batch k of a split draws from ``SeedSequence(seed, spawn_key=(SPLIT_TAGS[split], k))``, so
two splits never share a random stream whatever seed and index they use.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from mist.data.discrete import ENCODINGS
from mist.data.functional import FUNCTIONS
from mist.data.shapes import SHAPES

if TYPE_CHECKING:  # prior.py imports this module; the annotation only needs the name
    from mist.data.prior import PriorConfig

# The first spawn-key entry of every batch. Renumbering a split would change all of its batches
# (and so the frozen suites and the shipped model's training data).
SPLIT_TAGS = {"train": 0, "imd": 1, "oomd": 2, "calib": 3, "functional": 4, "discrete": 5, "structured": 6}
# Splits that stand for the training prior: held-out families and transforms are closed to them,
# and they draw from the training part of the mixture bank.
TRAINING_PRIOR_SPLITS = ("train", "calib")
SUITES = ("imd", "oomd", "functional", "discrete", "structured")  # frozen suites (mist/data/suites.py)
SUITE_ALIASES = {"imd_v1": "imd", "oomd_v1": "oomd"}

HELD_OUT_FAMILIES = ("gamma_exponential",)  # only the oomd suite samples these
HELD_OUT_TRANSFORMS = ("spiral",)           # only the oomd suite applies these
# Sub-kinds of the extended families that only the held-out halves of the suites see.
HELD_OUT_FUNCTIONS = ("sawtooth", "bump")
TRAINING_FUNCTIONS = tuple(f for f in FUNCTIONS if f not in HELD_OUT_FUNCTIONS)
HELD_OUT_SHAPES = ("spiral",)
TRAINING_SHAPES = tuple(s for s in SHAPES if s not in HELD_OUT_SHAPES)
HELD_OUT_ENCODINGS = ("bits",)  # a K-state column as ceil(log2 K) binary columns
TRAINING_ENCODINGS = tuple(e for e in ENCODINGS if e not in HELD_OUT_ENCODINGS)
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


def suite_name(name: str) -> str:
    """The canonical name of a frozen suite (aliases such as imd_v1 resolved); ValueError if unknown."""
    name = SUITE_ALIASES.get(name, name)
    if name not in SUITES:
        raise ValueError(f"unknown suite {name!r}; expected one of {SUITES + tuple(SUITE_ALIASES)}")
    return name


def check_prior_for_split(families: dict, transforms: dict, split: str, variant: str = "in") -> None:
    """ValueError if a training-prior split would give weight to a held-out family or transform,
    or draw the held-out variant of the extended families.

    `families` and `transforms` map names to sampling weights (PriorConfig's tables).
    """
    if check_split(split) not in TRAINING_PRIOR_SPLITS:
        return
    if variant != "in":
        raise ValueError(f"split {split!r} stands for the training prior: variant must be 'in', got {variant!r}")
    held = [f for f in HELD_OUT_FAMILIES if families.get(f, 0) > 0]
    held += [t for t in HELD_OUT_TRANSFORMS if transforms.get(t, 0) > 0]
    if held:
        raise ValueError(f"{held} are held out for out-of-distribution evaluation and "
                         "cannot be used in training")


# The extended suites' shapes and family mixes, stated before any model was measured on them:
# N where a user expects an answer (functional, discrete) or the few-samples regime (structured).
EXTENDED_SUITES = {
    "functional": ({"n_min": 128, "n_max": 4096, "dim_min": 1, "dim_max": 4},
                   {"functional": 0.6, "shape": 0.4}),
    "discrete": ({"n_min": 128, "n_max": 4096, "dim_min": 1, "dim_max": 10},
                 {"discrete": 0.4, "labels": 0.35, "counts": 0.25}),
    "structured": ({"n_min": 8, "n_max": 128, "dim_min": 8, "dim_max": 64}, {"structured": 1.0}),
}


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
    functional, discrete, structured: fixed priors of their own (EXTENDED_SUITES), independent of
    `base`; even batches in distribution, odd batches held out (structured has no held-out half).
    """
    if check_split(split) in EXTENDED_SUITES:
        shape, families = EXTENDED_SUITES[split]
        only = {f: 0.0 for f in type(base)().families} | families
        priors = [dataclasses.replace(type(base)(), **shape, families=only, transforms={"none": 1.0}, variant=v)
                  for v in (("in",) if split == "structured" else ("in", "held_out"))]
    elif check_split(split) == "oomd":
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
