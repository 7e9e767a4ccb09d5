"""What the server verified at its last start, so the next start verifies only what came after.

One row, ``log_verified (id=1, size, root, tag)``: the log's first ``size`` entries, and
the store's rows about every proposal they name, were verified then (against checkpoints
the server's own key signed), and their tree hashed to ``root``. ``tag`` is an HMAC under a
key derived from the log key (`LogSigner.state_tag`), which lives outside the data
directory: someone who can write server.sqlite but has no log key cannot make a row that
says "verified", so they cannot move the start of the next check past rows they edited.

Why not simply remember the latest checkpoint: every stored checkpoint carries a valid
signature, so naming one proves nothing about what was *checked*; an attacker would name
the newest and skip the replay of everything before it.

What an attacker with write access to the data directory can still do, and what catches it:
- edit, drop or reorder entries, or subtree hashes, below ``size``: the stored subtree
  hashes covering [0, size) must fold to the tagged root (collision resistance), so any
  change that reaches them stops the start; an entry (and its leaf hash) edited below them
  leaves them intact and is caught by every inclusion proof served for it (bundles,
  `proposal_log`, which gates check) and by a full `foureyes log verify`;
- truncate below ``size``: the log is shorter than what was verified: the start stops;
- delete or replace the row: without a valid tag the start either verifies everything
  (no row) or stops (a row with a bad tag);
- copy an older genuine row: the start verifies more, never less;
- edit rows of proposals the log has not mentioned since ``size``: not reread at start;
  `foureyes log verify` (full replay) and a gate (which checks the signed decisions and
  the log itself before it runs anything) catch them.
"""

from __future__ import annotations

import hmac
import sqlite3

from core.errors import InvalidData
from core.log.note import LogSigner
from core.log.store import Resume

SCHEMA = ("CREATE TABLE IF NOT EXISTS log_verified (id INTEGER PRIMARY KEY CHECK (id = 1), "
          "size INTEGER NOT NULL, root BLOB NOT NULL, tag BLOB NOT NULL)")


def _message(signer: LogSigner, size: int, root: bytes) -> bytes:
    return f"foureyes.log-verified/v1\n{signer.name}\n{size}\n{root.hex()}\n".encode()


def remembered(conn: sqlite3.Connection, signer: LogSigner) -> Resume | None:
    """The tagged state, if the store holds one; a row whose tag fails is tampering."""
    try:
        row = conn.execute("SELECT size, root, tag FROM log_verified WHERE id=1").fetchone()
    except sqlite3.OperationalError:
        return None  # a store from before this table: verify everything once
    if row is None:
        return None
    size, root, tag = row
    if not (isinstance(size, int) and size >= 0 and isinstance(root, bytes)
            and isinstance(tag, bytes)
            and hmac.compare_digest(tag, signer.state_tag(_message(signer, size, root)))):
        raise InvalidData("log_damaged", "the store's record of its last verified state is "
                          "not authentic (its tag does not match the log key): it was edited")
    return Resume(size, root)


def remember(conn: sqlite3.Connection, signer: LogSigner, size: int, root: bytes) -> None:
    """Record, tagged, that the first ``size`` entries (tree ``root``) were verified;
    inside the caller's write transaction."""
    conn.execute(SCHEMA)
    conn.execute("INSERT OR REPLACE INTO log_verified (id, size, root, tag) VALUES (1,?,?,?)",
                 (size, root, signer.state_tag(_message(signer, size, root))))
