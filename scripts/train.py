"""Train the MI network: python scripts/train.py [experiment=cpu] [trainer=gpu] [resume=true] ...

A run resumes with `python scripts/train.py run_dir=<its folder> resume=true`: the overrides it was
started with (recorded by Hydra in <run_dir>/.hydra/overrides.yaml) are restored; given ones win.
A SIGTERM saves <run_dir>/checkpoints/interrupted.ckpt and exits with status 143."""

import hydra
from omegaconf import DictConfig


@hydra.main(config_path="../conf", config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> None:
    from mist.train.run import train

    train(cfg)


if __name__ == "__main__":
    import sys

    from mist.train.run import with_recorded_overrides
    from mist.train.schemas import register_schemas

    register_schemas()  # conf/data and conf/model build on the library's config dataclasses
    # `run_dir=... resume=true` alone: restore the run's recorded overrides before Hydra composes
    sys.argv[1:] = with_recorded_overrides(sys.argv[1:])
    main()
