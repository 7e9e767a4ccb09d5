"""The agent SDK: the only path from an agent to a dangerous tool.

    gate = Gate(queue, policy_bytes, identity="gate:prod", signer=..., agent="agent:bot",
                state_dir=Path("~/.local/state/foureyes-gate"))
    result = gate.run("payments.transfer", {"amount_minor": 120000, ...},
                      summary={...}, requester="alice@example.com", execute=pay)

`run` evaluates the pinned policy, proposes, waits with a deadline, and then verifies the
quorum itself from the signed decisions with the one quorum function: it trusts no queue's
word. It executes at most once, hands `execute` a fresh copy of exactly the approved
parameters (parsed from the signed proposal bytes), signs the SPEC §6 receipt and records it.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from core.errors import InvalidData, TransportError
from core.formats import Proposal, Receipt, format_time, now_utc
from core.formats.documents import RECEIPT_NAMESPACE
from core.gate.errors import (
    AlreadyExecuted,
    DeniedByPolicy,
    Expired,
    NoQuorum,
    QueueUnreachable,
    Rejected,
    StillPending,
)
from core.gate.ledger import Ledger
from core.policy import (
    APPROVED,
    DENIED,
    EXPIRED,
    INVALID,
    REJECTED,
    Outcome,
    Policy,
    evaluate,
    match_rule,
)
from core.queue.base import ProposalView, Queue
from core.queue.logcheck import check_log_agrees
from core.signing import Signer

DEFAULT_WAIT = 3600.0
POLL_SLICE = 30.0  # one long-poll request waits at most this long


@dataclass(frozen=True)
class Executed:
    """What an ``execute`` callable may return to shape its receipt (SPEC §6).

    ``value`` goes back to the caller; ``succeeded`` False records outcome "failed" (a tool
    that answered with an error, a command that exited non-zero); ``result`` is a small JSON
    value for the receipt's `result` field, such as ``{"sha256": "<hex>", "exit_status": 0}``.
    Any other return value is recorded as outcome "succeeded" with result null, as before.
    """

    value: Any
    succeeded: bool = True
    result: Any = None


@dataclass(frozen=True)
class RunResult:
    proposal: Proposal
    value: Any
    receipt: Receipt | None  # None when the policy let the action run without approval
    outcome: Outcome | None


def build_proposal(policy: Policy, route: str, params: dict[str, Any], summary: dict[str, Any],
                   *, requester: str, agent: str, job_id: str | None, now: datetime) -> Proposal:
    """A proposal pinned to ``policy`` with the lifetime its rule allows.

    Raises DeniedByPolicy when no rule matches and the default is deny: such an action
    could never run, so no reviewer should be bothered with it.
    """
    rule = match_rule(policy, route, params)
    if rule is None and policy.default == "deny":
        raise DeniedByPolicy(f"no rule of policy {policy.name!r} matches {route}, "
                             "and the default is deny")
    ttl: timedelta = policy.rule_ttl(rule)
    return Proposal.from_obj({
        "schema": "foureyes.proposal/v1", "id": str(uuid.uuid4()),
        "job_id": job_id or f"job-{uuid.uuid4().hex[:12]}",
        "proposer": agent, "requester": requester,
        "action": {"route": route, "params": params}, "summary": summary,
        "policy": policy.hash, "created_at": format_time(now),
        "expires_at": format_time(now + ttl),
    })


class Gate:
    def __init__(self, queue: Queue, policy_bytes: bytes, *, identity: str, signer: Signer,
                 agent: str, state_dir: Path, receipts: Queue | None = None,
                 clock: Callable[[], datetime] = now_utc) -> None:
        self.queue = queue
        self.receipts = receipts or queue
        self.policy = Policy.from_bytes(policy_bytes)
        gate = self.policy.gate(identity)
        if gate is None or gate.key != signer.public_key:
            raise InvalidData("not_a_gate", f"{identity} with key {signer.public_key.fingerprint}"
                              " is not a gate of the pinned policy")
        self.identity = identity
        self.signer = signer
        self.agent = agent
        self.clock = clock
        self.ledger = Ledger(Path(state_dir) / "gate-ledger.sqlite")

    # ------------------------------------------------------------------ propose / wait

    def propose(self, route: str, params: dict[str, Any], summary: dict[str, Any], *,
                requester: str, job_id: str | None = None) -> Proposal:
        """Build and queue a proposal; raise DeniedByPolicy if no rule would ever allow it."""
        proposal = build_proposal(self.policy, route, params, summary, requester=requester,
                                  agent=self.agent, job_id=job_id, now=self.clock())
        self._call(self.queue.submit_proposal, proposal)
        return proposal

    def wait(self, proposal: Proposal, timeout: float = DEFAULT_WAIT) -> ProposalView:
        """Wait until the proposal leaves pending, its expiry, or `timeout`, whichever first."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            to_expiry = (proposal.expires_at - self.clock()).total_seconds()
            view = self._call(self.queue.wait, proposal.hash,
                              max(0.0, min(POLL_SLICE, left, to_expiry + 1)))
            if view.status != "pending":
                return view
            if to_expiry < 0:
                return view
            if left <= 0:
                raise StillPending(f"no decision on {proposal.hash} within {timeout:.0f} s; "
                                   "it is still pending and may be decided later")

    # ------------------------------------------------------------------ verify / execute

    def check(self, proposal: Proposal) -> Outcome:
        """Our own verdict from the signed decisions; the queue's status is only a hint."""
        return self._check(proposal)[0]

    def _check(self, proposal: Proposal) -> tuple[Outcome, ProposalView]:
        view = self._call(self.receipts.get_proposal, proposal.hash)
        return evaluate(self.policy, proposal, list(view.decisions), self.clock()), view

    def execute(self, proposal: Proposal, execute: Callable[[dict[str, Any]], Any]) -> RunResult:
        """Run ``execute`` once if, and only if, our own quorum check approves right now.

        Before anything runs: (1) the signed decisions make a quorum under the pinned policy,
        (2) the queue's audit log agrees with those decisions (core.queue.logcheck), (3) the
        queue itself grants the one claim on the proposal (a second gate, or this gate on a
        copied or deleted state directory, is refused there), (4) the local ledger agrees.
        """
        outcome, view = self._check(proposal)  # (1)
        kept = self.ledger.receipt(proposal.hash)
        if kept is not None and view.receipt is None:
            # It ran, but the queue never recorded the receipt (a refusal or an outage after
            # the run): send the signed receipt again, never run again.
            self._call(self.receipts.record_receipt, proposal.hash, *kept)
            raise AlreadyExecuted(f"{proposal.hash} was executed earlier; its receipt, which "
                                  "the queue had not recorded, was sent again")
        if outcome.status == REJECTED:
            raise Rejected(f"{proposal.route} was rejected: {outcome.message}")
        if outcome.status == EXPIRED or self.clock() > proposal.expires_at:
            raise Expired(f"{proposal.route} expired at {proposal.data['expires_at']} "
                          f"({outcome.message}); it will not run")
        if outcome.status == DENIED:
            raise DeniedByPolicy(outcome.message)
        if outcome.status == INVALID:
            raise NoQuorum(f"the proposal does not stand under the pinned policy: "
                           f"{outcome.message}")
        if outcome.status != APPROVED:
            raise NoQuorum(f"the signed decisions do not make a quorum: {outcome.message}")
        log = self._call(self.receipts.proposal_log, proposal.hash)  # (2)
        try:
            check_log_agrees(self.policy, proposal.hash, log, view.decisions)
        except InvalidData as e:
            if e.code == "already_executed":
                raise AlreadyExecuted(e.message) from e
            raise NoQuorum(e.message) from e
        try:  # (3)
            self._call(self.receipts.claim, proposal.hash)
        except InvalidData as e:
            if e.code == "already_executed":
                raise AlreadyExecuted(e.message) from e
            if e.code == "expired":
                raise Expired(e.message) from e
            raise NoQuorum(f"the queue refused the claim: {e.message}") from e
        self.ledger.claim(proposal.hash)  # (4)
        params = json.loads(proposal.action_bytes)["params"]  # fresh copy of the signed bytes
        try:
            value = execute(params)
        except Exception:
            self._receipt(proposal, outcome, "failed")
            raise
        result_outcome, result = "succeeded", None
        if isinstance(value, Executed):
            result_outcome = "succeeded" if value.succeeded else "failed"
            value, result = value.value, value.result
        receipt = self._receipt(proposal, outcome, result_outcome, result)
        return RunResult(proposal, value, receipt, outcome)

    def _receipt(self, proposal: Proposal, outcome: Outcome, result: str,
                 summary: Any = None) -> Receipt:
        approvals = [c.decision.hash for c in outcome.counted if c.verdict == "approve"]
        executed = max([self.clock()] + [c.decision.decided_at for c in outcome.counted])
        receipt = Receipt.from_obj({
            "schema": "foureyes.receipt/v1", "proposal": proposal.hash,
            "action": proposal.action_hash, "job_id": proposal.job_id,
            "policy": proposal.policy, "decisions": approvals, "gate": self.identity,
            "executed_at": format_time(executed), "outcome": result, "result": summary,
        })
        signature = self.signer.sign(receipt.raw, RECEIPT_NAMESPACE)
        self.ledger.finish(proposal.hash, receipt.raw, signature)
        self._call(self.receipts.record_receipt, proposal.hash, receipt.raw, signature)
        return receipt

    # ------------------------------------------------------------------ the one call

    def run(self, route: str, params: dict[str, Any], summary: dict[str, Any], *,
            requester: str, execute: Callable[[dict[str, Any]], Any],
            job_id: str | None = None, timeout: float = DEFAULT_WAIT) -> RunResult:
        """Propose, wait, verify, execute once. Raises a GateRefused subclass otherwise."""
        rule = match_rule(self.policy, route, params)
        if rule is not None and rule.approvals == 0:
            # Runs without approval, but still through the queue so it is logged.
            proposal = self.propose(route, params, summary, requester=requester, job_id=job_id)
            return self.execute(proposal, execute)
        proposal = self.propose(route, params, summary, requester=requester, job_id=job_id)
        view = self.wait(proposal, timeout)
        if view.status == "rejected":
            raise Rejected(f"{route} was rejected by a reviewer")
        if view.status == "expired":
            raise Expired(f"{route} expired before it was approved; it will not run")
        return self.execute(proposal, execute)

    async def arun(self, route: str, params: dict[str, Any], summary: dict[str, Any], *,
                   requester: str, execute: Callable[[dict[str, Any]], Any],
                   job_id: str | None = None, timeout: float = DEFAULT_WAIT) -> RunResult:
        """`run` for asyncio agents: the blocking wait runs in a worker thread."""
        return await asyncio.to_thread(self.run, route, params, summary, requester=requester,
                                       execute=execute, job_id=job_id, timeout=timeout)

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except TransportError as e:
            raise QueueUnreachable(f"the queue cannot be reached: {e.message}") from e

    def close(self) -> None:
        self.ledger.close()
