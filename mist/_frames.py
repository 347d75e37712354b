"""DataFrames and Series (pandas or polars) -> numpy arrays plus their column names.

Neither library is imported here: a frame is recognized by the module its class comes from, so
mist works without them (`pip install mist[pandas]` adds pandas). Only numeric and boolean
columns are accepted; a categorical, string, object or date column is refused with a message
that names it and says how to encode it, and missing values are refused naming the column.
"""

from __future__ import annotations

import numpy as np


def frame_library(a) -> str | None:
    """"pandas" / "polars" for their DataFrame and Series objects, else None."""
    lib = type(a).__module__.split(".")[0]
    if lib in ("pandas", "polars") and type(a).__name__ in ("DataFrame", "Series"):
        return lib
    return None


def is_frame(a) -> bool:
    """True for a pandas or polars DataFrame or Series."""
    return frame_library(a) is not None


def _refusal(lib: str, col: str, kind: str) -> str:
    """The message for a column mist cannot read: what it is and how to make it numeric."""
    if kind == "complex":
        return f"column {col!r} is complex; split it into real and imaginary columns first"
    if kind.startswith("date"):
        return f"column {col!r} is a {kind} column; convert it to numbers first (e.g. seconds since a start)"
    if lib == "pandas":
        codes = f"df[{col!r}].cat.codes" if kind == "categorical" else f"df[{col!r}].astype('category').cat.codes"
        onehot = f"pd.get_dummies(df, columns=[{col!r}])"
    else:
        codes = (f"df[{col!r}].to_physical()" if kind == "categorical"
                 else f"df[{col!r}].cast(pl.Categorical).to_physical()")
        onehot = f"df.to_dummies([{col!r}])"
    return (f"column {col!r} is {kind}; mist needs numbers: encode it first, as integer codes "
            f"({codes}) or as one-hot columns ({onehot})")


def _pandas_kind(s) -> str | None:
    """None for a numeric or boolean pandas Series, else what it is."""
    import pandas as pd  # present: s is a pandas object
    t = pd.api.types
    if isinstance(s.dtype, pd.CategoricalDtype):
        return "categorical"
    if t.is_complex_dtype(s.dtype):
        return "complex"
    if t.is_bool_dtype(s.dtype) or t.is_numeric_dtype(s.dtype):
        return None
    if t.is_datetime64_any_dtype(s.dtype) or t.is_timedelta64_dtype(s.dtype):
        return f"date/time ({s.dtype})"
    return f"of dtype {s.dtype} (text or objects)"


def _polars_kind(s) -> str | None:
    """The same for a polars Series."""
    name = str(s.dtype)
    if s.dtype.is_numeric() or name == "Boolean":
        return None
    if name.startswith(("Categorical", "Enum")):
        return "categorical"
    if name.startswith(("Date", "Datetime", "Duration", "Time")):
        return f"date/time ({name})"
    return f"of dtype {name} (text or objects)"


def _columns_of(a, lib: str) -> list:
    """[(name, series)] of a DataFrame or a Series."""
    if type(a).__name__ == "Series":
        return [(a.name if a.name is not None and a.name != "" else "0", a)]
    if lib == "pandas":
        return [(c, a[c]) for c in a.columns] if a.columns.is_unique else [(c, a.iloc[:, i]) for i, c in enumerate(a.columns)]
    return [(c, a.get_column(c)) for c in a.columns]


def frame_to_array(a, name: str = "data") -> tuple[np.ndarray, list[str]]:
    """A pandas / polars DataFrame (N, d) or Series (N,) -> float64 array (N, d) and the column
    names as strings. Raises ValueError naming the column for a non-numeric column or a missing
    value; the caller (mist._validate) does every other check."""
    lib = frame_library(a)
    if lib is None:
        raise TypeError(f"{name} is not a pandas or polars DataFrame/Series (got {type(a).__name__})")
    cols = _columns_of(a, lib)
    names = [str(c) for c, _ in cols]
    out = np.empty((len(a), len(cols)), dtype=np.float64)
    for j, (c, s) in enumerate(cols):
        kind = _pandas_kind(s) if lib == "pandas" else _polars_kind(s)
        if kind is not None:
            raise ValueError(f"{name}: " + _refusal(lib, str(c), kind))
        missing = np.asarray(s.isna() if lib == "pandas" else s.is_null().to_numpy(), dtype=bool)
        if missing.any():
            rows = np.flatnonzero(missing)
            raise ValueError(f"{name}: column {str(c)!r} has {len(rows)} missing value(s), in rows "
                             f"{rows[:5].tolist()}{'...' if len(rows) > 5 else ''}; remove or impute them first")
        out[:, j] = s.to_numpy(dtype=np.float64) if lib == "pandas" else s.to_numpy().astype(np.float64)
    return out, names


def to_array(a, name: str = "data"):
    """Frames -> (float64 array (N, d), column names); anything else -> (a unchanged, None)."""
    if is_frame(a):
        return frame_to_array(a, name)
    return a, None
