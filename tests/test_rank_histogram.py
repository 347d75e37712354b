"""Rank-histogram head inputs (ModelConfig.hist_bins, features.rank_histogram_features)."""

import numpy as np
import pytest
import torch

from mist.checkpoint import load_checkpoint, save_checkpoint
from mist.network.config import ModelConfig, build_model
from mist.network.features import codes_from_scores, rank_histogram_features
from mist.network.normalize import rank_codes, score_table
from mist.train.warm_start import warm_start

BINS = [4, 8, 16, 32]


def _pooled(hist_bins):
    torch.manual_seed(0)
    return ModelConfig(arch="pooled", width=8, heads=2, blocks=1, block_hidden=4, pair_channels=2,
                       head_width=16, hist_bins=hist_bins)


def _plugin_mi(a, b, r, n):
    """Plug-in MI of the r x r table of binned ranks, straight from the definition."""
    bins_a = np.floor(r * a / (n + 1)).astype(int)  # a, b: ranks 1..n (halves for ties)
    bins_b = np.floor(r * b / (n + 1)).astype(int)
    joint = np.zeros((r, r))
    np.add.at(joint, (bins_a, bins_b), 1.0 / n)
    pa, pb = joint.sum(1), joint.sum(0)
    nz = joint > 0
    return float((joint[nz] * np.log(joint[nz] / np.outer(pa, pb)[nz])).sum())


def test_codes_from_scores_inverts_the_score_table_with_ties():
    x = torch.randint(0, 5, (3, 40, 4)).double()  # many ties: half ranks
    codes = rank_codes(x)
    u_BNC = score_table(40)[codes].transpose(1, 2)
    assert torch.equal(codes_from_scores(u_BNC), codes)


def test_features_match_the_definition_and_pool_over_pairs():
    from scipy.stats import rankdata
    rng = np.random.default_rng(1)
    n = 300
    x = rng.standard_normal((n, 2))
    y = np.c_[x[:, 0] ** 2 + 0.1 * rng.standard_normal(n), rng.integers(0, 3, n)]  # a parabola, a tied column
    codes = rank_codes(torch.from_numpy(np.c_[x, y])[None])
    got = rank_histogram_features(codes, 2, BINS, torch.float64)[0].numpy()
    ranks = [rankdata(col) for col in np.c_[x, y].T]
    for k, r in enumerate(BINS):
        mi = np.array([_plugin_mi(ranks[i], ranks[2 + j], r, n) for i in range(2) for j in range(2)])
        mi -= (r - 1) ** 2 / (2 * n)
        np.testing.assert_allclose(got[3 * k:3 * k + 3], [mi.max(), mi.mean(), np.log1p(max(mi.sum(), 0))],
                                   atol=1e-9)


def test_coarse_tables_summed_from_the_finest_equal_direct_counts():
    codes = rank_codes(torch.randn(3, 257, 5))
    nested = rank_histogram_features(codes, 2, BINS, torch.float64)
    direct = torch.cat([rank_histogram_features(codes, 2, [r], torch.float64) for r in BINS], dim=-1)
    torch.testing.assert_close(nested, direct)


def test_sees_a_parabola_that_correlations_miss_and_stays_near_zero_when_independent():
    torch.manual_seed(2)
    x = torch.randn(64, 1000, 1)
    parabola = rank_histogram_features(rank_codes(torch.cat([x, x**2 + 0.1 * torch.randn_like(x)], -1)), 1,
                                       [16], torch.float64)
    independent = rank_histogram_features(rank_codes(torch.randn(64, 1000, 2)), 1, [16], torch.float64)
    assert parabola[:, 0].min() > 1.0  # the true MI is ~2 nats
    assert independent[:, 0].abs().max() < 0.05


def test_invariant_to_sample_and_column_order_and_to_swapping_sides():
    codes = rank_codes(torch.randn(2, 200, 5))  # dx = 2, dy = 3
    base = rank_histogram_features(codes, 2, BINS, torch.float64)
    perm = torch.randperm(200)
    torch.testing.assert_close(rank_histogram_features(codes[:, :, perm], 2, BINS, torch.float64), base)
    torch.testing.assert_close(rank_histogram_features(codes[:, [1, 0, 4, 2, 3]], 2, BINS, torch.float64), base)
    torch.testing.assert_close(rank_histogram_features(codes[:, [2, 3, 4, 0, 1]], 3, BINS, torch.float64), base)


def test_network_paths_agree_and_a_warm_start_widens_the_head(tmp_path):
    old_cfg = _pooled([])
    old = build_model(old_cfg).eval()
    save_checkpoint(old, old_cfg, tmp_path / "old")
    new = build_model(_pooled(BINS)).eval()
    warm_start(new, tmp_path / "old")
    x, y = torch.randn(3, 150, 2), torch.randn(3, 150, 3)
    with torch.no_grad():
        torch.testing.assert_close(new(x, y), old(x, y))  # zero weights on the new inputs
        new.head.mlp[0].weight.normal_()
        codes = rank_codes(torch.cat([x, y], -1))
        u_BNC = score_table(150)[codes].transpose(1, 2).float()
        torch.testing.assert_close(new.forward_codes(codes, 2), new.forward_scores(u_BNC, 2), rtol=1e-4, atol=1e-4)


def test_checkpoint_with_bad_hist_bins_is_refused(tmp_path):
    cfg = _pooled(BINS)
    save_checkpoint(build_model(cfg), cfg, tmp_path / "ok")
    load_checkpoint(tmp_path / "ok")
    import json
    for bad in ([1, 8], "8", [4] * 9):
        config = json.loads((tmp_path / "ok" / "config.json").read_text())
        config["model"]["hist_bins"] = bad
        (tmp_path / "ok" / "config.json").write_text(json.dumps(config))
        with pytest.raises(ValueError, match="hist_bins"):
            load_checkpoint(tmp_path / "ok")
