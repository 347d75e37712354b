"""The `mist` command line on real files, with a small real checkpoint."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

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


# ------------------------------------------------------------------ issue 13: no silent data loss, no tracebacks
def _fails(argv, match):
    """main(argv) exits with exactly one `mist: ...` line that matches `match`."""
    with pytest.raises(SystemExit) as err:
        main(argv)
    msg = err.value.code
    assert isinstance(msg, str) and msg.startswith("mist: ") and "\n" not in msg, msg
    assert re.search(match, msg), msg
    return msg


def _csv(tmp_path, text, name="d.csv", mode="w"):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


def _rows(table, n=None, sep=","):
    return "".join(sep.join(f"{v:.6f}" for v in row) + "\n" for row in table[:n])


def _n(capsys, argv):
    assert main(argv + ["--json"]) == 0
    return json.loads(capsys.readouterr().out)["n"]


def test_utf8_bom_without_header_keeps_the_first_row(tmp_path, ckpt, table, capsys):
    path = _csv(tmp_path, b"\xef\xbb\xbf" + _rows(table).encode())   # before: row 1 read as a header, dropped
    assert _n(capsys, ["estimate", path, "--x", "0", "--y", "2", "--checkpoint", ckpt]) == len(table)
    path = _csv(tmp_path, b"\xef\xbb\xbfa,b,c\n" + _rows(table).encode(), "h.csv")   # and with a header
    assert _n(capsys, ["estimate", path, "--x", "a", "--y", "c", "--checkpoint", ckpt]) == len(table)


def test_header_guess_and_flags(tmp_path, ckpt, table, capsys):
    # a header holds no number and at least one name; an empty cell (a pandas index) is fine
    path = _csv(tmp_path, ",a,b,c\n" + "".join(f"{i}," + _rows(table[i:i + 1]) for i in range(len(table))))
    assert _n(capsys, ["estimate", path, "--x", "a,b", "--y", "c", "--checkpoint", ckpt]) == len(table)
    mixed = _csv(tmp_path, "id,2020,2021\n" + _rows(table), "m.csv")   # a name and numbers: read as data
    _fails(["estimate", mixed, "--x", "0", "--y", "1", "--checkpoint", ckpt], r"line 1, column 0: 'id' is not a number .*--header")
    assert _n(capsys, ["estimate", mixed, "--header", "--x", "2020", "--y", "2021", "--checkpoint", ckpt]) == len(table)
    path = _csv(tmp_path, "x,y,z\n" + _rows(table), "nh.csv")
    _fails(["estimate", path, "--no-header", "--x", "0", "--y", "1", "--checkpoint", ckpt], r"line 1, column 0: 'x' is not a number")


@pytest.mark.parametrize("text, match", [
    # before: a '#' line was dropped
    ("{head}# a comment\n{rows}", r"line 2 has 1 field\(s\), line 1 has 3 \(lines starting with '#' are data"),
    ("{head}# x,y,z\n{rows}", r"line 2, column 0: '# x' is not a number \(lines starting with '#' are data"),
    ("# a comment\n{rows}", r"line 2 has 3 field\(s\), the header has 1 \(lines starting with '#' are data"),
    (",{rest}", r"line 1, column 0: missing value \(''"),        # before: row 1 taken as a header, dropped
    ("{head}{row},\n{rows}", r"line 2 has 4 field\(s\), line 1 has 3"),  # ragged
    ("{head}1.0,NA,2.0\n{rows}", r"line 2, column 1: missing value \('NA'; 1 in this column\)"),
    ("{head}1.0,,2.0\n{rows}", r"line 2, column 1: missing value"),
    ("{head}\n{rows}", r"line 2 has 0 field\(s\) \(a blank line\)"),
    ("{head}1.0,inf,2.0\n{rows}", r"line 2, column 1: 'inf' is not finite"),
    ("", r"d.csv is empty"),
    ("\n\n", r"d.csv is empty"),
])
def test_headerless_csv_problems_name_line_and_column(tmp_path, ckpt, table, text, match):
    rows = _rows(table, 20)
    head, rest = rows.split("\n", 1)[0] + "\n", rows.split(",", 1)[1]
    path = _csv(tmp_path, text.format(rows=rows, head=head, rest=rest, row=rows.split("\n", 1)[0]))
    _fails(["estimate", path, "--x", "0,1", "--y", "2", "--checkpoint", ckpt], match)


@pytest.mark.parametrize("text, match", [
    ("a,b,a\n{rows}", r"duplicate column name\(s\) \['a'\]"),    # before: the first 'a' silently
    ("a,b,c\n", r"has a header but no data rows"),
    ("a,b,c\n{rows}1,2\n", r"line 22 has 2 field\(s\), the header has 3"),
    ("a,b,c\n1,2,\n{rows}", r"line 2, column 'c': missing value"),
    ("a,b,c\n{rows}1,\"2,3\n", r"line 22: unexpected end of data"),
])
def test_header_csv_problems(tmp_path, ckpt, table, text, match):
    path = _csv(tmp_path, text.format(rows=_rows(table, 20)))
    _fails(["estimate", path, "--x", "a,b", "--y", "c", "--checkpoint", ckpt], match)


def test_unused_columns_may_hold_anything(tmp_path, ckpt, table, capsys):
    path = _csv(tmp_path, "name,a,b\n" + "".join(f"s{i},{r[0]},{r[2]}\n" for i, r in enumerate(table)))
    assert _n(capsys, ["estimate", path, "--x", "a", "--y", "b", "--checkpoint", ckpt]) == len(table)
    _fails(["estimate", path, "--x", "name", "--y", "b", "--checkpoint", ckpt], r"line 2, column 'name': 's0' is not a number")


def test_blank_lines_at_the_end(tmp_path, ckpt, table, capsys):
    # ignored below a table of several columns; in a one-column table a blank line may be a
    # missing value (before: that row was dropped silently), so it is refused
    path = _csv(tmp_path, _rows(table) + "\n\n")
    assert _n(capsys, ["estimate", path, "--x", "0", "--y", "2", "--checkpoint", ckpt]) == len(table)
    one = _csv(tmp_path, "".join(f"{v}\n" for v in table[:, 0]) + "\n", "one.csv")
    _fails(["estimate", one, "--x", "0", "--y", "0", "--checkpoint", ckpt], r"line 101 is blank: in a one-column table")


def test_tsv(tmp_path, ckpt, table, capsys):
    path = _csv(tmp_path, "a\tb\tc\n" + _rows(table, sep="\t"), "d.tsv")
    assert _n(capsys, ["estimate", path, "--x", "a", "--y", "c", "--checkpoint", ckpt]) == len(table)


def test_unreadable_files(tmp_path, ckpt, table):
    args = ["--x", "0", "--y", "1", "--checkpoint", ckpt]
    _fails(["estimate", _csv(tmp_path, "a,b\n1,\xe9\n".encode("latin-1"))] + args, r"not UTF-8 text \(byte 0xe9 on line 2\)")
    _fails(["estimate", _csv(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "img.csv")] + args, r"binary file")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    _fails(["estimate", str(tmp_path / "obj.npy")] + args, r"holds Python objects")
    _fails(["estimate", _csv(tmp_path, b"not an array at all", "junk.npy")] + args, r"cannot read .*junk.npy as a NumPy .npy array: it does not start with the .npy header")
    _fails(["estimate", _csv(tmp_path, b"PK\x03\x04 broken", "junk.npz")] + args, r"cannot read .*junk.npz as a NumPy .npz")
    np.save(tmp_path / "s.npy", np.array([["a", "b"]] * 10))
    _fails(["estimate", str(tmp_path / "s.npy")] + args, r"dtype <U1, not numbers")
    np.save(tmp_path / "v.npy", table[:, 0])
    _fails(["estimate", str(tmp_path / "v.npy")] + args, r"expected a 2-D table")
    np.savez(tmp_path / "z.npz", a=table, b=table)
    _fails(["estimate", str(tmp_path / "z.npz"), "--key", "c"] + args, r"no array 'c' \(--key\); arrays: \['a', 'b'\]")


def test_bad_checkpoint_and_device(tmp_path, ckpt, table):
    path = tmp_path / "d.npy"
    np.save(path, table)
    args = ["estimate", str(path), "--x", "0", "--y", "2"]
    _fails(args + ["--checkpoint", str(tmp_path / "nope")], r"--checkpoint .*nope.*no checkpoint folder")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text((Path(ckpt) / "config.json").read_text())
    (bad / "model.safetensors").write_bytes(b"garbage")   # before: a SafetensorError traceback
    _fails(args + ["--checkpoint", str(bad)], r"--checkpoint .*bad")
    (bad / "config.json").write_text("{not json")
    _fails(args + ["--checkpoint", str(bad)], r"--checkpoint .*bad")
    _fails(args + ["--checkpoint", ckpt, "--device", "gpu"], r"--device gpu")
    if not torch.cuda.is_available():
        _fails(args + ["--checkpoint", ckpt, "--device", "cuda"], r"--device cuda")


def test_failure_is_one_stderr_line_and_nonzero_exit(tmp_path):
    # the real process: no traceback, one line, exit status 1
    path = _csv(tmp_path, "a,b,a\n1,2,3\n")
    p = subprocess.run([sys.executable, "-m", "mist.cli", "estimate", path, "--x", "a", "--y", "b"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr.strip().splitlines() == [f"mist: {path}: duplicate column name(s) ['a'] in the header; rename them"]


def test_table_path_flag_on_two_binary_columns(tmp_path, ckpt, capsys):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 2, 1000)
    y = np.where(rng.random(1000) < 0.9, x, rng.integers(0, 2, 1000))
    path = tmp_path / "b.csv"
    np.savetxt(path, np.c_[x, y], delimiter=",", header="x,y", comments="", fmt="%d")
    args = ["estimate", str(path), "--x", "x", "--y", "y", "--json", "--checkpoint", ckpt]
    assert main(args + ["--table-path"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["method"] == "table" and abs(out["mi"] - 0.495) < 0.05  # the tiny network is not asked
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["method"] == "network"


def test_unmix_flags_turn_a_mixed_side(tmp_path, ckpt, capsys):
    rng = np.random.default_rng(2)
    s = rng.uniform(-1, 1, 600)
    x = np.c_[s, rng.standard_normal((600, 2))] @ np.linalg.qr(rng.standard_normal((3, 3)))[0]
    y = s ** 2 + 0.05 * rng.standard_normal(600)
    path = tmp_path / "m.csv"
    np.savetxt(path, np.c_[x, y, rng.standard_normal(600)], delimiter=",", header="a,b,c,y,z", comments="")
    one = ["estimate", str(path), "--x", "a,b,c", "--y", "y", "--json", "--checkpoint", ckpt]
    two = ["estimate", str(path), "--x", "a,b,c", "--y", "y,z", "--json", "--checkpoint", ckpt]

    def turned(args):
        assert main(args) == 0
        return json.loads(capsys.readouterr().out)["turned"]
    assert turned(one) == [True, False]            # default "auto": against a single column
    assert turned(one + ["--no-unmix"]) is None
    assert turned(two) == [False, False]           # "auto" leaves two multi-column sides alone
    assert turned(two + ["--unmix"])[0] is True    # --unmix searches every eligible side
