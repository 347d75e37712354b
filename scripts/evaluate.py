"""Benchmark MI estimators on the frozen suites; see conf/evaluate.yaml for every option.

  python scripts/evaluate.py                                   # all estimators, imd + oomd
  python scripts/evaluate.py estimators=[mist,ksg,cca,infonce] suites.imd=48 suites.oomd=48
  python scripts/evaluate.py checkpoint=runs/X/model docs_dir=docs   # also docs/benchmark.md
  python scripts/evaluate.py +suite_dirs.disk=data/meta/imd suites.imd=0 suites.oomd=0

Writes to out_dir (runs/eval/<timestamp>): estimates.csv (one row per estimator and dataset,
rewritten after every estimator so partial results survive), report.md and PNG plots.
"""

import json

import hydra
from omegaconf import DictConfig

from mist.evaluate.benchmark import run_benchmark
from mist.train.schemas import register_schemas


@hydra.main(config_path="../conf", config_name="evaluate", version_base="1.3")
def main(cfg: DictConfig) -> None:
    print(json.dumps(run_benchmark(cfg), indent=1))


if __name__ == "__main__":
    register_schemas()  # conf/data builds on PriorConfig and StreamConfig
    main()
