"""Write a meta-dataset to disk in shards, and read it back.

Each shard `shard_XXXXX.npz` holds `shard_batches` consecutive batches (arrays only, so loading
needs no pickle) plus `shard_XXXXX.json` with the per-set family and parameters. A shard is
written to a temporary name and renamed when complete, so an interrupted run leaves only whole
shards and a rerun skips them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
from tqdm.auto import tqdm


def shard_name(k: int) -> str:
    return f"shard_{k:05d}"


def write_shards(make: Callable[[int], dict], n_batches: int, shard_batches: int, out_dir,
                 progress: bool = True) -> int:
    """Write batches 0..n_batches-1 (`make(k)` builds batch k); returns the shards written now."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    n_shards = -(-n_batches // shard_batches)
    written = 0
    for s in tqdm(range(n_shards), desc=f"shards -> {out}", disable=not progress):
        if (out / f"{shard_name(s)}.npz").exists():
            continue  # finished by an earlier run
        arrays, meta = {}, []
        for j, k in enumerate(range(s * shard_batches, min(n_batches, (s + 1) * shard_batches))):
            batch = make(k)
            for key in ("x", "y", "mi", "mi_se"):
                arrays[f"b{j}_{key}"] = batch[key].numpy()
            meta.append({"index": k, "family": batch["family"], "params": batch["params"]})
        (out / f"{shard_name(s)}.json").write_text(json.dumps(meta, default=float))
        tmp = out / f"{shard_name(s)}.tmp.npz"
        np.savez(tmp, **arrays)
        os.replace(tmp, out / f"{shard_name(s)}.npz")
        written += 1
    return written


def read_shards(folder) -> Iterator[dict]:
    """Batches in order, in the same dict form as `mist.data.stream.make_batch`."""
    folder = Path(folder)
    shards = sorted(p for p in folder.glob("shard_*.npz") if ".tmp" not in p.name)
    if not shards:
        raise FileNotFoundError(f"no shards in {folder}")
    for path in shards:
        meta = json.loads(path.with_suffix(".json").read_text())
        with np.load(path, allow_pickle=False) as data:
            for j, m in enumerate(meta):
                batch = {key: torch.from_numpy(data[f"b{j}_{key}"]) for key in ("x", "y", "mi", "mi_se")}
                yield {**batch, **m}
