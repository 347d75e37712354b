"""mist.categorical: a side's binary columns as one categorical column (design §12m)."""

import numpy as np
import pytest

from mist import MIEstimator
from mist.categorical import MAX_STATES, collapse_binary


def _bits(states, width):
    return ((states[:, None] >> np.arange(width)) & 1).astype(np.float64)


def _category(n=1500, k=7, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.dirichlet(np.ones(k) * 2)
    return rng.choice(k, n, p=w)


def test_bits_become_one_column_numbered_by_frequency():
    s = _category()
    z, merged = collapse_binary(_bits(s, 3))
    assert merged == 3 and z.shape == (len(s), 1)
    code = z[:, 0].astype(int)
    # a bijection of the states: each state has one code and each code one state
    pairs = set(zip(s.tolist(), code.tolist()))
    assert len(pairs) == len(set(s.tolist())) == len(set(code.tolist()))
    counts = np.bincount(code)
    assert np.all(np.diff(counts) <= 0)  # code 0 is the most frequent


def test_code_ignores_column_order_value_names_and_row_order():
    s = _category(seed=1)
    base = collapse_binary(_bits(s, 3))[0]
    shuffled = _bits(s, 3)[:, [2, 0, 1]]
    renamed = np.where(shuffled > 0, -1.5, 4.0)  # other values, and the order of the two flipped
    assert np.array_equal(collapse_binary(renamed)[0], base)
    perm = np.random.default_rng(2).permutation(len(s))
    assert np.array_equal(collapse_binary(_bits(s, 3)[perm])[0], base[perm])


def test_other_columns_stay_and_the_code_is_appended():
    s = _category(seed=3)
    cont = np.random.default_rng(3).standard_normal((len(s), 2))
    z, merged = collapse_binary(np.c_[cont[:, :1], _bits(s, 3), cont[:, 1:]])
    assert merged == 3 and z.shape == (len(s), 3)
    assert np.array_equal(z[:, :2], cont)


@pytest.mark.parametrize("case", ["one_binary", "too_many_states", "no_binary"])
def test_left_alone(case):
    rng = np.random.default_rng(4)
    n = 1000
    if case == "one_binary":
        z = np.c_[rng.integers(0, 2, n), rng.standard_normal(n)].astype(float)
    elif case == "too_many_states":
        z = rng.integers(0, 2, (n, 4)).astype(float)  # 16 joint rows > MAX_STATES
        assert 2 ** 4 > MAX_STATES
    else:
        z = rng.integers(0, 3, (n, 3)).astype(float)
    out, merged = collapse_binary(z)
    assert merged == 0 and out is z


def test_estimator_sees_bits_as_the_index_column():
    rng = np.random.default_rng(5)
    s = _category(n=2000, seed=5)
    x = rng.standard_normal((2000, 2)) + 2 * np.c_[np.cos(s), np.sin(s)]
    on = MIEstimator.from_pretrained(collapse_binary=True)
    r = on.estimate(x, _bits(s, 3))
    assert r.extra["merged_binary"] == (0, 3)
    index = collapse_binary(_bits(s, 3))[0]
    same = MIEstimator.from_pretrained(collapse_binary=False).estimate(x, index)
    assert r.quantiles == same.quantiles
    assert r.dy == 3  # the result describes the user's data


def test_independence_test_sees_what_estimate_sees():
    rng = np.random.default_rng(6)
    s = _category(n=600, seed=6)
    x = rng.standard_normal((600, 1)) + s[:, None]
    est = MIEstimator.from_pretrained()
    assert est.collapse_binary  # the default (design §12m)
    t = est.independence_test(x, _bits(s, 3), n_permutations=20, seed=0)
    assert t.mi == pytest.approx(est.estimate(x, _bits(s, 3)).mi, rel=1e-5, abs=1e-7)
    assert t.p_value <= 0.05


def test_differentiable_path_merges_one_hot_labels_and_keeps_gradients():
    import torch
    rng = np.random.default_rng(7)
    s = _category(n=400, k=5, seed=7)
    x_t = torch.tensor(rng.standard_normal((400, 2)) + s[:, None], requires_grad=True)
    onehot = torch.tensor(np.eye(5)[s])
    code = torch.tensor(collapse_binary(np.eye(5)[s])[0])
    est = MIEstimator.from_pretrained()
    m = est.mi(x_t, onehot)
    assert torch.equal(m.detach(), est.mi(x_t, code).detach())
    m.backward()
    assert x_t.grad is not None and torch.isfinite(x_t.grad).all() and x_t.grad.abs().sum() > 0
    batched = est.mi(torch.stack([x_t.detach()] * 2), torch.stack([onehot] * 2))
    assert torch.allclose(batched, m.detach().expand(2))


@pytest.mark.parametrize("name", ["table_path", "unmix", "collapse_binary"])
def test_option_flags_must_be_booleans(name):
    with pytest.raises(TypeError, match=name):
        MIEstimator.from_pretrained(**{name: "no"})


def test_cli_keep_binary(tmp_path, capsys):
    import json
    from mist.cli import main
    s = _category(n=500, seed=8)
    x = np.random.default_rng(8).standard_normal(500) + s
    path = tmp_path / "b.csv"
    np.savetxt(path, np.c_[x, _bits(s, 3)], delimiter=",", header="x,b0,b1,b2", comments="")
    args = ["estimate", str(path), "--x", "x", "--y", "b0,b1,b2", "--json"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["merged_binary"] == [0, 3]
    assert main(args + ["--keep-binary"]) == 0
    assert json.loads(capsys.readouterr().out)["merged_binary"] == [0, 0]
