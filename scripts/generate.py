"""Materialize a meta-dataset to disk in resumable shards (progress bar; rerun to resume)."""

import hydra
from omegaconf import DictConfig, OmegaConf


@hydra.main(config_path="../conf", config_name="generate", version_base="1.3")
def main(cfg: DictConfig) -> None:
    from mist.batch.stream import StreamConfig, make_batch
    from mist.generate.materialize import write_shards
    from mist.generate.prior import PriorConfig
    from mist.generate.suites import suite_priors

    base = PriorConfig(**OmegaConf.to_container(cfg.data.prior, resolve=True))
    stream = StreamConfig(**OmegaConf.to_container(cfg.data.stream, resolve=True))
    priors = [base] if cfg.split == "train" else suite_priors(cfg.split, base)
    for p in priors:
        p.validate(cfg.split)
    n = write_shards(lambda k: make_batch(priors[k % len(priors)], stream, cfg.split, k),
                     cfg.n_batches, cfg.shard_batches, cfg.out_dir)
    print(f"wrote {n} new shard(s) to {cfg.out_dir}")


if __name__ == "__main__":
    main()
