"""The training prior, the seeded stream, shards on disk and the frozen suites."""

import dataclasses

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from mist.data.stream import MetaDatasetStream, StreamConfig, make_batch
from mist.data.shards import read_shards, write_shards
from mist.data.mixture_bank import load_bank
from mist.data.prior import PriorConfig, sample_dataset
from mist.data.suites import build_suite
from mist.train.datamodule import MetaDataModule

SMALL = PriorConfig(n_min=8, n_max=64, dim_max=6)
STREAM = StreamConfig(batch_size=4, cells_per_batch=4096, seed=3)


def _same(a, b):
    return all(torch.equal(a[k], b[k]) for k in ("x", "y", "mi", "mi_se"))


def test_batches_are_deterministic_and_split_dependent():
    a, b = make_batch(SMALL, STREAM, "train", 5), make_batch(SMALL, STREAM, "train", 5)
    assert _same(a, b)
    assert not torch.equal(make_batch(SMALL, STREAM, "imd", 5)["x"], a["x"])
    assert not torch.equal(make_batch(SMALL, STREAM, "train", 6)["x"], a["x"])


def test_batch_contents():
    for k in range(20):
        b = make_batch(SMALL, STREAM, "train", k)
        bsz, n, dx = b["x"].shape
        assert b["y"].shape[:2] == (bsz, n) and 8 <= n <= 64 and 1 <= dx <= 6
        assert torch.isfinite(b["x"]).all() and torch.isfinite(b["y"]).all()
        assert (b["mi"] >= 0).all() and (b["mi_se"] <= 0.02).all()
        assert bsz * n * (dx + b["y"].shape[-1]) <= STREAM.cells_per_batch or bsz == 1


def test_prior_mi_distribution():
    rng = np.random.default_rng(0)
    sets = [sample_dataset(PriorConfig(n_max=16), rng, 16, *rng.integers(1, 33, size=2)) for _ in range(600)]
    mi = np.array([s.mi for s in sets])
    assert (mi == 0).mean() >= 0.05, "independence share"
    assert (mi <= 5).mean() >= 0.7, "most mass in 0..5 nats"
    assert mi.max() > 20, "the tail reaches tens of nats"
    assert {s.family for s in sets} >= {"gaussian", "student_t", "additive_uniform", "gaussian_mixture", "independent"}


def test_workers_shard_the_same_sequence():
    serial = list(MetaDatasetStream(SMALL, STREAM, n_batches=6))
    loader = DataLoader(MetaDatasetStream(SMALL, STREAM, n_batches=6), batch_size=None, num_workers=2)
    parallel = list(loader)
    assert [b["index"] for b in parallel] == list(range(6))
    assert all(_same(a, b) for a, b in zip(serial, parallel))
    resumed = list(MetaDatasetStream(SMALL, STREAM, start=3, n_batches=3))
    assert all(_same(a, b) for a, b in zip(serial[3:], resumed))


@pytest.mark.parametrize("bad, match", [
    (dict(dim_min=0), "dim_min"), (dict(n_min=1), "n_min"), (dict(n_min=50, n_max=10), "n_min"),
    (dict(families={"nope": 1.0}), "unknown family"), (dict(families={"gaussian": -1.0}), "weights"),
    (dict(transforms={"twist": 1.0}), "unknown transform"), (dict(low_mi_max=-1.0), "low_mi_max"),
    (dict(pooled_mix={"shear": 1.0}), "pooled_mix"), (dict(pooled_mix={"none": 0.0}), "pooled_mix"),
])
def test_invalid_prior(bad, match):
    with pytest.raises(ValueError, match=match):
        dataclasses.replace(PriorConfig(), **bad).validate()


def test_training_cannot_use_held_out_or_eval_seeds():
    with pytest.raises(ValueError, match="held out"):
        MetaDataModule(prior={"families": {"gaussian": 1.0, "gamma_exponential": 0.1}}, num_workers=0, val_batches={})
    with pytest.raises(ValueError, match="held out"):
        MetaDataModule(prior={"transforms": {"none": 1.0, "spiral": 0.5}}, num_workers=0, val_batches={})
    with pytest.raises(ValueError, match="unknown split"):
        make_batch(SMALL, STREAM, "test", 0)


def test_oomd_suite_is_out_of_distribution():
    suite = build_suite("oomd", 4, STREAM, SMALL)
    for k, b in enumerate(suite):
        if k % 2 == 0:
            assert set(b["family"]) == {"gamma_exponential"}
        else:
            assert all(p["pattern"] is not None for p in b["params"])
            assert b["x"].shape[-1] >= 2 and b["y"].shape[-1] >= 2


def test_shards_resume(tmp_path):
    make = lambda k: make_batch(SMALL, STREAM, "train", k)  # noqa: E731
    assert write_shards(make, 5, 2, tmp_path, progress=False) == 3
    (tmp_path / "shard_00001.npz").unlink()  # as if interrupted while writing shard 1
    assert write_shards(make, 5, 2, tmp_path, progress=False) == 1
    back = list(read_shards(tmp_path))
    assert [b["index"] for b in back] == list(range(5))
    assert all(_same(b, make(k)) for k, b in enumerate(back))


def test_mixture_bank_is_precomputed_with_small_se():
    bank = load_bank()
    assert len(bank) >= 256
    assert max(g.mi_se for g in bank) <= 0.02
    from mist.data.distributions import monte_carlo_mi
    g = bank[7]
    mi, se = monte_carlo_mi(g, 50_000, np.random.default_rng(99))
    assert abs(mi - g.mi) < 4 * np.hypot(se, g.mi_se)


def test_calib_split_is_training_prior_with_its_own_seeds():
    from mist.data.mixture_bank import draw_from_bank, load_bank
    with pytest.raises(ValueError, match="held out"):
        dataclasses.replace(PriorConfig(), families={"gamma_exponential": 1.0}).validate("calib")
    a, b = make_batch(SMALL, STREAM, "calib", 0), make_batch(SMALL, STREAM, "imd", 0)
    assert not torch.equal(a["mi"], b["mi"]) or a["x"].shape != b["x"].shape or not torch.equal(a["x"], b["x"])
    bank = load_bank()
    rng = np.random.default_rng(0)
    for _ in range(20):  # calibration never sees the mixture settings reserved for evaluation
        g = draw_from_bank(rng, "calib", 32, 32)
        assert next(i for i, h in enumerate(bank) if h is g) % 4 != 3


def test_splits_partition_the_mixture_bank_and_the_held_out_kinds():
    from mist.data import splits
    n = 64
    train, oomd = set(splits.bank_indices("train", n)), set(splits.bank_indices("oomd", n))
    assert train.isdisjoint(oomd) and train | oomd == set(range(n))
    assert splits.bank_indices("calib", n) == sorted(train) and splits.bank_indices("imd", n) == sorted(oomd)
    held_family, held_transform = splits.split_priors("oomd", PriorConfig())
    assert {f for f, w in held_family.families.items() if w > 0} == set(splits.HELD_OUT_FAMILIES)
    assert {t for t, w in held_transform.transforms.items() if w > 0} == set(splits.HELD_OUT_TRANSFORMS)
    assert splits.split_priors("imd", PriorConfig()) == [PriorConfig()]
    with pytest.raises(ValueError, match="unknown split"):
        splits.split_priors("test", PriorConfig())
