"""One client interface over both transports (HTTP server, shared folder).

The CLI, the gate and the desktop app talk only to `Queue`; `HttpQueue` and `FolderQueue`
implement it, and one shared conformance suite runs against both. What a caller may see
depends on who it is: a reviewer sees no other verdict, not even that one exists, until
they have decided themselves or the outcome is final (blind review).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from core.formats import Proposal
from core.policy import SignedDecision
from core.queue.logcheck import ProposalLog

# Status of a proposal as a queue reports it. "executed" means a receipt was recorded.
STATUSES = ("pending", "approved", "rejected", "expired", "executed")
FINAL_STATUSES = ("rejected", "expired", "executed")


@dataclass(frozen=True)
class ProposalView:
    """What one caller may know about a proposal right now.

    `status` is "pending" for a reviewer who has not decided yet even when the quorum is
    already met, because telling them "approved" would reveal the others' verdicts.
    `decisions` is empty until the caller may see them.
    """

    proposal: Proposal
    status: str
    my_decision: SignedDecision | None = None
    decisions: tuple[SignedDecision, ...] = field(default_factory=tuple)
    receipt: tuple[bytes, str] | None = None  # receipt bytes and armored signature

    @property
    def hash(self) -> str:
        return self.proposal.hash


@dataclass(frozen=True)
class DecisionAck:
    """The queue's answer to a decision it accepted (refusals raise InvalidData)."""

    decision_hash: str
    log_index: int | None = None


class Queue(ABC):
    """The operations every transport offers. Errors: InvalidData (refused) or TransportError."""

    @abstractmethod
    def policy_bytes(self) -> bytes:
        """The active policy file, exact bytes (its hash is what proposals pin)."""

    @abstractmethod
    def submit_proposal(self, proposal: Proposal) -> None:
        """Queue a proposal for review (agents and gates only)."""

    @abstractmethod
    def list_proposals(self) -> list[ProposalView]:
        """Every proposal this caller may see, newest first."""

    @abstractmethod
    def get_proposal(self, proposal_hash: str) -> ProposalView:
        """One proposal by its `sha256:` hash; InvalidData code "not_found" if unknown."""

    @abstractmethod
    def submit_decision(self, proposal_hash: str, decision: SignedDecision) -> DecisionAck:
        """Hand in one signed decision. No bulk form exists, by design."""

    @abstractmethod
    def wait(self, proposal_hash: str, timeout: float) -> ProposalView:
        """Block up to `timeout` seconds for the proposal to leave "pending"."""

    @abstractmethod
    def claim(self, proposal_hash: str) -> None:
        """Claim an approved proposal for execution, atomically, in the queue itself (gates).

        Raises InvalidData `already_executed` when the queue already holds a claim or a
        receipt for it, so a second gate (or a gate on cloned state) stops before anything
        runs. The gate's private ledger alone cannot do this: it can be copied or deleted.
        """

    @abstractmethod
    def proposal_log(self, proposal_hash: str) -> ProposalLog:
        """The queue's log entries about one proposal, proven to a signed checkpoint (gates):
        the gate compares them with the decisions it is shown before executing."""

    @abstractmethod
    def record_receipt(self, proposal_hash: str, receipt: bytes, signature: str) -> None:
        """Record the gate's signed execution receipt (gates only; once per proposal)."""

    @abstractmethod
    def export_bundle(self, proposal_hash: str) -> bytes:
        """The SPEC §8 proof bundle (zip bytes) of a finished proposal."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default has nothing to release."""
