"""Frozen evaluation suites.

`imd`: the training prior, drawn with the `imd` split tag, so its seeds are disjoint from any
training seed by construction (see `mist.data.splits.batch_rng`).
`oomd`: what training never sees. Even batches: the held-out gamma-exponential family under the
training transforms; odd batches: the training families under the held-out spiral transform on
both X and Y (dims >= 2, where a spiral is not the identity). Both are decided in
`mist.data.splits` (`split_priors`).
A suite is a pure function of (name, size, seed), so "frozen" means: same code, same numbers.
"""

from __future__ import annotations

from mist.data.prior import PriorConfig
from mist.data.splits import SUITES, split_priors
from mist.data.stream import StreamConfig, make_batch


def build_suite(name: str, n_batches: int, stream: StreamConfig | None = None,
                base: PriorConfig | None = None) -> list[dict]:
    """The first `n_batches` batches of a suite, as produced by `make_batch`; `base` is the
    training prior the suite is derived from (default: PriorConfig())."""
    if name not in SUITES:
        raise ValueError(f"unknown suite {name!r}; expected one of {SUITES}")
    stream = stream or StreamConfig()
    priors = split_priors(name, base or PriorConfig())
    return [make_batch(priors[k % len(priors)], stream, name, k) for k in range(n_batches)]
