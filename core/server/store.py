"""The server's SQLite store (WAL): proposals, decisions, tokens, sessions and the log.

Every state change and the log event that records it are written in ONE transaction, then a
checkpoint is signed for the new log size in the same transaction: after a crash the store
holds either the whole step or none of it. One lock serialises writers; SQLite in WAL mode
lets readers in other processes (log verify) read while the server runs.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
    status TEXT NOT NULL, receipt BLOB, receipt_sig TEXT);
CREATE INDEX IF NOT EXISTS proposals_status ON proposals (status, expires_at);
CREATE TABLE IF NOT EXISTS decisions (
    hash TEXT PRIMARY KEY, proposal TEXT NOT NULL, seq INTEGER NOT NULL, reviewer TEXT NOT NULL,
    verdict TEXT NOT NULL, body BLOB NOT NULL, signature TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS decisions_proposal ON decisions (proposal, seq);
CREATE TABLE IF NOT EXISTS tokens (hash TEXT PRIMARY KEY, role TEXT NOT NULL,
    identity TEXT NOT NULL, expires_at REAL, created_at REAL, revoked_at REAL);
CREATE TABLE IF NOT EXISTS challenges (nonce TEXT PRIMARY KEY, identity TEXT NOT NULL,
    expires_at REAL NOT NULL, used INTEGER NOT NULL DEFAULT 0);
"""


# Columns added after the first release; an older store gets them on open.
_TOKEN_COLUMNS = (("created_at", "REAL"), ("revoked_at", "REAL"))
DIR_MODE = 0o700
FILE_MODE = 0o600
DB_FILES = (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm", DB_NAME + "-journal")
TOKEN_ID_CHARS = 12  # shown by `tokens list`: a prefix of the token's hash, never the secret


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "fey_" + secrets.token_urlsafe(32)


def _private(data_dir: Path, create: bool) -> None:
    """The data directory 0700 and its database files 0600, whatever the umask said.

    The database file is opened (to create it 0600) only before SQLite opens it: closing any
    descriptor of a database file drops every POSIX lock this process holds on it."""
    data_dir.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    os.chmod(data_dir, DIR_MODE)
    if create:
        fd = os.open(data_dir / DB_NAME, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, FILE_MODE)
        os.close(fd)
    for name in DB_FILES:
        path = data_dir / name
        if path.exists() and not path.is_symlink():
            os.chmod(path, FILE_MODE)


@dataclass(frozen=True)
class TokenRow:
    id: str
    role: str
    identity: str
    created_at: float | None
    expires_at: float | None
    revoked_at: float | None

    def state(self, now: float) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at < now:
            return "expired"
        return "active"


class ServerStore:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        old_umask = os.umask(0o077)  # SQLite's -wal and -shm files are born private too
        try:
            _private(data_dir, create=True)
            self.db = sqlite_utils.Database(sqlite3.connect(
                data_dir / DB_NAME, check_same_thread=False, isolation_level=None))
            self.conn = self.db.conn
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.execute("PRAGMA busy_timeout=5000")
            self.conn.executescript(SCHEMA)
            have = {r[1] for r in self.conn.execute("PRAGMA table_info(tokens)")}
            for name, kind in _TOKEN_COLUMNS:
                if name not in have:
                    self.conn.execute(f"ALTER TABLE tokens ADD COLUMN {name} {kind}")
            _private(data_dir, create=False)
        except (sqlite3.Error, OSError) as e:
            raise TransportError("storage", f"cannot open the server store: {e}") from e
        finally:
            os.umask(old_umask)
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

    def create_token(self, role: str, identity: str, lifetime: float) -> str:
        """A new bearer token valid for `lifetime` seconds; only its hash is stored."""
        token = new_token()
        now = time.time()
        with self.write() as c:
            c.execute("INSERT INTO tokens (hash, role, identity, expires_at, created_at) "
                      "VALUES (?,?,?,?,?)", (token_hash(token), role, identity, now + lifetime,
                                             now))
        return token

    def list_tokens(self) -> list[TokenRow]:
        rows = self.conn.execute("SELECT hash, role, identity, created_at, expires_at, "
                                 "revoked_at FROM tokens ORDER BY created_at, hash").fetchall()
        return [TokenRow(h[:TOKEN_ID_CHARS], *rest) for h, *rest in rows]

    def revoke_token(self, token_id: str) -> TokenRow:
        """Revoke the one token whose id (hash prefix) is `token_id`."""
        from core.errors import InvalidData

        if not re.fullmatch(f"[0-9a-f]{{{TOKEN_ID_CHARS}}}", token_id):
            raise InvalidData("not_found", f"a token id is {TOKEN_ID_CHARS} hex characters, "
                              "as `foureyes tokens list` shows")
        with self.write() as c:
            rows = c.execute("SELECT hash FROM tokens WHERE substr(hash, 1, ?) = ?",
                             (TOKEN_ID_CHARS, token_id)).fetchall()
            if len(rows) != 1:
                raise InvalidData("not_found", f"no single token with id {token_id}")
            c.execute("UPDATE tokens SET revoked_at=? WHERE hash=? AND revoked_at IS NULL",
                      (time.time(), rows[0][0]))
        return next(t for t in self.list_tokens() if t.id == token_id)

    def close(self) -> None:
        self.conn.close()
