"""SPEC §7: the RFC 9162 Merkle log, its SQLite store and C2SP checkpoints."""

from core.log.merkle import leaf_hash, root_hash, verify_consistency, verify_inclusion
from core.log.note import Checkpoint, LogSigner, LogVerifier, parse_checkpoint, verify_checkpoint
from core.log.store import LogStore, verify_store

__all__ = [
    "Checkpoint", "LogSigner", "LogStore", "LogVerifier", "leaf_hash", "parse_checkpoint",
    "root_hash", "verify_checkpoint", "verify_consistency", "verify_inclusion", "verify_store",
]
