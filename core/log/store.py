"""The append-only audit log in SQLite, with signed checkpoints.

Three tables, every row immutable once committed:

- ``log_entries (idx, entry, leaf)``: the entries and their leaf hashes;
- ``log_nodes (level, idx, hash)``: the root of every complete perfect subtree above the
  leaves; node (level, idx) covers leaves [idx·2^level, (idx+1)·2^level);
- ``log_checkpoints (size, note)``: every signed note, by tree size.

And one index, written in the transaction of each append: ``log_subjects (subject, idx)``
files every entry under what it is about (`core.log.events.subjects`), so the entries of
one proposal are one indexed range read, however long the log (issue "cost");
``log_subjects_state`` holds how many entries it covers (moved on with each checkpoint: an
entry appended by this code is filed anyway), so a log written before the index (or by an
older version) is filed on open from there on, once.

So every operation costs O(log n) indexed lookups, never a scan and never a load of the
tree: an append writes its leaf and the nodes it completes (one sibling read per level);
the root of any size s ≤ n folds the popcount(s) nodes covering [0, s); every hash an RFC
9162 inclusion or consistency proof needs (to the latest size or any past one) is a
subtree made of at most log2(n) stored nodes (`merkle.perfect_cover`).

No state lives in memory: a LogStore reads and writes through the connection its
``connection`` callable returns at that moment. The server gives each reading thread its
own connection (it sees committed rows only) and the writer its own, which sees its open
transaction; nothing mutable is shared between threads.

`append` never commits: callers (the server, the folder gate) append inside their own
transaction together with their own rows, and sign the checkpoint in that same
transaction, so a crash leaves either the whole event and its checkpoint or none of it.
"""

from __future__ import annotations

import hashlib
import itertools
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import sqlite_utils

from core.errors import InvalidData, TransportError
from core.formats import Event
from core.log.events import subjects
from core.log.merkle import (
    EMPTY_ROOT,
    consistency_path,
    fold,
    inclusion_path,
    leaf_hash,
    node_hash,
    perfect_cover,
)
from core.log.note import LogSigner, LogVerifier, parse_checkpoint, verify_checkpoint

MAX_ENTRY_BYTES = 64 * 1024
BACKFILL_BATCH = 10_000

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS log_entries ("
    "idx INTEGER PRIMARY KEY, entry BLOB NOT NULL, leaf BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS log_nodes (level INTEGER NOT NULL, idx INTEGER NOT NULL, "
    "hash BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS log_checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS log_subjects (subject TEXT NOT NULL, idx INTEGER NOT NULL, "
    "PRIMARY KEY (subject, idx)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS log_subjects_state (one INTEGER PRIMARY KEY CHECK (one = 1), "
    "indexed INTEGER NOT NULL)",
)

# The hot queries, each one indexed lookup (tests/test_log_cost.py checks their plans).
Q_SIZE = "SELECT MAX(idx) FROM log_entries"
Q_LEAF = "SELECT leaf FROM log_entries WHERE idx=?"
Q_NODE = "SELECT hash FROM log_nodes WHERE level=? AND idx=?"
Q_ENTRY = "SELECT entry FROM log_entries WHERE idx=?"
Q_ENTRIES = "SELECT entry FROM log_entries WHERE idx>=? AND idx<? ORDER BY idx"
Q_CHECKPOINT_AT = "SELECT note FROM log_checkpoints WHERE size=?"
Q_COVERING = "SELECT note FROM log_checkpoints WHERE size>=? ORDER BY size LIMIT 1"
Q_LATEST = ("SELECT note FROM log_checkpoints WHERE size=(SELECT MAX(size) FROM "
            "log_checkpoints)")
I_ENTRY = "INSERT INTO log_entries (idx, entry, leaf) VALUES (?, ?, ?)"
I_NODE = "INSERT INTO log_nodes (level, idx, hash) VALUES (?, ?, ?)"
I_CHECKPOINT = "INSERT OR REPLACE INTO log_checkpoints (size, note) VALUES (?, ?)"
Q_ABOUT = "SELECT idx FROM log_subjects WHERE subject=? AND idx<? ORDER BY idx"
Q_LAST_ABOUT = "SELECT MAX(idx) FROM log_subjects WHERE subject=? AND idx<?"
Q_INDEXED = "SELECT indexed FROM log_subjects_state WHERE one=1"
I_SUBJECT = "INSERT OR IGNORE INTO log_subjects (subject, idx) VALUES (?, ?)"
U_INDEXED = "INSERT OR REPLACE INTO log_subjects_state (one, indexed) VALUES (1, ?)"


@contextmanager
def _storage(what: str) -> Iterator[None]:
    """The one place sqlite3 errors of the log become TransportError."""
    try:
        yield
    except sqlite3.Error as e:
        raise TransportError("storage", f"cannot {what}: {e}") from e


def _damaged(why: str) -> InvalidData:
    return InvalidData("log_damaged", why)


class LogStore:
    def __init__(self, db: sqlite_utils.Database,
                 connection: Callable[[], sqlite3.Connection] | None = None) -> None:
        self.db = db
        self._connection = connection or (lambda: db.conn)
        conn = self.conn
        with _storage("open the log"):
            was_open = conn.in_transaction
            for statement in SCHEMA:
                conn.execute(statement)
            self._backfill(conn)
            if conn.in_transaction and not was_open:
                conn.commit()
            self._index_subjects(conn, was_open)

    @property
    def conn(self) -> sqlite3.Connection:
        return self._connection()

    # ------------------------------------------------------------------ reading

    @staticmethod
    def _size(conn: sqlite3.Connection) -> int:
        (top,) = conn.execute(Q_SIZE).fetchone()
        return 0 if top is None else top + 1

    @staticmethod
    def _node(conn: sqlite3.Connection, level: int, index: int) -> bytes:
        row = conn.execute(Q_LEAF, (index,)).fetchone() if level == 0 else \
            conn.execute(Q_NODE, (level, index)).fetchone()
        if row is None:
            raise _damaged(f"the log lacks its subtree hash ({level}, {index})")
        return bytes(row[0])

    def _mth(self, conn: sqlite3.Connection, lo: int, hi: int) -> bytes:
        return fold([self._node(conn, level, i) for level, i in perfect_cover(lo, hi)])

    @property
    def size(self) -> int:
        with _storage("read the log"):
            return self._size(self.conn)

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` entries (default: all), from ≤ log2 n stored nodes."""
        with _storage("read the log"):
            conn = self.conn
            current = self._size(conn)
            size = current if size is None else size
            if not 0 <= size <= current:
                raise InvalidData("not_found", f"the log has no size {size}")
            return EMPTY_ROOT if size == 0 else self._mth(conn, 0, size)

    def entry(self, index: int) -> bytes:
        with _storage("read the log"):
            row = self.conn.execute(Q_ENTRY, (index,)).fetchone()
        if row is None:
            raise InvalidData("not_found", f"the log has no entry {index}")
        return bytes(row[0])

    def entries(self, start: int, stop: int) -> list[bytes]:
        with _storage("read the log"):
            rows = self.conn.execute(Q_ENTRIES, (start, stop)).fetchall()
        return [bytes(r[0]) for r in rows]

    def about(self, subject: str, stop: int) -> list[int]:
        """The indices before ``stop`` filed under ``subject``, in order (one indexed range
        read). The index is not evidence: callers check each entry it names (see
        `core.bundle.build.proposal_entries`)."""
        with _storage("read the log"):
            return [r[0] for r in self.conn.execute(Q_ABOUT, (subject, stop)).fetchall()]

    def last_about(self, subject: str, stop: int) -> int | None:
        """The last index before ``stop`` filed under ``subject``, if any."""
        with _storage("read the log"):
            (idx,) = self.conn.execute(Q_LAST_ABOUT, (subject, stop)).fetchone()
        return idx

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """RFC 9162 PATH(index, D[0:size]) for any size up to the current one."""
        with _storage("read the log"):
            conn = self.conn
            if not 0 <= index < size <= self._size(conn):
                raise InvalidData("not_found", "no such index or tree size in the log")
            return inclusion_path(lambda lo, hi: self._mth(conn, lo, hi), index, size)

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        """RFC 9162 PROOF(old, D[0:new])."""
        with _storage("read the log"):
            conn = self.conn
            if not 0 < old <= new <= self._size(conn):
                raise InvalidData("not_found", "no such tree sizes in the log")
            return consistency_path(lambda lo, hi: self._mth(conn, lo, hi), old, new)

    def checkpoint_at(self, size: int) -> str | None:
        """The note stored for exactly this tree size, if one was signed."""
        with _storage("read the log"):
            row = self.conn.execute(Q_CHECKPOINT_AT, (size,)).fetchone()
        return row[0] if row else None

    def checkpoint_covering(self, size: int) -> str | None:
        """The smallest stored note of at least this size: a server signs one checkpoint
        per group commit, so the note covering an event may be a few steps larger than the
        event's own size (never larger than the group it was committed in)."""
        with _storage("read the log"):
            row = self.conn.execute(Q_COVERING, (size,)).fetchone()
        return row[0] if row else None

    def latest_checkpoint(self) -> str | None:
        with _storage("read the log"):
            row = self.conn.execute(Q_LATEST).fetchone()
        return row[0] if row else None

    def checkpoints(self) -> list[str]:
        """Every stored note (linear: for audits, not for the request path)."""
        with _storage("read the log"):
            return [r[0] for r in self.conn.execute(
                "SELECT note FROM log_checkpoints ORDER BY size").fetchall()]

    # ------------------------------------------------------------------ writing

    def append(self, entry: bytes | Event) -> int:
        """Add one event (its bytes, or the Event `Event.make` parsed them into, which
        spares parsing them again to file it); returns its index. Does not commit (see
        module docstring)."""
        event, entry = (entry, entry.raw) if isinstance(entry, Event) else (None, entry)
        if not isinstance(entry, bytes) or not entry or len(entry) > MAX_ENTRY_BYTES:
            raise InvalidData("format", "a log entry must be 1 byte to 64 KiB")
        about = subjects(entry if event is None else event)
        with _storage("append to the log"):
            conn = self.conn
            index = self._size(conn)
            node = leaf_hash(entry)
            conn.execute(I_ENTRY, (index, entry, node))
            level, i = 0, index
            while i & 1:  # a right child: its parent subtree is complete now
                node = node_hash(self._node(conn, level, i - 1), node)
                level, i = level + 1, i >> 1
                conn.execute(I_NODE, (level, i, node))
            conn.executemany(I_SUBJECT, [(s, index) for s in about])
        return index

    def sign_checkpoint(self, signer: LogSigner) -> str:
        """Sign the size and root this connection sees and store the note; the caller
        commits. Call it on the writer's connection, in the transaction that appended (the
        server's `log_event` does): its view is the committed log plus its own rows."""
        with _storage("sign a checkpoint"):
            conn = self.conn
            size = self._size(conn)
            note = signer.sign_checkpoint(size, EMPTY_ROOT if size == 0 else
                                          self._mth(conn, 0, size))
            conn.execute(I_CHECKPOINT, (size, note))
            conn.execute(U_INDEXED, (size,))  # every entry since the open was filed
        return note

    @staticmethod
    def _index_subjects(conn: sqlite3.Connection, was_open: bool) -> None:
        """Once, for entries appended before the subject index existed (or by a version
        without it): file them from the stored high-water mark on, FETCH entries at a
        time, in one transaction with the new mark."""
        row = conn.execute(Q_INDEXED).fetchone()
        indexed, size = (0 if row is None else row[0]), LogStore._size(conn)
        if row is not None and indexed >= size:
            return
        if not was_open:
            conn.execute("BEGIN IMMEDIATE")
        entries = conn.cursor()
        entries.execute(Q_STREAM, (indexed,))
        while rows := entries.fetchmany(FETCH):
            conn.executemany(I_SUBJECT, [(s, idx) for idx, entry, _leaf in rows
                                         for s in subjects(bytes(entry))])
        conn.execute(U_INDEXED, (size,))
        if not was_open:
            conn.commit()

    def _backfill(self, conn: sqlite3.Connection) -> None:
        """Once, for a log written before log_nodes existed: compute its nodes in one pass."""
        size = self._size(conn)
        if size < 2 or conn.execute(Q_NODE, (1, size // 2 - 1)).fetchone() is not None:
            return
        conn.execute("DELETE FROM log_nodes")
        batch: list[tuple[int, int, bytes]] = []
        stack: list[bytes] = []
        for index, (leaf,) in enumerate(conn.execute("SELECT leaf FROM log_entries "
                                                     "ORDER BY idx").fetchall()):
            node, level, i = bytes(leaf), 0, index
            stack.append(node)
            while i & 1:
                right = stack.pop()
                node = node_hash(stack.pop(), right)
                stack.append(node)
                level, i = level + 1, i >> 1
                batch.append((level, i, node))
            if len(batch) >= BACKFILL_BATCH:
                conn.executemany(I_NODE, batch)
                batch.clear()
        conn.executemany(I_NODE, batch)


@dataclass(frozen=True)
class Resume:
    """Where a verification may start instead of at entry 0: the first ``size`` entries
    were verified earlier and their tree hashed to ``root``. The caller vouches for the
    pair (the server authenticates it with a key derived from the log key, see
    `core.log.verified`); `verify_store` checks that the stored subtree hashes covering
    [0, size) still fold to ``root`` and recomputes everything after."""

    size: int
    root: bytes


@dataclass
class StoreReport:
    size: int = 0
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)
    first_bad_index: int | None = None
    first_bad_checkpoint: str | None = None  # the earliest outside note the log breaks
    entries_read: int = 0  # entries streamed and rehashed (from the resume point on)
    root: bytes | None = None  # the recomputed root of the whole log, when every entry was good
    signed_size: int = 0  # the largest size a good stored checkpoint (or the resume) covers
    _first_outside: int | None = field(default=None, repr=False)

    def _bad_outside(self, position: int, label: str) -> None:
        if self._first_outside is None or position < self._first_outside:
            self._first_outside, self.first_bad_checkpoint = position, label

    def _bad_index(self, index: int) -> None:
        if self.first_bad_index is None or index < self.first_bad_index:
            self.first_bad_index = index

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class _Due:
    """A checkpoint to compare with the tree when the stream reaches its size."""

    size: int
    root: bytes
    name: str
    position: int | None  # its place among the outside notes; None for a stored one
    label: str


Q_STREAM = "SELECT idx, entry, leaf FROM log_entries WHERE idx>=? ORDER BY idx"
Q_STORED_NOTES = "SELECT size, note FROM log_checkpoints WHERE size>=? ORDER BY size"
Q_RANGE = "SELECT hash FROM log_nodes WHERE level=? AND idx>=? AND idx<? ORDER BY idx"
Q_BEYOND = "SELECT 1 FROM log_nodes WHERE level=? AND idx>=? LIMIT 1"
BLOCK = 8192  # leaves per block: its subtrees are hashed in memory, level by level
FETCH = 256  # entries read at a time: each is at most 64 KiB, so at most 16 MiB held


def verify_store(db: sqlite_utils.Database, trusted: list[LogVerifier],
                 extra_checkpoints: Iterable[str | tuple[str, str]] = (),
                 resume: Resume | None = None) -> StoreReport:
    """Recompute every leaf, stored node and root from the stored bytes; check every
    checkpoint, the stored ones and ``extra_checkpoints`` (notes kept outside the store,
    as text or as (label, text)), against the recomputed tree; with ``trusted`` keys, check
    every one's signature too.

    Streamed: one pass over the entries in index order through a cursor, the tree kept as
    its compact range (O(log n) hashes), the stored subtree hashes read level by level
    beside it and each stored checkpoint compared with the root at its size as the pass
    reaches it. Memory is bounded whatever the log's length.

    An outside checkpoint is consistent with the log when the log's first ``size``
    entries hash to its root (RFC 9162 §2.1.4: the old tree is a prefix of the new one;
    we hold every leaf, so we compare the roots rather than a proof). One beyond the log's
    size means entries were removed after it was signed.

    With ``resume``, entries before ``resume.size`` are not reread: the stored subtree
    hashes covering them must fold to ``resume.root``, and stored checkpoints before it are
    not checked again (outside ones are, against the stored subtree hashes)."""
    report = StoreReport()
    conn = db.conn
    size = LogStore._size(conn)
    report.size = size
    start = 0 if resume is None else resume.size
    report.signed_size = start
    stack: list[tuple[int, int, bytes]] = []
    if resume is not None:
        stack = _resumed_range(conn, report, size, resume)
        if stack is None:
            return report
    outside = [(x, x) if isinstance(x, str) else x for x in extra_checkpoints]
    due = _due_checkpoints(conn, report, trusted, outside, start)
    filed = _SubjectDigest.open(conn) if start == 0 else None
    good, unreached = _stream(conn, report, start, size, stack, due, filed)
    if filed is not None and good == size:
        filed.check(conn, report, size)
    for cp in unreached:  # what the stream never reached: beyond the good entries
        kept = cp.position is not None
        why = "its entries were deleted" if kept and cp.size > size else \
            "its entries are altered or missing"
        report.problems.append(f"{cp.name} (size {cp.size}) is not consistent with the log: "
                               f"the log has only {good} good entries ({why})")
        if kept:
            report._bad_outside(cp.position, cp.label)
    return report


def _resumed_range(conn: sqlite3.Connection, report: StoreReport, size: int,
                   resume: Resume) -> list[tuple[int, int, bytes]] | None:
    """The compact range at ``resume.size`` from the stored subtree hashes, if they still
    fold to the remembered root; else a problem and None."""
    if resume.size > size:
        report.problems.append(f"the log has {size} entries, fewer than the {resume.size} "
                               "verified before (entries were deleted)")
        report._bad_index(size)
        return None
    if resume.size == 0:
        return []
    try:
        stack = [(level, i, LogStore._node(conn, level, i))
                 for level, i in perfect_cover(0, resume.size)]
    except InvalidData as e:
        why = e.message
    else:
        why = "its stored subtree hashes no longer fold to the root verified then"
        if fold([h for _, _, h in stack]) == resume.root:
            return stack
    report.problems.append(f"the log's first {resume.size} entries changed since they were "
                           f"verified: {why}")
    report._bad_index(0)
    return None


def _due_checkpoints(conn: sqlite3.Connection, report: StoreReport,
                     trusted: list[LogVerifier], outside: list[tuple[str, str]],
                     start: int) -> Iterator[_Due]:
    """The checkpoints to compare, in size order: stored ones from ``start`` on, streamed
    from a cursor, merged with the outside ones (held: they came from a file). Each is
    signature-checked (with ``trusted``) or parsed as it comes; one that fails is a
    problem, not compared."""
    import heapq

    def check(note: str, name: str, position: int | None, label: str) -> _Due | None:
        report.checkpoints += 1
        try:
            cp = verify_checkpoint(note, trusted) if trusted else parse_checkpoint(note)
        except InvalidData as e:
            report.problems.append(f"{name}: {e.message}")
            if position is not None:
                report._bad_outside(position, label)
            return None
        return _Due(cp.size, cp.root, name, position, label)

    def stored() -> Iterator[_Due]:
        for row_size, note in conn.execute(Q_STORED_NOTES, (start,)):
            cp = check(note, "a stored checkpoint", None, "stored")
            if cp is None:
                continue
            if cp.size != row_size:
                report.problems.append(f"a stored checkpoint of size {cp.size} is filed "
                                       f"under size {row_size} (moved)")
                report._bad_index(min(cp.size, row_size))
                continue
            yield cp

    kept = [cp for n, (label, note) in enumerate(outside)
            if (cp := check(note, f"checkpoint {label}", n, label)) is not None]
    kept.sort(key=lambda cp: cp.size)
    return heapq.merge(kept, stored(), key=lambda cp: cp.size)


def _stream(conn: sqlite3.Connection, report: StoreReport, start: int, size: int,
            stack: list[tuple[int, int, bytes]], due: Iterator[_Due],
            filed: _SubjectDigest | None = None) -> tuple[int, Iterator[_Due]]:
    """The one pass: rehash the entries from ``start`` on, block by aligned block; compare
    every recomputed subtree hash with the stored one and each due checkpoint's root with
    the root at its size. ``stack`` is the compact range at ``start`` as (level, index,
    hash), left to right. Returns how many entries were good (the pass stops at the first
    bad one) and the checkpoints it did not reach."""
    stored = _StoredNodes(conn)
    entries = conn.execute(Q_STREAM, (start,))
    last_good = start  # the largest size a checkpoint was found consistent at
    nxt = next(due, None)
    p = start
    while True:
        want = min(BLOCK, p & -p or BLOCK, size - p)
        leaves, bad = _leaves(entries, p, want, report, filed)
        levels = _levels(leaves)
        for level in range(1, len(levels)):
            stored.check_range(level, p >> level, levels[level])
        end = p + len(leaves)
        while nxt is not None and nxt.size <= end:
            if nxt.size < start:  # an outside note older than the resume point
                root = stored.root(nxt.size)
            else:
                hashes = [h for _, _, h in stack]
                if nxt.size > p:
                    hashes += [levels[lv][i - (p >> lv)]
                               for lv, i in perfect_cover(p, nxt.size)]
                root = fold(hashes) if hashes else EMPTY_ROOT
            if root == nxt.root:
                last_good = max(last_good, nxt.size)
                if nxt.position is None:
                    report.signed_size = max(report.signed_size, nxt.size)
            else:
                report.problems.append(f"{nxt.name} (size {nxt.size}) is not consistent "
                                       "with the log: its root differs from the recomputed one")
                if nxt.position is not None:
                    report._bad_outside(nxt.position, nxt.label)
                report._bad_index(last_good if nxt.size > start else 0)
            nxt = next(due, None)
        if bad is not None:
            report.problems.append(f"entry {bad} does not match its stored leaf hash "
                                   "(altered or missing)")
            report._bad_index(bad)
            break
        if end == p:  # nothing left to read
            break
        for lv, i in perfect_cover(p, end):
            _push(stack, lv, i, levels[lv][i - (p >> lv)], stored)
        p = end
    if p == size and bad is None:
        stored.finish(size)
        report.root = fold([h for _, _, h in stack]) if stack else EMPTY_ROOT
    if stored.problem is not None:
        why, at = stored.problem
        report.problems.append(why)
        report._bad_index(at)
    return p, itertools.chain([] if nxt is None else [nxt], due)


def _leaves(entries: sqlite3.Cursor, first: int, want: int, report: StoreReport,
            filed: _SubjectDigest | None = None) -> tuple[list[bytes], int | None]:
    """The next ``want`` leaf hashes, recomputed from the entries (read FETCH at a time),
    up to the first entry that is missing or does not hash to its stored leaf (its index
    is the second value, else None)."""
    sha = hashlib.sha256
    leaves: list[bytes] = []
    while len(leaves) < want:
        rows = entries.fetchmany(min(FETCH, want - len(leaves)))
        at = first + len(leaves)
        if not rows:
            return leaves, at
        report.entries_read += len(rows)
        idxs, blobs, kept = zip(*rows, strict=True)
        if filed is not None:
            filed.add_entries(idxs, blobs)
        calc = [sha(b"\x00" + e).digest() for e in blobs]
        if list(idxs) != list(range(at, at + len(rows))) or calc != list(kept):
            k = next(k for k in range(len(rows)) if idxs[k] != at + k or calc[k] != kept[k])
            return leaves + calc[:k], at + k
        leaves += calc
    return leaves, None


def _levels(leaves: list[bytes]) -> list[list[bytes]]:
    """Every complete subtree hash over an aligned run of leaves, level by level."""
    sha = hashlib.sha256
    levels = [leaves]
    while len(levels[-1]) >= 2:
        below = levels[-1]  # an odd last one waits for its sibling in a later block
        levels.append([sha(b"\x01" + a + b).digest()
                       for a, b in zip(below[0::2], below[1::2], strict=False)])
    return levels


def _push(stack: list[tuple[int, int, bytes]], level: int, index: int, node: bytes,
          stored: _StoredNodes) -> None:
    """Append the perfect subtree (level, index) to the compact range, merging it with its
    left siblings; each merged node is compared with the stored one."""
    while index & 1:  # a right child: its parent subtree is complete now
        _lv, _i, left = stack.pop()
        node = node_hash(left, node)
        level, index = level + 1, index >> 1
        stored.check_range(level, index, [node])
    stack.append((level, index, node))


class _StoredNodes:
    """The stored subtree hashes, compared range by range with the recomputed ones (one
    indexed range read per level per block): a wrong stored node would make the server
    sign wrong roots and serve wrong proofs. Keeps the first problem only."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.problem: tuple[str, int] | None = None
        self._done = 0
        try:
            self.cursor = conn.cursor()
            self.cursor.row_factory = lambda _c, row: row[0]
            self.cursor.execute("SELECT 1 FROM log_nodes LIMIT 1")
            self.present = True
        except sqlite3.OperationalError:
            self.present = False  # a log written before log_nodes existed

    def check_range(self, level: int, first: int, nodes: list[bytes]) -> None:
        if not self.present or not nodes:
            return
        kept = self.cursor.execute(Q_RANGE, (level, first, first + len(nodes))).fetchall()
        if kept == nodes:
            return
        k = next((k for k in range(len(nodes)) if k >= len(kept) or kept[k] != nodes[k]),
                 len(nodes) - 1)
        done = ((first + k + 1) << level) - 1  # the leaf that completes it
        if self.problem is None or done < self._done:
            self._done = done  # report the first one the stream would have completed
            self.problem = (f"the stored subtree hash ({level}, {first + k}) is missing or "
                            "differs from the recomputed one", (first + k) << level)

    def root(self, size: int) -> bytes:
        """The root at ``size`` from the stored nodes (for sizes before a resume point)."""
        try:
            return EMPTY_ROOT if size == 0 else fold(
                [LogStore._node(self.conn, lv, i) for lv, i in perfect_cover(0, size)])
        except InvalidData:
            return b""

    def finish(self, size: int) -> None:
        """No stored node may lie beyond the entries."""
        if self.problem is not None or not self.present:
            return
        top = size.bit_length()
        extra = any(self.conn.execute(Q_BEYOND, (level, size >> level)).fetchone()
                    for level in range(1, top + 1))
        if extra or self.conn.execute("SELECT 1 FROM log_nodes WHERE level>? LIMIT 1",
                                      (top,)).fetchone():
            self.problem = ("the log stores subtree hashes beyond its entries", size)


class _SubjectDigest:
    """The subject index compared with the entries in the one streamed pass, in bounded
    memory: both sides are summed as a set digest (the sum of SHA-256 of each (subject,
    index) pair, mod 2^256, and their count), the entries' side as they stream by, the
    index's side by one read of its rows. A row deleted from the index would leave an
    entry out of a proposal's bundle; a row added is refused when read, and caught here.

    Only entries the stored high-water mark says are filed are compared: a log written
    before the index existed is filed when a LogStore next opens it, never by a
    read-only verification."""

    def __init__(self, indexed: int) -> None:
        self.indexed = indexed
        self.count = 0
        self.total = 0

    @classmethod
    def open(cls, conn: sqlite3.Connection) -> _SubjectDigest | None:
        try:
            row = conn.execute(Q_INDEXED).fetchone()
        except sqlite3.OperationalError:
            return None  # a log written before the index existed
        return cls(0 if row is None else row[0])

    @staticmethod
    def _pair(subject: str, idx: int) -> int:
        return int.from_bytes(hashlib.sha256(b"%d\x00%s" % (idx, subject.encode())).digest())

    def add_entries(self, idxs: Iterable[int], blobs: Iterable[bytes]) -> None:
        for idx, blob in zip(idxs, blobs, strict=True):
            if idx < self.indexed:
                for subject in subjects(bytes(blob)):
                    self.count += 1
                    self.total += self._pair(subject, idx)

    def check(self, conn: sqlite3.Connection, report: StoreReport, size: int) -> None:
        """Rows filed beyond the entries (left by a truncation, which the checkpoint file
        catches) are not compared: a later entry at that index is refused when read."""
        count = total = 0
        rows = conn.execute("SELECT subject, idx FROM log_subjects")
        while batch := rows.fetchmany(FETCH * 16):
            for subject, idx in batch:
                if isinstance(idx, int) and idx >= size:
                    continue
                count += 1
                total += self._pair(subject, idx) if isinstance(subject, str) and \
                    isinstance(idx, int) and 0 <= idx < self.indexed else 1
        if count != self.count or total % 2**256 != self.total % 2**256:
            report.problems.append(
                f"the log's subject index disagrees with its entries ({count} rows for "
                f"{self.count} expected): a bundle or gate could be shown too few entries")
