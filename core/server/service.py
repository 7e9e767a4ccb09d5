"""What the queue server does, independent of HTTP: every check, write and view.

Decisions are judged by the one quorum function (core.policy.evaluate) over the decisions
already counted plus the new one. Refusals are logged as `decision.refused` before the
error goes back, so a refused self-approval leaves evidence in the Merkle log.

Blind review: `view()` gives a reviewer status "pending" and no decisions until they have
decided themselves or the outcome is final; nothing else reveals other verdicts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.errors import InvalidData, Refused
from core.formats import Proposal, Receipt, format_time, now_utc
from core.log.note import LogSigner
from core.policy import (
    APPROVED,
    INVALID,
    REJECTED,
    Policy,
    SignedDecision,
    evaluate,
    proposal_problem,
)
from core.server.auth import AuthService, Caller
from core.server.store import ServerStore
from core.signing import verify

RECEIPT_NAMESPACE = "foureyes-receipt-v1"
CLOCK_SKEW = timedelta(minutes=5)
FINAL = ("rejected", "expired", "executed")
ROLES = ("reviewer", "agent", "gate", "auditor")


@dataclass
class Limits:
    max_open_per_agent: int = 20
    max_per_minute_per_agent: int = 30


class QueueService(AuthService):
    def __init__(self, store: ServerStore, policy_bytes: bytes, signer: LogSigner,
                 limits: Limits | None = None, clock: Callable[[], datetime] = now_utc) -> None:
        self.store = store
        self.policy = Policy.from_bytes(policy_bytes)
        self.signer = signer
        self.limits = limits or Limits()
        self.clock = clock
        self._policies: dict[str, Policy] = {self.policy.hash: self.policy}
        self._check_log()
        with store.write() as c:
            c.execute("INSERT OR IGNORE INTO policies (hash, body) VALUES (?, ?)",
                      (self.policy.hash, self.policy.raw))
            if self._last_activated() != self.policy.hash:
                store.log_event(signer, "policy.activated", self.clock(),
                                policy=self.policy.hash)

    # ------------------------------------------------------------------ helpers

    def _check_log(self) -> None:
        """Refuse to serve on top of a damaged log: fail closed, say where."""
        from core.log.store import verify_store

        report = verify_store(self.store.db, [self.signer.verifier])
        if not report.ok:
            where = f" (first bad index {report.first_bad_index})" \
                if report.first_bad_index is not None else ""
            raise InvalidData("log_damaged", "the audit log does not verify" + where + ": "
                              + "; ".join(report.problems[:3]))

    def _last_activated(self) -> str | None:
        from core.formats import Event

        for index in range(self.store.log.size - 1, -1, -1):
            event = Event.from_bytes(self.store.log.entry(index))
            if event.type == "policy.activated":
                return event.get("policy")
        return None

    def policy_for(self, policy_hash: str) -> Policy:
        if policy_hash not in self._policies:
            row = self.store.conn.execute("SELECT body FROM policies WHERE hash=?",
                                          (policy_hash,)).fetchone()
            if row is None:
                raise Refused("policy_hash", "this server does not know that policy", 409)
            self._policies[policy_hash] = Policy.from_bytes(bytes(row[0]))
        return self._policies[policy_hash]

    def _row(self, proposal_hash: str) -> tuple:
        row = self.store.conn.execute(
            "SELECT body, status, receipt, receipt_sig FROM proposals WHERE hash=?",
            (proposal_hash,)).fetchone()
        if row is None:
            raise Refused("not_found", f"no proposal {proposal_hash}", 404)
        return row

    def counted(self, proposal_hash: str) -> list[SignedDecision]:
        rows = self.store.conn.execute(
            "SELECT body, signature FROM decisions WHERE proposal=? ORDER BY seq",
            (proposal_hash,)).fetchall()
        return [SignedDecision(bytes(b), s) for b, s in rows]

    # ------------------------------------------------------------------ proposals

    def submit_proposal(self, caller: Caller, body: bytes) -> dict[str, Any]:
        _role(caller, "agent", "gate")
        proposal = Proposal.from_bytes(body)
        if caller.role == "agent" and proposal.proposer != caller.identity:
            raise Refused("proposer", f"you are {caller.identity}, but the proposal names "
                          f"{proposal.proposer} as proposer", 403)
        if proposal.policy != self.policy.hash:
            raise Refused("policy_hash", "the proposal pins a policy that is not the active "
                          f"one ({self.policy.hash})", 409)
        code, message, _rule = proposal_problem(self.policy, proposal)
        if code:
            raise Refused(code, message, 422)
        now = self.clock()
        if proposal.created_at > now + CLOCK_SKEW:
            raise Refused("clock", "the proposal is created in the future; check your clock")
        if proposal.expires_at <= now:
            raise Refused("expired", "the proposal has already expired")
        with self.store.write() as c:
            if c.execute("SELECT 1 FROM proposals WHERE hash=?", (proposal.hash,)).fetchone():
                return {"hash": proposal.hash, "status": "pending", "already": True}
            open_count, = c.execute("SELECT COUNT(*) FROM proposals WHERE proposer=? AND "
                                    "status IN ('pending','approved')",
                                    (proposal.proposer,)).fetchone()
            recent, = c.execute("SELECT COUNT(*) FROM proposals WHERE proposer=? AND "
                                "received_at > ?", (proposal.proposer, time.time() - 60)
                                ).fetchone()
            if open_count >= self.limits.max_open_per_agent or \
                    recent >= self.limits.max_per_minute_per_agent:
                raise Refused("rate_limited", f"{proposal.proposer} has too many open or recent "
                              "proposals; reviewers must not be flooded", 429)
            c.execute("INSERT INTO proposals (hash, body, proposer, requester, created_at, "
                      "expires_at, received_at, status) VALUES (?,?,?,?,?,?,?, 'pending')",
                      (proposal.hash, proposal.raw, proposal.proposer, proposal.requester,
                       proposal.data["created_at"], proposal.data["expires_at"], time.time()))
            self.store.log_event(self.signer, "proposal.submitted", now, proposal=proposal.hash)
        return {"hash": proposal.hash, "status": "pending"}

    def sweep(self) -> int:
        """Mark and log expired proposals, once each. Nothing is ever auto-approved."""
        now = self.clock()
        rows = self.store.conn.execute(
            "SELECT hash FROM proposals WHERE status IN ('pending','approved') AND expires_at < ?",
            (format_time(now),)).fetchall()
        for (h,) in rows:
            with self.store.write() as c:
                changed = c.execute("UPDATE proposals SET status='expired' WHERE hash=? AND "
                                    "status IN ('pending','approved')", (h,)).rowcount
                if changed:
                    self.store.log_event(self.signer, "proposal.expired", now, proposal=h)
        return len(rows)

    def view(self, caller: Caller, proposal_hash: str) -> dict[str, Any]:
        _role(caller, "reviewer", "agent", "gate", "auditor")
        self.sweep()
        body, status, receipt, receipt_sig = self._row(proposal_hash)
        decisions = self.counted(proposal_hash)
        mine = None
        if caller.role == "reviewer":
            mine_row = self.store.conn.execute(
                "SELECT body, signature FROM decisions WHERE proposal=? AND reviewer=?",
                (proposal_hash, caller.identity)).fetchone()
            mine = {"decision": bytes(mine_row[0]).decode(), "signature": mine_row[1]} \
                if mine_row else None
            if mine is None and status not in FINAL:
                status, decisions = "pending", []  # blind review
        return {"hash": proposal_hash, "proposal": bytes(body).decode(), "status": status,
                "my_decision": mine,
                "decisions": [{"decision": d.document.decode(), "signature": d.signature}
                              for d in decisions],
                "receipt": {"receipt": bytes(receipt).decode(), "signature": receipt_sig}
                if receipt else None}

    def list(self, caller: Caller, limit: int = -1, offset: int = 0) -> list[dict[str, Any]]:
        """Views newest first; `limit` and `offset` page them (-1: no limit)."""
        _role(caller, "reviewer", "agent", "gate", "auditor")
        self.sweep()
        mine = caller.identity if caller.role == "agent" else None
        rows = self.store.conn.execute("SELECT hash FROM proposals WHERE ? IS NULL OR "
                                       "proposer=? ORDER BY received_at DESC, hash "
                                       "LIMIT ? OFFSET ?", (mine, mine, limit, offset)
                                       ).fetchall()
        return [self.view(caller, h) for (h,) in rows]

    # ------------------------------------------------------------------ decisions

    def submit_decision(self, caller: Caller, proposal_hash: str, document: bytes,
                        signature: str) -> dict[str, Any]:
        _role(caller, "reviewer")
        self.sweep()
        with self.store.write() as c:
            body, status, _r, _s = self._row(proposal_hash)
            proposal = Proposal.from_bytes(bytes(body))
            now = self.clock()
            existing = c.execute("SELECT hash FROM decisions WHERE proposal=? AND reviewer=? "
                                 "AND body=?", (proposal_hash, caller.identity, document)
                                 ).fetchone()
            if existing:
                return {"decision": existing[0], "already": True}
            problem = self._judge(caller, proposal, status, document, signature, now)
            if problem is not None:
                code, message = problem
                self.store.log_event(self.signer, "decision.refused", now,
                                     proposal=proposal_hash, reviewer=caller.identity,
                                     code=code)
            else:
                decisions = [*self.counted(proposal_hash), SignedDecision(document, signature)]
                outcome = evaluate(self.policy_for(proposal.policy), proposal, decisions, now)
                from core.formats import Decision

                decision = Decision.from_bytes(document)
                seq = len(decisions)
                c.execute("INSERT INTO decisions (hash, proposal, seq, reviewer, verdict, body, "
                          "signature) VALUES (?,?,?,?,?,?,?)",
                          (decision.hash, proposal_hash, seq, caller.identity, decision.verdict,
                           document, signature))
                new_status = {APPROVED: "approved", REJECTED: "rejected"}.get(outcome.status,
                                                                               "pending")
                c.execute("UPDATE proposals SET status=? WHERE hash=?", (new_status,
                                                                         proposal_hash))
                index = self.store.log_event(self.signer, "decision.recorded", now,
                                             proposal=proposal_hash, decision=decision.hash,
                                             reviewer=caller.identity)
                return {"decision": decision.hash, "log_index": index}
        raise Refused(code, message, 409 if code.startswith("duplicate") else 422)

    def _judge(self, caller: Caller, proposal: Proposal, status: str, document: bytes,
               signature: str, now: datetime) -> tuple[str, str] | None:
        """(code, message) when the new decision must be refused, else None."""
        if status in FINAL:
            return "expired" if status == "expired" else "closed", f"the proposal is {status}"
        policy = self.policy_for(proposal.policy)
        outcome = evaluate(policy, proposal,
                           [*self.counted(proposal.hash), SignedDecision(document, signature)],
                           now)
        if outcome.status == INVALID:
            return outcome.code, outcome.message
        check = outcome.checks[-1]
        if not check.counted:
            if check.code == "expired" or now > proposal.expires_at:
                return "expired", check.message
            return check.code, check.message
        if check.reviewer != caller.identity:
            return "reviewer_mismatch", (f"you are logged in as {caller.identity} but the "
                                         f"decision is signed by {check.reviewer}")
        if now > proposal.expires_at:
            return "expired", "the proposal expired; no decision is accepted after expires_at"
        if abs(check.decision.decided_at - now) > CLOCK_SKEW:
            return "clock", "decided_at is too far from the server's clock; check your clock"
        return None

    # ------------------------------------------------------------------ receipts

    def record_receipt(self, caller: Caller, proposal_hash: str, document: bytes,
                       signature: str) -> dict[str, Any]:
        _role(caller, "gate")
        receipt = Receipt.from_bytes(document)
        with self.store.write() as c:
            body, status, existing, _s = self._row(proposal_hash)
            if existing is not None:
                raise Refused("already_executed", "this proposal already has a receipt; a gate "
                              "executes an approved action once", 409)
            proposal = Proposal.from_bytes(bytes(body))
            policy = self.policy_for(proposal.policy)
            try:
                key = verify(signature, receipt.raw, RECEIPT_NAMESPACE)
            except InvalidData as e:
                raise Refused("signature", e.message) from e
            gate = policy.gate_by_key(key)
            if gate is None or gate.identity != receipt.gate or gate.identity != caller.identity:
                raise Refused("receipt", "the receipt is not signed by your gate key in the "
                              "policy", 403)
            for name, expected in (("proposal", proposal.hash), ("action", proposal.action_hash),
                                   ("job_id", proposal.job_id), ("policy", proposal.policy)):
                if receipt.data[name] != expected:
                    raise Refused("binding", f"receipt field {name!r} does not match")
            outcome = evaluate(policy, proposal, self.counted(proposal_hash), receipt.executed_at)
            counted = {ch.decision.hash for ch in outcome.counted if ch.verdict == "approve"}
            if outcome.status != APPROVED or not set(receipt.decisions) <= counted or \
                    len(receipt.decisions) < outcome.required:
                raise Refused("quorum", "the receipt does not rest on a counted quorum")
            if receipt.executed_at > proposal.expires_at:
                raise Refused("expired", "executed after the proposal expired")
            c.execute("UPDATE proposals SET status='executed', receipt=?, receipt_sig=? "
                      "WHERE hash=?", (receipt.raw, signature, proposal_hash))
            self.store.log_event(self.signer, "receipt.recorded", self.clock(),
                                 proposal=proposal_hash, receipt=receipt.hash)
        return {"receipt": receipt.hash}

    def bundle(self, caller: Caller, proposal_hash: str) -> bytes:
        from core.bundle.build import bundle_from_log

        _role(caller, "reviewer", "agent", "gate", "auditor")
        self.sweep()
        body, status, receipt, receipt_sig = self._row(proposal_hash)
        if status not in FINAL:
            raise Refused("not_final", "a bundle can be exported once the proposal is "
                          "executed, rejected or expired", 409)
        proposal = Proposal.from_bytes(bytes(body))
        with self.store.lock:
            return bundle_from_log(
                self.store.log, proposal=proposal.raw,
                policy=self.policy_for(proposal.policy).raw,
                decisions=self.counted(proposal_hash),
                receipt=(bytes(receipt), receipt_sig) if receipt else None)


def _role(caller: Caller, *allowed: str) -> None:
    if caller.role not in allowed:
        raise Refused("forbidden", f"a {caller.role} may not do this", 403)
