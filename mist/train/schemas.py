"""The library's config dataclasses as Hydra schemas, so conf/*.yaml builds on them.

PriorConfig, StreamConfig and ModelConfig are the one source of their defaults (they also
define the frozen suites and rebuild checkpoints, without Hydra). A conf file that needs one
lists it in its defaults (`- /schema/prior@prior`) and writes only the values it changes; the
composed config still shows every field, and an override of a misspelled key fails at once.

Call `register_schemas()` before Hydra composes a config that uses them (scripts/train.py,
scripts/generate.py, scripts/evaluate.py and the tests that compose configs do).
"""

from __future__ import annotations

from hydra.core.config_store import ConfigStore

from mist.data.prior import PriorConfig
from mist.data.stream import StreamConfig
from mist.network.config import ModelConfig

SCHEMAS = {"prior": PriorConfig, "stream": StreamConfig, "model": ModelConfig}


def register_schemas() -> None:
    """Store each schema as config `schema/<name>` (idempotent)."""
    store = ConfigStore.instance()
    for name, node in SCHEMAS.items():
        store.store(group="schema", name=name, node=node)
