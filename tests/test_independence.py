"""mist.independence: the exact permutation test behind est.independence_test, and the HSIC baseline."""

import numpy as np
import pytest

from mist import IndependenceResult, MIEstimator
from mist.evaluate.hsic import gaussian_gram, hsic_test
from mist.independence import permutation_p_value
from mist.network.normalize import rank_codes_np

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def est(tiny_checkpoint):
    return MIEstimator.from_pretrained(tiny_checkpoint, max_n=256)


@pytest.fixture(scope="module")
def shipped():
    return MIEstimator.from_pretrained()


def _median_stat(est, sets, dx):
    """The test's statistic computed the long way: ranks of the full permuted data, per subset."""
    z = est._z_of_sets(sets, dx)
    return np.expm1(z[:, est.levels.index(0.5)].numpy())


def test_p_value_formula():
    assert permutation_p_value(1.0, [0.0, 0.5, 2.0, 1.0]) == pytest.approx(3 / 5)  # ties count against
    assert permutation_p_value(9.0, np.zeros(199)) == pytest.approx(1 / 200)
    assert permutation_p_value(-1.0, np.zeros(9)) == 1.0


def test_result_and_reproducible(est):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((60, 2)), rng.standard_normal((60, 3))
    t = est.independence_test(x, y, n_permutations=49, seed=5)
    assert isinstance(t, IndependenceResult) and t.n_permutations == 49 and t.null.shape == (49,)
    assert t.permuted == "x" and 1 / 50 <= t.p_value <= 1
    assert t.p_value == permutation_p_value(t.statistic, t.null)
    assert t.mi == pytest.approx(est.estimate(x, y).mi, rel=1e-5, abs=1e-7)
    again = est.independence_test(x, y, n_permutations=49, seed=5)
    np.testing.assert_array_equal(t.null, again.null)
    assert not np.array_equal(t.null, est.independence_test(x, y, n_permutations=49, seed=6).null)
    with pytest.raises(ValueError, match="n_permutations"):
        est.independence_test(x, y, n_permutations=0)


@pytest.mark.parametrize("n", [40, 600])  # 600 > max_n: fixed row subsets, re-ranked per permutation
def test_null_statistics_are_the_estimator_on_permuted_data(est, n):
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((n, 2)), rng.standard_normal((n, 1))
    t = est.independence_test(x, y, n_permutations=5, seed=3)
    draws = np.random.default_rng(3)
    rows = est._subset_rows(n, draws)
    rows = [np.arange(n)] if rows is None else rows
    perms = [draws.permutation(n) for _ in range(5)]
    sets = [[rank_codes_np(np.hstack([x, y[p]])[idx]) for idx in rows] for p in [np.arange(n)] + perms]
    stats = _median_stat(est, sets, 2)
    np.testing.assert_allclose(t.statistic, stats[0], rtol=1e-5)
    np.testing.assert_allclose(t.null, stats[1:], rtol=1e-5)


def test_size_is_exact_under_independence(est):
    """With B = 19 the test rejects at 0.05 iff T_obs beats all 19 permuted statistics: under
    independence that has probability exactly 1/20 (fixed seeds: the count is deterministic)."""
    rng = np.random.default_rng(7)
    rejections = sum(est.independence_test(rng.standard_normal((16, 1)), rng.standard_t(2, (16, 2)),
                                           n_permutations=19, seed=i).significant(0.05) for i in range(300))
    assert 5 <= rejections <= 27  # binomial(300, 0.05): mean 15, sd 3.8


def test_constant_side_and_frames(est):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((50, 2))
    t = est.independence_test(x, np.ones(50), constant_columns="drop", n_permutations=9)
    assert t.p_value == 1.0 and t.mi == 0.0
    with pytest.raises(ValueError, match="constant"):
        est.independence_test(x, np.ones(50))
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(x, columns=["a", "b"])
    t_df = est.independence_test(df[["a"]], df["b"], n_permutations=9, seed=1)
    assert t_df.p_value == est.independence_test(x[:, :1], x[:, 1], n_permutations=9, seed=1).p_value


def test_shipped_model_detects_dependence(shipped):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((200, 2))
    y = 0.5 * x[:, :1] + rng.standard_normal((200, 1))
    assert shipped.independence_test(x, y, n_permutations=99, seed=0).p_value == pytest.approx(0.01)
    assert shipped.independence_test(x, rng.standard_normal((200, 1)), n_permutations=99, seed=0).p_value > 0.05


def test_hsic():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((150, 1))
    k = gaussian_gram(x)
    assert np.allclose(k, k.T) and np.allclose(np.diag(k), 1.0)
    stat, p, null = hsic_test(x, x**2 + 0.3 * rng.standard_normal((150, 1)), n_permutations=49)
    assert p == pytest.approx(1 / 50) and stat > null.max()
    _, p_ind, _ = hsic_test(x, rng.standard_normal((150, 2)), n_permutations=49)
    assert p_ind > 0.05
