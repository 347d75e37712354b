"""Worked example 3: the information plane. Track I(X; T) and I(T; Y) of each hidden layer T of a
small MLP classifier over training epochs, and plot them.

    python examples/information_plane.py           # full settings (~1-3 min on one core)
    python examples/information_plane.py --small   # the settings the test uses

Data: X ~ N(0, I_10); 4 classes from a random teacher network, label = argmax(tanh(X U) V + noise).
Student: 10 -> 12 -> 8 -> 6 -> 4 with tanh layers.
Two measurement details matter:
* A deterministic T = f(X) of a continuous X has I(X; T) = infinity, so (following Goldfeld et al.,
  "Estimating information flow in deep neural networks", 2019) every hidden layer adds Gaussian
  noise, T_l = tanh(W_l T_{l-1} + b_l) + sigma * eps, in training and in measurement. Then
  X -> T1 -> T2 -> T3 -> Y_hat is a Markov chain and every MI is finite.
* Y is a class label. mist reads continuous data, so the label is dequantized, Y + U(-1/2, 1/2):
  that keeps I(T; Y) exactly (the label is recoverable from it and the jitter is independent
  noise), and I(T; Y) <= H(Y) <= log 4 = 1.386 nats.
Each epoch, the six MIs of a fixed held-out set are estimated in one batched `estimate_many`.
A sanity bound: I(T3; Y) >= I(Y_hat; Y), computed exactly from the confusion matrix.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from mist import MIEstimator

FULL = dict(n_train=8192, n_eval=1024, dim=10, widths=(12, 8, 6), classes=4, epochs=30, batch=256,
            lr=3e-3, sigma=0.1, seed=0)
SMALL = dict(n_train=2048, n_eval=512, dim=10, widths=(12, 8, 6), classes=4, epochs=8, batch=128,
             lr=1e-2, sigma=0.1, seed=0)


def make_teacher(dim: int, classes: int, rng):
    u = rng.standard_normal((dim, 16)) / math.sqrt(dim) * 2.0
    v = rng.standard_normal((16, classes))

    def sample(n):
        x = rng.standard_normal((n, dim))
        logits = np.tanh(x @ u) @ v + 0.3 * rng.standard_normal((n, classes))
        return torch.from_numpy(x).float(), torch.from_numpy(logits.argmax(1))
    return sample


class NoisyMLP(nn.Module):
    """tanh layers, each adding N(0, sigma^2) noise; forward returns (logits, [T1, T2, ...])."""

    def __init__(self, dim: int, widths, classes: int, sigma: float):
        super().__init__()
        sizes = [dim, *widths]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.out = nn.Linear(sizes[-1], classes)
        self.sigma = sigma

    def forward(self, x):
        ts = []
        for layer in self.hidden:
            x = torch.tanh(layer(x)) + self.sigma * torch.randn_like(x.new_empty(x.shape[0], layer.out_features))
            ts.append(x)
        return self.out(x), ts


def discrete_mi(a: np.ndarray, b: np.ndarray) -> float:
    """Plug-in MI (nats) of two label vectors."""
    joint = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(joint, (a, b), 1.0)
    joint /= joint.sum()
    pa, pb = joint.sum(1, keepdims=True), joint.sum(0, keepdims=True)
    nz = joint > 0
    return float(np.sum(joint[nz] * np.log(joint[nz] / (pa @ pb)[nz])))


def run(est: MIEstimator | None = None, checkpoint=None, out: str | Path | None = "runs/examples",
        n_train=8192, n_eval=1024, dim=10, widths=(12, 8, 6), classes=4, epochs=30, batch=256,
        lr=3e-3, sigma=0.1, seed=0, log=None) -> dict:
    est = est or MIEstimator.from_pretrained(checkpoint)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    sample = make_teacher(dim, classes, rng)
    x, label = sample(n_train)
    xe, le = sample(n_eval)
    ye = le.numpy().astype(float)  # the class label itself: a discrete side, so estimates are capped at H(Y)
    xe_np = xe.numpy()
    model = NoisyMLP(dim, widths, classes, sigma)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n_layers = len(widths)
    hist = {"epoch": [], "acc": [], "i_xt": [], "i_ty": [], "i_yhat_y": []}
    t0 = time.time()

    def measure(epoch):
        with torch.no_grad():
            logits, ts = model(xe)
        pairs = [(xe_np, t.numpy()) for t in ts] + [(t.numpy(), ye) for t in ts]
        mis = [r.mi for r in est.estimate_many(pairs)]
        pred = logits.argmax(1).numpy()
        hist["epoch"].append(epoch)
        hist["acc"].append(float((pred == le.numpy()).mean()))
        hist["i_xt"].append(mis[:n_layers])
        hist["i_ty"].append(mis[n_layers:])
        hist["i_yhat_y"].append(discrete_mi(pred, le.numpy()))
        if log:
            log(f"epoch {epoch:3d}  acc {hist['acc'][-1]:.3f}  I(X;T) " + " ".join(f"{v:.2f}" for v in mis[:n_layers])
                + "  I(T;Y) " + " ".join(f"{v:.2f}" for v in mis[n_layers:])
                + f"  I(Yhat;Y) {hist['i_yhat_y'][-1]:.2f}")

    measure(0)
    for epoch in range(1, epochs + 1):
        perm = torch.randperm(n_train)
        for i in range(0, n_train - batch + 1, batch):
            idx = perm[i:i + batch]
            logits, _ = model(x[idx])
            loss = F.cross_entropy(logits, label[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        measure(epoch)
    p = np.bincount(le.numpy()) / n_eval
    result = {"seconds": time.time() - t0, "h_y": float(-np.sum(p[p > 0] * np.log(p[p > 0]))),
              "acc_before": hist["acc"][0], "acc_after": hist["acc"][-1],
              "i_ty_before": hist["i_ty"][0], "i_ty_after": hist["i_ty"][-1],
              "i_xt_before": hist["i_xt"][0], "i_xt_after": hist["i_xt"][-1],
              "i_yhat_y_after": hist["i_yhat_y"][-1], "history": hist}
    if out is not None:
        result["plot"] = str(plot(result, Path(out)))
    return result


def plot(result: dict, out: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    out.mkdir(parents=True, exist_ok=True)
    h = result["history"]
    i_xt, i_ty = np.array(h["i_xt"]), np.array(h["i_ty"])
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [3, 2]})
    ax = axes[0]
    markers = "osD^v"
    for l in range(i_xt.shape[1]):
        ax.plot(i_xt[:, l], i_ty[:, l], "-", color="gray", lw=0.6, zorder=1)
        sc = ax.scatter(i_xt[:, l], i_ty[:, l], c=h["epoch"], cmap="viridis", marker=markers[l % 5], s=30,
                        zorder=2, label=f"T{l + 1}")
    fig.colorbar(sc, ax=ax, label="epoch")
    ax.axhline(result["h_y"], color="k", ls="--", lw=0.8, label="H(Y)")
    ax.set(xlabel="I(X; T) [nats]", ylabel="I(T; Y) [nats]", title="information plane (noisy tanh MLP)")
    ax.legend(fontsize=8)
    axes[1].plot(h["epoch"], h["acc"], "o-", ms=3, label="held-out accuracy")
    axes[1].plot(h["epoch"], np.array(h["i_yhat_y"]) / result["h_y"], "s-", ms=3, label="I(Yhat; Y) / H(Y)")
    axes[1].plot(h["epoch"], i_ty[:, -1] / result["h_y"], "^-", ms=3, label="I(T_last; Y) / H(Y) (mist)")
    axes[1].set(xlabel="epoch", ylim=(0, 1.1), title="training")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    path = out / "example_information_plane.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--small", action="store_true", help="the small settings of the test")
    ap.add_argument("--checkpoint", default=None, help="checkpoint folder (default: the shipped one)")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="runs/examples")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = dict(SMALL if args.small else FULL)
    cfg.update({k: v for k, v in (("epochs", args.epochs), ("seed", args.seed)) if v is not None})
    r = run(checkpoint=args.checkpoint, out=args.out, log=print, **cfg)
    fmt = lambda v: "[" + ", ".join(f"{a:.2f}" for a in v) + "]"  # noqa: E731
    print(f"accuracy {r['acc_before']:.3f} -> {r['acc_after']:.3f}; H(Y) = {r['h_y']:.3f} nats")
    print(f"I(T;Y) per layer: {fmt(r['i_ty_before'])} -> {fmt(r['i_ty_after'])} nats "
          f"(I(Yhat;Y) = {r['i_yhat_y_after']:.3f} is a lower bound for the last layer)")
    print(f"I(X;T) per layer: {fmt(r['i_xt_before'])} -> {fmt(r['i_xt_after'])} nats   ({r['seconds']:.0f} s)")
    print(f"plot: {r['plot']}")
    summary = {k: v for k, v in r.items() if k != "history"}
    Path(args.out, "example_information_plane.json").write_text(json.dumps(summary, indent=2))
    return r


if __name__ == "__main__":
    main()
