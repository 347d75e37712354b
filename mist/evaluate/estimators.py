"""Every estimator the benchmarks compare, behind one small interface (after bmi's Protocol).

    est.estimate(x, y) -> MIResult      x: (N, dx), y: (N, dy) numpy; (N,) allowed

`mist.MIEstimator` already is one (and also batches with `estimate_many`). The baselines here
return an MIResult too: the point estimate is the 0.5 quantile, and where an interval is computed
(`n_boot` > 0) the other quantiles are replicate quantiles re-centred on the point estimate:
q_tau = point + (r_tau - median(r)). The spread describes the sampling noise of the estimate at N;
estimator bias is not in it, which is the point of comparing coverage. The time of the point
estimate and of the interval are kept apart in `extra` ("seconds", "seconds_interval").

Randomness (bootstrap draws, critic initialization) is seeded from the estimator's `seed` and the
dataset itself, so a dataset's result does not depend on which other datasets came before it.
"""

from __future__ import annotations

import time
import zlib
from typing import Protocol, runtime_checkable

import numpy as np

from mist.evaluate.gaussian_baseline import gaussian_mi
from mist.evaluate.ksg import check_xy, ksg_bootstrap, ksg_mi
from mist.evaluate.mixed_ksg import mixed_ksg_mi
from mist.evaluate.neural import KINDS as NEURAL_KINDS
from mist.evaluate.neural import NeuralConfig, NeuralEstimator
from mist.network.quantiles import DEFAULT_LEVELS
from mist.result import MIResult

BASELINES = ("ksg", "mixed_ksg", "cca", *NEURAL_KINDS)


@runtime_checkable
class Estimator(Protocol):
    """What the evaluation harness needs of an estimator."""

    def estimate(self, x, y) -> MIResult: ...


def data_seed(seed: int, x: np.ndarray, y: np.ndarray) -> int:
    """A seed from (seed, the dataset's bytes): reproducible and independent of dataset order."""
    digest = zlib.crc32(np.ascontiguousarray(x).tobytes()) ^ zlib.crc32(np.ascontiguousarray(y).tobytes())
    return int(seed) * 1_000_003 + digest


class _Baseline:
    """point(x, y, seed) -> float and, when n_boot > 0, replicates(x, y, seed) -> (R,) array."""

    name = "baseline"
    n_boot = 0

    def __init__(self, seed: int = 0):
        self.seed = int(seed)

    def estimate(self, x, y) -> MIResult:
        x, y = check_xy(x, y)
        seed = data_seed(self.seed, x, y)
        t0 = time.perf_counter()
        point = float(self._point(x, y, seed))
        extra = {"seconds": time.perf_counter() - t0}
        quantiles = {0.5: point}
        if self.n_boot > 0 and np.isfinite(point):
            t1 = time.perf_counter()
            try:
                reps = np.asarray(self._replicates(x, y, seed), dtype=np.float64)
                levels = [lv for lv in DEFAULT_LEVELS if lv != 0.5]
                quantiles.update(zip(levels, (point + np.quantile(reps, levels) - np.median(reps)).tolist()))
            except ValueError as err:  # e.g. half-size subsamples too small for KSG's k
                extra["error"] = f"interval: {err}"
            extra["seconds_interval"] = time.perf_counter() - t1
        return MIResult(dict(sorted(quantiles.items())), "nats", len(x), x.shape[1], y.shape[1], extra=extra)

    def _point(self, x, y, seed) -> float:
        raise NotImplementedError

    def _replicates(self, x, y, seed) -> np.ndarray:
        raise NotImplementedError


class KSG(_Baseline):
    """KSG estimator 1, max-norm; interval from n_boot half-size subsamples without replacement."""

    def __init__(self, k: int = 5, n_boot: int = 20, seed: int = 0):
        super().__init__(seed)
        self.k, self.n_boot, self.name = int(k), int(n_boot), "ksg"

    def _point(self, x, y, seed):
        return ksg_mi(x, y, k=self.k)

    def _replicates(self, x, y, seed):
        return ksg_bootstrap(x, y, k=self.k, n_boot=self.n_boot, rng=seed)["replicates"]

    def describe(self) -> str:
        return (f"KSG estimator 1, max-norm, k={self.k} (scipy cKDTree); interval: {self.n_boot} half-size "
                "subsamples without replacement, re-centred on the estimate")


class MixedKSG(_Baseline):
    """Mixed-variable KSG (Gao et al. 2017) for discrete, continuous and mixed data; interval from
    n_boot half-size subsamples without replacement (as KSG's)."""

    def __init__(self, k: int = 5, n_boot: int = 20, seed: int = 0):
        super().__init__(seed)
        self.k, self.n_boot, self.name = int(k), int(n_boot), "mixed_ksg"

    def _point(self, x, y, seed):
        return mixed_ksg_mi(x, y, k=self.k)

    def _replicates(self, x, y, seed):
        rng = np.random.default_rng(seed)
        half = len(x) // 2
        idx = [rng.choice(len(x), size=half, replace=False) for _ in range(self.n_boot)]
        return np.array([mixed_ksg_mi(x[i], y[i], k=self.k) for i in idx])

    def describe(self) -> str:
        return (f"mixed-variable KSG (Gao et al. 2017), max-norm, k={self.k}; interval: {self.n_boot} "
                "half-size subsamples without replacement, re-centred on the estimate")


class CCA(_Baseline):
    """Gaussian / CCA plug-in (optionally on rank-gauss columns); classical bootstrap interval."""

    def __init__(self, rank_gauss: bool = False, n_boot: int = 100, seed: int = 0):
        super().__init__(seed)
        self.rank_gauss, self.n_boot, self.name = bool(rank_gauss), int(n_boot), "cca"

    def _point(self, x, y, seed):
        return gaussian_mi(x, y, rank_gauss=self.rank_gauss)

    def _replicates(self, x, y, seed):
        rng = np.random.default_rng(seed)
        n = len(x)
        idx = [rng.integers(0, n, size=n) for _ in range(self.n_boot)]
        return np.array([gaussian_mi(x[i], y[i], rank_gauss=self.rank_gauss) for i in idx])

    def describe(self) -> str:
        return (f"Gaussian / CCA plug-in{' on rank-gauss (copula) columns' if self.rank_gauss else ''}; interval: "
                f"{self.n_boot} bootstrap resamples with replacement, re-centred on the estimate")


class NeuralBound(_Baseline):
    """MINE / InfoNCE / NWJ / SMILE with a critic trained per dataset (mist.evaluate.neural);
    interval from resampling the held-out rows under the one trained critic (no training noise)."""

    def __init__(self, kind: str, n_boot: int = 50, seed: int = 0, **config):
        super().__init__(seed)
        self.config = NeuralConfig(**config)
        self.config.validate()
        self.kind, self.n_boot, self.name = kind, int(n_boot), kind
        self._last = None

    def _point(self, x, y, seed):
        est = NeuralEstimator(self.kind, seed=seed % 2**31, config=self.config)
        if self.n_boot > 0:  # one training run gives both the estimate and its interval
            self._last = est.estimate_with_quantiles(x, y, n_boot=self.n_boot)
            return self._last["estimate"]
        return est.estimate(x, y)

    def _replicates(self, x, y, seed):
        last, self._last = self._last, None
        return last["replicates"]

    def describe(self) -> str:
        c = self.config
        return (f"{NeuralEstimator(self.kind).name}, critic trained per dataset: {c.steps} Adam steps, lr {c.lr:g}, "
                f"batch {c.batch_size}, {c.critic} critic (hidden {c.hidden}, embed {c.embed}), "
                f"{c.test_fraction:.0%} held out{' with early stopping on half of it' if c.early_stopping else ''}; "
                f"interval: {self.n_boot} resamples of the held-out rows under the trained critic (no training noise)")


def make_baseline(name: str, settings: dict | None = None, seed: int = 0) -> _Baseline:
    """A baseline by name with its settings: {"ksg": {"k", "n_boot"}, "cca": {"rank_gauss",
    "n_boot"}, "neural": {"n_boot", any NeuralConfig field}} (missing keys take the defaults)."""
    s = settings or {}
    if name == "ksg":
        return KSG(seed=seed, **s.get("ksg", {}))
    if name == "mixed_ksg":
        return MixedKSG(seed=seed, **s.get("mixed_ksg", s.get("ksg", {})))
    if name == "cca":
        return CCA(seed=seed, **s.get("cca", {}))
    if name in NEURAL_KINDS:
        return NeuralBound(name, seed=seed, **s.get("neural", {}))
    raise ValueError(f"unknown baseline {name!r}; expected one of {BASELINES}")


def option_kwargs(unmix: str | None, collapse: str | None) -> dict:
    """A benchmark's --unmix and --collapse-binary on/off/None as MIEstimator keyword arguments
    (None: the estimator's default)."""
    out = {} if unmix is None else {"unmix": {"on": True, "off": False, "auto": "auto"}[unmix]}
    return out if collapse is None else out | {"collapse_binary": collapse == "on"}
