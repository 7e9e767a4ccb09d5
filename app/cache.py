"""The last pulled queue, kept in a local SQLite file so it can be read offline."""

from __future__ import annotations

import time
from pathlib import Path

import sqlite_utils

from core.errors import InvalidData
from core.formats import Proposal
from core.queue.base import ProposalView


class QueueCache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite_utils.Database(path)
        self.db["proposals"].create({"hash": str, "body": bytes, "status": str,
                                     "mine": int}, pk="hash", if_not_exists=True)
        self.db["meta"].create({"key": str, "value": str}, pk="key", if_not_exists=True)

    def store(self, views: list[ProposalView]) -> None:
        with self.db.conn:
            self.db["proposals"].delete_where()
            self.db["proposals"].insert_all(
                [{"hash": v.hash, "body": v.proposal.raw, "status": v.status,
                  "mine": int(v.my_decision is not None)} for v in views], pk="hash")
            self.db["meta"].upsert({"key": "synced_at", "value": str(time.time())}, pk="key")

    def load(self) -> list[ProposalView]:
        out = []
        for row in self.db["proposals"].rows:
            try:
                out.append(ProposalView(Proposal.from_bytes(row["body"]), row["status"]))
            except InvalidData:
                continue  # a damaged cache row is skipped, never trusted
        return out

    def synced_at(self) -> float | None:
        try:
            return float(self.db["meta"].get("synced_at")["value"])
        except Exception:  # noqa: BLE001 - no sync yet
            return None
