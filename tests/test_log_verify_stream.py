"""Issue "cost", `log verify`: streamed, and every way of tampering with the store is caught.

No timing. Memory is measured with tracemalloc (deterministic): verifying a log four times
longer may not hold more Python objects. Work is counted in entries read and SQLite VM
instructions: a verification resumed near the end reads only what came after.

The attacker has write access to the store's file and no log key. Each test below does one
thing they can do, carefully (recomputing leaf and subtree hashes so the tree itself looks
sound), and checks that a verification with the trusted key reports it.
"""

from __future__ import annotations

import sqlite3
import tracemalloc

import pytest
import sqlite_utils

from core.log import store as store_module
from core.log.merkle import leaf_hash
from core.log.note import LogSigner
from core.log.store import LogStore, Resume, verify_store

SIGNER = LogSigner("test.example/log", b"\x07" * 32)


def _entry(i: int) -> bytes:
    return b'{"n":%d}' % i


def _grow(path, size: int, every: int = 1) -> LogStore:
    conn = sqlite3.connect(path, isolation_level=None)
    store = LogStore(sqlite_utils.Database(conn))
    conn.execute("BEGIN")
    for i in range(size):
        store.append(_entry(i))
        if (i + 1) % every == 0 or i + 1 == size:
            store.sign_checkpoint(SIGNER)
    conn.execute("COMMIT")
    return store


def _rehash(store: LogStore) -> None:
    """What a careful attacker does after an edit: recompute every leaf and subtree hash."""
    conn = store.conn
    for idx, entry in conn.execute("SELECT idx, entry FROM log_entries").fetchall():
        conn.execute("UPDATE log_entries SET leaf=? WHERE idx=?", (leaf_hash(entry), idx))
    conn.execute("DELETE FROM log_nodes")
    LogStore(store.db)  # finds no subtree hashes and computes them again


def _check(store: LogStore, **kw) -> store_module.StoreReport:
    return verify_store(store.db, [SIGNER.verifier], **kw)


def _peak(path, size: int) -> int:
    store = _grow(path, size, every=97)
    tracemalloc.start()
    try:
        assert _check(store).ok
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_verification_holds_the_same_memory_for_a_log_four_times_longer(tmp_path,
                                                                         monkeypatch):
    monkeypatch.setattr(store_module, "BLOCK", 256, raising=False)
    monkeypatch.setattr(store_module, "FETCH", 64, raising=False)
    small, large = _peak(tmp_path / "s.sqlite", 3000), _peak(tmp_path / "l.sqlite", 12000)
    # Holding the rows would cost ~150 bytes an entry: 1.3 MB more for the large log.
    assert large < small + 64 * 1024, (small, large)


def test_a_resumed_verification_reads_only_what_came_after(tmp_path):
    store = _grow(tmp_path / "l.sqlite", 3000, every=100)
    full = _check(store)
    assert full.ok and full.entries_read == 3000 and full.root == store.root()
    steps = {"full": 0, "resumed": 0}
    for name, resume in (("full", None), ("resumed", Resume(2990, store.root(2990)))):
        def tick(name=name) -> int:
            steps[name] += 1
            return 0
        store.conn.set_progress_handler(tick, 1)
        report = _check(store, resume=resume)
        store.conn.set_progress_handler(None, 1)
        assert report.ok, report.problems
    assert report.entries_read == 10 and report.signed_size == 3000
    assert steps["resumed"] * 50 < steps["full"], steps


def test_a_verification_resumed_at_the_end_reads_no_entry(tmp_path):
    store = _grow(tmp_path / "l.sqlite", 100)
    report = _check(store, resume=Resume(100, store.root()))
    assert report.ok and report.entries_read == 0 and report.checkpoints == 1


# ---------------------------------------------------------------- the attacker, full mode


@pytest.fixture
def log(tmp_path) -> LogStore:
    store = _grow(tmp_path / "l.sqlite", 40)
    assert _check(store).ok
    return store


def test_an_edited_entry_is_caught_however_carefully_rehashed(log):
    log.conn.execute("UPDATE log_entries SET entry=? WHERE idx=17", (b'{"n":"forged"}',))
    _rehash(log)
    report = _check(log)
    assert not report.ok and report.first_bad_index == 17, report.problems
    assert "(size 18) is not consistent with the log" in report.problems[0]


def test_an_edited_entry_without_its_leaf_hash_is_caught(log):
    log.conn.execute("UPDATE log_entries SET entry=? WHERE idx=5", (b'{"n":"forged"}',))
    report = _check(log)
    assert not report.ok and report.first_bad_index == 5
    assert "entry 5 does not match its stored leaf hash" in " ".join(report.problems)


def test_an_edited_checkpoint_root_is_caught(log):
    note = log.checkpoint_at(30)
    lines = note.split("\n")
    lines[2] = lines[2][:-4] + ("AAA=" if not lines[2].endswith("AAA=") else "BBB=")
    log.conn.execute("UPDATE log_checkpoints SET note=? WHERE size=30", ("\n".join(lines),))
    report = _check(log)
    assert not report.ok and "does not verify" in " ".join(report.problems), report.problems


def test_an_edited_signature_is_caught(log):
    note = log.checkpoint_at(12)
    sig_at = note.rindex(" ") + 1
    forged = note[:sig_at] + ("A" if note[sig_at + 10] != "A" else "B").join(
        (note[sig_at:sig_at + 10], note[sig_at + 11:]))
    log.conn.execute("UPDATE log_checkpoints SET note=? WHERE size=12", (forged,))
    report = _check(log)
    assert not report.ok and "does not verify" in " ".join(report.problems), report.problems


def test_a_checkpoint_moved_to_another_size_is_caught(log):
    a, b = log.checkpoint_at(10), log.checkpoint_at(11)
    log.conn.execute("UPDATE log_checkpoints SET note=? WHERE size=10", (b,))
    log.conn.execute("UPDATE log_checkpoints SET note=? WHERE size=11", (a,))
    report = _check(log)
    assert not report.ok and "filed under size" in " ".join(report.problems)


def test_reordered_entries_are_caught(log):
    e3, e4 = log.entry(3), log.entry(4)
    log.conn.execute("UPDATE log_entries SET entry=? WHERE idx=3", (e4,))
    log.conn.execute("UPDATE log_entries SET entry=? WHERE idx=4", (e3,))
    _rehash(log)
    report = _check(log)
    assert not report.ok and report.first_bad_index == 3, report.problems


def test_a_deleted_middle_entry_is_caught(log):
    log.conn.execute("DELETE FROM log_entries WHERE idx=21")
    report = _check(log)
    assert not report.ok and report.first_bad_index == 21
    assert "entry 21 does not match" in " ".join(report.problems)


def test_a_truncated_log_is_caught_by_a_checkpoint_kept_outside(log):
    kept = log.checkpoint_at(40)
    log.conn.execute("DELETE FROM log_entries WHERE idx >= 30")
    log.conn.execute("DELETE FROM log_checkpoints WHERE size > 30")
    _rehash(log)
    assert _check(log).ok  # the store alone cannot tell: that is what the file is for
    report = _check(log, extra_checkpoints=[("kept", kept)])
    assert not report.ok and report.first_bad_checkpoint == "kept"
    assert "its entries were deleted" in " ".join(report.problems)


def test_an_entry_appended_without_the_key_is_covered_by_no_checkpoint(log):
    log.append(b'{"n":"forged"}')  # the attacker cannot sign a checkpoint for it
    report = _check(log)
    assert report.size == 41 and report.signed_size == 40  # callers refuse this (start-up)


# ---------------------------------------------------------------- the attacker, resumed


def test_a_resumed_verification_catches_a_rehashed_edit_before_the_resume_point(log):
    resume = Resume(30, log.root(30))
    log.conn.execute("UPDATE log_entries SET entry=? WHERE idx=2", (b'{"n":"forged"}',))
    _rehash(log)
    report = _check(log, resume=resume)
    assert not report.ok and "changed since they were verified" in report.problems[0]


def test_a_resumed_verification_catches_a_truncation_below_the_resume_point(log):
    resume = Resume(30, log.root(30))
    log.conn.execute("DELETE FROM log_entries WHERE idx >= 20")
    log.conn.execute("DELETE FROM log_checkpoints WHERE size > 20")
    _rehash(log)
    report = _check(log, resume=resume)
    assert not report.ok and "fewer than the 30 verified before" in report.problems[0]


def test_a_resumed_verification_catches_an_edit_after_the_resume_point(log):
    resume = Resume(30, log.root(30))
    log.conn.execute("UPDATE log_entries SET entry=? WHERE idx=35", (b'{"n":"forged"}',))
    _rehash(log)
    report = _check(log, resume=resume)
    assert not report.ok and report.first_bad_index == 35, report.problems


def test_what_a_resumed_verification_leaves_to_the_full_one(log):
    """An entry and its leaf hash edited below the resume point, the subtree hashes left
    alone: the resumed check does not reread it (documented in core.log.verified); the
    inclusion proof served for it and the full verification both fail."""
    from core.log.merkle import verify_inclusion

    resume = Resume(32, log.root(32))
    forged = b'{"n":"forged"}'
    log.conn.execute("UPDATE log_entries SET entry=?, leaf=? WHERE idx=9",
                     (forged, leaf_hash(forged)))
    assert _check(log, resume=resume).ok
    assert not verify_inclusion(leaf_hash(forged), 9, 40, log.inclusion_proof(9, 40),
                                log.root(40))
    full = _check(log)
    assert not full.ok and full.first_bad_index == 8  # the subtree over entries 8 and 9
    assert "the stored subtree hash (1, 4)" in " ".join(full.problems)


def test_log_verify_names_entries_no_signed_checkpoint_covers(tmp_path):
    from tests.server_fixtures import cli

    path = tmp_path / "l.sqlite"
    store = _grow(path, 10)
    args = ("log", "verify", "--db", str(path), "--key", SIGNER.verifier_key)
    assert cli(*args).returncode == 0
    store.append(b'{"n":"forged"}')
    out = cli(*args)
    assert out.returncode == 1, out.stdout
    assert "entries 10 to 10 are covered by no stored checkpoint" in out.stdout
    assert "first bad index: 10" in out.stdout
