"""Ship a trained run: copy its network(s) into a checkpoint folder and write the model card.

Everything goes through mist.checkpoint (the one owner of the format). The model card is
generated whole from the checkpoint's records (config.json: architecture, training, calibration
and the `card` record with measured accuracy, recipe and history), so regenerating it loses
nothing; measuring the accuracy is the evaluation's job (scripts/export_checkpoint.py).
"""

from __future__ import annotations

from pathlib import Path

from mist.checkpoint import CARD, WEIGHTS, load_checkpoint, read_config, save_checkpoint, save_routed
from mist.network.config import ModelConfig


def export_network(src, dst) -> Path:
    """Copy the single-network checkpoint `src` (e.g. runs/X/model) to `dst` in the current format."""
    model, config = load_checkpoint(src)
    if "experts" in config:
        raise ValueError(f"{src}: expected a single network, got a routed checkpoint")
    return save_checkpoint(model, ModelConfig(**config["model"]), dst, training=config.get("training"),
                           served_n=tuple(config["served_n"]))


def export_routed(experts: list[tuple[str, int]], dst, blend: float) -> Path:
    """A routed checkpoint from [(network folder, smallest N it serves)]: expert i goes to
    dst/expert{i}, each a full checkpoint (network/routed.py says how N picks one)."""
    dst = Path(dst)
    specs = []
    for i, (src, n_min) in enumerate(experts):
        export_network(src, dst / f"expert{i}")
        specs.append((f"expert{i}", int(n_min)))
    return save_routed(dst, specs, blend)


def describe(m: dict) -> str:
    """One line on an architecture config."""
    extra = " + the debiased copula feature" if m.get("debiased_copula") else ""
    if m["arch"] == "two_axis":
        return (f"`two_axis`: width {m['width']}, {m['blocks']} two-axis block(s), {m['heads']} heads, "
                f"{m['n_inducing']} inducing points, {m['pair_channels']} log-det pair channels{extra}")
    if m["arch"] == "pooled" and not m["blocks"]:
        return (f"`pooled` without blocks (learned marginal transforms, evaluated on the score table): "
                f"width {m['width']}, {m['pair_channels']} log-det pair channels{extra}")
    if m["arch"] == "pooled":
        hidden = m.get("block_hidden") or 2 * m["width"]
        return (f"`pooled`: width {m['width']}, {m['blocks']} pooled block(s) with {hidden} hidden units, "
                f"{m['pair_channels']} log-det pair channels{extra}")
    return f"`{m['arch']}`: width {m['width']}, {m['blocks']} block(s)"


def model_card(folder, name: str | None = None) -> str:
    """The model card of a checkpoint, from its records alone."""
    folder = Path(folder)
    model, config = load_checkpoint(folder)
    card = config.get("card", {})
    routed = "experts" in config
    if routed:
        specs = config["experts"]
        parts = [(folder / s["folder"], sub, f"N {s['n_min']}-{nxt['n_min'] - 1}: " if nxt else f"N >= {s['n_min']}: ")
                 for s, nxt, sub in zip(specs, specs[1:] + [None], config["expert_configs"])]
    else:
        parts = [(folder, config, "")]
    lines = [f"# {name or folder.name}", ""]
    for sub_folder, sub, prefix in parts:
        tr = sub.get("training", {})
        lines += [f"{prefix}{describe(sub['model'])}; {(sub_folder / WEIGHTS).stat().st_size / 1e6:.2f} MB. "
                  f"Its last training stage ran {tr.get('steps')} steps on {tr.get('sets_seen')} synthetic datasets, on CPU "
                  f"(see `training` in its config.json).", ""]
    if routed and config.get("blend", 1.0) > 1:
        b = config["blend"]
        lines += [f"Around each boundary s the two experts' z-quantiles are blended for N in [s / {b:g}, "
                  f"s * {b:g}), with a weight linear in log N (mist/network/routed.py).", ""]
    lines += [f"Quantile levels {[round(float(v), 4) for v in model.levels]}; "
              f"{sum(p.numel() for p in model.parameters())} parameters in all. Serves N in "
              f"{config['served_n'][0]}..{config['served_n'][1]} directly (larger N: subset averaging)."
              + (f" Trained with `{card['recipe']}`." if card.get("recipe") else ""), ""]
    measured = card.get("measured")
    if measured:
        lines += ["Accuracy on the frozen suites (seeds disjoint from training; oomd = held-out family and transform),",
                  "measured through `MIEstimator` as users call it:", "",
                  "| suite | datasets | MAE | RMSE | bias | 90% coverage | 50% coverage | solved |",
                  "|---|---|---|---|---|---|---|---|"]
        for s, r in measured.items():
            lines.append(f"| {s} | {r['datasets']} | {r['mae']:.3f} | {r['rmse']:.3f} | {r['bias']:+.3f} | "
                         f"{r['cov90']:.2f} | {r['cov50']:.2f} | {r['solved']:.2f} |")
        lines.append("")
    cals = [sub.get("calibration") for _, sub, _ in parts]
    if all(cals):
        lines += ["Intervals: conformally calibrated (mist/network/calibration.py) on sets of the `calib` split"
                  + "".join(f"; N in {c['n_range']}: {c['sets']} sets of {_prior_name(c)}, z offsets "
                            f"{[round(o, 3) for o in c['offsets_z']]}" for c in cals) + ".", ""]
    else:
        lines += ["Intervals: raw network quantiles (no calibration).", ""]
    reg = config.get("regime_calibration")
    if reg:
        lines += [f"Sets in regime {reg['regime']!r} with N in {reg['n_range']} (\"reduced\": a side cut to principal "
                  f"components) are widened once more at the estimator level, fitted on {reg['sets']} sets of the "
                  f"extended prior's `calib` split (docs/design.md §12f): z offsets {[round(o, 3) for o in reg['offsets_z']]}.",
                  ""]
    head = config.get("stat_head")
    if head:
        lines += [f"Sets with N <= dx + dy, N in {head['n_range']} and at most {head['dim_max']} columns per side get "
                  f"their quantiles from the singular-regime head (below the median the lower of its and the network's; "
                  f"stat_head.safetensors, width {head['width']}; "
                  f"docs/design.md §12q), fitted on {head.get('fit_sets', '?')} train-split sets of "
                  f"{' + '.join(head.get('data', []))} and conformally calibrated on "
                  f"{head.get('calibration', {}).get('sets', '?')} calib sets (`{head.get('command', '')}`).", ""]
    if card.get("command"):
        lines += [f"Measured on {card.get('measured_on', '?')} by `{card['command']}`. Comparisons with KSG, CCA and "
                  "neural bounds: `docs/benchmark.md` and `python benchmarks/bench_estimator.py`.", ""]
    lines += [card.get("limits", "Limits: see README.md, 'Inputs and their limits'."), ""]
    if card.get("history"):
        lines += card["history"]
    return "\n".join(lines).rstrip() + "\n"


def write_model_card(folder, name: str | None = None) -> Path:
    """(Re)generate folder/MODEL_CARD.md from the checkpoint's records."""
    read_config(folder)  # a readable checkpoint, or a clear error
    path = Path(folder) / CARD
    path.write_text(model_card(folder, name))
    return path


def _prior_name(calibration: dict) -> str:
    """Where a calibration's sets came from (records before design §12h have no "prior": training)."""
    prior = calibration.get("prior", "training")
    return "the training prior" if prior == "training" else prior
