"""The server's SQLite store (WAL): proposals, decisions, tokens, sessions and the log.

Every state change and the log event that records it are written in ONE transaction, then a
checkpoint is signed for the new log size in the same transaction: after a crash the store
holds either the whole step or none of it. One lock serialises writers; SQLite in WAL mode
lets readers in other processes (log verify) read while the server runs.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import sqlite_utils

from core.errors import TransportError
from core.formats import Event
from core.log.note import LogSigner
from core.log.store import LogStore

DB_NAME = "server.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS policies (hash TEXT PRIMARY KEY, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS proposals (
    hash TEXT PRIMARY KEY, body BLOB NOT NULL, proposer TEXT NOT NULL, requester TEXT NOT NULL,
    created_at TEXT NOT NULL, expires_at TEXT NOT NULL, received_at REAL NOT NULL,
    status TEXT NOT NULL, receipt BLOB, receipt_sig TEXT, closed_size INTEGER);
CREATE INDEX IF NOT EXISTS proposals_status ON proposals (status, expires_at);
CREATE TABLE IF NOT EXISTS decisions (
    hash TEXT PRIMARY KEY, proposal TEXT NOT NULL, seq INTEGER NOT NULL, reviewer TEXT NOT NULL,
    verdict TEXT NOT NULL, body BLOB NOT NULL, signature TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS decisions_proposal ON decisions (proposal, seq);
CREATE TABLE IF NOT EXISTS refusals (proposal TEXT NOT NULL, reviewer TEXT NOT NULL,
    code TEXT NOT NULL, PRIMARY KEY (proposal, reviewer, code));
CREATE TABLE IF NOT EXISTS tokens (hash TEXT PRIMARY KEY, role TEXT NOT NULL,
    identity TEXT NOT NULL, expires_at REAL);
CREATE TABLE IF NOT EXISTS challenges (nonce TEXT PRIMARY KEY, identity TEXT NOT NULL,
    expires_at REAL NOT NULL, used INTEGER NOT NULL DEFAULT 0);
"""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "fey_" + secrets.token_urlsafe(32)


class ServerStore:
    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite_utils.Database(sqlite3.connect(
                data_dir / DB_NAME, check_same_thread=False, isolation_level=None))
            self.conn = self.db.conn
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.execute("PRAGMA busy_timeout=5000")
            self.conn.executescript(SCHEMA)
            columns = {r[1] for r in self.conn.execute("PRAGMA table_info(proposals)")}
            if "closed_size" not in columns:  # a store made before bundles pinned it
                self.conn.execute("ALTER TABLE proposals ADD COLUMN closed_size INTEGER")
        except sqlite3.Error as e:
            raise TransportError("storage", f"cannot open the server store: {e}") from e
        self.lock = threading.RLock()
        self.log = LogStore(self.db)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One atomic step: BEGIN IMMEDIATE … COMMIT, rolled back on any error."""
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def log_event(self, signer: LogSigner, kind: str, at: datetime, **fields: str) -> int:
        """Append one event and sign the new checkpoint; call inside `write()`."""
        index = self.log.append(Event.make(kind, at, **fields).raw)
        self.log.sign_checkpoint(signer)
        return index

    def create_token(self, role: str, identity: str) -> str:
        token = new_token()
        with self.write() as c:
            c.execute("INSERT INTO tokens (hash, role, identity, expires_at) VALUES (?,?,?,NULL)",
                      (token_hash(token), role, identity))
        return token

    def close(self) -> None:
        self.conn.close()
