"""Frozen evaluation suites.

`imd`: the training prior, drawn with the `imd` split tag, so its seeds are disjoint from any
training seed by construction (see `mist.batch.stream.batch_rng`).
`oomd`: what training never sees. Even batches: the held-out gamma-exponential family under the
training transforms; odd batches: the training families under the held-out spiral transform on
both X and Y (dims >= 2, where a spiral is not the identity).
A suite is a pure function of (name, size, seed), so "frozen" means: same code, same numbers.
"""

from __future__ import annotations

import dataclasses

from mist.batch.stream import StreamConfig, make_batch
from mist.generate.prior import PriorConfig

SUITES = ("imd", "oomd")


def suite_priors(name: str, base: PriorConfig | None = None) -> list[PriorConfig]:
    """The priors a suite cycles through, batch by batch."""
    base = base or PriorConfig()
    if name == "imd":
        return [base]
    if name == "oomd":
        families = {f: 0.0 for f in base.families}
        gamma = dataclasses.replace(base, families={**families, "gamma_exponential": 1.0})
        spiral = dataclasses.replace(
            base, dim_min=max(2, base.dim_min),
            transforms={t: 0.0 for t in base.transforms} | {"spiral": 1.0},
            families={**base.families, "gamma_exponential": 0.0})
        return [gamma, spiral]
    raise ValueError(f"unknown suite {name!r}; expected one of {SUITES}")


def build_suite(name: str, n_batches: int, stream: StreamConfig | None = None,
                base: PriorConfig | None = None) -> list[dict]:
    """The first `n_batches` batches of a suite, as produced by `make_batch`."""
    stream = stream or StreamConfig()
    priors = suite_priors(name, base)
    for p in priors:
        p.validate(split=name)
    return [make_batch(priors[k % len(priors)], stream, name, k) for k in range(n_batches)]
