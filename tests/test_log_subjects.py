"""Issue "cost", the log side: finding one proposal's entries (every bundle export, every
gated execution) reads the log's subject index, never every entry.

No timing here: statements and SQLite VM steps are counted at two history sizes and must
be equal (within B-tree slack); the lookup's plan must be an indexed search. The index is
not evidence: a row that lies is refused, a row missing is reported by `verify_store`.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
import sqlite_utils

from core.bundle.build import build_bundle, proposal_entries
from core.errors import InvalidData
from core.formats import Event
from core.log import store as store_module
from core.log.note import LogSigner, parse_checkpoint
from core.log.store import LogStore, verify_store
from tests.sql_counting import Steps

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
TARGET, POLICY, OTHER_POLICY = (f"sha256:{'a' * 64}", f"sha256:{'b' * 64}",
                                f"sha256:{'c' * 64}")
SIGNER = LogSigner.generate("subjects/log")


def _h(i: int) -> str:
    return f"sha256:{i:064x}"


def _ev(kind: str, **fields: str) -> bytes:
    return Event.make(kind, AT, **fields).raw


def _fill(store: LogStore, history: int) -> None:
    """Activations, the target's events, and `history` unrelated events between them."""
    half = history // 2
    store.append(_ev("policy.activated", policy=POLICY))
    store.append(_ev("policy.activated", policy=OTHER_POLICY))
    store.append(_ev("policy.activated", policy=POLICY))  # the last one before the target
    for i in range(half):
        store.append(_ev("proposal.submitted", proposal=_h(i)))
    store.append(_ev("proposal.submitted", proposal=TARGET))
    store.append(_ev("policy.activated", policy=POLICY))  # after it: not its activation
    for i in range(half, history):
        store.append(_ev("decision.refused", proposal=_h(i), reviewer="bob@example.com",
                         code="self_approval"))
    store.append(_ev("decision.recorded", proposal=TARGET, decision=_h(10**6),
                     reviewer="bob@example.com"))
    store.append(_ev("receipt.recorded", proposal=TARGET, receipt=_h(10**6 + 1)))
    store.sign_checkpoint(SIGNER)


def _store(path, history: int) -> tuple[sqlite3.Connection, LogStore]:
    conn = sqlite3.connect(path, isolation_level=None)
    store = LogStore(sqlite_utils.Database(conn))
    conn.execute("BEGIN")
    _fill(store, history)
    conn.execute("COMMIT")
    return conn, store


def _scan(store: LogStore, proposal_hash: str, policy_hash: str | None) -> dict[int, bytes]:
    """The entries about a proposal as the linear walk found them before the index."""
    size = parse_checkpoint(store.latest_checkpoint()).size
    entries: dict[int, bytes] = {}
    activation = None
    for index in range(size):
        raw = store.entry(index)
        event = Event.from_bytes(raw)
        if event.get("proposal") == proposal_hash:
            entries[index] = raw
        elif event.type == "policy.activated" and event.get("policy") == policy_hash \
                and not entries:
            activation = index
    if activation is not None:
        entries[activation] = store.entry(activation)
    return entries


def _cost(conn: sqlite3.Connection, store: LogStore, monkeypatch) -> Steps:
    """The cost of finding the entries, without their inclusion proofs (O(log n) each,
    counted separately)."""
    with monkeypatch.context() as m:
        m.setattr(store, "inclusion_proof", lambda index, size: [])
        with Steps(conn) as c:
            _, entries, _ = proposal_entries(store, TARGET, policy_hash=POLICY)
    assert len(entries) == 4
    return c


def test_cost_does_not_grow_with_history(tmp_path, monkeypatch):
    small = _cost(*_store(tmp_path / "small.sqlite", 50), monkeypatch)
    large = _cost(*_store(tmp_path / "large.sqlite", 2000), monkeypatch)
    assert len(small.statements) == len(large.statements), large.statements[:20]
    assert large.count <= small.count + small.count // 20 + 50, (small.count, large.count)


def test_proofs_cost_log_n_each(tmp_path):
    conn, store = _store(tmp_path / "log.sqlite", 2000)
    with Steps(conn) as c:
        _, entries, proofs = proposal_entries(store, TARGET, policy_hash=POLICY)
    bound = 10 + len(entries) * 2 * store.size.bit_length()
    assert len(c.statements) <= bound, len(c.statements)
    assert len(proofs) == len(entries)


@pytest.mark.parametrize("name", ["Q_ABOUT", "Q_LAST_ABOUT"])
def test_lookup_is_an_indexed_search(tmp_path, name):
    conn, _ = _store(tmp_path / "log.sqlite", 50)
    plan = [row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + getattr(store_module, name),
                                            ("proposal:" + TARGET, 10))]
    assert plan and all(step.startswith("SEARCH log_subjects USING PRIMARY KEY") for step in plan), plan


@pytest.mark.parametrize("proposal_hash,policy_hash", [
    (TARGET, POLICY), (TARGET, None), (TARGET, OTHER_POLICY), (_h(3), POLICY),
    (_h(40), OTHER_POLICY), (_h(10**7), POLICY)])
def test_same_entries_and_bundle_as_the_scan(tmp_path, world, proposal_hash, policy_hash):
    _, store = _store(tmp_path / "log.sqlite", 50)
    note, entries, proofs = proposal_entries(store, proposal_hash, policy_hash=policy_hash)
    want = _scan(store, proposal_hash, policy_hash)
    assert entries == want
    kw = dict(proposal=b"{}", policy=world.policy_bytes(), decisions=[], receipt=None,
              checkpoint=note)
    assert build_bundle(entries=entries, proofs=proofs, **kw) == build_bundle(
        entries=want, proofs={i: store.inclusion_proof(i, store.size) for i in want}, **kw)


def test_older_store_is_indexed_once_on_open(tmp_path):
    path = tmp_path / "log.sqlite"
    conn, store = _store(path, 300)
    want = proposal_entries(store, TARGET, policy_hash=POLICY)
    conn.execute("DROP TABLE log_subjects")  # as a version before the index wrote it
    conn.execute("DROP TABLE log_subjects_state")
    conn.close()
    conn = sqlite3.connect(path, isolation_level=None)
    again = LogStore(sqlite_utils.Database(conn))
    assert proposal_entries(again, TARGET, policy_hash=POLICY) == want
    # An older version appended past the mark: the next open files the rest only.
    conn.execute("BEGIN")
    conn.execute("DELETE FROM log_subjects WHERE idx >= 100")
    conn.execute("UPDATE log_subjects_state SET indexed = 100")
    conn.execute("COMMIT")
    conn.close()
    conn = sqlite3.connect(path, isolation_level=None)
    with Steps(conn) as c:
        third = LogStore(sqlite_utils.Database(conn))
    assert proposal_entries(third, TARGET, policy_hash=POLICY) == want
    assert any("idx>=100 " in s for s in c.statements), c.statements
    # Opening an indexed store files nothing.
    conn.close()
    conn = sqlite3.connect(path, isolation_level=None)
    with Steps(conn) as c:
        LogStore(sqlite_utils.Database(conn))
    assert not any("INSERT" in s for s in c.statements), c.statements
    assert verify_store(sqlite_utils.Database(conn), [SIGNER.verifier]).ok


@pytest.mark.parametrize("subject,where", [
    ("proposal:" + TARGET, 5),  # an unrelated submission filed under the target
    ("policy:" + POLICY, 10),  # an unrelated submission filed as its activation
])
def test_a_lying_index_row_is_refused(tmp_path, subject, where):
    conn, store = _store(tmp_path / "log.sqlite", 50)
    conn.execute("INSERT INTO log_subjects (subject, idx) VALUES (?, ?)", (subject, where))
    with pytest.raises(InvalidData) as e:
        proposal_entries(store, TARGET, policy_hash=POLICY)
    assert e.value.code == "log_damaged"
    report = verify_store(sqlite_utils.Database(conn), [SIGNER.verifier])
    assert any("subject index" in p for p in report.problems), report.problems


def test_a_deleted_index_row_is_reported_by_verify(tmp_path):
    conn, store = _store(tmp_path / "log.sqlite", 50)
    db = sqlite_utils.Database(conn)
    assert verify_store(db, [SIGNER.verifier]).ok
    conn.execute("DELETE FROM log_subjects WHERE subject=? AND idx=(SELECT MAX(idx) FROM "
                 "log_subjects WHERE subject=?)", ("proposal:" + TARGET,) * 2)
    assert len(proposal_entries(store, TARGET)[1]) == 2  # the receipt is left out
    report = verify_store(db, [SIGNER.verifier])
    assert any("subject index" in p for p in report.problems), report.problems
