"""The `mist` command line on real files, with a small real checkpoint."""

import json

import numpy as np
import pytest

from mist.cli import main


@pytest.fixture(scope="module")
def ckpt(tiny_checkpoint):
    return str(tiny_checkpoint)


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((100, 3))
    a[:, 2] += a[:, 0]
    return a


def test_csv_with_header_json(tmp_path, ckpt, table, capsys):
    path = tmp_path / "d.csv"
    np.savetxt(path, table, delimiter=",", header="a,b,c", comments="")
    assert main(["estimate", str(path), "--x", "a,b", "--y", "c", "--json", "--checkpoint", ckpt]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dx"] == 2 and out["dy"] == 1 and out["n"] == 100 and out["units"] == "nats"
    lo, hi = out["interval90"]
    assert lo <= out["mi"] <= hi


def test_npy_indices_table_and_bits(tmp_path, ckpt, table, capsys):
    path = tmp_path / "d.npy"
    np.save(path, table)
    main(["estimate", str(path), "--x", "0", "--y", "2", "--units", "bits", "--checkpoint", ckpt])
    out = capsys.readouterr().out
    assert "bits" in out and "level" in out


def test_npz_needs_key_when_ambiguous(tmp_path, ckpt, table):
    path = tmp_path / "d.npz"
    np.savez(path, a=table, b=table)
    with pytest.raises(SystemExit, match="--key"):
        main(["estimate", str(path), "--x", "0", "--y", "2", "--checkpoint", ckpt])
    assert main(["estimate", str(path), "--key", "b", "--x", "0", "--y", "2", "--checkpoint", ckpt]) == 0


def test_errors_are_clear(tmp_path, ckpt, table):
    path = tmp_path / "d.csv"
    np.savetxt(path, table, delimiter=",", header="a,b,c", comments="")
    with pytest.raises(SystemExit, match="unknown column 'z'"):
        main(["estimate", str(path), "--x", "z", "--y", "c", "--checkpoint", ckpt])
    with pytest.raises(SystemExit, match="no such file"):
        main(["estimate", str(tmp_path / "missing.csv"), "--x", "a", "--y", "c"])
    const = table.copy()
    const[:, 1] = 1.0
    np.save(tmp_path / "c.npy", const)
    with pytest.raises(SystemExit, match="constant column"):
        main(["estimate", str(tmp_path / "c.npy"), "--x", "0,1", "--y", "2", "--checkpoint", ckpt])
    assert main(["estimate", str(tmp_path / "c.npy"), "--x", "0,1", "--y", "2", "--drop-constant",
                 "--checkpoint", ckpt]) == 0


def test_help(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "estimate" in capsys.readouterr().out
