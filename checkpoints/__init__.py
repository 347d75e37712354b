"""Pretrained checkpoints shipped with mist (installed as the package `mist.checkpoints`)."""
