"""The gate's own record of what it executed, so an action runs at most once, even across
restarts. A row is committed *before* the action runs: a crash mid-action leaves the row,
and the action is never tried again (at most once beats at least once for money)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from core.errors import TransportError
from core.gate.errors import AlreadyExecuted


class Ledger:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS executions (proposal TEXT PRIMARY KEY,"
                " state TEXT NOT NULL, receipt BLOB, signature TEXT)")
        except sqlite3.Error as e:
            raise TransportError("storage", f"cannot open the gate ledger {path}: {e}") from e

    def claim(self, proposal_hash: str) -> None:
        """Reserve the one execution of this proposal, or refuse."""
        try:
            self.conn.execute("INSERT INTO executions (proposal, state) VALUES (?, 'started')",
                              (proposal_hash,))
        except sqlite3.IntegrityError as e:
            state = self.state(proposal_hash)
            raise AlreadyExecuted(
                f"proposal {proposal_hash} was already executed by this gate (state {state}); "
                "a gate runs an approved action once") from e

    def finish(self, proposal_hash: str, receipt: bytes, signature: str) -> None:
        self.conn.execute("UPDATE executions SET state='done', receipt=?, signature=? "
                          "WHERE proposal=?", (receipt, signature, proposal_hash))

    def state(self, proposal_hash: str) -> str | None:
        row = self.conn.execute("SELECT state FROM executions WHERE proposal=?",
                                (proposal_hash,)).fetchone()
        return row[0] if row else None

    def receipt(self, proposal_hash: str) -> tuple[bytes, str] | None:
        row = self.conn.execute("SELECT receipt, signature FROM executions WHERE proposal=? "
                                "AND state='done'", (proposal_hash,)).fetchone()
        return (bytes(row[0]), row[1]) if row else None

    def close(self) -> None:
        self.conn.close()
