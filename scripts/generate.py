"""Materialize a meta-dataset to disk in resumable shards (progress bar; rerun to resume)."""

import hydra
from omegaconf import DictConfig, OmegaConf


@hydra.main(config_path="../conf", config_name="generate", version_base="1.3")
def main(cfg: DictConfig) -> None:
    from mist.data.stream import StreamConfig, make_batch
    from mist.data.shards import write_shards
    from mist.data.prior import PriorConfig
    from mist.data.splits import split_priors

    base = PriorConfig(**OmegaConf.to_container(cfg.data.prior, resolve=True))
    stream = StreamConfig(**OmegaConf.to_container(cfg.data.stream, resolve=True))
    priors = split_priors(cfg.split, base)
    n = write_shards(lambda k: make_batch(priors[k % len(priors)], stream, cfg.split, k),
                     cfg.n_batches, cfg.shard_batches, cfg.out_dir)
    print(f"wrote {n} new shard(s) to {cfg.out_dir}")


if __name__ == "__main__":
    from mist.train.schemas import register_schemas

    register_schemas()  # conf/data builds on PriorConfig and StreamConfig
    main()
