"""Builds proof bundles from a SampleWorld, with any decisions and receipt a test wants.

Each bundle has a real Merkle log with a signed checkpoint, so a test can break exactly one
thing and see exactly one check fail.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlite_utils

from core.bundle.build import bundle_from_log
from core.formats import Event, Proposal, Receipt, format_time
from core.log.note import LogSigner
from core.log.store import LogStore
from core.policy import Policy, SignedDecision
from core.sample import GATE, SampleWorld


def log_signer(world: SampleWorld) -> LogSigner:
    return world.log_signer


def trust_toml(world: SampleWorld, policy: Policy) -> bytes:
    return (f'policies = ["{policy.hash}"]\nlogs = ["{world.log_verifier}"]\n').encode()


def make_receipt(world: SampleWorld, proposal: Proposal, approvals: list[str],
                 executed_at: datetime, *, gate: str = GATE, signer: str = GATE,
                 **overrides) -> tuple[bytes, str]:
    obj = {"schema": "foureyes.receipt/v1", "proposal": proposal.hash,
           "action": proposal.action_hash, "job_id": proposal.job_id,
           "policy": proposal.policy, "decisions": approvals, "gate": gate,
           "executed_at": format_time(executed_at), "outcome": "succeeded", "result": None}
    obj.update(overrides)
    receipt = Receipt.from_obj(obj)
    return receipt.raw, world.signer(signer).sign(receipt.raw, "foureyes-receipt-v1")


def build(world: SampleWorld, *, reviewers=("bob@example.com", "carol@example.com"),
          decisions=None, receipt=True, log_decisions: bool = True, log_receipt: bool = True,
          refused: tuple = (), expired: bool = False,
          proposal_kw: dict | None = None) -> tuple[bytes, Policy]:
    """A bundle: by default approved by two reviewers and executed.

    `decisions(proposal)` returns the signed decisions to include; `receipt` is True (a
    proper receipt), False (none) or `receipt(proposal, decisions)` returning one.
    """
    policy = Policy.from_bytes(world.policy_bytes())
    proposal = world.proposal(policy_hash=policy.hash, **(proposal_kw or {}))
    decisions = decisions(proposal) if decisions is not None else [
        world.decide(proposal, r) for r in reviewers]
    signed = [SignedDecision(d.raw, s) for d, s in decisions]
    db = sqlite_utils.Database(memory=True)
    store = LogStore(db)
    signer = log_signer(world)
    t = proposal.created_at
    with db.conn:
        store.append(Event.make("policy.activated", t, policy=policy.hash).raw)
        store.append(Event.make("proposal.submitted", t, proposal=proposal.hash).raw)
        for who, code in refused:
            store.append(Event.make("decision.refused", t, proposal=proposal.hash,
                                    reviewer=who, code=code).raw)
        if log_decisions:
            for d, _ in decisions:
                store.append(Event.make("decision.recorded", d.decided_at,
                                        proposal=proposal.hash, decision=d.hash,
                                        reviewer=d.reviewer).raw)
        rec = None
        if receipt is True:
            rec = make_receipt(world, proposal, [d.hash for d, _ in decisions
                                                 if d.verdict == "approve"],
                               max([d.decided_at for d, _ in decisions] + [t]))
        elif callable(receipt):
            rec = receipt(proposal, decisions)
        if rec is not None and log_receipt:
            store.append(Event.make("receipt.recorded", t + timedelta(minutes=5),
                                    proposal=proposal.hash,
                                    receipt=Receipt.from_bytes(rec[0]).hash).raw)
        if expired:
            store.append(Event.make("proposal.expired", proposal.expires_at,
                                    proposal=proposal.hash).raw)
        store.sign_checkpoint(signer)
    return bundle_from_log(store, proposal=proposal.raw, policy=policy.raw, decisions=signed,
                           receipt=rec), policy
