"""The shipped checkpoint: it loads offline, and is accurate on cases with known MI.

The bars are the usual ones, not tuned to this model: bmi's "solved" criterion
|log(estimate / truth)| < log 1.5 for MI >= 0.5 nats, and < 0.15 nats for independent data.
"""

import numpy as np
import pytest

from mist import MIEstimator, mutual_information
from mist.checkpoint import default_checkpoint_path


@pytest.fixture(scope="module")
def est():
    return MIEstimator.from_pretrained()


def _gauss_pairs(n, d_pairs, rho, extra_x=0, extra_y=0, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d_pairs + extra_x))
    y = np.hstack([rho * x[:, :d_pairs] + np.sqrt(1 - rho**2) * rng.standard_normal((n, d_pairs)),
                   rng.standard_normal((n, extra_y))])
    return x, y, -0.5 * d_pairs * np.log(1 - rho**2)


def test_checkpoint_is_small_and_self_describing():
    folder = default_checkpoint_path()
    assert sum(p.stat().st_size for p in folder.rglob("*.safetensors")) < 25e6
    assert (folder / "MODEL_CARD.md").is_file()
    est = MIEstimator.from_pretrained()
    # a routed checkpoint (one network per range of N) describes and calibrates every expert
    configs = est.config.get("expert_configs", [est.config])
    networks = getattr(est.model, "experts", [est.model])
    for config, network in zip(configs, networks, strict=True):
        assert config["model"]["arch"] in ("two_axis", "pooled")
        assert config["training"]["steps"] > 0
        cal = config["calibration"]  # the shipped intervals are calibrated, and say on what
        assert cal["split"] == "calib" and cal["sets"] >= 500 and len(cal["offsets_z"]) == len(est.levels)
        assert network.head.is_calibrated


@pytest.mark.parametrize("n, pairs, rho, ex, ey", [
    (1000, 1, 0.9, 0, 0), (500, 2, 0.8, 1, 3), (300, 4, 0.7, 4, 0), (2000, 3, 0.6, 2, 2)])
def test_solved_on_gaussians(est, n, pairs, rho, ex, ey):
    x, y, mi = _gauss_pairs(n, pairs, rho, ex, ey)
    r = est.estimate(np.exp(x), y)  # a monotone map changes nothing
    assert abs(np.log(r.mi / mi)) < np.log(1.5), (r, mi)


def test_independent_is_near_zero(est):
    rng = np.random.default_rng(1)
    r = est.estimate(rng.standard_normal((500, 5)), rng.standard_t(2, size=(500, 3)))
    assert r.mi < 0.15, r


def test_more_dependence_gives_more_mi(est):
    values = [est.estimate(*_gauss_pairs(500, 2, rho, seed=3)[:2]).mi for rho in (0.3, 0.6, 0.9)]
    assert values[0] < values[1] < values[2]


def test_one_off_function_and_bits():
    x, y, mi = _gauss_pairs(500, 1, 0.9)
    nats = mutual_information(x, y)
    assert mutual_information(x, y, units="bits") == pytest.approx(nats / np.log(2), rel=1e-6)


def test_large_n_within_memory(est):
    x, y, mi = _gauss_pairs(100_000, 5, 0.5, extra_x=5, extra_y=5)
    r = est.estimate(x, y)
    assert r.n == 100_000 and r.n_subsets > 1
    assert abs(np.log(r.mi / mi)) < np.log(1.5), (r, mi)


def test_shipped_checkpoint_by_name():
    from mist.checkpoint import shipped_checkpoints
    assert "mist-default" in shipped_checkpoints()
    by_name = MIEstimator.from_pretrained("mist-default")
    assert by_name.config["card"] == MIEstimator.from_pretrained().config["card"]
    with pytest.raises(FileNotFoundError, match="shipped: "):
        MIEstimator.from_pretrained("mist-nonexistent")
