"""Assembling a proof bundle (SPEC §8) from a queue's documents and its Merkle log.

Both transports (server and shared folder) call `bundle_from_log`, so a bundle always has
the same shape whoever exports it. It includes every log event about the proposal (the
refusals too: a refused self-approval is part of the evidence), each with its inclusion
proof to the latest signed checkpoint.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence

from core.bundle.archive import write_members
from core.errors import InvalidData
from core.formats import Proposal, canonical
from core.log.events import subjects
from core.log.note import parse_checkpoint
from core.log.store import LogStore
from core.policy import Policy, SignedDecision


def build_bundle(*, proposal: bytes, policy: bytes, decisions: Sequence[SignedDecision],
                 receipt: tuple[bytes, str] | None, checkpoint: str,
                 entries: Mapping[int, bytes], proofs: Mapping[int, Sequence[bytes]]) -> bytes:
    members: dict[str, bytes] = {"proposal.json": proposal, "policy.toml": policy}
    for n, d in enumerate(decisions, start=1):
        members[f"decisions/{n}.json"] = d.document
        members[f"decisions/{n}.json.sig"] = d.signature.encode()
    if receipt is not None:
        members["receipt.json"], members["receipt.json.sig"] = receipt[0], receipt[1].encode()
    members["log/checkpoint"] = checkpoint.encode()
    members["log/entries.jsonl"] = b"".join(
        canonical({"index": i, "entry": entries[i].decode()}) + b"\n" for i in sorted(entries))
    members["log/proofs.json"] = canonical(
        {str(i): [base64.b64encode(h).decode() for h in proofs[i]] for i in sorted(proofs)})
    members["allowed_signers"] = Policy.from_bytes(policy).allowed_signers().encode()
    return write_members(members)


def proposal_entries(store: LogStore, proposal_hash: str, size: int | None = None, *,
                     policy_hash: str | None = None) -> tuple[str, dict[int, bytes], dict[int, list[bytes]]]:
    """The checkpoint of `size` (default: the latest), the log entries about one proposal up
    to it (plus the last activation of its policy before the first of them), and their
    inclusion proofs.

    Found through the log's subject index (a few indexed reads, whatever the log's length),
    which is not evidence: every entry it names is parsed again and must be about what it
    is filed under, else the log is refused as damaged. An index row deleted would leave an
    entry out; `foureyes log verify` compares the index with the entries, and a gate's
    logcheck refuses a log that lacks a decision it is shown."""
    note = store.latest_checkpoint() if size is None else store.checkpoint_covering(size)
    if note is None:
        raise InvalidData("checkpoint", "the log has no signed checkpoint of that size")
    size = parse_checkpoint(note).size
    entries = {i: _filed(store, i, "proposal:" + proposal_hash)
               for i in store.about("proposal:" + proposal_hash, size)}
    if policy_hash is not None:
        first = min(entries, default=size)
        activation = store.last_about("policy:" + policy_hash, first)
        if activation is not None:
            entries[activation] = _filed(store, activation, "policy:" + policy_hash)
    proofs = {i: store.inclusion_proof(i, size) for i in entries}
    return note, entries, proofs


def _filed(store: LogStore, index: int, subject: str) -> bytes:
    """Entry `index`, which the subject index files under `subject`: refused unless it is."""
    try:
        raw = store.entry(index)
    except InvalidData as e:
        raise InvalidData("log_damaged", f"the log's subject index names entry {index}, "
                          "which the log lacks") from e
    if subject not in subjects(raw):
        raise InvalidData("log_damaged", f"the log's subject index files entry {index} under "
                          "a proposal or policy it is not about")
    return raw


def bundle_from_log(store: LogStore, *, proposal: bytes, policy: bytes,
                    decisions: Sequence[SignedDecision],
                    receipt: tuple[bytes, str] | None, size: int | None = None) -> bytes:
    """The bundle of one proposal, proven against the checkpoint of `size`: the first one
    stored at or after the size its record closed at (the one its group commit signed).
    Never the latest: a reviewer re-exporting a bundle would read the log's growth (and so
    others' activity) from it."""
    pinned = Proposal.from_bytes(proposal)
    note, entries, proofs = proposal_entries(store, pinned.hash, size,
                                           policy_hash=pinned.policy)
    return build_bundle(proposal=proposal, policy=policy, decisions=decisions, receipt=receipt,
                        checkpoint=note, entries=entries, proofs=proofs)
