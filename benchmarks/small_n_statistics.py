"""Which simple statistics of the ranks carry information about MI when N <= dx + dy?

    python benchmarks/small_n_statistics.py [--batches 600]

On 600 `calib` batches with N < 32 (a split no training run or evaluation suite uses), prints the
Spearman correlation of each statistic with log1p(MI), split by N <= dx + dy (sample covariance
singular) and N > dx + dy, and, for N <= dx + dy, the MAE of a kNN regression (k=50, half of the
sets fit, half scored) on (log dims, log N) alone and with each statistic added. The statistics:
the Gaussian MI of the rank scores with a ridge of 1e-3 (the network's channel 0) and shrinkage
ridges 0.05-0.5, the squared Frobenius norm of the X-Y correlation block minus its null mean,
and the largest |correlation| between an X and a Y column.
"""
import argparse

import numpy as np
import torch
from scipy.stats import spearmanr

from mist.data.stream import StreamConfig, make_batch
from mist.data.prior import PriorConfig
from mist.network.features import gaussian_mi_of_gram
from mist.network.normalize import rank_gauss

NAMES = ["ridge 1e-3", "ridge 0.05", "ridge 0.2", "ridge 0.5", "Frobenius", "max |corr|"]


def statistics(batch):
    x, y = batch["x"], batch["y"]
    n, dx, dy = x.shape[1], x.shape[-1], y.shape[-1]
    u = rank_gauss(torch.cat([x, y], -1)).double()
    g = u.transpose(1, 2) @ u / n
    feats = [gaussian_mi_of_gram(g[:, None], dx, lam)[:, 0].numpy() for lam in (1e-3, 0.05, 0.2, 0.5)]
    d = torch.diagonal(g, dim1=-2, dim2=-1)
    r = g / torch.sqrt(d[..., :, None] * d[..., None, :]).clamp_min(1e-12)
    feats.append((r[:, :dx, dx:] ** 2).sum((-1, -2)).numpy() - dx * dy / (n - 1))
    feats.append(r[:, :dx, dx:].abs().amax((-1, -2)).numpy())
    return [[n, dx, dy, float(batch["mi"][i])] + [f[i] for f in feats] for i in range(len(batch["mi"]))]


def knn_mae(features, target_z, mi, k=50):
    half = len(features) // 2
    fit, score = np.arange(half), np.arange(half, len(features))
    f = (features - features[fit].mean(0)) / (features[fit].std(0) + 1e-9)
    nearest = np.argsort(((f[score, None, :] - f[None, fit, :]) ** 2).sum(-1), 1)[:, :k]
    return np.abs(np.expm1(np.median(target_z[fit][nearest], 1)) - mi[score]).mean()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batches", type=int, default=600, help="calib batches")
    args = ap.parse_args()
    prior = PriorConfig(n_max=31)
    prior.validate("calib")
    a = np.array([row for k in range(args.batches) for row in statistics(make_batch(prior, StreamConfig(), "calib", k))])
    low = a[:, 0] <= a[:, 1] + a[:, 2]
    z = np.log1p(a[:, 3])
    print(f"{len(a)} calib sets with N < 32, {low.sum()} of them with N <= dx + dy")
    for j, name in enumerate(NAMES):
        print(f"  {name:<12} Spearman with log1p(MI): N <= dx+dy {spearmanr(a[low, 4 + j], z[low])[0]:.3f}, "
              f"N > dx+dy {spearmanr(a[~low, 4 + j], z[~low])[0]:.3f}")
    s = a[low]
    base = np.stack([np.log(np.minimum(s[:, 1], s[:, 2])), np.log(np.maximum(s[:, 1], s[:, 2])), np.log(s[:, 0])], 1)
    print(f"N <= dx+dy, kNN MAE: dims and N only {knn_mae(base, np.log1p(s[:, 3]), s[:, 3]):.3f}")
    for j, name in enumerate(NAMES):
        print(f"  + {name:<12} {knn_mae(np.concatenate([base, s[:, 4 + j:5 + j]], 1), np.log1p(s[:, 3]), s[:, 3]):.3f}")
    print(f"  + all        {knn_mae(np.concatenate([base, s[:, 4:]], 1), np.log1p(s[:, 3]), s[:, 3]):.3f}")


if __name__ == "__main__":
    main()
