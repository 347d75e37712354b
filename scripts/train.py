"""Train the MI network: python scripts/train.py [experiment=cpu] [trainer=gpu] [resume=true] ..."""

import hydra
from omegaconf import DictConfig


@hydra.main(config_path="../conf", config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> None:
    from mist.train.run import train

    train(cfg)


if __name__ == "__main__":
    main()
