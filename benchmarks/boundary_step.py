"""How much does the estimate move when one sample is added? Near a routing boundary and away from it.

    python benchmarks/boundary_step.py [--checkpoint PATH] [--batches 40]

For `calib` sets (a split no training run or evaluation suite uses) of N = 130, prints the mean
|estimate(first n + 1 samples) - estimate(first n)| for n = 126 (inside one expert when routing
is hard), 127 (across the N = 128 boundary) and 129.
"""

import argparse

import numpy as np

from mist import MIEstimator
from mist.data.stream import StreamConfig, make_batch
from mist.data.prior import PriorConfig

SIZES = (126, 127, 128, 129, 130)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--batches", type=int, default=40)
    args = ap.parse_args()
    est = MIEstimator.from_pretrained(args.checkpoint)
    prior = PriorConfig(n_min=SIZES[-1], n_max=SIZES[-1])
    prior.validate("calib")
    steps = []
    for k in range(args.batches):
        b = make_batch(prior, StreamConfig(), "calib", k)
        for i in range(len(b["mi"])):
            x, y = b["x"][i].double().numpy(), b["y"][i].double().numpy()
            steps.append(np.diff([est.estimate(x[:n], y[:n]).mi for n in SIZES]))
    steps = np.abs(np.array(steps))
    print(f"{len(steps)} calib sets of N = {SIZES[-1]}; mean |estimate(n + 1) - estimate(n)| in nats:")
    for j, n in enumerate(SIZES[:-1]):
        print(f"  n = {n} -> {n + 1}: {steps[:, j].mean():.3f}")


if __name__ == "__main__":
    main()
