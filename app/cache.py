"""The offline copy of the last queue this reviewer pulled (SQLite via sqlite-utils).

A reviewer on a train or an air-gapped desk still sees what was waiting, with the data's age
shown so nobody mistakes an old copy for the live queue. One file per (queue, identity), so
switching identity never shows one person another's view. Only what the queue already let
this caller see is stored; nothing here is trusted for a decision: proposals are re-read
through the strict reader on load, and deciding always goes back to the queue.

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

MAX_CACHED_PROPOSALS = 2000


@dataclass(frozen=True)
class CachedQueue:
    views: list[ProposalView]
    policy: bytes | None
    synced_at: datetime | None  # None: never synced
    unreadable: int = 0  # rows the strict reader refused (reported, never shown)


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

    def store(self, views: list[ProposalView], policy: bytes | None, at: datetime) -> None:
        """Replace the cached queue with this pull, in one transaction."""
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
        return CachedQueue(views, meta.get("policy", "").encode() or None,
                           datetime.fromisoformat(synced) if synced else None, unreadable)

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
