"""Items "cost" and past checkpoints: every log operation is a few indexed lookups.

No timing here: the test records every SQL statement a fresh LogStore runs (sqlite3's trace
callback) and checks (a) how many there are, against a bound in log2(n), and (b) that
SQLite's EXPLAIN QUERY PLAN for each is an indexed SEARCH, never a SCAN of a log table.
A regression to loading the leaves or counting rows per append fails both.
"""

from __future__ import annotations

import hashlib
import sqlite3

import pytest
import sqlite_utils

from core.log.merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from core.log.note import LogSigner, parse_checkpoint
from core.log.store import LogStore, verify_store

N = 5000  # log size for the cost checks; bounds below are in log2(N) ≈ 12.3
LOG_N = N.bit_length()


def _entry(i: int) -> bytes:
    return b'{"n":%d}' % i


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    path = tmp_path_factory.mktemp("log") / "log.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    store = LogStore(sqlite_utils.Database(conn))
    signer = LogSigner.generate("cost/log")
    conn.execute("BEGIN")
    for i in range(N):
        store.append(_entry(i))
        if i in (99, 1000, 4095):
            store.sign_checkpoint(signer)
    conn.execute("COMMIT")
    conn.close()
    return path, signer


class Recorder:
    """A fresh LogStore on the file (nothing warmed) that records each statement it runs."""

    def __init__(self, path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.store = LogStore(sqlite_utils.Database(self.conn))
        self.statements: list[str] = []
        self.conn.set_trace_callback(self.statements.append)

    def run(self, fn):  # noqa: ANN001, ANN201
        self.statements.clear()
        result = fn()
        self.conn.set_trace_callback(None)
        done = list(self.statements)
        self.conn.set_trace_callback(self.statements.append)
        return result, done

    def plans(self, statements: list[str]) -> list[tuple[str, str]]:
        out = []
        for sql in statements:
            if not sql.lstrip().upper().startswith(("SELECT", "INSERT")):
                continue
            for row in self.conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall():
                out.append((sql, row[-1]))
        return out


def _no_scans(rec: Recorder, statements: list[str]) -> None:
    plans = rec.plans(statements)
    scans = [(sql, plan) for sql, plan in plans if plan.startswith("SCAN")]
    assert not scans, scans


def test_hot_paths_are_log_n_indexed_lookups(big):
    path, signer = big
    leaves = [leaf_hash(_entry(i)) for i in range(N)]
    rec = Recorder(path)
    store = rec.store
    cases = {
        "size": lambda: store.size,
        "root": lambda: store.root(),
        "past root": lambda: store.root(1001),
        "inclusion (latest)": lambda: store.inclusion_proof(N // 3, N),
        "inclusion (past size)": lambda: store.inclusion_proof(77, 1001),
        "consistency": lambda: store.consistency_proof(1001, N),
        "entry": lambda: store.entry(4321),
        "checkpoint_at": lambda: store.checkpoint_at(1001),
        "latest checkpoint": lambda: store.latest_checkpoint(),
    }
    results = {}
    for name, fn in cases.items():
        results[name], statements = rec.run(fn)
        assert len(statements) <= 2 * LOG_N + 2, (name, len(statements))
        _no_scans(rec, statements)
    assert results["root"] == root_hash(leaves)
    assert results["past root"] == root_hash(leaves[:1001])
    assert results["inclusion (latest)"] == inclusion_proof(leaves, N // 3, N)
    assert results["inclusion (past size)"] == inclusion_proof(leaves, 77, 1001)
    assert results["consistency"] == consistency_proof(leaves, 1001, N)
    assert parse_checkpoint(results["checkpoint_at"]).size == 1001
    assert rec.store.checkpoint_at(1002) is None

    def append_and_sign():
        rec.conn.execute("BEGIN IMMEDIATE")
        store.append(_entry(N))
        note = store.sign_checkpoint(signer)
        rec.conn.execute("ROLLBACK")
        return note

    note, statements = rec.run(append_and_sign)
    assert len(statements) <= 3 * LOG_N + 6, len(statements)
    _no_scans(rec, statements)
    assert parse_checkpoint(note).root == root_hash([*leaves, leaf_hash(_entry(N))])


def test_store_proofs_are_bit_identical_to_rfc_9162(tmp_path):
    """Every (index, size) and (old, new) up to 70 leaves, from the stored subtree hashes."""
    conn = sqlite3.connect(tmp_path / "l.sqlite", isolation_level=None)
    store = LogStore(sqlite_utils.Database(conn))
    entries = [hashlib.sha256(bytes([i])).digest() for i in range(70)]
    leaves = [leaf_hash(e) for e in entries]
    conn.execute("BEGIN")
    for e in entries:
        store.append(e)
    conn.execute("COMMIT")
    for n in range(1, 71):
        assert store.root(n) == root_hash(leaves[:n])
        for i in range(n):
            proof = store.inclusion_proof(i, n)
            assert proof == inclusion_proof(leaves, i, n)
            assert verify_inclusion(leaves[i], i, n, proof, root_hash(leaves[:n]))
        for m in range(1, n + 1):
            proof = store.consistency_proof(m, n)
            assert proof == consistency_proof(leaves, m, n)
            assert verify_consistency(m, n, root_hash(leaves[:m]), root_hash(leaves[:n]), proof)


def test_checkpoint_at_gives_the_note_of_that_size(tmp_path):
    conn = sqlite3.connect(tmp_path / "l.sqlite", isolation_level=None)
    store = LogStore(sqlite_utils.Database(conn))
    signer = LogSigner.generate("past/log")
    notes = {}
    for i in range(9):
        conn.execute("BEGIN")
        store.append(_entry(i))
        notes[i + 1] = store.sign_checkpoint(signer)
        conn.execute("COMMIT")
    for size, note in notes.items():
        assert store.checkpoint_at(size) == note
        cp = parse_checkpoint(note)
        for i in range(size):
            assert verify_inclusion(leaf_hash(_entry(i)), i, size,
                                    store.inclusion_proof(i, size), cp.root)
    assert store.checkpoint_at(0) is None and store.checkpoint_at(10) is None


def test_an_old_log_gets_its_subtree_hashes_once(tmp_path):
    """A log written before log_nodes existed is completed on open, then verifies."""
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE log_entries (idx INTEGER PRIMARY KEY, entry BLOB NOT NULL, "
                 "leaf BLOB NOT NULL)")
    conn.executemany("INSERT INTO log_entries VALUES (?,?,?)",
                     [(i, _entry(i), leaf_hash(_entry(i))) for i in range(37)])
    store = LogStore(sqlite_utils.Database(conn))
    leaves = [leaf_hash(_entry(i)) for i in range(37)]
    assert store.root() == root_hash(leaves)
    assert store.inclusion_proof(5, 37) == inclusion_proof(leaves, 5, 37)
    assert verify_store(store.db, []).ok


def test_a_tampered_subtree_hash_fails_verification(tmp_path):
    conn = sqlite3.connect(tmp_path / "l.sqlite", isolation_level=None)
    store = LogStore(sqlite_utils.Database(conn))
    conn.execute("BEGIN")
    for i in range(20):
        store.append(_entry(i))
    conn.execute("COMMIT")
    assert verify_store(store.db, []).ok
    conn.execute("UPDATE log_nodes SET hash=? WHERE level=2 AND idx=1", (b"\0" * 32,))
    report = verify_store(store.db, [])
    assert not report.ok and report.first_bad_index == 4, report.problems


def test_the_server_store_logs_only_inside_its_write_transaction(tmp_path, world):
    from core.errors import TransportError
    from core.formats import now_utc
    from core.server.store import ServerStore

    store = ServerStore(tmp_path / "data")
    try:
        with pytest.raises(TransportError):
            store.log_event(world.log_signer, "policy.activated", now_utc(),
                            policy="sha256:" + "0" * 64)
        with store.write():
            store.log_event(world.log_signer, "policy.activated", now_utc(),
                            policy="sha256:" + "0" * 64)
        assert store.log.size == 1 and store.log.checkpoint_at(1) is not None
    finally:
        store.close()
