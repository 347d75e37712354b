"""Mixed-variable KSG (Gao, Kannan, Oh and Viswanath, NeurIPS 2017), in nats.

For discrete, continuous or mixed X and Y (any mixture of atoms and densities), with the max-norm:
for sample i let rho_i be the distance to its k-th nearest neighbour in the joint space. If
rho_i > 0, k_i = k; if rho_i = 0 (sample i sits on an atom), k_i is the number of other samples
equal to it. n_x,i and n_y,i count the other samples within rho_i of it (distance <= rho_i) in
each marginal (on an atom: equal to it). Then

    I = < psi(k_i) + log N - log(n_x,i) - log(n_y,i) >

which reduces to KSG on continuous data (up to its log-vs-psi choice) and to the plug-in estimate
on discrete data. Unlike KSG, no jitter is added: ties are the information here.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma

from mist.evaluate.ksg import check_xy


def mixed_ksg_mi(x, y, k: int = 5) -> float:
    """Mixed-KSG estimate of I(X; Y) in nats.

    Args:
        x: samples of X, shape (N, dx) or (N,).
        y: samples of Y, shape (N, dy) or (N,), paired row by row with x.
        k: number of joint-space neighbours; 1 <= k < N.
    """
    k = int(k)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    x, y = check_xy(x, y, min_n=k + 1)
    n = len(x)
    joint = np.hstack([x, y])
    rho = cKDTree(joint).query(joint, k=k + 1, p=np.inf)[0][:, k]
    on_atom = rho == 0
    # On an atom the ball has radius 0 (exact equality); elsewhere "within rho_i", inclusive.
    radius = np.where(on_atom, 0.0, rho)
    # the ball counts include sample i itself: subtract it
    k_i = np.where(on_atom, cKDTree(joint).query_ball_point(joint, r=radius, p=np.inf, return_length=True) - 1, k)
    nx = cKDTree(x).query_ball_point(x, r=radius, p=np.inf, return_length=True) - 1
    ny = cKDTree(y).query_ball_point(y, r=radius, p=np.inf, return_length=True) - 1
    return float(np.mean(digamma(k_i) + np.log(n) - np.log(nx) - np.log(ny)))
