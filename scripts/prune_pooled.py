"""Prune a one-block pooled model to its most important hidden units (mist/train/prune.py).

    python scripts/prune_pooled.py --model runs/fast/model --hidden 16 --out runs/prune16/model

Importance is measured on `calib` sets (never the evaluation suites) with N >= 128, the range
the large-N expert serves. Fine-tune the result with
`python scripts/train.py experiment=prune_finetune hidden=16` (warm start from --out).
"""

import argparse

import torch

from mist.data.stream import StreamConfig, make_batch
from mist.checkpoint import load_checkpoint, save_checkpoint
from mist.data.prior import PriorConfig
from mist.train.prune import prune_hidden_units, unit_importance


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="an exported one-block pooled model folder")
    ap.add_argument("--hidden", type=int, required=True, help="hidden units to keep")
    ap.add_argument("--out", required=True)
    ap.add_argument("--batches", type=int, default=8, help="calib batches for the importance")
    args = ap.parse_args()
    torch.set_num_threads(1)
    model, loaded = load_checkpoint(args.model)
    prior = PriorConfig(n_min=128)
    prior.validate("calib")
    importance = unit_importance(model, [make_batch(prior, StreamConfig(), "calib", k) for k in range(args.batches)])
    keep = importance.argsort(descending=True)[:args.hidden].sort().values
    print(f"importance, largest first: {[round(v, 4) for v in importance.sort(descending=True).values.tolist()]}")
    print(f"kept {len(keep)} of {len(importance)} units: {keep.tolist()}")
    pruned = prune_hidden_units(model, keep)
    training = {"command": f"python scripts/prune_pooled.py --model {args.model} --hidden {args.hidden} --out {args.out}",
                "pruned_from": args.model, "kept_units": keep.tolist(), "source_training": loaded["training"]}
    save_checkpoint(pruned, pruned.cfg, args.out, training=training)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
