"""The append-only audit log in SQLite, with signed checkpoints.

`append` never commits: callers (the server, the folder gate) append inside their own
transaction together with their own rows, so a crash leaves either the whole event or none
of it. Leaf hashes are cached in memory and re-read whenever the table's size differs
from the cache, which also drops leaves of a rolled-back transaction.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

import sqlite_utils

from core.errors import InvalidData, TransportError
from core.log.merkle import (
    CompactRange,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_hash,
)
from core.log.note import LogSigner, LogVerifier, parse_checkpoint, verify_checkpoint

MAX_ENTRY_BYTES = 64 * 1024


class LogStore:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self.conn: sqlite3.Connection = db.conn
        try:
            self.conn.execute("CREATE TABLE IF NOT EXISTS log_entries ("
                              "idx INTEGER PRIMARY KEY, entry BLOB NOT NULL, leaf BLOB NOT NULL)")
            self.conn.execute("CREATE TABLE IF NOT EXISTS log_checkpoints ("
                              "size INTEGER PRIMARY KEY, note TEXT NOT NULL)")
            if not self.conn.in_transaction:
                self.conn.commit()
        except sqlite3.Error as e:
            raise TransportError("storage", f"cannot open the log: {e}") from e
        self._leaves: list[bytes] = []
        self._range = CompactRange()
        self._nodes: dict[tuple[int, int], bytes] = {}  # perfect subtree roots, immutable

    def _sync(self) -> list[bytes]:
        (count,) = self.conn.execute("SELECT COUNT(*) FROM log_entries").fetchone()
        if count != len(self._leaves):
            rows = self.conn.execute("SELECT leaf FROM log_entries ORDER BY idx").fetchall()
            self._leaves = [bytes(r[0]) for r in rows]
            self._nodes = {k: v for k, v in self._nodes.items() if k[0] + k[1] <= count}
            self._range = CompactRange()
            for leaf in self._leaves:
                self._range.append(leaf)
        return self._leaves

    @property
    def size(self) -> int:
        return len(self._sync())

    def append(self, entry: bytes) -> int:
        """Add one event; returns its index. Does not commit (see module docstring)."""
        if not isinstance(entry, bytes) or not entry or len(entry) > MAX_ENTRY_BYTES:
            raise InvalidData("format", "a log entry must be 1 byte to 64 KiB")
        leaves = self._sync()
        index = len(leaves)
        leaf = leaf_hash(entry)
        self.conn.execute("INSERT INTO log_entries (idx, entry, leaf) VALUES (?, ?, ?)",
                          (index, entry, leaf))
        leaves.append(leaf)
        self._range.append(leaf)
        return index

    def root(self, size: int | None = None) -> bytes:
        leaves = self._sync()
        if size is None or size == len(leaves):
            return self._range.root()
        if not 0 <= size <= len(leaves):
            raise InvalidData("not_found", f"the log has no size {size}")
        return root_hash(leaves[:size])

    def entry(self, index: int) -> bytes:
        row = self.conn.execute("SELECT entry FROM log_entries WHERE idx=?", (index,)).fetchone()
        if row is None:
            raise InvalidData("not_found", f"the log has no entry {index}")
        return bytes(row[0])

    def entries(self, start: int, stop: int) -> list[bytes]:
        rows = self.conn.execute("SELECT entry FROM log_entries WHERE idx>=? AND idx<? "
                                 "ORDER BY idx", (start, stop)).fetchall()
        return [bytes(r[0]) for r in rows]

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        leaves = self._sync()
        if not 0 <= index < size <= len(leaves):
            raise InvalidData("not_found", "no such index or tree size in the log")
        return inclusion_proof(leaves, index, size, self._nodes)

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        leaves = self._sync()
        if not 0 < old <= new <= len(leaves):
            raise InvalidData("not_found", "no such tree sizes in the log")
        return consistency_proof(leaves, old, new, self._nodes)

    def sign_checkpoint(self, signer: LogSigner) -> str:
        """Sign the current size and root and store the note; the caller commits."""
        size = self.size
        note = signer.sign_checkpoint(size, self.root())
        self.conn.execute("INSERT OR REPLACE INTO log_checkpoints (size, note) VALUES (?, ?)",
                          (size, note))
        return note

    def latest_checkpoint(self) -> str | None:
        row = self.conn.execute("SELECT note FROM log_checkpoints ORDER BY size DESC LIMIT 1"
                                ).fetchone()
        return row[0] if row else None

    def checkpoints(self) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT note FROM log_checkpoints ORDER BY size").fetchall()]


@dataclass
class StoreReport:
    size: int = 0
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)
    first_bad_index: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_store(db: sqlite_utils.Database, trusted: list[LogVerifier],
                 extra_checkpoints: list[str] = ()) -> StoreReport:
    """Recompute every leaf and root from the stored bytes; check every checkpoint."""
    report = StoreReport()
    rows = db.conn.execute("SELECT idx, entry, leaf FROM log_entries ORDER BY idx").fetchall()
    leaves: list[bytes] = []
    for expected, (idx, entry, leaf) in enumerate(rows):
        recomputed = leaf_hash(bytes(entry))
        if idx != expected or recomputed != bytes(leaf):
            report.first_bad_index = expected
            report.problems.append(f"entry {expected} does not match its stored leaf hash "
                                   "(altered or missing)")
            break
        leaves.append(recomputed)
    report.size = len(rows)
    notes = [r[0] for r in db.conn.execute("SELECT note FROM log_checkpoints ORDER BY size")]
    parsed: list[tuple[int, bytes]] = []
    for note in [*notes, *extra_checkpoints]:
        report.checkpoints += 1
        try:
            cp = verify_checkpoint(note, trusted) if trusted else parse_checkpoint(note)
        except InvalidData as e:
            report.problems.append(f"checkpoint: {e.message}")
            continue
        if cp.size > len(leaves):
            report.problems.append(f"checkpoint at size {cp.size} is beyond the "
                                   f"{len(leaves)} good entries")
        else:
            parsed.append((cp.size, cp.root))
    # One pass over the leaves, comparing roots as each checkpoint's size is reached:
    # linear in the log, however many checkpoints there are (a server signs one per event).
    parsed.sort()
    compact = CompactRange()
    last_good = 0
    for size, root in parsed:
        while compact.size < size:
            compact.append(leaves[compact.size])
        if compact.root() == root:
            last_good = max(last_good, size)
            continue
        report.problems.append(f"checkpoint at size {size} does not match the recomputed root")
        if report.first_bad_index is None or report.first_bad_index >= size:
            report.first_bad_index = last_good  # the damage lies after the last good one
    return report
