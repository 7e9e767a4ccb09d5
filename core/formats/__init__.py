"""SPEC §1 and §4–7: canonical JSON, hashes, times, identities and the document models."""

from core.formats.canonical import canonical, is_hash_ref, parse_json, sha256_ref
from core.formats.documents import Decision, Document, Event, Proposal, Receipt
from core.formats.fields import format_time, now_utc, parse_time, parse_ttl

__all__ = [
    "Decision", "Document", "Event", "Proposal", "Receipt", "canonical", "format_time",
    "is_hash_ref", "now_utc", "parse_json", "parse_time", "parse_ttl", "sha256_ref",
]
