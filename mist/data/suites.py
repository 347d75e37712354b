"""Frozen evaluation suites.

`imd`: the training prior, drawn with the `imd` split tag, so its seeds are disjoint from any
training seed by construction (see `mist.data.splits.batch_rng`).
`oomd`: what training never sees. Even batches: the held-out gamma-exponential family under the
training transforms; odd batches: the training families under the held-out spiral transform on
both X and Y (dims >= 2, where a spiral is not the identity). Both are decided in
`mist.data.splits` (`split_priors`).
`imd` and `oomd` are frozen as version 1 (aliases imd_v1, oomd_v1): their prior is PriorConfig()'s
defaults, which the extended training prior (conf/data/extended.yaml) does not change.
`functional`, `discrete`: the extended families from the evaluation part of their pools; even
batches in distribution, odd batches held out. `structured`: few samples in many dimensions.
Their shapes are stated in `mist.data.splits.EXTENDED_SUITES`.
A suite is a pure function of (name, size, seed), so "frozen" means: same code, same numbers.
"""

from __future__ import annotations

from mist.data.prior import PriorConfig
from mist.data.splits import split_priors, suite_name
from mist.data.stream import StreamConfig, make_batch


def build_suite(name: str, n_batches: int, stream: StreamConfig | None = None,
                base: PriorConfig | None = None) -> list[dict]:
    """The first `n_batches` batches of a suite, as produced by `make_batch`; `base` is the
    training prior the suite is derived from (default: PriorConfig())."""
    name = suite_name(name)
    stream = stream or StreamConfig()
    priors = split_priors(name, base or PriorConfig())
    return [make_batch(priors[k % len(priors)], stream, name, k) for k in range(n_batches)]
