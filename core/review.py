"""Reviewer-side helpers shared by the CLI and the desktop app.

`precheck` refuses, before anything is signed, what the queue would refuse anyway: a
reviewer who is the proposer or requester, who is not in the roster (or not valid now), or
a proposal that has expired. Failing here is failing closed, and it keeps the reviewer's
key from signing something that can only be evidence of a mistake.
"""

from __future__ import annotations

from datetime import datetime

from core.errors import InvalidData
from core.formats import Decision, Proposal
from core.policy import Policy, SignedDecision
from core.signing import Signer

DECISION_NAMESPACE = "foureyes-decision-v1"


def precheck(policy: Policy, proposal: Proposal, identity: str, now: datetime,
             signer: Signer | None = None) -> None:
    if identity in (proposal.proposer, proposal.requester):
        raise InvalidData("self_approval", f"you ({identity}) requested this action; someone "
                          "else must review it")
    approver = policy.approver(identity)
    if approver is None:
        raise InvalidData("not_in_roster", f"{identity} is not an approver in policy "
                          f"{policy.name!r}")
    if signer is not None and signer.public_key != approver.key:
        raise InvalidData("not_in_roster", f"your key {signer.public_key.fingerprint} is not "
                          f"the one the policy lists for {identity}")
    if not approver.valid_at(now):
        raise InvalidData("key_not_valid", f"{identity} is not a valid approver right now")
    if now > proposal.expires_at:
        raise InvalidData("expired", "this proposal has expired and can no longer be decided")
    if proposal.policy != policy.hash:
        raise InvalidData("policy_hash", "this proposal pins another policy than the queue's")


def make_decision(proposal: Proposal, *, verdict: str, reason: str, identity: str,
                  signer: Signer, now: datetime) -> SignedDecision:
    """Build the decision from the proposal's own bytes and sign it."""
    decision = Decision.for_proposal(proposal, verdict=verdict, reason=reason, reviewer=identity,
                                     decided_at=now)
    return SignedDecision(decision.raw, signer.sign(decision.raw, DECISION_NAMESPACE))
