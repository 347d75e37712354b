"""Generator throughput: datasets/s on one core per family at N=256, dx=dy=8, and whether the
stream keeps up with training.

    python benchmarks/bench_generator.py [--seconds 3] [--model two_axis_light]
"""

import argparse
import dataclasses
import time

import numpy as np
import torch

from mist.data.stream import StreamConfig, make_batch
from mist.data.prior import FAMILIES, PriorConfig, sample_dataset
from mist.data.splits import split_priors


def rate(fn, seconds):
    fn()  # warm-up (imports, caches, the mixture bank)
    count, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        count += fn()
    return count / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    base = PriorConfig()
    rng = np.random.default_rng(0)
    print("datasets/s on one core, N=256, dx=dy=8 (default transform mix)")
    for fam in FAMILIES:
        prior = dataclasses.replace(base, families={f: float(f == fam) for f in FAMILIES})
        if fam == "gamma_exponential":
            prior = split_priors("oomd", base)[0]
        r = rate(lambda: (sample_dataset(prior, rng, 256, 8, 8, "train" if fam != "gamma_exponential" else "oomd"), 1)[1],
                 args.seconds)
        print(f"  {fam:<18} {r:8.0f}")
    r = rate(lambda: (sample_dataset(base, rng, 256, 8, 8), 1)[1], args.seconds)
    print(f"  {'training mix':<18} {r:8.0f}")
    stream = StreamConfig()
    k = iter(range(10**9))
    r = rate(lambda: len(make_batch(base, stream, "train", next(k))["mi"]), 2 * args.seconds)
    print(f"stream over the full training prior (random N in 8..2048, dims 1..32): {r:.0f} sets/s on one core")


if __name__ == "__main__":
    main()
