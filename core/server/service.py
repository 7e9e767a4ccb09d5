"""What the queue server does, independent of HTTP: every write, view and log event.

Every rule about what may enter the queue lives in core.judge, shared with the folder gate;
this module stores the judge's rulings and logs them in the same transaction. Refusals are
logged as `decision.refused` before the error goes back, so a refused self-approval leaves
evidence in the Merkle log.

Blind review: `view()` gives a reviewer status "pending" and no decisions until they have
decided themselves or the outcome is final; nothing else reveals other verdicts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from core.errors import Refused
from core.formats import Proposal, format_time, now_utc
from core.judge import EXPIRABLE, FINAL, Judge
from core.log.note import LogSigner
from core.policy import (
    Policy,
    SignedDecision,
)
from core.policy.quorum import warm
from core.server.auth import AuthService, Caller
from core.server.store import ServerStore

MAX_CACHED_PROPOSALS = 1024  # parsed proposals kept by their exact bytes (immutable)
MAX_CACHED_PROPOSAL_BYTES = 64 * 1024

# The hot queries, each an indexed search that touches a bounded number of rows however
# long the history (tests/test_perf_server.py checks their plans and the rows they touch).
# The rate-limit counts stop at the limit: counting further cannot change the answer.
Q_OPEN = ("SELECT COUNT(*) FROM (SELECT 1 FROM proposals WHERE proposer=? AND "
          "status IN ('pending','approved') LIMIT ?)")
Q_RECENT = ("SELECT COUNT(*) FROM (SELECT 1 FROM proposals WHERE proposer=? AND "
            "received_at > ? LIMIT ?)")
Q_EXPIRED = ("SELECT hash FROM proposals WHERE status IN ('pending','approved') AND "
             "expires_at < ?")
Q_NEXT_EXPIRY = "SELECT MIN(expires_at) FROM proposals WHERE status=?"
Q_LIST_ALL = "SELECT hash FROM proposals ORDER BY received_at DESC, hash LIMIT ? OFFSET ?"
Q_LAST_ACTIVATED = ("SELECT entry FROM log_entries WHERE instr(entry, ?) > 0 ORDER BY idx DESC "
                    "LIMIT 1")
Q_LIST_MINE = ("SELECT hash FROM proposals WHERE proposer=? ORDER BY received_at DESC, hash "
               "LIMIT ? OFFSET ?")


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
        # The earliest expires_at of any open proposal ("" when none; None: not known yet),
        # so that sweep() costs no query until something can have expired. Only
        # submit_proposal makes a proposal open; it lowers this inside its transaction.
        self._next_expiry: str | None = None
        self.judge = Judge(self.policy, self.policy_for, clock="server")
        self._check_log()
        with store.write() as c:
            c.execute("INSERT OR IGNORE INTO policies (hash, body) VALUES (?, ?)",
                      (self.policy.hash, self.policy.raw))
            if self._last_activated() != self.policy.hash:
                store.log_event(signer, "policy.activated", self.clock(),
                                policy=self.policy.hash)

    # ------------------------------------------------------------------ helpers

    def _check_log(self) -> None:
        """Refuse to serve on top of a damaged log: fail closed, say where. Incremental:
        what was verified at the last start is not read again (core.server.replay)."""
        from core.server.replay import check_at_start

        check_at_start(self.store, self.signer)

    def _last_activated(self) -> str | None:
        """The policy of the log's last activation (the log is verified by now). SQLite
        reads back from the end in C: entries are canonical JSON, so the type's bytes are
        fixed, and the match is parsed to be sure."""
        from core.formats import Event

        row = self.store.conn.execute(Q_LAST_ACTIVATED,
                                      (b'"type":"policy.activated"',)).fetchone()
        if row is None:
            return None
        event = Event.from_bytes(bytes(row[0]))
        if event.type == "policy.activated":
            return event.get("policy")
        for index in range(self.store.log.size - 1, -1, -1):  # those bytes inside a value
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
            "SELECT body, status, receipt, receipt_sig, proposer FROM proposals WHERE hash=?",
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
        # Only agents propose, and only as themselves: the proposer comes from the token.
        # (A gate token proposing "as any agent" bypassed per-agent caps.)
        _role(caller, "agent")
        proposal = _proposal(body)
        now = self.clock()
        rule = self.judge.admit_proposal(proposal, now, proposer=caller.identity)
        # No approval needed (a zero rule, or default allow): approved from the start, so
        # the gate can claim it; it still goes through the queue and the log.
        status = "approved" if rule is None or rule.approvals == 0 else "pending"
        with self.store.write() as c:
            if c.execute("SELECT 1 FROM proposals WHERE hash=?", (proposal.hash,)).fetchone():
                return {"hash": proposal.hash, "status": "pending"}
            open_count, = c.execute(Q_OPEN, (proposal.proposer,
                                             self.limits.max_open_per_agent)).fetchone()
            recent, = c.execute(Q_RECENT, (proposal.proposer, time.time() - 60,
                                           self.limits.max_per_minute_per_agent)).fetchone()
            if open_count >= self.limits.max_open_per_agent or \
                    recent >= self.limits.max_per_minute_per_agent:
                raise Refused("rate_limited", f"{proposal.proposer} has too many open or recent "
                              "proposals; reviewers must not be flooded")
            c.execute("INSERT INTO proposals (hash, body, proposer, requester, created_at, "
                      "expires_at, received_at, status) VALUES (?,?,?,?,?,?,?,?)",
                      (proposal.hash, proposal.raw, proposal.proposer, proposal.requester,
                       proposal.data["created_at"], proposal.data["expires_at"], time.time(),
                       status))
            self.store.log_event(self.signer, "proposal.submitted", now, proposal=proposal.hash)
            expires = proposal.data["expires_at"]
            if self._next_expiry is not None and (not self._next_expiry
                                                  or expires < self._next_expiry):
                self._next_expiry = expires
        return {"hash": proposal.hash, "status": "pending"}  # agents learn more by waiting

    def sweep(self) -> int:
        """Mark and log expired proposals, once each. Nothing is ever auto-approved; a
        claimed proposal (a gate is executing it) is never expired under the gate.

        Runs before every view, list and decision, so it must cost nothing when nothing
        has expired: until the clock passes the earliest open expires_at, no query runs;
        then one indexed search finds exactly the expired rows."""
        at = self.clock()
        now = format_time(at)
        ahead = self._next_expiry
        if ahead is not None and (not ahead or now <= ahead):
            return 0
        with self.store.write() as c:
            rows = c.execute(Q_EXPIRED, (now,)).fetchall()
            for (h,) in rows:
                changed = c.execute("UPDATE proposals SET status='expired' WHERE hash=? AND "
                                    "status IN ('pending','approved')", (h,)).rowcount
                if changed:
                    self._close(c, h, self.store.log_event(self.signer, "proposal.expired",
                                                           at, proposal=h))
            # Inside the write lock: no submit_proposal can slip in between.
            nexts = [c.execute(Q_NEXT_EXPIRY, (s,)).fetchone()[0] for s in EXPIRABLE]
            self._next_expiry = min((n for n in nexts if n), default="")
        return len(rows)

    def _close(self, c: Any, proposal_hash: str, index: int) -> None:
        """Remember the log size at which the proposal's record closed: its bundle carries
        the checkpoint of that size, never a later one (a later one would tell a reviewer
        how much the log has grown since)."""
        c.execute("UPDATE proposals SET closed_size=? WHERE hash=?", (index + 1, proposal_hash))

    def _visible(self, caller: Caller, proposer: str) -> bool:
        """Agents see only their own proposals; others' do not exist for them."""
        return caller.role != "agent" or proposer == caller.identity

    def view(self, caller: Caller, proposal_hash: str) -> dict[str, Any]:
        _role(caller, "reviewer", "agent", "gate", "auditor")
        self.sweep()
        body, status, receipt, receipt_sig, proposer = self._row(proposal_hash)
        if not self._visible(caller, proposer):
            raise Refused("not_found", f"no proposal {proposal_hash}")
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
        elif caller.role == "agent" and status not in FINAL:
            decisions = []  # verdicts in flight are for the gate, not for the agent
        if status == "claimed":
            status = "approved"  # a claim is the gate's business; callers see approved
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
        if caller.role == "agent":
            rows = self.store.conn.execute(Q_LIST_MINE, (caller.identity, limit, offset)
                                           ).fetchall()
        else:
            rows = self.store.conn.execute(Q_LIST_ALL, (limit, offset)).fetchall()
        return [self.view(caller, h) for (h,) in rows]

    # ------------------------------------------------------------------ decisions

    def submit_decision(self, caller: Caller, proposal_hash: str, document: bytes,
                        signature: str) -> dict[str, Any]:
        """Count the decision or refuse it, logging either. The answer is the decision's
        hash and nothing else: no status, no log position (either would tell a reviewer
        whether others decided)."""
        _role(caller, "reviewer")
        self.sweep()
        warm(SignedDecision(document, signature))  # parse and verify outside the lock
        with self.store.write() as c:
            body, status, _r, _s, _p = self._row(proposal_hash)
            proposal = _proposal(body)
            now = self.clock()
            existing = c.execute("SELECT hash FROM decisions WHERE proposal=? AND reviewer=? "
                                 "AND body=?", (proposal_hash, caller.identity, document)
                                 ).fetchone()
            if existing:  # a retry of the same signed bytes: the same answer
                return {"decision": existing[0]}
            ruling = self.judge.decision(proposal, status, self.counted(proposal_hash),
                                         SignedDecision(document, signature), now,
                                         caller=caller.identity)
            if not ruling.counted:
                self._log_refusal(c, proposal_hash, caller.identity, ruling.code, now)
            else:
                seq, = c.execute("SELECT COUNT(*) FROM decisions WHERE proposal=?",
                                 (proposal_hash,)).fetchone()
                c.execute("INSERT INTO decisions (hash, proposal, seq, reviewer, verdict, body, "
                          "signature) VALUES (?,?,?,?,?,?,?)",
                          (ruling.decision.hash, proposal_hash, seq + 1, caller.identity,
                           ruling.decision.verdict, document, signature))
                c.execute("UPDATE proposals SET status=? WHERE hash=?",
                          (ruling.status, proposal_hash))
                index = self.store.log_event(self.signer, "decision.recorded", now,
                                             proposal=proposal_hash,
                                             decision=ruling.decision.hash,
                                             reviewer=caller.identity)
                if ruling.status == "rejected":
                    self._close(c, proposal_hash, index)
                return {"decision": ruling.decision.hash}
        raise Refused(ruling.code, ruling.message)

    def _log_refusal(self, c: Any, proposal_hash: str, reviewer: str, code: str,
                     now: datetime) -> None:
        """Log a refusal once per (proposal, reviewer, code): evidence, not a flood."""
        fresh = c.execute("INSERT OR IGNORE INTO refusals (proposal, reviewer, code) "
                          "VALUES (?,?,?)", (proposal_hash, reviewer, code)).rowcount
        if fresh:
            self.store.log_event(self.signer, "decision.refused", now,
                                 proposal=proposal_hash, reviewer=reviewer, code=code)

    # ------------------------------------------------------------------ receipts

    def claim(self, caller: Caller, proposal_hash: str) -> dict[str, Any]:
        """Atomically move an approved proposal to claimed, once: a second gate (or a gate
        on cloned state) is refused before anything runs."""
        _role(caller, "gate")
        self.sweep()
        with self.store.write() as c:
            _b, status, _r, _s, _p = self._row(proposal_hash)
            if status in ("claimed", "executed"):
                raise Refused("already_executed", "this proposal is already claimed or "
                              "executed by a gate; it runs once")
            if status == "expired":
                raise Refused("expired", "the proposal expired before it was claimed; it "
                              "will not run")
            if status != "approved":
                raise Refused("quorum", "the proposal is not approved")
            c.execute("UPDATE proposals SET status='claimed' WHERE hash=? AND "
                      "status='approved'", (proposal_hash,))
        return {"hash": proposal_hash, "status": "claimed"}

    def record_receipt(self, caller: Caller, proposal_hash: str, document: bytes,
                       signature: str) -> dict[str, Any]:
        _role(caller, "gate")
        with self.store.write() as c:
            body, status, _r, _s, _p = self._row(proposal_hash)
            proposal = _proposal(body)
            receipt = self.judge.receipt(proposal, status, self.counted(proposal_hash),
                                         document, signature, self.clock(),
                                         caller=caller.identity)
            c.execute("UPDATE proposals SET status='executed', receipt=?, receipt_sig=? "
                      "WHERE hash=?", (receipt.raw, signature, proposal_hash))
            self._close(c, proposal_hash, self.store.log_event(
                self.signer, "receipt.recorded", self.clock(), proposal=proposal_hash,
                receipt=receipt.hash))
        return {"receipt": receipt.hash}

    def bundle(self, caller: Caller, proposal_hash: str) -> bytes:
        from core.bundle.build import bundle_from_log

        _role(caller, "reviewer", "agent", "gate", "auditor")
        self.sweep()
        body, status, receipt, receipt_sig, proposer = self._row(proposal_hash)
        if not self._visible(caller, proposer):
            raise Refused("not_found", f"no proposal {proposal_hash}")
        if status not in FINAL:
            raise Refused("not_final", "a bundle can be exported once the proposal is "
                          "executed, rejected or expired")
        proposal = Proposal.from_bytes(bytes(body))
        closed, = self.store.conn.execute("SELECT closed_size FROM proposals WHERE hash=?",
                                          (proposal_hash,)).fetchone()
        with self.store.lock:
            return bundle_from_log(
                self.store.log, proposal=proposal.raw,
                policy=self.policy_for(proposal.policy).raw,
                decisions=self.counted(proposal_hash),
                receipt=(bytes(receipt), receipt_sig) if receipt else None,
                size=closed)

    def proposal_log(self, caller: Caller, proposal_hash: str) -> dict[str, Any]:
        """The log's entries about one proposal, proven against the latest checkpoint, for
        the gate to compare with the decisions it is shown (a tampered store is caught)."""
        import base64

        from core.bundle.build import proposal_entries

        _role(caller, "gate", "auditor")
        self._row(proposal_hash)
        with self.store.lock:
            note, entries, proofs = proposal_entries(self.store.log, proposal_hash)
        return {"checkpoint": note,
                "entries": [{"index": i, "entry": e.decode()} for i, e in sorted(entries.items())],
                "proofs": {str(i): [base64.b64encode(h).decode() for h in p]
                           for i, p in proofs.items()}}


@lru_cache(maxsize=MAX_CACHED_PROPOSALS)
def _parsed(body: bytes) -> Proposal:
    return Proposal.from_bytes(body)


def _proposal(body: bytes) -> Proposal:
    """A stored proposal, parsed once: every decision and receipt on it reads it again."""
    body = bytes(body)
    return _parsed(body) if len(body) <= MAX_CACHED_PROPOSAL_BYTES else \
        Proposal.from_bytes(body)


def _role(caller: Caller, *allowed: str) -> None:
    if caller.role not in allowed:
        raise Refused("forbidden", f"a {caller.role} may not do this", 403)
