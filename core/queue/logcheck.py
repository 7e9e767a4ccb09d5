"""Before executing, the gate checks that the queue's own audit log agrees with it.

A queue operator with write access to the store can delete a counted reject row and force a
status to approved, without any key. The signatures the gate checks would still be valid
(an approve-only subset), so the signatures alone cannot catch it; the log can. The gate
asks for the log's entries about the proposal with inclusion proofs to a checkpoint signed
by a log key of the pinned policy, and refuses unless (SPEC §8's rules):
  (1) the checkpoint verifies with a log key the policy lists,
  (2) every entry is proven in it,
  (3) the recorded decisions are exactly the decisions the gate is about to count
      (a recorded reject that the queue left out, or a decision the log never recorded,
      is a mismatch),
  (4) no receipt is recorded yet (the proposal has not run already).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from core.errors import InvalidData
from core.formats import Event, sha256_ref
from core.log.merkle import leaf_hash, verify_inclusion
from core.log.note import LogVerifier, verify_checkpoint
from core.policy import Policy, SignedDecision


@dataclass(frozen=True)
class ProposalLog:
    """The log's entries about one proposal, and their proofs to one checkpoint."""

    checkpoint: str
    entries: Mapping[int, bytes]
    proofs: Mapping[int, Sequence[bytes]]

    @classmethod
    def from_json(cls, obj: dict) -> ProposalLog:
        try:
            return cls(obj["checkpoint"],
                       {int(e["index"]): e["entry"].encode() for e in obj["entries"]},
                       {int(k): [base64.b64decode(h, validate=True) for h in v]
                        for k, v in obj["proofs"].items()})
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise InvalidData("log_mismatch", f"the queue sent a malformed log answer: {e}"
                              ) from e


def check_log_agrees(policy: Policy, proposal_hash: str, log: ProposalLog,
                     decisions: Sequence[SignedDecision]) -> None:
    """Raise InvalidData `log_mismatch` unless the log proves what the gate is shown."""
    def fail(why: str) -> InvalidData:
        return InvalidData("log_mismatch", f"the queue's audit log disagrees with what it "
                           f"reports: {why}; refusing to execute")

    try:  # (1)
        checkpoint = verify_checkpoint(log.checkpoint,
                                       [LogVerifier.from_text(k) for k in policy.logs])
    except InvalidData as e:
        raise fail(f"its checkpoint does not verify ({e.message})") from e
    recorded: set[str] = set()
    receipts = 0
    for index, raw in log.entries.items():
        proof = log.proofs.get(index)
        if proof is None or index >= checkpoint.size or not verify_inclusion(  # (2)
                leaf_hash(raw), index, checkpoint.size, proof, checkpoint.root):
            raise fail(f"entry {index} is not proven in the checkpoint")
        event = Event.from_bytes(raw)
        if event.get("proposal") != proposal_hash:
            continue
        if event.type == "decision.recorded":
            recorded.add(event.get("decision") or "")
        elif event.type == "receipt.recorded":
            receipts += 1
    shown = {sha256_ref(d.document) for d in decisions}
    if recorded - shown:  # (3)
        raise fail("the log records a decision the queue left out")
    if shown - recorded:
        raise fail("the queue shows a decision its log never recorded")
    if receipts:  # (4)
        raise InvalidData("already_executed", "the queue's log already records an execution "
                          "of this proposal; it runs once")
