"""The one judge of what enters a queue: proposals, decisions, receipts, expiry.

The server and the shared-folder gate used to carry their own copies of these rules, and the
copies drifted (the folder checked almost nothing on receipts). Both now call this module and
differ only in what they store and how they talk. Like the quorum function it builds on, the
judge is pure: it is handed the pinned and active policies, the stored status and counted
decisions, the new item and an explicit `now`, and returns a ruling; the transport writes the
ruling and its log event in one transaction.

Statuses a queue stores: pending → approved → claimed → executed, or rejected, or expired.
From approved on, the outcome is final (SPEC §5): a later decision is refused `closed`, and a
receipt of an approved proposal is always recorded, whatever arrives after it.

Refusals never depend on another reviewer's verdict in a way the refused reviewer could read
before deciding: the only order-dependent refusal, `closed`, is given to someone who has just
decided. Messages never mention a position or a count.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.errors import InvalidData, Refused
from core.formats import Decision, Proposal, Receipt
from core.formats.documents import RECEIPT_NAMESPACE
from core.policy import APPROVED, INVALID, REJECTED, Policy, SignedDecision, evaluate
from core.policy.model import Rule
from core.policy.quorum import helping_approvals, proposal_problem
from core.signing import verify

CLOCK_SKEW = timedelta(minutes=5)

PENDING, APPROVED_S, CLAIMED, EXECUTED, REJECTED_S, EXPIRED_S = (
    "pending", "approved", "claimed", "executed", "rejected", "expired")
STATUSES = (PENDING, APPROVED_S, CLAIMED, EXECUTED, REJECTED_S, EXPIRED_S)
OPEN = (PENDING,)  # the only status in which a decision can still count
EXPIRABLE = (PENDING, APPROVED_S)  # a claimed proposal is being executed: never expired
FINAL = (EXECUTED, REJECTED_S, EXPIRED_S)


@dataclass(frozen=True)
class Ruling:
    """The judge's word on one decision."""

    code: str  # "counted", or the refusal code
    message: str
    status: str  # the proposal's status after this decision (unchanged on refusal)
    decision: Decision | None = None
    # The roster identity whose key verified the signature, or None: a refusal names a
    # person only when their own key (or, on the server, their login) proves it was them.
    reviewer: str | None = None

    @property
    def counted(self) -> bool:
        return self.code == "counted"


class Judge:
    """One set of rules; `clock` says how decided_at may differ from the judge's clock.

    "server": within CLOCK_SKEW either way (decisions arrive live).
    "folder": at most CLOCK_SKEW in the future (decisions on a share or a USB stick arrive
    late, never early).
    """

    def __init__(self, active: Policy, policy_for: Callable[[str], Policy], *,
                 clock: str) -> None:
        if clock not in ("server", "folder"):
            raise ValueError(clock)
        self.active = active
        self.policy_for = policy_for
        self.clock = clock

    # ------------------------------------------------------------------ proposals

    def admit_proposal(self, proposal: Proposal, now: datetime, *,
                       proposer: str | None = None) -> Rule | None:
        """The rule that applies, or Refused. `proposer`: who the caller proved to be."""
        if proposer is not None and proposal.proposer != proposer:
            raise Refused("proposer", f"you are {proposer}, but the proposal names "
                          f"{proposal.proposer} as proposer")
        if proposal.policy != self.active.hash:
            raise Refused("policy_hash", "the proposal pins a policy that is not the active "
                          f"one ({self.active.hash})")
        code, message, rule = proposal_problem(self.active, proposal)
        if code:
            raise Refused(code, message)
        if proposal.created_at > now + CLOCK_SKEW:
            raise Refused("clock", "the proposal is created in the future; check your clock")
        if proposal.expires_at <= now:
            raise Refused("expired", "the proposal has already expired")
        return rule

    def expires(self, proposal: Proposal, status: str, now: datetime) -> bool:
        """Whether a sweep at `now` must mark the proposal expired (and log it, once)."""
        return status in EXPIRABLE and now > proposal.expires_at

    # ------------------------------------------------------------------ decisions

    def decision(self, proposal: Proposal, status: str, counted: Sequence[SignedDecision],
                 new: SignedDecision, now: datetime, *, caller: str | None = None) -> Ruling:
        """Count `new` or refuse it. `caller`: the logged-in reviewer (server), else None."""
        pinned = self.policy_for(proposal.policy)
        who = caller or _attribute(pinned, new)

        def refuse(code: str, message: str, decision: Decision | None = None) -> Ruling:
            return Ruling(code, message, status, decision, who)

        if status == EXPIRED_S or now > proposal.expires_at:  # time is public knowledge
            return refuse("expired", "the proposal expired; no decision is accepted after "
                          "expires_at")
        # Judge the decision on its own first: every refusal a reviewer can provoke must be
        # the same whether or not anyone else has decided (blind review). Only a decision
        # that would count alone learns that the proposal is already closed.
        alone = evaluate(pinned, proposal, [new], now)
        if alone.status == INVALID:
            return refuse(alone.code, alone.message)
        check = alone.checks[0]
        if not check.counted:
            return refuse(check.code, check.message, check.decision)
        decision = check.decision
        if caller is not None and check.reviewer != caller:
            return refuse("reviewer_mismatch", f"you are logged in as {caller} but the "
                          f"decision is signed with the key of {check.reviewer}", decision)
        # Revocation is immediate: the reviewer must still be in the active policy, with the
        # same key, and valid now (arrival), not only at the decided_at they wrote.
        current = self.active.approver(check.reviewer or "")
        signer = pinned.approver(check.reviewer or "")
        if current is None or signer is None or current.key != signer.key \
                or not current.valid_at(now):
            return refuse("key_not_valid", f"{check.reviewer} is not a valid approver in the "
                          "active policy now", decision)
        skew = decision.decided_at - now
        if skew > CLOCK_SKEW or (self.clock == "server" and -skew > CLOCK_SKEW):
            return refuse("clock", "decided_at is too far from this queue's clock; check "
                          "your clock", decision)
        outcome = evaluate(pinned, proposal, [*counted, new], now)
        last = outcome.checks[-1]
        if last.code in ("duplicate_reviewer", "duplicate_key"):  # the reviewer's own
            return refuse(last.code, last.message, decision)
        if status not in OPEN or not last.counted:
            return refuse("closed", "the proposal is closed: its outcome is final", decision)
        new_status = {APPROVED: APPROVED_S, REJECTED: REJECTED_S}.get(outcome.status, PENDING)
        return Ruling("counted", last.message, new_status, decision, last.reviewer)

    # ------------------------------------------------------------------ receipts

    def receipt(self, proposal: Proposal, status: str, counted: Sequence[SignedDecision],
                document: bytes, signature: str, now: datetime, *,
                caller: str | None = None) -> Receipt:
        """The receipt to record, or Refused. `caller`: the gate that sent it (server)."""
        receipt = Receipt.from_bytes(document)
        if status == EXECUTED:
            raise Refused("already_executed", "this proposal already has a receipt; a gate "
                          "executes an approved action once")
        if status in (PENDING, REJECTED_S):
            raise Refused("quorum", "the proposal is not approved, so nothing may have run")
        pinned = self.policy_for(proposal.policy)
        try:
            key = verify(signature, receipt.raw, RECEIPT_NAMESPACE)
        except InvalidData as e:
            raise Refused("signature", f"the receipt's signature is bad: {e.message}") from e
        gate = pinned.gate_by_key(key)
        if gate is None or gate.identity != receipt.gate or \
                (caller is not None and gate.identity != caller):
            raise Refused("receipt", "the receipt is not signed by the key of the gate it "
                          "names in the policy" + (", or that gate is not you" if caller else ""))
        for name, expected in (("proposal", proposal.hash), ("action", proposal.action_hash),
                               ("job_id", proposal.job_id), ("policy", proposal.policy)):
            if receipt.data[name] != expected:
                raise Refused("binding", f"receipt field {name!r} does not match the proposal")
        outcome = evaluate(pinned, proposal, counted)
        if outcome.status != APPROVED:
            raise Refused("quorum", "the counted decisions do not approve this proposal")
        approvals = {c.decision.hash: c for c in outcome.counted if c.verdict == "approve"}
        listed = [approvals[h] for h in receipt.decisions if h in approvals]
        if len(listed) != len(receipt.decisions) or \
                helping_approvals(pinned, outcome.rule, listed) < outcome.required:
            raise Refused("receipt", "the receipt must list counted approvals that make the "
                          "quorum, and nothing else")
        latest = max((c.decision.decided_at for c in outcome.counted), default=None)
        if latest is not None and receipt.executed_at < latest:
            raise Refused("receipt_time", "the receipt says the action ran before a decision "
                          "it rests on was made; send a receipt with the real execution time")
        if receipt.executed_at > proposal.expires_at:
            raise Refused("receipt_time", "the receipt says the action ran after the proposal "
                          "expired")
        if receipt.executed_at > now + CLOCK_SKEW:
            raise Refused("receipt_time", "the receipt is dated in the future; check the "
                          "gate's clock")
        return receipt


def _attribute(policy: Policy, sd: SignedDecision) -> str | None:
    """The roster identity whose key made this signature, if any (for naming refusals)."""
    try:
        key = verify(sd.signature, sd.document, "foureyes-decision-v1")
    except InvalidData:
        return None
    approver = policy.approver_by_key(key)
    return approver.identity if approver is not None else None
