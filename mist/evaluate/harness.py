"""Run MI estimators over evaluation suites and collect one row (a flat dict) per estimate.

Every estimator sees exactly the X / Y split the suite defines: set i of a batch is
``x = batch["x"][i]`` (N, dx) and ``y = batch["y"][i]`` (N, dy), handed over as two arrays.

Estimators (names usable in :func:`evaluate`):

* ``mist`` (and any other name mapped to an :class:`~mist.MIEstimator`): the network's quantiles,
  all levels it predicts (columns ``q<level>``), datasets of one batch in one forward pass.
  Optionally the nested-subsample reliability check (:mod:`mist.evaluate.consistency`).
* ``ksg``: KSG estimator 1, max-norm (``k``); interval from ``n_boot`` half-size subsamples without
  replacement (:func:`~mist.evaluate.ksg.ksg_bootstrap`).
* ``cca``: the Gaussian / CCA estimate (``rank_gauss`` optional); interval from ``n_boot``
  classical bootstrap resamples (rows with replacement).
* ``mine``, ``infonce``, ``nwj``, ``smile``: critics trained per dataset
  (:mod:`mist.evaluate.neural`); interval from resampling the held-out rows under the trained
  critic (training noise is not included, so these are too narrow).

Baseline intervals are re-centred on the point estimate: q_tau = estimate + (r_tau - median(r))
over the replicates r. The spread describes the sampling noise of the estimate at N (half-sampling
without replacement has the variance of the full-sample estimate, up to the finite-population
factor); recentring removes the shift between the estimator's value at the replicate size and at
N. Estimator bias is not in the interval, which is the point of comparing coverage.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping

import numpy as np
from tqdm.auto import tqdm

from mist.evaluate.gaussian_baseline import gaussian_mi
from mist.evaluate.ksg import BOOT_LEVELS, ksg_bootstrap, ksg_mi
from mist.evaluate.neural import KINDS as NEURAL_KINDS
from mist.evaluate.neural import NeuralConfig, NeuralEstimator

__all__ = [
    "BASELINES",
    "DEFAULT_SETTINGS",
    "iter_sets",
    "load_suite",
    "baseline",
    "mist_rows",
    "baseline_rows",
    "evaluate",
    "describe",
]

BASELINES = ("ksg", "cca", *NEURAL_KINDS)

#: Settings of the baselines and of the consistency check; `evaluate` merges overrides into these.
DEFAULT_SETTINGS: dict = {
    "ksg": {"k": 5, "n_boot": 20},
    "cca": {"rank_gauss": False, "n_boot": 100},
    "neural": {"n_boot": 50},  # plus any NeuralConfig field (steps, batch_size, lr, ...)
    "consistency": {"enabled": True, "fractions": [1.0, 0.5, 0.25], "level": 0.9},
    "seed": 0,
}


# --------------------------------------------------------------------------------- suites
def load_suite(name: str, n_batches: int | None = None, folder=None, stream=None, prior=None,
               max_sets_per_batch: int | None = None) -> list[dict]:
    """A suite as a list of batches (the dict form of `mist.batch.stream.make_batch`).

    folder: read the shards written by `scripts/generate.py` (all of them, or the first
    `n_batches`); otherwise build the frozen suite `name` ("imd" or "oomd") with
    `n_batches` batches from `stream` (StreamConfig) and `prior` (PriorConfig), defaults if None.
    max_sets_per_batch: keep only the first sets of each batch (a cheaper, still shape-diverse suite).
    """
    if folder is not None:
        from mist.generate.materialize import read_shards

        batches = []
        for b in read_shards(folder):
            if n_batches is not None and len(batches) >= n_batches:
                break
            batches.append(b)
    else:
        from mist.generate.suites import build_suite

        if n_batches is None:
            raise ValueError(f"suite {name!r}: give n_batches or a folder of shards")
        batches = build_suite(name, int(n_batches), stream, prior)
    if max_sets_per_batch:
        k = int(max_sets_per_batch)
        batches = [{**b, "x": b["x"][:k], "y": b["y"][:k], "mi": b["mi"][:k], "mi_se": b["mi_se"][:k],
                    "family": b["family"][:k], "params": b["params"][:k]} for b in batches]
    return batches


def _meta(suite: str, batch: dict, i: int) -> dict:
    _, n, dx = batch["x"].shape
    return {"suite": suite, "set_id": f"{suite}/{int(batch['index'])}/{i}",
            "true_mi": float(batch["mi"][i]), "mi_se": float(batch["mi_se"][i]),
            "family": batch["family"][i], "n": int(n), "dx": int(dx), "dy": int(batch["y"].shape[-1]),
            "index": int(batch["index"])}


def iter_sets(batches: Iterable[dict], suite: str):
    """Yield (meta, x (N, dx) float64, y (N, dy) float64) for every set of every batch."""
    for batch in batches:
        for i in range(len(batch["mi"])):
            yield _meta(suite, batch, i), batch["x"][i].double().numpy(), batch["y"][i].double().numpy()


def _n_sets(batches) -> int:
    return sum(len(b["mi"]) for b in batches)


# -------------------------------------------------------------------------------- mist
def _fmt(f: float) -> str:
    return f"{float(f):g}"


def mist_rows(estimator, batches: list[dict], suite: str, name: str = "mist", check: Mapping | None = None,
              progress: bool = True) -> list[dict]:
    """Rows of an :class:`~mist.MIEstimator` over a suite; one forward pass per batch.

    check: None, or {"fractions": [...], "level": 0.9, "seed": 0} to run the subsample check on
    every set (columns consistent, check_overlap, check_extrapolated, check_level, sub_mi_<f>,
    sub_lo_<f>, sub_hi_<f>; the sub_lo / sub_hi interval has coverage check_level).
    """
    from mist.evaluate.consistency import subsample_check

    rows = []
    bar = tqdm(total=_n_sets(batches), desc=f"{name} / {suite}", disable=not progress, leave=False)
    for batch in batches:
        sets = list(iter_sets([batch], suite))
        t0 = time.perf_counter()
        results = estimator.estimate_many([(x, y) for _, x, y in sets], constant_columns="drop")
        dt = (time.perf_counter() - t0) / len(sets)
        for (meta, x, y), r in zip(sets, results):
            row = {**meta, "estimator": name, "estimate": float(r.mi),
                   **{f"q{round(lv, 6):g}": float(v) for lv, v in sorted(r.quantiles.items())},
                   "seconds": dt}
            if check:
                t1 = time.perf_counter()
                c = subsample_check(estimator, x, y, fractions=tuple(check.get("fractions", (1, 0.5, 0.25))),
                                    seed=int(check.get("seed", 0)), level=float(check.get("level", 0.9)),
                                    constant_columns="drop")
                row["seconds_check"] = time.perf_counter() - t1
                row["consistent"] = c["consistent"]
                row["check_overlap"] = c["overlap"]
                row["check_extrapolated"] = c["extrapolated"]
                row["check_level"] = c["level"]
                for f, m, (lo, hi) in zip(c["fractions"], c["mi"], c["intervals"]):
                    row[f"sub_mi_{_fmt(f)}"], row[f"sub_lo_{_fmt(f)}"], row[f"sub_hi_{_fmt(f)}"] = m, lo, hi
            rows.append(row)
            bar.update()
    bar.close()
    return rows


# ---------------------------------------------------------------------------- baselines
def _recentred(point: float, reps_quantiles: Mapping, median: float) -> dict:
    return {f"q{_fmt(lv)}": point + (q - median) for lv, q in reps_quantiles.items()}


def _cca_bootstrap(x, y, rank_gauss: bool, n_boot: int, seed: int, levels=BOOT_LEVELS) -> dict:
    rng = np.random.default_rng(seed)
    n = len(x)
    reps = np.empty(n_boot)
    for b in range(n_boot):
        idx = rng.integers(0, n, size=n)
        reps[b] = gaussian_mi(x[idx], y[idx], rank_gauss=rank_gauss)
    qs = np.quantile(reps, list(levels))
    return {"median": float(np.median(reps)), "quantiles": dict(zip(map(float, levels), map(float, qs)))}


def baseline(name: str, settings: Mapping | None = None) -> tuple[Callable, Callable | None, str]:
    """(point(x, y, seed) -> float, interval(x, y, seed, point) -> {"q<level>": value} or None,
    description) of a baseline; settings as in DEFAULT_SETTINGS (missing keys take the defaults)."""
    s = _merged(settings)
    if name == "ksg":
        k, n_boot = int(s["ksg"]["k"]), int(s["ksg"]["n_boot"])

        def point(x, y, seed):
            return ksg_mi(x, y, k=k)

        def interval(x, y, seed, est):
            b = ksg_bootstrap(x, y, k=k, n_boot=n_boot, rng=seed)
            return _recentred(est, b["quantiles"], b["median"])

        desc = (f"KSG estimator 1, max-norm, k={k} (scipy cKDTree); interval: {n_boot} half-size "
                "subsamples without replacement, re-centred on the estimate")
        return point, (interval if n_boot > 0 else None), desc
    if name == "cca":
        rg, n_boot = bool(s["cca"]["rank_gauss"]), int(s["cca"]["n_boot"])

        def point(x, y, seed):
            return gaussian_mi(x, y, rank_gauss=rg)

        def interval(x, y, seed, est):
            b = _cca_bootstrap(x, y, rg, n_boot, seed)
            return _recentred(est, b["quantiles"], b["median"])

        desc = (f"Gaussian / CCA plug-in{' on rank-gauss (copula) columns' if rg else ''}; interval: "
                f"{n_boot} bootstrap resamples with replacement, re-centred on the estimate")
        return point, (interval if n_boot > 0 else None), desc
    if name in NEURAL_KINDS:
        opts = dict(s["neural"])
        n_boot = int(opts.pop("n_boot", 50))
        cfg = NeuralConfig(**opts)
        cfg.validate()
        cache: dict = {}

        def point(x, y, seed):
            est = NeuralEstimator(name, seed=seed, config=cfg)
            if n_boot > 0:  # one training run gives both the estimate and its interval
                out = est.estimate_with_quantiles(x, y, n_boot=n_boot)
                cache["last"] = out
                return out["estimate"]
            return est.estimate(x, y)

        def interval(x, y, seed, est):
            out = cache.pop("last")
            return _recentred(est, out["quantiles"], out["median"])

        desc = (f"{NeuralEstimator(name).name}, critic trained per dataset: {cfg.steps} Adam steps, lr {cfg.lr:g}, "
                f"batch {cfg.batch_size}, {cfg.critic} critic (hidden {cfg.hidden}, embed {cfg.embed}), "
                f"{cfg.test_fraction:.0%} held out{' with early stopping on half of it' if cfg.early_stopping else ''}; "
                f"interval: {n_boot} resamples of the held-out rows under the trained critic (no training noise)")
        return point, (interval if n_boot > 0 else None), desc
    raise ValueError(f"unknown baseline {name!r}; expected one of {BASELINES}")


def baseline_rows(name: str, batches: list[dict], suite: str, settings: Mapping | None = None,
                  progress: bool = True, seed_offset: int = 0) -> list[dict]:
    """Rows of a baseline over a suite, one dataset at a time.

    seconds: the point estimate; seconds_interval: the interval on top (for the neural estimators,
    whose interval reuses the trained critic, both are in seconds). A ValueError (e.g. N too small
    for k) gives NaN and the message in the "error" column.
    """
    s = _merged(settings)
    point, interval, _ = baseline(name, s)
    rows = []
    for j, (meta, x, y) in enumerate(tqdm(list(iter_sets(batches, suite)), desc=f"{name} / {suite}",
                                           disable=not progress, leave=False)):
        seed = int(s["seed"]) * 1_000_003 + seed_offset + j
        row = {**meta, "estimator": name}
        t0 = time.perf_counter()
        try:
            row["estimate"] = float(point(x, y, seed))
        except ValueError as err:
            row["estimate"], row["error"] = float("nan"), str(err)
        row["seconds"] = time.perf_counter() - t0
        if interval is not None and np.isfinite(row["estimate"]):
            t1 = time.perf_counter()
            try:
                row.update(interval(x, y, seed, row["estimate"]))
            except ValueError as err:
                row["error"] = f"interval: {err}"
            row["seconds_interval"] = time.perf_counter() - t1
        rows.append(row)
    return rows


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
        return baseline(name, settings)[2]
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
                new = mist_rows(networks[name], batches, suite, name=name, check=check, progress=progress)
            else:
                new = baseline_rows(name, batches, suite, s, progress=progress, seed_offset=1000 * e_i)
            rows.extend(new)
            outer.update()
            if on_rows is not None:
                on_rows(rows)
    outer.close()
    return rows
