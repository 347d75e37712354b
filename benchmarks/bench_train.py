"""Training throughput (sets/s, forward + backward + AdamW step) at a few (N, d) points,
fp32 vs bf16 autocast, measured in the same run.

    python benchmarks/bench_train.py [model=two_axis_light-like overrides: --width 16 --blocks 1 ...]
        [--shapes N:DXY:BATCH ...]
"""

import argparse
import time

import torch

from mist.network.config import ModelConfig, build_model
from mist.network.quantiles import pinball_loss


def step_time(model, opt, x, y, target, bf16, reps):
    def one():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = pinball_loss(model(x, y).float(), target, model.head.levels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    one()
    t0 = time.perf_counter()
    for _ in range(reps):
        one()
    return (time.perf_counter() - t0) / reps


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--arch", default="two_axis")
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--blocks", type=int, default=1)
    ap.add_argument("--n-inducing", type=int, default=4)
    ap.add_argument("--pair-channels", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--shapes", nargs="+", metavar="N:DXY:BATCH", help="(N, dx + dy, sets per batch) points",
                    default=["64:2:16", "256:8:16", "256:16:16", "1024:16:4", "2048:32:1"])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = ModelConfig(arch=args.arch, width=args.width, heads=args.heads, blocks=args.blocks,
                      n_inducing=args.n_inducing, pair_channels=args.pair_channels)
    model = build_model(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    print(f"{cfg}\nthreads={args.threads}")
    print(f"{'N':>5} {'dx+dy':>6} {'batch':>5} {'fp32 sets/s':>12} {'bf16 sets/s':>12} {'bf16/fp32':>10}")
    for n, d, b in (tuple(int(v) for v in s.split(":")) for s in args.shapes):
        x, y = torch.randn(b, n, d // 2), torch.randn(b, n, d - d // 2)
        target = torch.rand(b)
        t32 = step_time(model, opt, x, y, target, False, args.reps)
        t16 = step_time(model, opt, x, y, target, True, args.reps)
        print(f"{n:>5} {d:>6} {b:>5} {b / t32:>12.1f} {b / t16:>12.1f} {t32 / t16:>10.2f}")


if __name__ == "__main__":
    main()
