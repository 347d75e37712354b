"""Property-based fuzzing of the public API with hypothesis (issue 13).

Every generated input must either be refused with a clear ValueError / TypeError (one that
names x, y, the samples or the batch), or give a sane result: finite, >= 0, non-crossing
quantiles, and the same result for permuted samples with X and Y swapped and every column put
through a monotone map. For `estimate` the map is any strictly increasing one (ranks are all it
reads, so results agree up to float rounding); the soft path is invariant to rescaling only (its
kernel smooths on the raw scale, see mist.differentiable), so there the map is x -> 4x, within a
float32 tolerance. Which inputs are valid is decided here from how they were built, so a valid
input that is refused fails as much as an invalid one that is accepted. The CLI's load path must
read every well-formed file exactly and refuse every damaged one with one `mist: ...` line.

Default suite: a few hundred derandomized cases, mostly on a tiny real checkpoint, some on the
shipped one. Slow suite (`pytest -m slow tests/test_fuzz.py`): > 1000 random cases.
"""

import json
import re

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mist import MIEstimator, MILoss, mutual_information
from mist.cli import CLIError, load_table, main

DEFAULT = dict(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
SLOW = dict(deadline=None, database=None, suppress_health_check=list(HealthCheck))
CLEAR = re.compile(r"\b(x|y)\b|samples|batch")  # every validator message names what is wrong
KINDS = ["normal"] * 4 + ["ties", "cauchy", "huge", "tiny", "denormal", "constant", "binary", "spike"]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)  # small passes: more threads only add overhead on a shared machine
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def tiny(tiny_checkpoint):
    return MIEstimator.from_pretrained(tiny_checkpoint)


@pytest.fixture(scope="module")
def tiny_subsets(tiny_checkpoint):
    return MIEstimator.from_pretrained(tiny_checkpoint, max_n=32)  # N > 32: random subsets


@pytest.fixture(scope="module")
def shipped():
    return MIEstimator.from_pretrained()


# ------------------------------------------------------------------ generated data
def _column(kind: str, base: np.ndarray, rng) -> np.ndarray:
    n = len(base)
    noise = rng.standard_normal(n)
    col = {"normal": base + noise, "ties": np.round(base + noise), "cauchy": base + rng.standard_cauchy(n),
           "huge": (base + noise) * 1e300, "tiny": (base + noise) * 1e-300, "denormal": (base + noise) * 1e-310,
           "constant": np.full(n, 3.0), "binary": (base + noise > 0).astype(float), "spike": base + noise}[kind]
    if kind == "spike" and n:
        col[rng.integers(n)] = 1e300
    return col


@st.composite
def pairs(draw, max_n=80):
    """Clean float64 x (N, dx), y (N, dy), dependent or not, with awkward columns."""
    n = draw(st.sampled_from([8, 9, 12, 16, 25, 40, max_n] * 3 + [0, 1, 3, 7]))   # mostly valid, some too few
    dx, dy = (draw(st.sampled_from([1] * 4 + [2] * 3 + [3] * 2 + [0])) for _ in range(2))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    base = rng.standard_normal(n) * draw(st.sampled_from([0.0, 1.0, 3.0]))
    cols = [_column(draw(st.sampled_from(KINDS)), base, rng) for _ in range(dx + dy)]
    table = np.stack(cols, axis=1) if cols else np.zeros((n, 0))
    return table[:, :dx], table[:, dx:]


def _monotone(a: np.ndarray, rng) -> np.ndarray:
    """A random strictly increasing map of each column: same order, same ties, new values."""
    out = np.empty_like(a)
    for j in range(a.shape[1]):
        u, inv = np.unique(a[:, j], return_inverse=True)
        out[:, j] = np.cumsum(rng.uniform(0.1, 10.0, len(u)))[inv.ravel()] - 5.0
    return out


def _finite_nonconstant(arrays, constant_columns):
    """Would this numeric data (float64 views of the final inputs) pass: finite, no constant column."""
    ok = all(np.isfinite(a).all() for a in arrays)
    if constant_columns == "error":
        ok = ok and all((np.ptp(a.reshape(-1, a.shape[-2], a.shape[-1]), axis=1) > 0).all() for a in arrays)
    return ok


def _sane(q: np.ndarray):
    assert np.isfinite(q).all() and (q >= 0).all(), q
    assert (np.diff(q, axis=-1) >= 0).all(), q   # non-crossing quantiles


# ------------------------------------------------------------------ estimate / mutual_information
@st.composite
def hard_cases(draw, constant_columns=None):
    """(x, y, constant_columns, expected): x, y in some container and dtype, maybe broken;
    expected is "ok", ValueError or TypeError, from how they were made."""
    x, y = draw(pairs())
    constant_columns = constant_columns or draw(st.sampled_from(["error", "drop"]))
    n, dx, dy = len(x), x.shape[1], y.shape[1]
    structural = None
    damage = draw(st.sampled_from([None] * 20 + ["nan", "inf", "n_mismatch", "3d", "0d", "complex", "strings"]))
    if damage in ("nan", "inf") and x.size:
        x = x.copy()
        x[draw(st.integers(0, n - 1)), draw(st.integers(0, dx - 1))] = np.nan if damage == "nan" else -np.inf
    elif damage == "n_mismatch" and n:
        y, structural = y[1:], ValueError
    elif damage == "3d":
        x, structural = x[None], ValueError
    elif damage == "0d":
        x, structural = np.float64(1.5), ValueError
    elif damage == "complex":
        x, structural = x + 1j, ValueError
    elif damage == "strings":
        x, structural = x.astype(str), ValueError
    dtype = draw(st.sampled_from(["float64"] * 4 + ["float32", "float16", "int64", "bool", "bfloat16"]))
    container = draw(st.sampled_from(["numpy", "numpy", "torch", "list"]))

    def cast(a):
        if structural or not isinstance(a, np.ndarray) or a.dtype.kind != "f" or a.size == 0:
            return a
        if dtype in ("int64", "bool") and not np.isfinite(a).all():
            return a   # a NaN has no integer or bool form: keep it, to be refused
        if dtype == "int64":
            return np.round(a).clip(-1e9, 1e9).astype(np.int64)
        if dtype == "bool":
            return a > np.median(a, axis=0)
        if dtype == "bfloat16":
            return a if container != "torch" else torch.tensor(a).to(torch.bfloat16)
        with np.errstate(over="ignore"):
            return a.astype(dtype)

    xs, ys = cast(x), cast(y)

    def wrap(a):
        if isinstance(a, torch.Tensor) or not isinstance(a, np.ndarray):
            return a
        if container == "torch" and a.dtype.kind in "fiub":
            return torch.from_numpy(np.ascontiguousarray(a))
        if container == "list":
            return a.tolist()
        return a

    xi, yi = wrap(xs), wrap(ys)
    # squeeze single columns to (N,) sometimes: the same data
    if draw(st.booleans()) and not structural and hasattr(xi, "shape") and len(xi.shape) == 2 and xi.shape[1] == 1:
        xi = xi[:, 0]
    if structural:
        return xi, yi, constant_columns, structural
    if n == 0 or dx == 0 or dy == 0 or n < 8:
        return xi, yi, constant_columns, ValueError
    f64 = [torch.as_tensor(a).double().numpy() if isinstance(a, torch.Tensor) else np.asarray(a, dtype=np.float64)
           for a in (xs, ys)]
    expected = "ok" if _finite_nonconstant([a.reshape(n, -1) for a in f64], constant_columns) else ValueError
    return xi, yi, constant_columns, expected


def _numeric(a):
    return (a.double().numpy() if isinstance(a, torch.Tensor) else np.asarray(a, dtype=np.float64)).reshape(len(a), -1)


def check_hard(est, case, seed, also_mi_of=None):
    x, y, constant_columns, expected = case
    event(f"expected {getattr(expected, '__name__', expected)}")
    if expected != "ok":
        with pytest.raises(expected) as err:
            est.estimate(x, y, constant_columns=constant_columns)
        assert CLEAR.search(str(err.value)), err.value
        return
    r = est.estimate(x, y, constant_columns=constant_columns)
    q = np.array(list(r.quantiles.values()))
    _sane(q)
    xn, yn = _numeric(x), _numeric(y)
    assert r.n == len(xn) and r.dx <= xn.shape[1] and r.dy <= yn.shape[1]
    assert constant_columns == "drop" or (r.dx, r.dy) == (xn.shape[1], yn.shape[1])
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(xn))
    r2 = est.estimate(_monotone(yn, rng)[perm], _monotone(xn, rng)[perm], constant_columns=constant_columns)
    np.testing.assert_allclose(np.array(list(r2.quantiles.values())), q, atol=1e-4, rtol=1e-4)
    if also_mi_of is not None:
        assert mutual_information(x, y, checkpoint=also_mi_of, constant_columns=constant_columns) == r.mi


@settings(max_examples=200, **DEFAULT)
@given(case=hard_cases(), seed=st.integers(0, 2**16))
def test_fuzz_estimate(tiny, case, seed):
    check_hard(tiny, case, seed)


@settings(max_examples=40, **DEFAULT)
@given(case=hard_cases(), seed=st.integers(0, 2**16))
def test_fuzz_estimate_shipped(shipped, case, seed):
    check_hard(shipped, case, seed)


@settings(max_examples=20, **DEFAULT)
@given(case=hard_cases(), seed=st.integers(0, 2**16))
def test_fuzz_mutual_information(tiny, tiny_checkpoint, case, seed):
    check_hard(tiny, case, seed, also_mi_of=tiny_checkpoint)


@pytest.mark.slow
@settings(max_examples=1200, **SLOW)
@given(case=hard_cases(), seed=st.integers(0, 2**16))
def test_fuzz_estimate_slow(tiny, case, seed):
    check_hard(tiny, case, seed)


@pytest.mark.slow
@settings(max_examples=200, **SLOW)
@given(case=hard_cases(), seed=st.integers(0, 2**16))
def test_fuzz_estimate_shipped_slow(shipped, case, seed):
    check_hard(shipped, case, seed)


# ------------------------------------------------------------------ estimate_many
def check_many(est, cases):
    event("all valid" if all(expected == "ok" for *_, expected in cases) else "one invalid")
    if any(expected != "ok" for *_, expected in cases):
        with pytest.raises((ValueError, TypeError)):
            est.estimate_many([(x, y) for x, y, *_ in cases], constant_columns="drop")
        return
    results = est.estimate_many([(x, y) for x, y, *_ in cases], constant_columns="drop")
    for (x, y, *_), r in zip(cases, results):   # a dataset's result depends only on itself
        q = np.array(list(r.quantiles.values()))
        _sane(q)   # (up to float32 rounding: passes of other batch sizes)
        np.testing.assert_allclose(q, list(est.estimate(x, y, constant_columns="drop").quantiles.values()),
                                   atol=1e-5, rtol=1e-5)


# mostly lists of valid datasets (N up to 80 > max_n = 32: random subsets), some with a bad one
MANY = st.tuples(st.lists(hard_cases("drop").filter(lambda c: c[3] == "ok"), min_size=1, max_size=4),
                 st.lists(hard_cases("drop"), max_size=1)).map(lambda t: t[0] + t[1])


@settings(max_examples=30, **DEFAULT)
@given(cases=MANY)
def test_fuzz_estimate_many(tiny_subsets, cases):
    check_many(tiny_subsets, cases)


@pytest.mark.slow
@settings(max_examples=300, **SLOW)
@given(cases=MANY)
def test_fuzz_estimate_many_slow(tiny_subsets, cases):
    check_many(tiny_subsets, cases)


# ------------------------------------------------------------------ the differentiable path
@st.composite
def soft_cases(draw):
    """(x, y, constant_columns, expected) for est.mi / quantiles_t / MILoss: torch tensors
    (N,), (N, d) or (B, N, d), some with autograd, or something broken."""
    b = draw(st.sampled_from([None, None, 1, 2, 3]))
    x, y = draw(pairs(max_n=48))
    n = len(x)
    if b:  # more sets of the same columns: rows shuffled independently (other dependence)
        rng = np.random.default_rng(draw(st.integers(0, 2**16)))
        x = np.stack([x] + [x[rng.permutation(n)] for _ in range(b - 1)])
        y = np.stack([y] + [y[rng.permutation(n)] for _ in range(b - 1)])
    constant_columns = draw(st.sampled_from(["error", "drop"]))
    dtype = draw(st.sampled_from([torch.float64, torch.float64, torch.float32, torch.float16, torch.bfloat16,
                                  torch.int64, torch.bool]))
    damage = draw(st.sampled_from([None] * 24 + ["nan", "numpy", "list", "0d", "4d", "complex", "n_mismatch",
                                                 "batch_mismatch", "batched_vs_not"]))
    expected = None
    if damage == "nan" and x.size:
        x = x.copy()
        x.reshape(-1)[draw(st.integers(0, x.size - 1))] = np.nan
    with np.errstate(over="ignore", invalid="ignore"):
        xt = torch.tensor(np.nan_to_num(np.round(x)).clip(-1e9, 1e9) if dtype == torch.int64 else x).to(dtype)
        yt = torch.tensor(np.nan_to_num(np.round(y)).clip(-1e9, 1e9) if dtype == torch.int64 else y).to(dtype)
    if dtype == torch.bool:
        xt, yt = torch.tensor(x > 0.5), torch.tensor(y > 0.5)
    if damage == "numpy":   # on x, whose checks come first: the TypeError wins
        xt, expected = x, TypeError
    elif damage == "list":
        xt, expected = x.tolist(), TypeError
    elif damage == "0d":
        xt, expected = torch.tensor(1.0), ValueError
    elif damage == "4d":
        xt, expected = xt[None, None] if b is None else xt[None], ValueError
    elif damage == "complex":
        xt, expected = torch.complex(xt.double(), xt.double()), ValueError
    elif damage == "n_mismatch" and n:
        yt, expected = yt[..., 1:, :], ValueError
    elif damage == "batch_mismatch" and b:
        yt, expected = torch.cat([yt, yt]), ValueError
    elif damage == "batched_vs_not":
        xt, expected = (xt[None] if b is None else xt[0]), ValueError
    if expected is None:
        if n < 8 or x.shape[-1] == 0 or y.shape[-1] == 0:
            expected = ValueError
        else:
            f64 = [t.double().numpy().reshape(-1, n, t.shape[-1]) for t in (xt, yt)]
            expected = "ok" if _finite_nonconstant(f64, constant_columns) else ValueError
    if expected == "ok" and dtype.is_floating_point and draw(st.booleans()):
        xt = xt.clone().requires_grad_(True)
    entry = draw(st.sampled_from(["quantiles_t", "mi", "MILoss"]))
    return xt, yt, constant_columns, expected, entry


def _soft(est, x, y, constant_columns, entry):
    if entry == "quantiles_t":
        return est.quantiles_t(x, y, constant_columns=constant_columns)
    if entry == "mi":
        return est.mi(x, y, constant_columns=constant_columns)[..., None]
    return MILoss(est, sign=1, reduction="none", constant_columns=constant_columns)(x, y)[..., None]


def check_soft(est, case, seed):
    x, y, constant_columns, expected, entry = case
    event(f"expected {getattr(expected, '__name__', expected)}")
    if expected != "ok":
        with pytest.raises(expected) as err:
            _soft(est, x, y, constant_columns, entry)
        assert CLEAR.search(str(err.value)), err.value
        return
    q = _soft(est, x, y, constant_columns, entry)
    _sane(q.detach().numpy())
    if x.requires_grad:
        q.sum().backward()
        assert torch.isfinite(x.grad).all()
    rng = np.random.default_rng(seed)
    perm = torch.from_numpy(rng.permutation(x.shape[-2]))
    x4, y4 = (t.detach().double() * 4 for t in (x, y))   # exact in float64 for these values
    q2 = _soft(est, y4[..., perm, :], x4[..., perm, :], constant_columns, entry)
    np.testing.assert_allclose(q2.detach().numpy(), q.detach().numpy(), atol=2e-3, rtol=1e-3)


@settings(max_examples=120, **DEFAULT)
@given(case=soft_cases(), seed=st.integers(0, 2**16))
def test_fuzz_soft(tiny, case, seed):
    check_soft(tiny, case, seed)


@settings(max_examples=20, **DEFAULT)
@given(case=soft_cases(), seed=st.integers(0, 2**16))
def test_fuzz_soft_shipped(shipped, case, seed):
    check_soft(shipped, case, seed)


@pytest.mark.slow
@settings(max_examples=1000, **SLOW)
@given(case=soft_cases(), seed=st.integers(0, 2**16))
def test_fuzz_soft_slow(tiny, case, seed):
    check_soft(tiny, case, seed)


@pytest.mark.slow
@settings(max_examples=150, **SLOW)
@given(case=soft_cases(), seed=st.integers(0, 2**16))
def test_fuzz_soft_shipped_slow(shipped, case, seed):
    check_soft(shipped, case, seed)


# ------------------------------------------------------------------ the CLI's load path
NAMES = ["a", "b", "c", "d", "x y", "é", "col_1"]


@st.composite
def csv_files(draw):
    """(bytes, suffix, data (N, C) float64, names or None, must_fail, may_fail): a table written
    with random formatting, maybe damaged. must_fail: the damage loses or garbles data;
    may_fail: the damage is harmless to the data (a '#' line read as a header), so either a
    refusal or an exact read is fine."""
    n, c = draw(st.sampled_from([0, 1, 2, 5, 8, 12])), draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    data = rng.standard_normal((n, c)) * draw(st.sampled_from([1.0, 1e-300, 1e300]))
    if draw(st.booleans()):
        data = np.round(data * 3)
    names = draw(st.permutations(NAMES))[:c] if draw(st.booleans()) else None
    sep = draw(st.sampled_from([",", "\t"]))
    quote = draw(st.booleans())
    cells = [[repr(float(v)) for v in row] for row in data]
    if quote:
        cells = [[f'"{v}"' for v in row] for row in cells]
    damage = draw(st.sampled_from([None] * 12 + ["missing", "na", "garbage", "ragged", "hash", "blank_middle",
                                                 "latin1", "nul", "dup_header", "inf"]))
    must_fail, may_fail = False, False
    if damage in ("missing", "na", "garbage", "inf") and n:
        i, j = draw(st.integers(0, n - 1)), draw(st.integers(0, c - 1))
        cells[i][j] = {"missing": "", "na": "NA", "garbage": "1.0.0", "inf": "inf"}[damage]
        if c == 1 and i == n - 1 and damage == "missing":   # "1\n\n" minus a final newline is "1\n":
            cells[i][j] = "NA"                               # no file format can tell, so not generated
        must_fail = True
    elif damage == "ragged" and (n > 1 or (n and names is not None)):   # a lone row: nothing to differ from
        cells[draw(st.integers(0, n - 1))].append("1.0")
        must_fail = True
    elif damage == "dup_header" and names is not None and c > 1:
        names = [names[0]] * 2 + names[2:]
        must_fail = True
    lines = ([sep.join(names)] if names is not None else []) + [sep.join(r) for r in cells]
    if damage == "hash" and lines:
        lines.insert(draw(st.integers(0, len(lines))), "# a note")
        may_fail = True
    if damage == "blank_middle" and len(lines) > 1:
        lines.insert(draw(st.integers(1, len(lines) - 1)), "")
        must_fail = True
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    ends = draw(st.integers(0, 2))
    text = eol.join(lines) + eol * ends
    if ends == 2 and c == 1:
        must_fail = True   # a blank last line of a one-column table: a missing value or not? refused
    raw = ("\ufeff" if draw(st.booleans()) else "").encode() + text.encode("utf-8")
    if damage == "latin1":
        raw, must_fail = raw + "é".encode("latin-1"), True
    if damage == "nul":
        raw, must_fail = raw[: len(raw) // 2] + b"\x00" + raw[len(raw) // 2:], True
    if n == 0:
        must_fail = True   # nothing to read: an empty file, or a header only
    return raw, ".tsv" if sep == "\t" else ".csv", data, names, must_fail, may_fail


def check_load(tmp_path_factory, case):
    raw, suffix, data, names, must_fail, may_fail = case
    event("must fail" if must_fail else "may fail" if may_fail else "well-formed")
    path = tmp_path_factory.mktemp("fuzz") / f"d{suffix}"
    path.write_bytes(raw)
    try:
        table = load_table(str(path))
        loaded = np.stack([table.column(j) for j in range(table.n_cols)], axis=1)
    except CLIError as err:
        assert "\n" not in str(err) and str(err), err
        assert must_fail or may_fail, f"refused a well-formed file: {err}"
        return
    assert not must_fail, "a damaged file was read without an error"
    np.testing.assert_array_equal(loaded, data)   # no row or value lost or changed
    if not may_fail:
        assert table.names == names


@settings(max_examples=150, **DEFAULT)
@given(case=csv_files())
def test_fuzz_cli_load(tmp_path_factory, case):
    check_load(tmp_path_factory, case)


@pytest.mark.slow
@settings(max_examples=1500, **SLOW)
@given(case=csv_files())
def test_fuzz_cli_load_slow(tmp_path_factory, case):
    check_load(tmp_path_factory, case)


@settings(max_examples=20, **DEFAULT)
@given(case=csv_files())
def test_fuzz_cli_end_to_end(tmp_path_factory, tiny_checkpoint, case, capsys):
    raw, suffix, data, names, must_fail, may_fail = case
    path = tmp_path_factory.mktemp("fuzz") / f"d{suffix}"
    path.write_bytes(raw)
    argv = ["estimate", str(path), "--x", "0", "--y", "-1", "--drop-constant", "--json", "--checkpoint", str(tiny_checkpoint)]
    try:
        assert main(argv) == 0
    except SystemExit as err:
        assert isinstance(err.code, str) and err.code.startswith("mist: ") and "\n" not in err.code, err.code
        return
    assert not must_fail
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == len(data) and np.isfinite(out["mi"]) and out["mi"] >= 0
