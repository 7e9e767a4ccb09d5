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
from core.log.store import LogStore, verify_store

__all__ = [
    "Checkpoint", "LogSigner", "LogStore", "LogVerifier", "Recorded", "leaf_hash",
    "parse_checkpoint", "recorded_for", "root_hash", "split_notes", "verify_checkpoint",
    "verify_consistency", "verify_inclusion", "verify_store",
]
