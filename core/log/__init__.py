"""SPEC §7: the RFC 9162 Merkle log, its SQLite store and C2SP checkpoints."""

from core.log.events import Recorded, recorded_for
from core.log.merkle import leaf_hash, root_hash, verify_consistency, verify_inclusion
from core.log.note import (
    Checkpoint,
    LogSigner,
    LogVerifier,
    parse_checkpoint,
    split_notes,
    verify_checkpoint,
)

# The SQLite store is imported when first asked for: `foureyes verify` reads merkle and
# note from this package and must not pay for sqlite_utils (PEP 562).
_LAZY = {"LogStore": "core.log.store", "verify_store": "core.log.store"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "Checkpoint", "LogSigner", "LogStore", "LogVerifier", "Recorded", "leaf_hash",
    "parse_checkpoint", "recorded_for", "root_hash", "split_notes", "verify_checkpoint",
    "verify_consistency", "verify_inclusion", "verify_store",
]
