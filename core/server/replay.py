"""Replay the audit log against the server store: the rows must be what the log says.

The log is signed and checkpointed; the store's rows are not. Someone with write access to
server.sqlite (no key needed) could delete a counted reject from `decisions` and set the
proposal's status to 'approved'; the log alone would still verify. So `foureyes log
verify` replays, for every proposal, what its log events record (`core.log.events`) and
compares it with the store:

(1) a proposal row exists exactly when the log holds exactly one `proposal.submitted`,
    and its body hashes to its key;
(2) the decisions rows are exactly the log's `decision.recorded` hashes, in log order,
    each body hashing to its row's key, for this proposal and reviewer;
(3) the receipt column holds the one receipt a `receipt.recorded` names, or none when the
    log records none (never two);
(4) the status is the one the events lead to: `pending` when submitted; after each
    `decision.recorded`, the quorum function (`core.policy.evaluate`, the same one the
    server judges with) over the decisions recorded so far at that event's time;
    `expired` after `proposal.expired`; `executed` after `receipt.recorded`.

`foureyes log verify` replays everything: linear in the log and the store. The server's
start-up (`check_at_start`) replays only the proposals named since the state it verified
at its previous start (`core.log.verified`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from core.errors import InvalidData
from core.formats import Decision, Event, Proposal, Receipt
from core.log.events import Recorded, recorded_for
from core.policy import APPROVED, REJECTED, Policy, SignedDecision, evaluate

if TYPE_CHECKING:
    from core.log.note import LogSigner
    from core.server.store import ServerStore

# As the server maps an outcome to a status: anything but approved or rejected stays pending.
_STATUS = {APPROVED: "approved", REJECTED: "rejected"}


@dataclass(frozen=True)
class ReplayProblem:
    proposal: str
    message: str

    def __str__(self) -> str:
        return f"proposal {self.proposal}: {self.message}"


def is_server_store(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND "
                        "name='proposals'").fetchone() is not None


def replay_store(conn: sqlite3.Connection, since: int = 0) -> list[ReplayProblem]:
    """Every disagreement between the log's events and the store's rows, per proposal.

    With ``since`` (a start-up after a verified one, see `check_at_start`): only the
    proposals the entries from ``since`` on name, each against all of its events (the
    earlier ones found by scanning back from ``since`` until its submission); rows about
    other proposals are not read."""
    if since:
        return _replay_since(conn, since)
    events: dict[str, list[Event]] = {}
    raw: dict[str, list[bytes]] = {}
    problems = _collect(conn.execute("SELECT idx, entry FROM log_entries ORDER BY idx"),
                        events, raw)
    rows = {h: (bytes(body), status, receipt) for h, body, status, receipt in conn.execute(
        "SELECT hash, body, status, receipt FROM proposals")}
    decisions: dict[str, list[tuple]] = {}
    for row in conn.execute("SELECT hash, proposal, seq, reviewer, verdict, body, signature "
                            "FROM decisions ORDER BY proposal, seq"):
        decisions.setdefault(row[1], []).append(row)
    policies = _policies(conn)
    for h in sorted(set(events) | set(rows) | set(decisions)):
        problems += [ReplayProblem(h, m) for m in _replay_one(
            h, recorded_for(raw.get(h, []), h), events.get(h, []), rows.get(h),
            decisions.get(h, []), policies)]
    return problems


def _collect(entries: Iterable[tuple[int, bytes]], events: dict[str, list[Event]],
             raw: dict[str, list[bytes]]) -> list[ReplayProblem]:
    problems: list[ReplayProblem] = []
    for idx, entry in entries:
        try:
            event = Event.from_bytes(bytes(entry))
        except InvalidData as e:
            problems.append(ReplayProblem("?", f"log entry {idx} is not an event: {e.message}"))
            continue
        h = event.get("proposal")
        if h is not None:
            events.setdefault(h, []).append(event)
            raw.setdefault(h, []).append(bytes(entry))
    return problems


def _policies(conn: sqlite3.Connection) -> dict[str, bytes]:
    return {h: bytes(b) for h, b in conn.execute("SELECT hash, body FROM policies")}


_PROPOSAL_FIELD = b'"proposal":"'


def _replay_since(conn: sqlite3.Connection, since: int) -> list[ReplayProblem]:
    events: dict[str, list[Event]] = {}
    raw: dict[str, list[bytes]] = {}
    problems = _collect(conn.execute("SELECT idx, entry FROM log_entries WHERE idx>=? "
                                     "ORDER BY idx", (since,)), events, raw)
    need = {h for h, evs in events.items()
            if not any(e.type == "proposal.submitted" for e in evs)}
    earlier: list[tuple[int, bytes]] = []
    if need:  # back from `since` to each one's submission; entries are canonical JSON
        for idx, entry in conn.execute("SELECT idx, entry FROM log_entries WHERE idx<? "
                                       "ORDER BY idx DESC", (since,)):
            at = entry.find(_PROPOSAL_FIELD)
            if at < 0:
                continue
            start = at + len(_PROPOSAL_FIELD)
            h = entry[start:entry.find(b'"', start)].decode("ascii", "replace")
            if h not in need:
                continue
            earlier.append((idx, entry))
            try:
                kind = Event.from_bytes(bytes(entry)).type
            except InvalidData:
                continue  # _collect reports it
            if kind == "proposal.submitted":
                need.discard(h)
                if not need:
                    break
    before: dict[str, list[Event]] = {}
    before_raw: dict[str, list[bytes]] = {}
    problems += _collect(reversed(earlier), before, before_raw)
    policies = _policies(conn)
    for h in sorted(events):
        row = conn.execute("SELECT body, status, receipt FROM proposals WHERE hash=?",
                           (h,)).fetchone()
        drows = conn.execute("SELECT hash, proposal, seq, reviewer, verdict, body, signature "
                             "FROM decisions WHERE proposal=? ORDER BY seq", (h,)).fetchall()
        mine = before_raw.get(h, []) + raw[h]
        problems += [ReplayProblem(h, m) for m in _replay_one(
            h, recorded_for(mine, h), before.get(h, []) + events[h],
            None if row is None else (bytes(row[0]), row[1], row[2]), drows, policies)]
    return problems


def check_at_start(store: ServerStore, signer: LogSigner) -> None:
    """The server's start-up check, incremental: verify the log and replay the store from
    the state remembered (tagged with the log key) at the last start, then remember the
    new one. Fails closed (log_damaged), naming where. See `core.log.verified` for what an
    attacker with write access to the data directory can and cannot get past it."""
    from core.log.store import verify_store
    from core.log.verified import remember, remembered

    conn = store.db.conn
    resume = remembered(conn, signer)
    report = verify_store(store.db, [signer.verifier], resume=resume)
    if report.ok and report.signed_size < report.size:
        report.problems.append(f"entries {report.signed_size} to {report.size - 1} are "
                               "covered by no checkpoint this server signed (appended "
                               "without its key)")
        report.first_bad_index = report.signed_size
    if not report.ok:
        where = f" (first bad index {report.first_bad_index})" \
            if report.first_bad_index is not None else ""
        raise InvalidData("log_damaged", "the audit log does not verify" + where + ": "
                          + "; ".join(report.problems[:3]))
    # The store's rows must agree with what the log says happened: a row edited by hand
    # (a deleted reject, a forced status) stops the server instead of serving it.
    mismatches = replay_store(conn, 0 if resume is None else resume.size)
    if mismatches:
        raise InvalidData("log_damaged", "the store disagrees with its audit log: "
                          + "; ".join(str(m) for m in mismatches[:3]))
    if report.root is not None and (resume is None or report.size > resume.size):
        with store.write() as c:
            remember(c, signer, report.size, report.root)


def _replay_one(h: str, rec: Recorded, events: list[Event], row: tuple | None,
                drows: list[tuple], policies: dict[str, bytes]) -> list[str]:
    out: list[str] = []
    # (1) the proposal row
    if row is None:
        if rec.submitted:
            out.append("the log records its submission, but the store has no such proposal "
                       "(deleted?)")
        if drows:
            out.append("the store holds decisions for a proposal it does not hold")
        return out or ["the log has events about a proposal never submitted"]
    body, status, receipt = row
    if rec.submitted != 1:
        out.append(f"the store holds it, but the log records {rec.submitted} submissions "
                   "(exactly one expected)")
    try:
        proposal = Proposal.from_bytes(body)
    except InvalidData as e:
        return [*out, f"its stored body is malformed: {e.message}"]
    if proposal.hash != h:
        return [*out, "its stored body does not hash to its key (altered)"]
    # (2) the decisions
    stored: dict[str, SignedDecision] = {}
    for dh, _p, _seq, reviewer, verdict, dbody, signature in drows:
        try:
            doc = Decision.from_bytes(bytes(dbody))
        except InvalidData as e:
            out.append(f"stored decision {dh} is malformed: {e.message}")
            continue
        if doc.hash != dh or doc.reviewer != reviewer or doc.verdict != verdict:
            out.append(f"stored decision {dh} does not match its body (altered)")
        stored[dh] = SignedDecision(bytes(dbody), signature)
    for dh in rec.decisions:
        if dh not in stored:
            out.append(f"the log records decision {dh}, but the store does not hold it "
                       "(deleted?)")
    for dh in stored:
        if dh not in rec.decision_set:
            out.append(f"the store holds decision {dh}, which the log never recorded")
    if [r[0] for r in drows] != [d for d in rec.decisions if d in stored] and \
            set(stored) == rec.decision_set:
        out.append("the store's decision order differs from the log's")
    # (3) the receipt
    if len(rec.receipts) > 1:
        out.append(f"the log records {len(rec.receipts)} receipts (a second execution)")
    if receipt is None and rec.receipts:
        out.append("the log records a receipt, but the store holds none (deleted?)")
    elif receipt is not None:
        try:
            rh = Receipt.from_bytes(bytes(receipt)).hash
        except InvalidData as e:
            out.append(f"the stored receipt is malformed: {e.message}")
        else:
            if rh not in rec.receipt_set:
                out.append(f"the store holds receipt {rh}, which the log never recorded")
    if out:
        return out
    # (4) the status the events lead to
    expected = _replayed_status(proposal, events, stored, policies)
    if status == "claimed":  # a gate's claim is not an event: it stands on an approval
        status = "approved"
    if expected != status:
        out.append(f"the store says '{status}', but its log events lead to '{expected}'")
    return out


@lru_cache(maxsize=16)
def _policy(body: bytes) -> Policy:
    """A store holds a handful of policies: each parsed once, not once per proposal."""
    return Policy.from_bytes(body)


def _replayed_status(proposal: Proposal, events: list[Event],
                     stored: dict[str, SignedDecision], policies: dict[str, bytes]) -> str:
    status = "pending"
    if proposal.policy in policies:  # nothing needed: approved from submission on
        start = evaluate(_policy(policies[proposal.policy]), proposal, [], None)
        status = _STATUS.get(start.status, "pending")
    counted: list[SignedDecision] = []
    for event in events:
        if event.type == "decision.recorded":
            counted.append(stored[event.data["decision"]])
            if proposal.policy not in policies:
                return "unknown (the store lacks the proposal's policy)"
            outcome = evaluate(_policy(policies[proposal.policy]), proposal,
                               counted, event.at)
            status = _STATUS.get(outcome.status, "pending")
        elif event.type == "proposal.expired":
            status = "expired"
        elif event.type == "receipt.recorded":
            status = "executed"
    return status
