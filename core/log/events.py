"""What a log says about one proposal (SPEC §7 events), as a pure function over entry bytes.

The server's replay (`core.server.replay`) and a gate checking what a queue reports both
read a proposal's record through `recorded_for`, so the two cannot disagree on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core.errors import InvalidData
from core.formats import Event


@dataclass(frozen=True)
class Recorded:
    """The events of one proposal, in log order."""

    proposal: str
    submitted: int = 0  # proposal.submitted events (a sound log has exactly one)
    decisions: tuple[str, ...] = ()  # decision.recorded hashes, in order
    refused: int = 0  # decision.refused events
    expired: bool = False  # a proposal.expired event
    receipts: tuple[str, ...] = ()  # receipt.recorded hashes (at most one is sound)

    @property
    def decision_set(self) -> frozenset[str]:
        return frozenset(self.decisions)

    @property
    def receipt_set(self) -> frozenset[str]:
        return frozenset(self.receipts)


def recorded_for(entries: Iterable[bytes], proposal_hash: str) -> Recorded:
    """What ``entries`` (raw log entries, any subset, in log order) record about the
    proposal ``proposal_hash``: the decision hashes and receipt hashes recorded, and its
    submission, refusals and expiry. A malformed entry raises InvalidData (format)."""
    submitted = refused = 0
    expired = False
    decisions: list[str] = []
    receipts: list[str] = []
    for raw in entries:
        event = Event.from_bytes(raw)
        if event.get("proposal") != proposal_hash:
            continue
        if event.type == "proposal.submitted":
            submitted += 1
        elif event.type == "decision.recorded":
            decisions.append(event.data["decision"])
        elif event.type == "decision.refused":
            refused += 1
        elif event.type == "proposal.expired":
            expired = True
        elif event.type == "receipt.recorded":
            receipts.append(event.data["receipt"])
    return Recorded(proposal_hash, submitted, tuple(decisions), refused, expired,
                    tuple(receipts))


def subjects(entry: bytes | Event) -> tuple[str, ...]:
    """The keys under which the log's subject index (`core.log.store`) files one entry:
    ``proposal:<hash>`` for an event about a proposal, ``policy:<hash>`` for a
    ``policy.activated``. An entry that is not an event has none (the verifier reports it).
    An Event is taken as parsed (`Event.make` parsed its bytes already).

    The one definition of what an entry is about: the store files entries by it and
    `core.bundle.build.proposal_entries` checks every entry the index returns against it."""
    if isinstance(entry, Event):
        event = entry
    else:
        try:
            event = Event.from_bytes(entry)
        except InvalidData:
            return ()
    out = []
    if (proposal := event.get("proposal")) is not None:
        out.append("proposal:" + proposal)
    if event.type == "policy.activated":
        out.append("policy:" + event.data["policy"])
    return tuple(out)
