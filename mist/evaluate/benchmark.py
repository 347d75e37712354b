"""The benchmark behind docs/benchmark.md: every estimator over the frozen suites, into a CSV,
a markdown report and plots (scripts/evaluate.py is its command line; conf/evaluate.yaml has
every option)."""

from __future__ import annotations

import subprocess
import time
from datetime import datetime
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from mist.data.prior import PriorConfig
from mist.data.stream import StreamConfig
from mist.estimator import MIEstimator
from mist.evaluate.harness import BASELINES, describe, evaluate, load_suite
from mist.evaluate.report import write_csv, write_report


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, timeout=10).stdout.strip()
        return out.stdout.strip() + (" (uncommitted changes)" if dirty else "") if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def run_benchmark(cfg: DictConfig) -> dict:
    """Run the benchmark a composed conf/evaluate.yaml describes; returns the paths it wrote."""
    if cfg.torch_threads:
        torch.set_num_threads(int(cfg.torch_threads))
    c = OmegaConf.to_container(cfg, resolve=True)
    out = Path(c["out_dir"])
    out.mkdir(parents=True, exist_ok=True)

    networks_paths = {"mist": c["checkpoint"], **(c.get("checkpoints") or {})}
    estimators = list(c["estimators"])
    unknown = [e for e in estimators if e not in BASELINES and e not in networks_paths]
    if unknown:
        raise ValueError(f"unknown estimators {unknown}; baselines: {list(BASELINES)}, networks: "
                         f"{sorted(networks_paths)} (add more with +checkpoints.NAME=FOLDER)")
    networks = {}
    for name in estimators:
        if name in networks_paths and name not in BASELINES:
            folder = Path(networks_paths[name])
            if not (folder / "config.json").is_file():
                raise FileNotFoundError(f"estimator {name!r}: no checkpoint at {folder} (config.json + "
                                        "model.safetensors); pass checkpoint=FOLDER or drop it from estimators")
            networks[name] = MIEstimator.from_pretrained(folder, device=c["device"], seed=int(c["seed"]))

    stream = StreamConfig(**c["data"]["stream"])
    prior = PriorConfig(**c["data"]["prior"])
    suites, suite_info = {}, {}
    for name, n_batches in (c.get("suites") or {}).items():
        if n_batches:
            suites[name] = load_suite(name, int(n_batches), stream=stream, prior=prior,
                                      max_sets_per_batch=c.get("max_sets_per_batch"))
            suite_info[name] = f"frozen suite, {n_batches} batches"
    for name, folder in (c.get("suite_dirs") or {}).items():
        suites[name] = load_suite(name, c.get("suite_dir_batches"), folder=folder,
                                  max_sets_per_batch=c.get("max_sets_per_batch"))
        suite_info[name] = f"shards in {folder}"
    if not suites:
        raise ValueError("no suites selected: set suites.imd / suites.oomd > 0 or add suite_dirs")

    settings = {k: c[k] for k in ("ksg", "cca", "neural", "consistency", "seed")}
    settings["neural"] = {**settings["neural"], "lr": float(settings["neural"]["lr"])}
    csv_path = out / "estimates.csv"
    t0 = time.perf_counter()
    rows = evaluate(suites, estimators, settings, networks, progress=bool(c["progress"]),
                    on_rows=lambda r: write_csv(r, csv_path))
    wall = time.perf_counter() - t0
    write_csv(rows, csv_path)

    n_sets = {s: sum(len(b["mi"]) for b in batches) for s, batches in suites.items()}
    meta = {
        "date": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "commit": _git_commit(),
        "suites": ", ".join(f"`{s}` {n_sets[s]} datasets ({suite_info[s]})" for s in suites),
        "networks": ", ".join(f"`{n}` = {networks_paths[n]}" for n in networks) or "none",
        "total wall time": f"{wall / 60:.1f} min (torch threads: {torch.get_num_threads()})",
        "estimates": "estimates.csv (one row per estimator and dataset)",
    }
    descriptions = {e: describe(e, settings) for e in estimators}
    for name in networks:
        descriptions[name] += f"; checkpoint `{networks_paths[name]}`"
    written = write_report(rows, out, meta=meta, descriptions=descriptions)
    result = {"csv": str(csv_path), "report": str(written["report"]), "plots": [str(p) for p in written["plots"]]}
    if c.get("docs_dir"):
        docs = Path(c["docs_dir"])
        doc = write_report(rows, docs, meta={**meta, "estimates": f"{csv_path} (not committed)"},
                           descriptions=descriptions, report_name="benchmark.md",
                           fig_dir=docs / "benchmark", fig_link="benchmark/")
        result["docs"] = str(doc["report"])
    return result
