"""Neural variational MI estimators trained per dataset: MINE, InfoNCE, NWJ and SMILE, in nats.

Each estimate trains a small critic T(x, y) on one dataset with Adam and then evaluates the
critic's variational bound on held-out rows of the same dataset:

* MINE (Belghazi et al. 2018): the Donsker-Varadhan bound E_P[T] - log E_Q[e^T], trained with the
  moving-average gradient correction of the paper (EMA rate ``ema_rate``).
* InfoNCE (van den Oord et al. 2018): mean_i [T_ii - log mean_j e^T_ij]; it can never exceed
  log(batch size), so with the default batch of 128 it is capped at log 128 = 4.85 nats. It is
  evaluated on held-out chunks of ``batch_size`` rows, so the cap is the same at evaluation.
* NWJ (Nguyen, Wainwright & Jordan 2010; "f-div" / MINE-f): E_P[T] - E_Q[e^(T - 1)].
* SMILE (Song & Ermon 2020): the DV bound with e^T clipped to [e^-tau, e^tau] (tau =
  ``smile_clip``), critic trained with the Jensen-Shannon objective.

Here P is the joint (row i of x with row i of y) and Q the product of marginals (row i of x with
row j != i of y): a batch of b rows gives b joint and b(b - 1) marginal pairs.

Typical budget (the defaults, :class:`NeuralConfig`), in line with the per-dataset budgets used in
benchmarks of these estimators (e.g. Poole et al. 2019; Czyz et al. 2023 use a few hundred to a few
thousand steps): 400 Adam steps at learning rate 1e-3, batch 128, a separable critic
T(x, y) = f(x) . g(y) with f, g MLPs of two hidden layers of 64 units (ReLU) and a 32-dim
embedding. Inputs are standardized per column.

Splits and early stopping: half the rows (``test_fraction``) are held out, so the critic never
scores its own training rows (a critic trained for 400 full-batch steps on 100 rows memorizes them
and its held-out bound collapses far below zero). With ``early_stopping`` (default) the held-out
rows are split again into a validation and a test half: every ``eval_every`` steps the bound is
computed on the validation rows, the critic with the best validation bound is kept, and its bound
on the test rows is reported. A split that would leave fewer than ``MIN_ROWS`` rows in a part is
skipped (validation = test when N < 32; training = evaluation rows when N < 16, which biases the
estimate upwards).
Cost on one CPU core: about 0.5-1 s per dataset with the separable critic (the concat critic,
an MLP on [x, y] scored on all b^2 pairs, is 10-30x slower).

Intervals: retraining the critic for every bootstrap replicate would multiply the cost by the
number of replicates, so it is not done. :meth:`NeuralEstimator.estimate_with_quantiles` instead
resamples the held-out rows (with replacement) under the one trained critic; the spread covers the
evaluation noise but not the training noise (critic initialization, minibatch order), so these
intervals are too narrow, particularly for small N.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from mist.evaluate.ksg import check_xy
from mist.network.quantiles import DEFAULT_LEVELS

__all__ = [
    "KINDS",
    "MIN_ROWS",
    "NeuralConfig",
    "NeuralEstimator",
    "neural_mi",
    "bound_from_scores",
]

KINDS = ("mine", "infonce", "nwj", "smile")
MIN_ROWS = 8  # fewest rows on each side of the train / held-out split


@dataclass
class NeuralConfig:
    """Training budget and critic of the neural estimators (see the module docstring)."""

    steps: int = 400
    batch_size: int = 128
    lr: float = 1e-3
    hidden: int = 64
    embed: int = 32
    critic: str = "separable"       # "separable": f(x) . g(y); "concat": MLP([x, y])
    test_fraction: float = 0.5      # share of rows held out (validation + test)
    early_stopping: bool = True     # keep the critic with the best validation bound
    eval_every: int = 25            # steps between validation evaluations
    ema_rate: float = 0.01          # MINE's moving average of E_Q[e^T]
    smile_clip: float = 5.0         # SMILE's tau
    preprocess: str = "standardize"  # "standardize" or "none"

    def validate(self) -> None:
        if self.steps < 1 or self.batch_size < 2 or self.lr <= 0:
            raise ValueError(f"need steps >= 1, batch_size >= 2, lr > 0; got {self}")
        if self.critic not in ("separable", "concat"):
            raise ValueError(f"critic must be 'separable' or 'concat', got {self.critic!r}")
        if not 0 <= self.test_fraction < 1:
            raise ValueError(f"test_fraction must be in [0, 1), got {self.test_fraction}")
        if self.preprocess not in ("standardize", "none"):
            raise ValueError(f"preprocess must be 'standardize' or 'none', got {self.preprocess!r}")


def _mlp(d_in: int, hidden: int, d_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, d_out))


class SeparableCritic(nn.Module):
    """T(x_i, y_j) = f(x_i) . g(y_j); scores(x (b, dx), y (b, dy)) -> (b, b)."""

    def __init__(self, dx: int, dy: int, hidden: int, embed: int):
        super().__init__()
        self.f, self.g = _mlp(dx, hidden, embed), _mlp(dy, hidden, embed)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.f(x) @ self.g(y).T


class ConcatCritic(nn.Module):
    """T(x_i, y_j) = MLP([x_i, y_j]); scores(x (b, dx), y (b, dy)) -> (b, b)."""

    def __init__(self, dx: int, dy: int, hidden: int, embed: int):
        super().__init__()
        self.net = _mlp(dx + dy, hidden, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        pairs = torch.cat([x.unsqueeze(1).expand(b, b, -1), y.unsqueeze(0).expand(b, b, -1)], dim=-1)
        return self.net(pairs).squeeze(-1)


def _off_diag(s: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
    """Marginal-pair scores: the off-diagonal entries of s (b, b), optionally only where valid."""
    mask = ~torch.eye(s.shape[0], dtype=torch.bool, device=s.device)
    if valid is not None:
        mask &= valid
    return s[mask]


def _log_mean_exp(v: torch.Tensor) -> torch.Tensor:
    return torch.logsumexp(v, dim=0) - math.log(v.numel())


def bound_from_scores(kind: str, s: torch.Tensor, smile_clip: float = 5.0,
                      valid: torch.Tensor | None = None) -> torch.Tensor:
    """The variational bound of `kind` from a score matrix s (b, b), s[i, j] = T(x_i, y_j).

    The diagonal holds the joint pairs, the off-diagonal the product-of-marginals pairs. `valid`
    (b, b) bool, optional, excludes off-diagonal pairs (duplicated rows in a bootstrap resample).
    """
    joint = s.diagonal().mean()
    if kind == "infonce":
        if valid is not None:
            s = s.masked_fill(~(valid | torch.eye(s.shape[0], dtype=torch.bool, device=s.device)),
                              float("-inf"))
        return (s.diagonal() - torch.logsumexp(s, dim=1)).mean() + math.log(s.shape[0])
    off = _off_diag(s, valid)
    if kind == "mine":
        return joint - _log_mean_exp(off)
    if kind == "nwj":
        return joint - torch.exp(off - 1.0).mean()
    if kind == "smile":
        return joint - _log_mean_exp(off.clamp(-smile_clip, smile_clip))
    raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")


def _js_objective(s: torch.Tensor) -> torch.Tensor:
    """f-GAN Jensen-Shannon objective (trains SMILE's critic)."""
    return -F.softplus(-s.diagonal()).mean() - F.softplus(_off_diag(s)).mean()


def _standardize(a: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=0)
    std = a.std(axis=0)
    return a / np.where(std > 0, std, 1.0)


class NeuralEstimator:
    """A per-dataset neural estimator with the ``estimate(x, y) -> float`` interface.

    kind: "mine", "infonce", "nwj" or "smile"; seed: fixes critic initialization, the
    train / held-out split and minibatch order (the global torch RNG is left untouched); other
    keyword arguments override :class:`NeuralConfig`. x: (N, dx) or (N,), y: (N, dy) or (N,).
    """

    def __init__(self, kind: str = "infonce", seed: int = 0, config: NeuralConfig | None = None, **overrides):
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")
        self.kind, self.seed = kind, int(seed)
        self.config = replace(config or NeuralConfig(), **overrides)
        self.config.validate()
        self.name = {"mine": "MINE", "infonce": "InfoNCE", "nwj": "NWJ", "smile": "SMILE"}[kind]

    def __repr__(self) -> str:
        return f"NeuralEstimator(kind={self.kind!r}, seed={self.seed}, {asdict(self.config)})"

    # ------------------------------------------------------------------------------ training
    def _split(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row indices (train, validation, test); parts fall back to shared rows when N is small."""
        perm = rng.permutation(n)
        n_held = int(round(self.config.test_fraction * n))
        if n_held < MIN_ROWS or n - n_held < MIN_ROWS:
            return perm, perm, perm  # too few rows to hold any out: train and evaluate on all
        train, held = perm[n_held:], perm[:n_held]
        n_val = n_held // 2
        if not self.config.early_stopping or n_val < MIN_ROWS or n_held - n_val < MIN_ROWS:
            return train, held, held
        return train, held[:n_val], held[n_val:]

    def fit(self, x, y, seed: int | None = None) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
        """Train a critic; returns (critic, test x (m, dx), test y (m, dy)) as float32 tensors."""
        cfg = self.config
        seed = self.seed if seed is None else int(seed)
        x, y = check_xy(x, y, min_n=4)
        if cfg.preprocess == "standardize":
            x, y = _standardize(x), _standardize(y)
        rng = np.random.default_rng(seed)
        train_idx, val_idx, test_idx = self._split(len(x), rng)
        xt = torch.from_numpy(x.astype(np.float32))
        yt = torch.from_numpy(y.astype(np.float32))
        b = min(cfg.batch_size, len(train_idx))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            cls = SeparableCritic if cfg.critic == "separable" else ConcatCritic
            critic = cls(x.shape[1], y.shape[1], cfg.hidden, cfg.embed)
        opt = torch.optim.Adam(critic.parameters(), lr=cfg.lr)
        log_ema = None
        best, best_state = -math.inf, None
        val_rng = np.random.default_rng(seed + 1)
        for step in range(1, cfg.steps + 1):
            critic.train()
            idx = torch.from_numpy(rng.choice(train_idx, size=b, replace=False))
            s = critic(xt[idx], yt[idx])
            if self.kind == "mine":
                lme = _log_mean_exp(_off_diag(s))
                with torch.no_grad():
                    log_ema = lme if log_ema is None else torch.logaddexp(
                        math.log1p(-cfg.ema_rate) + log_ema, math.log(cfg.ema_rate) + lme)
                # gradient of E_Q[e^T] / EMA(E_Q[e^T]): the bias-corrected DV gradient
                loss = -(s.diagonal().mean() - torch.exp(lme - log_ema))
            elif self.kind == "smile":
                loss = -_js_objective(s)
            else:
                loss = -bound_from_scores(self.kind, s)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if cfg.early_stopping and (step % cfg.eval_every == 0 or step == cfg.steps):
                critic.eval()
                sv = self._scores(critic, xt[val_idx], yt[val_idx])
                value = self._value(sv, np.arange(len(val_idx)), val_rng)
                if np.isfinite(value) and value > best:
                    best = value
                    best_state = {k: v.detach().clone() for k, v in critic.state_dict().items()}
        if best_state is not None:
            critic.load_state_dict(best_state)
        critic.eval()
        return critic, xt[test_idx], yt[test_idx]

    # ---------------------------------------------------------------------------- evaluation
    @torch.no_grad()
    def _scores(self, critic: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Full score matrix (m, m); the concat critic is scored in row chunks to bound memory."""
        if isinstance(critic, SeparableCritic):
            return critic(x, y)
        fy = y.unsqueeze(0)
        rows = []
        for xc in x.split(max(1, 2**18 // len(y))):
            pairs = torch.cat([xc.unsqueeze(1).expand(-1, len(y), -1), fy.expand(len(xc), -1, -1)], dim=-1)
            rows.append(critic.net(pairs).squeeze(-1))
        return torch.cat(rows)

    def _value(self, s: torch.Tensor, idx: np.ndarray, rng: np.random.Generator) -> float:
        """The bound on the held-out rows idx (positions into s; repeats allowed)."""
        idx_t = torch.from_numpy(idx)
        sub = s[idx_t][:, idx_t]
        valid = idx_t[:, None] != idx_t[None, :]  # a repeated row is not a marginal pair
        if self.kind != "infonce":
            return float(bound_from_scores(self.kind, sub, self.config.smile_clip, valid))
        # InfoNCE in chunks of batch_size rows: the same log(batch) cap as in training
        m = len(idx)
        order = rng.permutation(m)
        chunks = np.array_split(order, max(1, -(-m // self.config.batch_size)))
        total = 0.0
        for c in chunks:
            ct = torch.from_numpy(c)
            total += len(c) * float(bound_from_scores("infonce", sub[ct][:, ct], valid=valid[ct][:, ct]))
        return total / m

    def estimate(self, x, y) -> float:
        """The bound on the held-out rows after training, in nats."""
        critic, xe, ye = self.fit(x, y)
        s = self._scores(critic, xe, ye)
        return self._value(s, np.arange(len(xe)), np.random.default_rng(self.seed))

    def estimate_with_quantiles(self, x, y, n_boot: int = 50, levels=DEFAULT_LEVELS) -> dict:
        """Point estimate plus the spread over `n_boot` resamples (with replacement) of the held-out
        rows under the one trained critic; see the module docstring for what it leaves out.

        Returns ``{"estimate", "median", "quantiles": {level: value}, "replicates", "n_boot"}``.
        """
        critic, xe, ye = self.fit(x, y)
        s = self._scores(critic, xe, ye)
        rng = np.random.default_rng(self.seed)
        m = len(xe)
        point = self._value(s, np.arange(m), rng)
        reps = np.array([self._value(s, rng.integers(0, m, size=m), rng) for _ in range(n_boot)])
        qs = np.quantile(reps, list(levels))
        return {"estimate": point, "median": float(np.median(reps)),
                "quantiles": {float(lv): float(q) for lv, q in zip(levels, qs)}, "replicates": reps.tolist(),
                "n_boot": int(n_boot)}


def neural_mi(x, y, kind: str = "infonce", seed: int = 0, **config) -> float:
    """One neural estimate of I(X; Y) in nats; `config` overrides :class:`NeuralConfig`."""
    return NeuralEstimator(kind, seed=seed, **config).estimate(x, y)
