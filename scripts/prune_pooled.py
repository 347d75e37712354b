"""Structured pruning of a one-block pooled model: keep the block's most useful hidden units.

    python scripts/prune_pooled.py --model runs/fast/model --hidden 16 --out runs/prune16/model

The block's hidden layer is most of the pooled model's per-cell cost at inference. A unit j
contributes out.weight[:, j] * relu(z_j) to every cell, so its importance is the mean of
relu(z_j) over cells times the norm of out.weight[:, j], measured on `calib` sets (never the
evaluation suites) with N >= 128, the range the model serves. The kept units' rows of
cell / own_block / other_block / column and columns of out are copied; everything else is
unchanged. Fine-tune the result afterwards (experiment=prune16 warm-starts from --out).
"""

import argparse

import torch

from mist.batch.stream import StreamConfig, make_batch
from mist.checkpoint import load_checkpoint, save_checkpoint
from mist.generate.prior import PriorConfig
from mist.network.model import ModelConfig, build_model


def unit_importance(model, batches) -> torch.Tensor:
    """(H,) mean relu(z_j) over all cells of the batches, times |out.weight[:, j]|."""
    block = model.blocks[0]
    sums = []

    def record(module, args):  # out's input is relu(z), (B, N, C, H)
        r = args[0].reshape(-1, args[0].shape[-1])
        sums.append((r.sum(0), len(r)))

    hook = block.out.register_forward_pre_hook(record)
    with torch.inference_mode():
        for batch in batches:
            model(batch["x"], batch["y"])
    hook.remove()
    mean_r = sum(s for s, _ in sums) / sum(k for _, k in sums)
    return mean_r * block.out.weight.detach().norm(dim=0)


def prune(model, keep: torch.Tensor) -> torch.nn.Module:
    """A copy of `model` whose single pooled block keeps only hidden units `keep`."""
    cfg = ModelConfig(**{**model.cfg.to_dict(), "block_hidden": len(keep)})
    pruned = build_model(cfg)
    state = model.state_dict()
    for name in ("cell.weight", "cell.bias", "own_block.weight", "other_block.weight", "column.weight"):
        state[f"blocks.0.{name}"] = state[f"blocks.0.{name}"][keep]
    state["blocks.0.out.weight"] = state["blocks.0.out.weight"][:, keep]
    pruned.load_state_dict(state)
    return pruned.eval()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="an exported one-block pooled model folder")
    ap.add_argument("--hidden", type=int, required=True, help="hidden units to keep")
    ap.add_argument("--out", required=True)
    ap.add_argument("--batches", type=int, default=8, help="calib batches for the importance")
    args = ap.parse_args()
    torch.set_num_threads(1)
    model, loaded = load_checkpoint(args.model)
    if model.cfg.arch != "pooled" or model.cfg.blocks != 1:
        raise SystemExit(f"{args.model}: need a pooled model with one block, got {model.cfg.arch} with {model.cfg.blocks}")
    prior = PriorConfig(n_min=128)
    prior.validate("calib")
    batches = [make_batch(prior, StreamConfig(), "calib", k) for k in range(args.batches)]
    importance = unit_importance(model, batches)
    keep = importance.argsort(descending=True)[:args.hidden].sort().values
    print(f"importance (sorted): {[round(v, 4) for v in importance.sort(descending=True).values.tolist()]}")
    print(f"kept {args.hidden} of {len(importance)} units: {keep.tolist()}")
    training = {"pruned_from": args.model, "kept_units": keep.tolist(), "source_training": loaded["training"],
                "command": f"python scripts/prune_pooled.py --model {args.model} --hidden {args.hidden} --out {args.out}"}
    pruned = prune(model, keep)
    save_checkpoint(pruned, pruned.cfg, args.out, training=training)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
