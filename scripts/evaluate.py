"""Benchmark MI estimators on the frozen suites; see conf/evaluate.yaml for every option.

  python scripts/evaluate.py                                   # all estimators, imd + oomd
  python scripts/evaluate.py estimators=[mist,ksg,cca,infonce] suites.imd=48 suites.oomd=48
  python scripts/evaluate.py checkpoint=runs/X/model docs_dir=docs   # also docs/benchmark.md
  python scripts/evaluate.py +suite_dirs.disk=data/meta/imd suites.imd=0 suites.oomd=0

Writes to out_dir (runs/eval/<timestamp>): estimates.csv (one row per estimator and dataset,
rewritten after every estimator so partial results survive), report.md and PNG plots.
"""

import json
import subprocess
import time
from datetime import datetime
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, timeout=10).stdout.strip()
        return out.stdout.strip() + (" (uncommitted changes)" if dirty else "") if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def run(cfg: DictConfig) -> dict:
    import torch

    from mist.batch.stream import StreamConfig
    from mist.estimator import MIEstimator
    from mist.evaluate.harness import BASELINES, describe, evaluate, load_suite
    from mist.evaluate.report import write_csv, write_report
    from mist.generate.prior import PriorConfig

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


@hydra.main(config_path="../conf", config_name="evaluate", version_base="1.3")
def main(cfg: DictConfig) -> None:
    print(json.dumps(run(cfg), indent=1))


if __name__ == "__main__":
    main()
