"""Run MI estimators over evaluation suites and collect one row (a flat dict) per estimate.

Every estimator sees exactly the X / Y split the suite defines (mist.evaluate.rows) and answers
through the one interface of mist.evaluate.estimators (`estimate(x, y) -> MIResult`), so mist and
the baselines share one row schema (mist.metrics.row) and one path from data to published number.

Estimators (names usable in :func:`evaluate`):

* ``mist`` (and any other name mapped to an :class:`~mist.MIEstimator`): the network's quantiles,
  all levels it predicts, datasets of one batch in one call to ``estimate_many``. Optionally the
  nested-subsample reliability check (:mod:`mist.consistency`).
* ``ksg``, ``cca``, ``mine``, ``infonce``, ``nwj``, ``smile``: the baselines of
  :mod:`mist.evaluate.estimators`, with their intervals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from tqdm.auto import tqdm

from mist.data.shards import read_shards
from mist.data.suites import build_suite
from mist.evaluate.estimators import BASELINES, make_baseline
from mist.evaluate.rows import estimator_rows

__all__ = ["BASELINES", "DEFAULT_SETTINGS", "load_suite", "evaluate", "describe"]

#: Settings of the consistency check and the seed; `evaluate` merges overrides into these. Baseline
#: settings ({"ksg": {...}, "cca": {...}, "neural": {...}}) default to those of
#: mist.evaluate.estimators (KSG, CCA, NeuralBound), their one source.
DEFAULT_SETTINGS: dict = {
    "consistency": {"enabled": True, "fractions": [1.0, 0.5, 0.25], "level": 0.9},
    "seed": 0,
}


# --------------------------------------------------------------------------------- suites
def load_suite(name: str, n_batches: int | None = None, folder=None, stream=None, prior=None,
               max_sets_per_batch: int | None = None) -> list[dict]:
    """A suite as a list of batches (the dict form of `mist.data.stream.make_batch`).

    folder: read the shards written by `scripts/generate.py` (all of them, or the first
    `n_batches`); otherwise build the frozen suite `name` ("imd" or "oomd") with
    `n_batches` batches from `stream` (StreamConfig) and `prior` (PriorConfig), defaults if None.
    max_sets_per_batch: keep only the first sets of each batch (a cheaper, still shape-diverse suite).
    """
    if folder is not None:
        batches = []
        for b in read_shards(folder):
            if n_batches is not None and len(batches) >= n_batches:
                break
            batches.append(b)
    else:
        if n_batches is None:
            raise ValueError(f"suite {name!r}: give n_batches or a folder of shards")
        batches = build_suite(name, int(n_batches), stream, prior)
    if max_sets_per_batch:
        k = int(max_sets_per_batch)
        batches = [{**b, "x": b["x"][:k], "y": b["y"][:k], "mi": b["mi"][:k], "mi_se": b["mi_se"][:k],
                    "family": b["family"][:k], "params": b["params"][:k]} for b in batches]
    return batches


def _merged(settings: Mapping | None) -> dict:
    out = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in DEFAULT_SETTINGS.items()}
    for k, v in (settings or {}).items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k].update(v)
        else:
            out[k] = v
    return out


def describe(name: str, settings: Mapping | None = None) -> str:
    """One-line description of an estimator and its budget, for the report."""
    if name in BASELINES:
        return make_baseline(name, _merged(settings)).describe()
    return "mist network: quantiles of the MI from one forward pass (median as the estimate)"


# ------------------------------------------------------------------------------ runner
def evaluate(suites: Mapping[str, list[dict]], estimators: Iterable[str], settings: Mapping | None = None,
             networks: Mapping | None = None, progress: bool = True,
             on_rows: Callable[[list[dict]], None] | None = None) -> list[dict]:
    """All rows of every estimator on every suite.

    suites: name -> batches (see :func:`load_suite`); estimators: names from BASELINES or keys of
    `networks` (name -> MIEstimator); settings: overrides of DEFAULT_SETTINGS; on_rows: called with
    all rows so far after each (estimator, suite), e.g. to save partial results.
    """
    s = _merged(settings)
    networks = networks or {}
    cons = s["consistency"]
    check = {"fractions": list(cons["fractions"]), "level": float(cons["level"]), "seed": int(s["seed"])} \
        if cons.get("enabled") else None
    rows: list[dict] = []
    estimators = list(estimators)
    unknown = [e for e in estimators if e not in networks and e not in BASELINES]
    if unknown:
        raise ValueError(f"unknown estimators {unknown}: not baselines {BASELINES} and no networks of "
                         f"those names (networks: {sorted(networks)})")
    outer = tqdm(total=len(estimators) * len(suites), desc="estimators x suites", disable=not progress)
    for e_i, name in enumerate(estimators):
        for suite, batches in suites.items():
            outer.set_postfix_str(f"{name} / {suite}")
            if name in networks:
                estimator, set_check = networks[name], check
            else:
                estimator, set_check = make_baseline(name, s, seed=int(s["seed"]) + 1000 * e_i), None
            rows.extend(estimator_rows(estimator, batches, suite, name, check=set_check, progress=progress))
            outer.update()
            if on_rows is not None:
                on_rows(rows)
    outer.close()
    return rows
