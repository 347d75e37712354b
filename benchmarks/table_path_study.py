"""The table path of design §12i on calib-split sets (not the suites): for every set of the
extended prior's discrete, labels and counts families where both sides are discrete, the
Miller-Madow table estimate with bootstrap quantiles, taken under variant A (any category count)
and variant B (every category seen >= 10 times), against the network alone on the same sets.

    python benchmarks/table_path_study.py [--batches 200]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from mist import MIEstimator
from mist.data.stream import StreamConfig, make_batch
from mist.discrete_table import table_quantiles
from mist.estimator import entropy_cap
from mist.metrics import headline, row

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from calibrate_regimes import data_prior  # noqa: E402

VARIANTS = {"A (any count)": 1, "B (each category >= 10)": 10}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    prior = data_prior("extended", 2048)
    prior = replace(prior, families={k: (1.0 if k in ("discrete", "labels", "counts") else 0.0) for k in prior.families})
    net = MIEstimator.from_pretrained(table_path=False)
    rows = {v: [] for v in VARIANTS} | {f"network on {v}": [] for v in VARIANTS}
    n_discrete = n_sets = 0
    for k in range(args.batches):
        batch = make_batch(prior, StreamConfig(batch_size=16, seed=0), "calib", k)
        xs, ys = batch["x"].double().numpy(), batch["y"].double().numpy()
        for i in range(len(xs)):
            n_sets += 1
            x, y, truth = xs[i], ys[i], float(batch["mi"][i])
            cap, both = entropy_cap(x, y, None, None, with_kinds=True)
            if not both:
                continue
            n_discrete += 1
            network = None
            for name, min_count in VARIANTS.items():
                q = table_quantiles(x, y, net.levels, cap, np.random.default_rng(0), min_count=min_count)
                if q is None:
                    continue
                if network is None:
                    r = net.estimate(x, y, constant_columns="drop")
                    network = r.quantiles
                rows[name].append(row(truth, q))
                rows[f"network on {name}"].append(row(truth, network))
    print(f"{args.batches} calib batches: {n_sets} sets, {n_discrete} with both sides discrete")
    print("| estimator | sets | MAE | solved | cov90 |")
    print("|---|---|---|---|---|")
    for name, sel in rows.items():
        if sel:
            h = headline(sel)
            print(f"| {name} | {len(sel)} | {h['mae']:.4f} | {h['solved']:.3f} | {h['cov90']:.3f} |")


if __name__ == "__main__":
    main()
