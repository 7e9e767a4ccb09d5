"""The offline copy of the last queue this reviewer pulled (SQLite via sqlite-utils).

A reviewer on a train or an air-gapped desk still sees what was waiting, with the data's age
shown so nobody mistakes an old copy for the live queue. One file per (queue, identity), so
switching identity never shows one person another's view. Only what the queue already let
this caller see is stored; nothing here is trusted for a decision: proposals are re-read
through the strict reader on load, and deciding always goes back to the queue.

The copy holds at most MAX_CACHED_PROPOSALS. When a pull is larger, what the reviewer needs
is kept first (live proposals waiting for them, soonest-expiring first; then live ones they
decided or cannot decide; then finished ones, newest first), and the number left out is
stored and shown with the copy: nothing is dropped silently.

Each call opens its own connection, so workers on any thread may use it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from core.errors import InvalidData, TransportError
from core.formats import Proposal
from core.policy import SignedDecision
from core.queue.base import ProposalView

MAX_CACHED_PROPOSALS = 20_000


@dataclass(frozen=True)
class CachedQueue:
    views: list[ProposalView]
    policy: bytes | None
    synced_at: datetime | None  # None: never synced
    unreadable: int = 0  # rows the strict reader refused (reported, never shown)
    left_out: int = 0  # proposals the last pull had that the copy did not keep
    left_waiting: int = 0  # of those, how many were waiting for this reviewer


def _need(identity: str, now: datetime):  # noqa: ANN202 - a sort key
    from core.queue.base import FINAL_STATUSES

    def need(v: ProposalView) -> tuple[int, float]:
        p = v.proposal
        live = v.status not in FINAL_STATUSES and v.status != "closed" and \
            now <= p.expires_at
        mine = identity in (p.proposer, p.requester)
        if live and v.my_decision is None and not mine:
            return 0, p.expires_at.timestamp()  # waiting for me: soonest deadline first
        if live:
            return 1, p.expires_at.timestamp()
        return 2, -p.created_at.timestamp()  # finished: newest first
    return need


def keep_order(views: list[ProposalView], identity: str, now: datetime) -> list[ProposalView]:
    """The pull in order of need, most needed first (the cache keeps a prefix of this)."""
    return sorted(views, key=_need(identity, now))


def cache_path(cache_dir: Path, source: str, identity: str) -> Path:
    digest = hashlib.sha256(f"{source}\n{identity}".encode()).hexdigest()[:16]
    return Path(cache_dir) / f"queue-{digest}.sqlite"


def _signed(obj: object) -> SignedDecision:
    if not isinstance(obj, dict) or not isinstance(obj.get("document"), str) or \
            not isinstance(obj.get("signature"), str):
        raise InvalidData("cache", "a cached decision is malformed")
    return SignedDecision(obj["document"].encode(), obj["signature"])


def _plain(sd: SignedDecision) -> dict[str, str]:
    return {"document": sd.document.decode(), "signature": sd.signature}


class QueueCache:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @contextmanager
    def _db(self) -> Iterator[sqlite_utils.Database]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path)
        except (OSError, sqlite3.Error) as e:
            raise TransportError("cache", f"cannot open the offline cache {self.path}: {e}") \
                from e
        try:
            yield sqlite_utils.Database(conn)
            conn.commit()
        except sqlite3.Error as e:
            raise TransportError("cache", f"the offline cache {self.path} failed: {e}") from e
        finally:
            conn.close()

    def store(self, views: list[ProposalView], policy: bytes | None, at: datetime,
              identity: str = "") -> None:
        """Replace the cached queue with this pull, in one transaction."""
        left_out = left_waiting = 0
        if len(views) > MAX_CACHED_PROPOSALS:
            left_out = len(views) - MAX_CACHED_PROPOSALS
            views = keep_order(views, identity, at)
            need = _need(identity, at)
            left_waiting = sum(1 for v in views[MAX_CACHED_PROPOSALS:] if need(v)[0] == 0)
        rows = [{
            "hash": v.hash, "position": n, "raw": v.proposal.raw.decode(), "status": v.status,
            "my_decision": json.dumps(_plain(v.my_decision)) if v.my_decision else None,
            "decisions": json.dumps([_plain(d) for d in v.decisions]),
        } for n, v in enumerate(views[:MAX_CACHED_PROPOSALS])]
        with self._db() as db, db.conn:
            table = db["proposals"]
            table.create({"hash": str, "position": int, "raw": str, "status": str,
                          "my_decision": str, "decisions": str}, pk="hash", if_not_exists=True)
            table.delete_where()
            table.insert_all(rows)
            db["meta"].upsert_all([
                {"key": "synced_at", "value": at.astimezone(UTC).isoformat()},
                {"key": "policy", "value": policy.decode() if policy else ""},
                {"key": "left_out", "value": str(left_out)},
                {"key": "left_waiting", "value": str(left_waiting)},
            ], pk="key")

    def load(self) -> CachedQueue:
        if not self.path.exists():
            return CachedQueue([], None, None)
        with self._db() as db:
            meta = {r["key"]: r["value"] for r in db["meta"].rows} \
                if db["meta"].exists() else {}
            rows = list(db["proposals"].rows_where(order_by="position")) \
                if db["proposals"].exists() else []
        views: list[ProposalView] = []
        unreadable = 0
        for row in rows:
            try:
                proposal = Proposal.from_bytes(row["raw"].encode())
                mine = _signed(json.loads(row["my_decision"])) if row["my_decision"] else None
                others = tuple(_signed(d) for d in json.loads(row["decisions"] or "[]"))
                views.append(ProposalView(proposal, row["status"], mine, others))
            except (InvalidData, ValueError, TypeError, AttributeError):
                unreadable += 1
        synced = meta.get("synced_at")
        left_out, left_waiting = meta.get("left_out", "0"), meta.get("left_waiting", "0")
        return CachedQueue(views, meta.get("policy", "").encode() or None,
                           datetime.fromisoformat(synced) if synced else None, unreadable,
                           int(left_out) if left_out.isdigit() else 0,
                           int(left_waiting) if left_waiting.isdigit() else 0)

    def update_one(self, view: ProposalView) -> None:
        """Refresh one proposal after this reviewer decided (keeps the rest as pulled)."""
        with self._db() as db:
            table = db["proposals"]
            if not table.exists() or not table.count_where("hash = ?", [view.hash]):
                return
            table.update(view.hash, {
                "status": view.status,
                "my_decision": json.dumps(_plain(view.my_decision)) if view.my_decision
                else None,
                "decisions": json.dumps([_plain(d) for d in view.decisions]),
            })
