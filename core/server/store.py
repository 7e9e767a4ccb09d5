"""The server's SQLite store (WAL): proposals, decisions, refusals, tokens, challenges, log.

Every state change and the log event that records it are written in ONE transaction, and
the checkpoint for the new log size is signed inside that same transaction: after a crash
the store holds either the whole step or none of it, and the latest checkpoint always covers
the whole log. One lock serialises every use of the one connection, reads included, so no
request can see another request's uncommitted rows; WAL lets other processes
(`foureyes log verify`, `foureyes tokens create`) read and write beside the running server.

Keep this interface narrow: a PostgreSQL store for several server instances would replace
this module and nothing else.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import sqlite_utils

from core.errors import TransportError
from core.formats import Event
from core.log.note import LogSigner
from core.log.store import LogStore, verify_store

DB_NAME = "server.sqlite"
BUSY_TIMEOUT_MS = 5000
TOKEN_PREFIX = "fey_"
TOKEN_BYTES = 32

SCHEMA = """
CREATE TABLE IF NOT EXISTS policies (
    hash TEXT PRIMARY KEY, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS proposals (
    hash TEXT PRIMARY KEY, body BLOB NOT NULL, proposer TEXT NOT NULL,
    requester TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL,
    received_at REAL NOT NULL, status TEXT NOT NULL, log_index INTEGER NOT NULL,
    receipt BLOB, receipt_sig TEXT);
CREATE INDEX IF NOT EXISTS proposals_status ON proposals (status, expires_at);
CREATE INDEX IF NOT EXISTS proposals_proposer ON proposals (proposer, received_at);
CREATE TABLE IF NOT EXISTS decisions (
    hash TEXT PRIMARY KEY, proposal TEXT NOT NULL, seq INTEGER NOT NULL,
    reviewer TEXT NOT NULL, verdict TEXT NOT NULL, body BLOB NOT NULL,
    signature TEXT NOT NULL, log_index INTEGER NOT NULL, UNIQUE (proposal, seq));
CREATE INDEX IF NOT EXISTS decisions_reviewer ON decisions (proposal, reviewer);
CREATE TABLE IF NOT EXISTS refusals (
    log_index INTEGER PRIMARY KEY, proposal TEXT NOT NULL, reviewer TEXT NOT NULL,
    code TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS refusals_reviewer ON refusals (proposal, reviewer);
CREATE TABLE IF NOT EXISTS tokens (
    hash TEXT PRIMARY KEY, role TEXT NOT NULL, identity TEXT NOT NULL,
    created_at REAL NOT NULL, expires_at REAL);
CREATE TABLE IF NOT EXISTS challenges (
    nonce TEXT PRIMARY KEY, identity TEXT NOT NULL, expires_at REAL NOT NULL,
    used INTEGER NOT NULL DEFAULT 0);
"""


def token_hash(token: str) -> str:
    """Tokens are kept only as this hash: a copy of the database logs nobody in."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


class ServerStore:
    def __init__(self, data_dir: Path) -> None:
        data_dir = Path(data_dir)
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(data_dir / DB_NAME, check_same_thread=False,
                                   isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode=WAL")
            # FULL: an acknowledged write survives a power cut, not only a killed process.
            conn.execute("PRAGMA synchronous=FULL")
            conn.executescript(SCHEMA)
            self.db = sqlite_utils.Database(conn)
        except (OSError, sqlite3.Error) as e:
            raise TransportError("storage", f"cannot open the server store in {data_dir}: "
                                 f"{e}") from e
        self.conn = conn
        self.lock = threading.RLock()
        self.log = LogStore(self.db)
        self._version = 0

    @property
    def version(self) -> int:
        """Bumped after every commit, so long-polls notice changes without a query."""
        return self._version

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One atomic step: BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""
        with self.lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as e:
                raise TransportError("storage", f"the store is unavailable: {e}") from e
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException as e:
                self.conn.execute("ROLLBACK")
                if isinstance(e, sqlite3.Error):
                    raise TransportError("storage", f"the store refused a write: {e}") from e
                raise
            finally:
                self._version += 1

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """Reads share the lock, so they never see half of another request's transaction."""
        with self.lock:
            try:
                yield self.conn
            except sqlite3.Error as e:
                raise TransportError("storage", f"the store refused a read: {e}") from e

    def log_event(self, signer: LogSigner, kind: str, at: datetime, **fields: str) -> int:
        """Append one event and sign the checkpoint for the new size; call inside `write()`."""
        index = self.log.append(Event.make(kind, at, **fields).raw)
        self.log.sign_checkpoint(signer)
        return index

    def check_log(self, signer: LogSigner) -> None:
        """Refuse to serve from a log that no longer matches its own signed checkpoints."""
        with self.read():
            report = verify_store(self.db, [signer.verifier])
        if not report.ok:
            where = "" if report.first_bad_index is None else \
                f" (first bad index {report.first_bad_index})"
            raise TransportError("storage", "the audit log does not verify against this "
                                 f"server's log key{where}: {report.problems[0]}")
        with self.write():
            if self.log.size and self.log.latest_checkpoint() is None:
                self.log.sign_checkpoint(signer)

    def create_token(self, role: str, identity: str, lifetime: float | None = None) -> str:
        """A new bearer token; only its hash is stored, so it can be shown exactly once."""
        token = new_token()
        now = time.time()
        with self.write() as c:
            c.execute("INSERT INTO tokens (hash, role, identity, created_at, expires_at) "
                      "VALUES (?,?,?,?,?)", (token_hash(token), role, identity, now,
                                             None if lifetime is None else now + lifetime))
        return token

    def close(self) -> None:
        with self.lock:
            self.conn.close()
