"""mist.feature_selection.mi_score: scores, targets, and use in scikit-learn selectors and Pipelines."""

from functools import partial

import numpy as np
import pytest

from mist import MIEstimator
from mist.feature_selection import mi_score

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tiny(tiny_checkpoint):
    return MIEstimator.from_pretrained(tiny_checkpoint, max_n=256)


def _regression(n=300, seed=0):
    """Features 0 and 3 drive y (3 through a monotone map), 1 and 2 are noise, 4 is constant."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5))
    X[:, 4] = 1.5
    y = X[:, 0] + np.exp(X[:, 3]) + 0.3 * rng.standard_normal(n)
    return X, y


def test_scores_rank_the_informative_features():
    X, y = _regression()
    s = mi_score(X, y)
    assert s.shape == (5,) and s[4] == 0.0 and (s >= 0).all()
    assert set(np.argsort(-s)[:2]) == {0, 3}
    assert s[0] == pytest.approx(MIEstimator.from_pretrained().estimate(X[:, 0], y).mi, rel=1e-5)


def test_targets_labels_and_errors(tiny):
    X, y = _regression(n=120)
    labels = np.where(y > np.median(y), "high", "low")  # text class labels: coded as integers
    codes = (labels == "low").astype(int)  # sorted order: "high" -> 0, "low" -> 1
    np.testing.assert_allclose(mi_score(X, labels, estimator=tiny), mi_score(X, codes, estimator=tiny))
    assert mi_score(X, np.stack([y, -y], axis=1), estimator=tiny).shape == (5,)  # multi-output y
    with pytest.raises(ValueError, match="same number of samples"):
        mi_score(X, y[:-1], estimator=tiny)
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="toarray"):
        mi_score(sparse.csr_matrix(X), y, estimator=tiny)


def test_pipeline_with_selectors(tiny):
    pytest.importorskip("sklearn")
    from sklearn.feature_selection import SelectKBest, SelectPercentile
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import Pipeline

    X, y = _regression()
    pipe = Pipeline([("select", SelectKBest(score_func=mi_score, k=2)), ("model", LinearRegression())]).fit(X, y)
    assert sorted(pipe.named_steps["select"].get_support(indices=True)) == [0, 3]
    assert pipe.score(X, y) > 0.5 and pipe.predict(X[:3]).shape == (3,)

    labels = (y > np.median(y)).astype(int)  # a class-label target, passed as it is
    clf = Pipeline([("select", SelectPercentile(score_func=mi_score, percentile=40)),
                    ("model", LogisticRegression())]).fit(X, labels)
    assert sorted(clf.named_steps["select"].get_support(indices=True)) == [0, 3]
    assert clf.score(X, labels) > 0.7

    chosen = SelectKBest(score_func=partial(mi_score, estimator=tiny), k=3).fit(X, y)
    np.testing.assert_allclose(chosen.scores_, mi_score(X, y, estimator=tiny))


def test_dataframe_features(tiny):
    pd = pytest.importorskip("pandas")
    X, y = _regression(n=120)
    df = pd.DataFrame(X, columns=list("abcde"))
    np.testing.assert_allclose(mi_score(df, pd.Series(y), estimator=tiny), mi_score(X, y, estimator=tiny))
    df["kind"] = pd.Categorical(np.where(y > 0, "a", "b"))
    with pytest.raises(ValueError, match="column 'kind' is categorical"):
        mi_score(df, y, estimator=tiny)
    labels = pd.Series(np.where(y > 0, "pos", "neg"))  # a text label Series: coded, as numpy labels are
    np.testing.assert_allclose(mi_score(X, labels, estimator=tiny), mi_score(X, (y > 0).astype(int), estimator=tiny))
    np.testing.assert_allclose(mi_score(X, labels.astype("category"), estimator=tiny),
                               mi_score(X, (y > 0).astype(int), estimator=tiny))
