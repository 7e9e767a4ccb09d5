"""The one engine under every integration: propose or re-attach, wait in slices, execute once.

`Gate.run` blocks until an outcome; an MCP tool call, a CI step or a coding agent's hook
cannot wait hours. So an integration waits up to a bound and then answers "pending,
retry"; the retry must find the *same* proposal, never file a second one, and once it is
approved run it exactly once. This module keeps that map (action hash -> proposal bytes)
in the gate's private state directory, next to the gate's ledger:

- the key is the SPEC §4 action hash (route + params), so the same arguments attach to
  the same proposal whatever summary the agent writes the second time, and any change in
  the arguments is a new proposal that needs its own approvals;
- an entry leaves the map once its proposal is claimed for execution, so an identical call
  after an execution is a new action that needs new approvals;
- a rejection is remembered until the rejected proposal's expiry: the same arguments get
  the same answer instead of paging the reviewers again; an expired entry is dropped;
- lookup, proposal and insert happen in one `BEGIN IMMEDIATE` transaction, so two
  processes (two hook invocations) with the same call cannot file two proposals.

Executing is always `Gate.execute`: quorum from the signed decisions, the log check, the
queue's claim and the ledger, in that order, and the callable gets the signed params.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import TransportError
from core.formats import Proposal, canonical
from core.gate import (
    AlreadyExecuted,
    DeniedByPolicy,
    Expired,
    Gate,
    QueueUnreachable,
    Rejected,
    StillPending,
)
from core.gate.sdk import Executed, RunResult
from core.policy import match_rule
from core.queue.base import ProposalView

WAIT_SLICE = 5.0  # one long-poll; between slices integrations report progress
PENDING_DB = "integrations-pending.sqlite"

__all__ = ["Executed", "GatedRunner", "Submitted", "action_key", "sha256_hex"]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def action_key(route: str, params: dict[str, Any]) -> str:
    """The SPEC §4 action hash of (route, params): what reviewers approve and what runs."""
    return "sha256:" + sha256_hex(canonical({"route": route, "params": params}))


@dataclass(frozen=True)
class Submitted:
    proposal: Proposal
    attached: bool  # True: an earlier call with the same arguments filed it
    approvals: int  # what the matched rule asks for (0: runs without approval, logged)


def retry_hint(proposal: Proposal) -> str:
    return (f"Proposal {proposal.hash} ({proposal.route}) is waiting for reviewers and "
            f"expires at {proposal.data['expires_at']}. Nothing ran. Repeat exactly the same "
            "call (same arguments) to wait again: it attaches to this proposal and, once "
            "approved, runs exactly once. Changed arguments make a new proposal.")


class GatedRunner:
    """Propose-or-attach, bounded waits and one execution, over a `core.gate.Gate`."""

    def __init__(self, gate: Gate, *, requester: str, state_dir: Path,
                 wait: float = 300.0, slice_seconds: float = WAIT_SLICE) -> None:
        self.gate = gate
        self.wait_bound = wait  # default bound of one call's wait, in seconds
        self.requester = requester
        self.slice = slice_seconds
        state_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(state_dir / PENDING_DB, isolation_level=None,
                                       check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS pending (action TEXT PRIMARY KEY,"
                             " proposal BLOB NOT NULL, state TEXT NOT NULL)")
        except sqlite3.Error as e:
            raise TransportError("storage", f"cannot open {state_dir / PENDING_DB}: {e}") from e

    @classmethod
    def from_config(cls, config) -> GatedRunner:  # noqa: ANN001 - a GateConfig
        return cls(config.open_gate(), requester=config.requester, state_dir=config.state,
                   wait=config.wait)

    # ------------------------------------------------------------------ policy

    def approvals(self, route: str, params: dict[str, Any]) -> int:
        """Approvals the pinned policy asks for; DeniedByPolicy when it can never run."""
        rule = match_rule(self.gate.policy, route, params)
        if rule is None:
            if self.gate.policy.default == "deny":
                raise DeniedByPolicy(f"no rule of policy {self.gate.policy.name!r} matches "
                                     f"{route}, and the default is deny; it will not run")
            return 0
        return rule.approvals

    # ------------------------------------------------------------------ propose or attach

    def submit(self, route: str, params: dict[str, Any],
               summary: Callable[[], dict[str, Any]] | dict[str, Any]) -> Submitted:
        """The proposal for exactly these arguments: an open earlier one, or a new one."""
        approvals = self.approvals(route, params)
        if approvals == 0:  # runs without approval; still proposed, so it is logged
            return Submitted(self._propose(route, params, summary), False, 0)
        key = action_key(route, params)
        with self._lock:
            self._sql("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT proposal, state FROM pending WHERE action=?",
                                       (key,)).fetchone()
                if row is not None:
                    proposal = Proposal.from_bytes(bytes(row[0]))
                    if self.gate.clock() > proposal.expires_at:
                        self._db.execute("DELETE FROM pending WHERE action=?", (key,))
                    elif row[1] == "rejected":
                        raise Rejected(f"proposal {proposal.hash} with exactly these arguments "
                                       "was rejected by a reviewer; it will not run. Change "
                                       "the arguments to ask again (a new proposal).")
                    else:
                        self._sql("COMMIT")
                        return Submitted(proposal, True, approvals)
                proposal = self._propose(route, params, summary)
                self._db.execute("INSERT INTO pending (action, proposal, state) VALUES "
                                 "(?, ?, 'pending')", (key, proposal.raw))
                self._sql("COMMIT")
                return Submitted(proposal, False, approvals)
            except BaseException:
                self._sql("ROLLBACK")
                raise

    def _propose(self, route: str, params: dict[str, Any],
                 summary: Callable[[], dict[str, Any]] | dict[str, Any]) -> Proposal:
        text = summary() if callable(summary) else summary
        return self.gate.propose(route, params, text, requester=self.requester)

    def _sql(self, statement: str) -> None:
        try:
            self._db.execute(statement)
        except sqlite3.Error as e:
            raise TransportError("storage", f"the pending-proposal map failed: {e}") from e

    def _forget(self, proposal: Proposal, *, rejected: bool = False) -> None:
        with self._lock:
            if rejected:
                self._db.execute("UPDATE pending SET state='rejected' WHERE proposal=?",
                                 (proposal.raw,))
            else:
                self._db.execute("DELETE FROM pending WHERE proposal=?", (proposal.raw,))

    # ------------------------------------------------------------------ wait

    def poll(self, proposal: Proposal, seconds: float) -> ProposalView:
        """One bounded long-poll; raises on a final refusal, returns the view otherwise."""
        to_expiry = (proposal.expires_at - self.gate.clock()).total_seconds()
        try:
            view = self.gate.queue.wait(proposal.hash, max(0.0, min(seconds, to_expiry + 1)))
        except TransportError as e:
            raise QueueUnreachable(f"the queue cannot be reached: {e.message}; proposal "
                                   f"{proposal.hash} is kept, retry the same call") from e
        if view.status == "rejected":
            self._forget(proposal, rejected=True)
            raise Rejected(f"proposal {proposal.hash} ({proposal.route}) was rejected by a "
                           "reviewer; it did not run and will not run")
        if view.status == "expired" or (view.status == "pending"
                                        and self.gate.clock() > proposal.expires_at):
            self._forget(proposal)
            raise Expired(f"proposal {proposal.hash} ({proposal.route}) expired before it "
                          "was approved; it did not run and will not run")
        if view.status in ("executed", "claimed"):
            self._forget(proposal)
            raise AlreadyExecuted(f"proposal {proposal.hash} was already executed; it runs "
                                  "once. Call again for a new proposal.")
        return view

    def wait(self, proposal: Proposal, seconds: float,
             tick: Callable[[float], None] | None = None) -> None:
        """Wait until approved (return) or `seconds` pass (StillPending naming the proposal);
        `tick(elapsed)` runs between slices, e.g. to send progress notifications."""
        start = time.monotonic()
        while True:
            elapsed = time.monotonic() - start
            view = self.poll(proposal, min(self.slice, max(0.0, seconds - elapsed)))
            if view.status == "approved":
                return
            elapsed = time.monotonic() - start
            if elapsed >= seconds:
                err = StillPending(retry_hint(proposal))
                err.proposal = proposal.hash
                raise err
            if tick is not None:
                tick(elapsed)

    # ------------------------------------------------------------------ execute

    def execute(self, proposal: Proposal, fn: Callable[[dict[str, Any]], Any]) -> RunResult:
        """`Gate.execute` (quorum, log, claim, ledger); the map entry goes once claimed."""
        try:
            return self.gate.execute(proposal, fn)
        except AlreadyExecuted:
            self._forget(proposal)
            raise
        finally:
            if self.gate.ledger.state(proposal.hash) is not None:
                self._forget(proposal)

    def run(self, route: str, params: dict[str, Any],
            summary: Callable[[], dict[str, Any]] | dict[str, Any],
            fn: Callable[[dict[str, Any]], Any], *, wait: float,
            tick: Callable[[float], None] | None = None) -> RunResult:
        """The blocking flow for commands and decorated functions."""
        submitted = self.submit(route, params, summary)
        if submitted.approvals > 0:
            self.wait(submitted.proposal, wait, tick)
        return self.execute(submitted.proposal, fn)

    def close(self) -> None:
        self._db.close()
        self.gate.close()
        for q in {id(self.gate.queue): self.gate.queue,
                  id(self.gate.receipts): self.gate.receipts}.values():
            q.close()
