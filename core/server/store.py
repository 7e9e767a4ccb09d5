"""The server's SQLite store (WAL): proposals, decisions, tokens, sessions and the log.

Every state change and the log event that records it are written in ONE transaction, and
a checkpoint is signed for the new log size in the same transaction, before its COMMIT:
after a crash the store holds either the whole step and a checkpoint covering it, or none
of it.

Connections: one writer connection, used only inside `write()` under one lock; every other
thread reads through its own connection (`conn` picks the right one), so a reader sees
committed rows only, never a writer's half-done step. SQLite in WAL mode lets them read
while the writer writes, in this process and in others (log verify).

Group commit: steps that arrive while one is running share the next COMMIT (see `write`):
one fsync for many steps, and still no step acknowledged before it is durable. The group
is also the checkpoint batch: ONE checkpoint is signed per group that logged anything, for
the log's size at its COMMIT, so every acknowledged step is inside the latest checkpoint
when its caller returns, and a busy server signs (and a verifier checks) one note per
group instead of one per event (at most MAX_GROUP_STEPS steps apart).

Checkpoint file: after each commit, the checkpoints its steps signed are appended to a
file outside the data directory (O_APPEND, fsynced) for the operator to ship elsewhere;
`foureyes log verify --checkpoint FILE` later proves the log still extends every one of
them, so deleting the log's tail (or all of it) shows.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlite_utils

from core.errors import InvalidData, TransportError
from core.formats import Event
from core.log.note import LogSigner, parse_checkpoint, split_notes
from core.log.store import LogStore

DB_NAME = "server.sqlite"
CHECKPOINT_TAIL_BYTES = 64 * 1024  # read at start-up to find the last shipped checkpoint
MAX_GROUP_STEPS = 256  # steps committed together at most (more threads than the pool has)
FAILED_GROUPS_KEPT = 1024  # how long a failed commit is remembered for its waiters
_log = logging.getLogger(__name__)
SCHEMA = """
CREATE TABLE IF NOT EXISTS policies (hash TEXT PRIMARY KEY, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS proposals (
    hash TEXT PRIMARY KEY, body BLOB NOT NULL, proposer TEXT NOT NULL, requester TEXT NOT NULL,
    created_at TEXT NOT NULL, expires_at TEXT NOT NULL, received_at REAL NOT NULL,
    status TEXT NOT NULL, receipt BLOB, receipt_sig TEXT, closed_size INTEGER);
CREATE INDEX IF NOT EXISTS proposals_status ON proposals (status, expires_at);
CREATE INDEX IF NOT EXISTS proposals_open ON proposals (proposer, status);
CREATE INDEX IF NOT EXISTS proposals_by_proposer ON proposals (proposer, received_at DESC, hash);
CREATE INDEX IF NOT EXISTS proposals_newest ON proposals (received_at DESC, hash);
CREATE TABLE IF NOT EXISTS decisions (
    hash TEXT PRIMARY KEY, proposal TEXT NOT NULL, seq INTEGER NOT NULL, reviewer TEXT NOT NULL,
    verdict TEXT NOT NULL, body BLOB NOT NULL, signature TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS decisions_proposal ON decisions (proposal, seq);
CREATE TABLE IF NOT EXISTS refusals (proposal TEXT NOT NULL, reviewer TEXT NOT NULL,
    code TEXT NOT NULL, PRIMARY KEY (proposal, reviewer, code));
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
    def __init__(self, data_dir: Path, checkpoint_file: Path | None = None) -> None:
        self.data_dir = data_dir
        self.path = data_dir / DB_NAME
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        old_umask = os.umask(0o077)  # SQLite's -wal and -shm files are born private too
        try:
            _private(data_dir, create=True)
            self._writer = sqlite3.connect(self.path, check_same_thread=False,
                                           isolation_level=None)
            self._writer.execute("PRAGMA journal_mode=WAL")
            self._writer.execute("PRAGMA synchronous=FULL")
            self._writer.execute("PRAGMA busy_timeout=5000")
            self._writer.executescript(SCHEMA)
            columns = {r[1] for r in self._writer.execute("PRAGMA table_info(proposals)")}
            if "closed_size" not in columns:  # a store made before bundles pinned it
                self._writer.execute("ALTER TABLE proposals ADD COLUMN closed_size INTEGER")
            have = {r[1] for r in self._writer.execute("PRAGMA table_info(tokens)")}
            for name, kind in _TOKEN_COLUMNS:
                if name not in have:
                    self._writer.execute(f"ALTER TABLE tokens ADD COLUMN {name} {kind}")
            _private(data_dir, create=False)
        except (sqlite3.Error, OSError) as e:
            raise TransportError("storage", f"cannot open the server store: {e}") from e
        finally:
            os.umask(old_umask)
        self.db = sqlite_utils.Database(self._writer)  # the writer's view (start-up checks)
        self.lock = threading.RLock()
        # Group commit (see write()): the open group, how many threads wait to join it.
        self._cv = threading.Condition(self.lock)
        self._counter_lock = threading.Lock()
        self._waiting = 0
        self._open = False
        self._group = self._committed = self._group_steps = 0
        self._group_signer: LogSigner | None = None  # set when a step of the group logged
        self._failed: dict[int, Exception] = {}
        with self.lock:
            self._local.writing = True  # LogStore creates its tables through the writer
            try:
                self.log = LogStore(self.db, connection=lambda: self.conn)
            finally:
                self._local.writing = False
        self.checkpoint_file = checkpoint_file
        self._checkpoint_fd: int | None = None
        if checkpoint_file is not None:
            self._open_checkpoint_file(checkpoint_file)

    @property
    def conn(self) -> sqlite3.Connection:
        """The writer inside `write()` on this thread; else this thread's read connection."""
        if getattr(self._local, "writing", False):
            return self._writer
        reader = getattr(self._local, "reader", None)
        if reader is None:
            try:
                reader = sqlite3.connect(self.path, check_same_thread=False,
                                         isolation_level=None)
                reader.execute("PRAGMA busy_timeout=5000")
                reader.execute("PRAGMA query_only=ON")
            except sqlite3.Error as e:
                raise TransportError("storage", f"cannot read the server store: {e}") from e
            with self._readers_lock:
                self._readers.append(reader)
            self._local.reader = reader
        return reader

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One atomic step, acknowledged (returned from) only once it is durable.

        Group commit: the step runs in a SAVEPOINT of the writer's open transaction, rolled
        back alone on any error. When no other thread is waiting to add a step (or the
        group is full), the thread that ran the last step commits the whole group with one
        COMMIT (one fsync) and appends the group's checkpoints to the checkpoint file (one
        fsync); every thread of the group returns after that. A crash before the COMMIT
        loses the whole group, none of it acknowledged; each step is still whole or absent.
        """
        if getattr(self._local, "writing", False):  # a step inside a step
            with self._savepoint():
                yield self._writer
            return
        with self._counter_lock:
            self._waiting += 1
        with self.lock:
            with self._counter_lock:
                self._waiting -= 1
            if not self._open:
                self._writer.execute("BEGIN IMMEDIATE")
                self._open, self._group = True, self._group + 1
                self._group_steps = 0
            group = self._group
            self._local.writing, self._local.signer = True, None
            try:
                with self._savepoint():
                    yield self._writer
                self._group_signer = self._local.signer or self._group_signer
                self._group_steps += 1
            finally:
                self._local.writing, self._local.signer = False, None
                if self._waiting == 0 or self._group_steps >= MAX_GROUP_STEPS:
                    self._commit()
                while self._committed < group:
                    self._cv.wait()
            failure = self._failed.get(group)
            if failure is not None:
                raise TransportError("storage", f"cannot commit: {failure}") from failure

    @contextmanager
    def _savepoint(self) -> Iterator[None]:
        self._writer.execute("SAVEPOINT step")
        try:
            yield
        except BaseException:
            self._writer.execute("ROLLBACK TO step")
            self._writer.execute("RELEASE step")
            raise
        self._writer.execute("RELEASE step")

    def _commit(self) -> None:
        """Commit the open group and ship its checkpoints; under the lock."""
        group, signer = self._group, self._group_signer
        self._open, self._group_signer = False, None
        notes: list[str] = []
        try:
            if signer is not None:  # the group's one checkpoint, in its transaction
                self._local.writing = True
                try:
                    notes.append(self.log.sign_checkpoint(signer))
                finally:
                    self._local.writing = False
            self._writer.execute("COMMIT")
        except (sqlite3.Error, TransportError) as e:
            with suppress(sqlite3.Error):
                self._writer.execute("ROLLBACK")
            self._failed[group] = e
            notes = []
        self._failed.pop(group - FAILED_GROUPS_KEPT, None)
        self._ship(notes)
        self._committed = group
        self._cv.notify_all()

    def log_event(self, signer: LogSigner, kind: str, at: datetime, **fields: str) -> int:
        """Append one event; call inside `write()`. The group's checkpoint, signed before
        its COMMIT, covers it (see `_commit`)."""
        if not getattr(self._local, "writing", False):
            raise TransportError("storage", "log events are written inside write()")
        index = self.log.append(Event.make(kind, at, **fields))
        self._local.signer = signer
        return index

    # ------------------------------------------------------------------ checkpoint file

    def _open_checkpoint_file(self, path: Path) -> None:
        """Open for appending; refuse to start when the log is behind (or differs from) the
        last checkpoint shipped there: its tail was deleted or rewritten."""
        try:
            self._checkpoint_fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT
                                          | getattr(os, "O_CLOEXEC", 0), 0o644)
            with open(path, "rb") as f:
                f.seek(max(0, os.fstat(f.fileno()).st_size - CHECKPOINT_TAIL_BYTES))
                tail = f.read().decode("utf-8", "replace")
        except OSError as e:
            raise TransportError("storage", f"cannot open the checkpoint file {path}: "
                                 f"{e.strerror}") from e
        notes = split_notes(tail)
        if not notes:
            return
        try:
            last = parse_checkpoint(notes[-1])
        except InvalidData:
            return  # a torn final write; `log verify --checkpoint` reports it
        size = self.log.size
        if last.size > size or self.log.root(last.size) != last.root:
            raise InvalidData("log_damaged", f"the log is not consistent with the last "
                              f"checkpoint in {path} (size {last.size}; the log has {size} "
                              "entries): entries were deleted or changed")

    def _ship(self, notes: list[str]) -> None:
        if self._checkpoint_fd is None or not notes:
            return
        try:
            os.write(self._checkpoint_fd, "".join(n + "\n" for n in notes).encode())
            os.fsync(self._checkpoint_fd)
        except OSError as e:
            # The step is committed; a later checkpoint covers it, so a lost line weakens
            # nothing but must be seen.
            _log.error("cannot append to the checkpoint file %s: %s", self.checkpoint_file,
                       e.strerror)

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
        with self._readers_lock:
            readers, self._readers = self._readers, []
        for reader in readers:
            reader.close()
        self._writer.close()
        if self._checkpoint_fd is not None:
            os.close(self._checkpoint_fd)
            self._checkpoint_fd = None
