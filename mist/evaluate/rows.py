"""Run an estimator over suite batches: one row per dataset, in the one row schema.

A suite is a list of batches as `mist.data.stream.make_batch` returns them; set i of a batch is
x = batch["x"][i] (N, dx), y = batch["y"][i] (N, dy), handed to every estimator as two float64
arrays. A row is `mist.metrics.row` (true_mi, estimate, q<level> for every level the estimator
gives) plus the set's description (suite, set_id, family, n, dx, dy, index, mi_se), the
estimator's name and its time. Estimators with `estimate_many` (mist.MIEstimator) get all sets
of a batch in one call; the others one set at a time.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

from tqdm.auto import tqdm

from mist import metrics
from mist.consistency import subsample_check


def set_meta(suite: str, batch: dict, i: int) -> dict:
    """Description of set i of a batch (the non-estimate columns of its row)."""
    _, n, dx = batch["x"].shape
    return {"suite": suite, "set_id": f"{suite}/{int(batch['index'])}/{i}",
            "true_mi": float(batch["mi"][i]), "mi_se": float(batch["mi_se"][i]),
            "family": batch["family"][i], "n": int(n), "dx": int(dx), "dy": int(batch["y"].shape[-1]),
            "index": int(batch["index"])}


def suite_sets(batches: Iterable[dict], suite: str):
    """Yield (meta, x (N, dx) float64, y (N, dy) float64) for every set of every batch."""
    for batch in batches:
        for i in range(len(batch["mi"])):
            yield set_meta(suite, batch, i), batch["x"][i].double().numpy(), batch["y"][i].double().numpy()


def estimator_rows(estimator, batches: list[dict], suite: str, name: str, check: Mapping | None = None,
                   progress: bool = False) -> list[dict]:
    """Rows of one estimator over a suite.

    check: None, or {"fractions": [...], "level": 0.9, "seed": 0} to run the nested-subsample
    check (mist.consistency) on every set: columns consistent, check_overlap, check_extrapolated,
    check_level, sub_mi_<f>, sub_lo_<f>, sub_hi_<f>, seconds_check.
    A ValueError from a point estimator (e.g. N too small for KSG's k) gives a NaN estimate and
    the message in the "error" column.
    """
    rows = []
    bar = tqdm(total=sum(len(b["mi"]) for b in batches), desc=f"{name} / {suite}", disable=not progress, leave=False)
    batched = hasattr(estimator, "estimate_many")
    for batch in batches:
        sets = list(suite_sets([batch], suite))
        if batched:
            t0 = time.perf_counter()
            results = estimator.estimate_many([(x, y) for _, x, y in sets], constant_columns="drop")
            seconds = [(time.perf_counter() - t0) / len(sets)] * len(sets)
        else:
            results, seconds = [], []
            for _, x, y in sets:
                t0 = time.perf_counter()
                try:
                    results.append(estimator.estimate(x, y))
                except ValueError as err:
                    results.append(err)
                seconds.append(time.perf_counter() - t0)
        for (meta, x, y), result, dt in zip(sets, results, seconds):
            rows.append(_row(meta, name, result, dt))
            if check:
                rows[-1].update(_check_columns(estimator, x, y, check))
            bar.update()
    bar.close()
    return rows


def _row(meta: dict, name: str, result, seconds: float) -> dict:
    if isinstance(result, Exception):
        return {**meta, "estimator": name, "estimate": float("nan"), "seconds": seconds, "error": str(result)}
    extra = result.extra
    row = {**metrics.row(meta["true_mi"], result.quantiles), **meta, "estimator": name,
           "seconds": extra.get("seconds", seconds)}
    for key in ("seconds_interval", "error", "method"):
        if key in extra:
            row[key] = extra[key]
    return row


def _fmt(f: float) -> str:
    return f"{float(f):g}"


def _check_columns(estimator, x, y, check: Mapping) -> dict:
    t0 = time.perf_counter()
    c = subsample_check(estimator, x, y, fractions=tuple(check.get("fractions", (1, 0.5, 0.25))),
                        seed=int(check.get("seed", 0)), level=float(check.get("level", 0.9)),
                        constant_columns="drop")
    out = {"seconds_check": time.perf_counter() - t0, "consistent": c["consistent"], "check_overlap": c["overlap"],
           "check_extrapolated": c["extrapolated"], "check_level": c["level"]}
    for f, m, (lo, hi) in zip(c["fractions"], c["mi"], c["intervals"]):
        out[f"sub_mi_{_fmt(f)}"], out[f"sub_lo_{_fmt(f)}"], out[f"sub_hi_{_fmt(f)}"] = m, lo, hi
    return out
