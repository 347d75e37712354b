"""mist.unmix: turning a side mixed as a whole so its dependence lies along columns (design §12k)."""

import numpy as np
import pytest
from scipy.stats import spearmanr

from mist import MIEstimator
from mist.unmix import MIN_N, unmix_pair


def _mixed_parabola(n=1000, seed=0, d=4):
    """X = rotation of [s, 3 independent Gaussians], Y = s^2 + noise; also returns s and the unmixed X."""
    rng = np.random.default_rng(seed)
    s = rng.uniform(-1, 1, n)
    raw = np.c_[s, rng.standard_normal((n, d - 1))]
    rot = np.linalg.qr(rng.standard_normal((d, d)))[0]
    y = (s ** 2 + 0.05 * rng.standard_normal(n))[:, None]
    return raw @ rot, y, s, raw


def test_mixed_side_is_turned_onto_the_signal():
    x, y, s, _ = _mixed_parabola()
    tx, ty, info = unmix_pair(x, y)
    assert info["turned"] == (True, False)
    assert ty is y  # a one-column side is never touched
    rho = [abs(spearmanr(tx[:, j], s)[0]) for j in range(tx.shape[1])]
    assert max(rho) > 0.95, rho
    assert sorted(rho)[-2] < 0.2, rho  # the signal is in one column, not spread


def test_turned_side_is_an_invertible_map_of_the_normal_scores():
    from mist.unmix import _normal_scores
    x, y, _, _ = _mixed_parabola()
    tx, _, _ = unmix_pair(x, y)
    g = _normal_scores(x)
    m, res, rank, sv = np.linalg.lstsq(g, tx, rcond=None)
    assert np.allclose(g @ m, tx, atol=1e-8)
    assert rank == x.shape[1] and sv.min() > 1e-6 * sv.max()


def test_aligned_side_is_left_alone():
    _, y, _, raw = _mixed_parabola()
    tx, _, info = unmix_pair(raw, y)
    assert info["turned"] == (False, False)
    assert tx is raw


def test_row_order_and_side_swap_do_not_matter():
    x, y, _, _ = _mixed_parabola(n=1500)  # more rows than the search uses: rows chosen by rank
    perm = np.random.default_rng(1).permutation(len(x))
    tx, ty, _ = unmix_pair(x, y)
    px, py, _ = unmix_pair(x[perm], y[perm])
    assert np.allclose(px, tx[perm], atol=1e-8) and np.allclose(py, ty[perm])
    sy, sx, info = unmix_pair(y, x)
    assert info["turned"] == (False, True)
    assert np.allclose(sx, tx, atol=1e-8)


@pytest.mark.parametrize("case", ["small_n", "ties", "wide"])
def test_ineligible_sides_pass_unchanged(case):
    rng = np.random.default_rng(2)
    n, d = (MIN_N - 1, 4) if case == "small_n" else (600, 20 if case == "wide" else 4)
    x = rng.standard_normal((n, d))
    if case == "ties":
        x[:, 1] = rng.integers(0, 5, n)
    x[:, 0] = np.linspace(-1, 1, n)
    y = (x[:, 0] ** 2)[:, None] + 0.05 * rng.standard_normal((n, 1))
    mixed = x @ np.linalg.qr(rng.standard_normal((d, d)))[0] if case != "ties" else x
    tx, _, info = unmix_pair(mixed, y)
    assert info["turned"] == (False, False) and tx is mixed


def test_estimator_sees_the_mixed_set_as_the_unmixed_one():
    x, y, _, raw = _mixed_parabola(n=2000)
    on, off = MIEstimator.from_pretrained(unmix=True), MIEstimator.from_pretrained(unmix=False)
    assert on.estimate_many([(x, y)])[0].quantiles == on.estimate(x, y).quantiles
    aligned = off.estimate(raw, y).mi
    r = on.estimate(x, y)
    assert r.extra["turned"] == (True, False)
    assert aligned > 1.0  # the network resolves the aligned parabola ...
    assert off.estimate(x, y).mi < 0.5 * aligned  # ... and misses it when the side is mixed
    assert abs(r.mi - aligned) < 0.25 * aligned  # turning gives back what it sees aligned


def test_independent_sides_stay_near_zero_when_searched():
    rng = np.random.default_rng(3)
    est = MIEstimator.from_pretrained(unmix=True)
    for n in (128, 500):
        r = est.estimate(rng.standard_normal((n, 4)), rng.standard_normal((n, 4)))
        assert r.interval(0.9)[0] < 0.05 and r.mi < 0.3, (n, r.mi, r.interval(0.9))


def test_batched_screen_matches_one_set_at_a_time():
    from mist.unmix import unmix_many
    sets = [_mixed_parabola(n=600, seed=s)[:2] for s in range(3)]
    rng = np.random.default_rng(4)
    sets.append((rng.standard_normal((600, 4)), rng.standard_normal((600, 1))))  # independent
    sets.append(_mixed_parabola(n=300, seed=9)[:2])  # another shape, its own group
    for (bx, by, binfo), (x, y) in zip(unmix_many(sets), sets):
        sx, sy, sinfo = unmix_pair(x, y)
        assert binfo == sinfo
        assert np.allclose(bx, sx, atol=1e-8) and np.allclose(by, sy, atol=1e-8)


def test_linear_dependence_is_left_to_the_network():
    """A rotated Gaussian pair: the dependence a linear map shows is the prior's own rotated world,
    so the linear gate (design 12l) leaves it unturned."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((800, 4))
    y = 0.7 * x[:, :2] + 0.7 * rng.standard_normal((800, 2))
    x = x @ np.linalg.qr(rng.standard_normal((4, 4)))[0]
    _, _, info = unmix_pair(x, y)
    assert info["turned"] == (False, False)


def test_auto_searches_only_against_a_single_column():
    from mist.unmix import unmix_many
    x, y, _, _ = _mixed_parabola()  # the set the other tests turn; this one tests the gating
    wide_y = np.c_[y, np.random.default_rng(11).standard_normal((len(y), 2))]
    out = unmix_many([(x, y), (x, wide_y)], single_only=True)
    assert out[0][2]["turned"] == (True, False)  # against one column: searched, turned
    assert out[1][2]["turned"] == (False, False) and out[1][0] is x  # against three: not searched
    assert unmix_many([(x, wide_y)])[0][2]["turned"][0]  # unmix=True searches it
    est = MIEstimator.from_pretrained(unmix="auto")
    assert est.estimate(x, y).extra["turned"] == (True, False)
