"""Issue "cost", server start-up: incremental, and still fail-closed.

A start verifies the log and replays the store only from the state its previous start
verified (`core.log.verified`: a row tagged with a key derived from the log key). Counted,
never timed: the entries a start rehashes and the proposals it replays.

The attacker has write access to the data directory and no log key. Each test does one
thing they can do against the incremental check and checks the start refuses, or, for the
one thing the start deliberately no longer rereads, that the full `log verify` catches it.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from core.errors import InvalidData
from core.log import store as log_store
from core.log.merkle import leaf_hash
from core.log.store import LogStore
from core.policy import Policy
from core.sample import AGENT
from core.server import replay
from core.server.auth import Caller
from core.server.service import Limits, QueueService
from core.server.store import ServerStore
from tests.test_perf_server import BOB, CAROL, Clock


class Start:
    """Starts a service on one data directory, counting what each start reads."""

    def __init__(self, tmp_path, world, monkeypatch) -> None:
        self.data, self.world, self.clock = tmp_path / "data", world, Clock()
        self.svc: QueueService | None = None
        self.read: list[int] = []  # entries rehashed, per start
        self.replayed: list[set[str]] = []  # proposals replayed, per start
        real_verify, real_one = log_store.verify_store, replay._replay_one

        def verify(*args, **kw):  # noqa: ANN002, ANN003, ANN202
            report = real_verify(*args, **kw)
            self.read.append(report.entries_read)
            self.replayed.append(set())
            return report

        def one(h, *args):  # noqa: ANN001, ANN002, ANN202
            self.replayed[-1].add(h)
            return real_one(h, *args)

        monkeypatch.setattr(log_store, "verify_store", verify)
        monkeypatch.setattr(replay, "_replay_one", one)

    def __call__(self) -> QueueService:
        self.stop()
        store = ServerStore(self.data)
        try:
            self.svc = QueueService(store, self.world.policy_bytes(), self.world.log_signer,
                                    Limits(1000, 1000), clock=self.clock)
        except Exception:
            store.close()
            raise
        return self.svc

    def stop(self) -> None:
        if self.svc is not None:
            self.svc.store.close()
            self.svc = None

    def propose(self):  # noqa: ANN201
        world = self.world
        p = world.proposal(policy_hash=Policy.from_bytes(world.policy_bytes()).hash,
                           created_at=self.clock.now - timedelta(minutes=1))
        self.svc.submit_proposal(Caller("agent", AGENT), p.raw)
        return p

    def decide(self, p, who: str, verdict: str = "approve") -> None:
        decision, signature = self.world.decide(p, who, verdict=verdict,
                                                decided_at=self.clock.now)
        self.svc.submit_decision(Caller("reviewer", who), p.hash, decision.raw, signature)

    def sql(self, *statements: tuple) -> None:
        self.stop()
        conn = sqlite3.connect(self.data / "server.sqlite")
        for statement in statements:
            conn.execute(*statement)
        conn.commit()
        conn.close()

    def size(self) -> int:
        conn = sqlite3.connect(self.data / "server.sqlite")
        try:
            return conn.execute("SELECT COUNT(*) FROM log_entries").fetchone()[0]
        finally:
            conn.close()


@pytest.fixture
def start(tmp_path, world, monkeypatch):
    s = Start(tmp_path, world, monkeypatch)
    yield s
    s.stop()


def _history(start: Start):
    """Two starts with work between them: the second remembers the log's size then."""
    start()
    old = [start.propose() for _ in range(3)]
    start.decide(old[0], BOB)
    start()
    return old


def test_a_start_verifies_and_replays_only_what_came_after_the_last_one(start):
    old = _history(start)
    assert start.read[-1] == start.size() and start.replayed[-1] == {p.hash for p in old}
    before = start.size()
    new = start.propose()
    start.decide(new, BOB)
    start()
    assert start.read[-1] == start.size() - before == 2  # submission and decision
    assert start.replayed[-1] == {new.hash}
    start()
    assert start.read[-1] == 0 and start.replayed[-1] == set()


def test_a_proposal_touched_since_is_replayed_with_its_earlier_events(start):
    """Bob's approval was logged before the last start; Carol's after it. Deleting Bob's
    row is caught: the replay scans back from the last start to the submission."""
    old = _history(start)
    start.decide(old[0], CAROL)
    start.sql(("DELETE FROM decisions WHERE proposal=? AND reviewer=?", (old[0].hash, BOB)))
    with pytest.raises(InvalidData, match="the log records decision"):
        start()


def test_a_forged_remembered_state_stops_the_start(start):
    _history(start)
    start.sql(("UPDATE log_verified SET size=size-1",))
    with pytest.raises(InvalidData, match="not authentic"):
        start()


def test_an_older_genuine_remembered_state_only_makes_the_start_verify_more(start):
    _history(start)
    conn = sqlite3.connect(start.data / "server.sqlite")
    kept = conn.execute("SELECT size, root, tag FROM log_verified").fetchone()
    conn.close()
    start.propose()
    start()
    start.sql(("UPDATE log_verified SET size=?, root=?, tag=?", kept))
    start()
    assert start.read[-1] == start.size() - kept[0] == 1


def _rehash(start: Start) -> None:
    conn = sqlite3.connect(start.data / "server.sqlite", isolation_level=None)
    for idx, entry in conn.execute("SELECT idx, entry FROM log_entries").fetchall():
        conn.execute("UPDATE log_entries SET leaf=? WHERE idx=?", (leaf_hash(entry), idx))
    conn.execute("DELETE FROM log_nodes")
    import sqlite_utils

    LogStore(sqlite_utils.Database(conn))  # recomputes the subtree hashes
    conn.close()


def test_old_entries_rewritten_and_rehashed_stop_the_start(start):
    _history(start)
    start.sql(("UPDATE log_entries SET entry=CAST(? AS BLOB) WHERE idx=1",
               (b'{"forged":1}',)))
    _rehash(start)
    with pytest.raises(InvalidData, match="changed since they were verified"):
        start()


def test_a_log_truncated_below_the_remembered_size_stops_the_start(start):
    _history(start)
    keep = 2
    start.sql(("DELETE FROM log_entries WHERE idx >= ?", (keep,)),
              ("DELETE FROM log_checkpoints WHERE size > ?", (keep,)),
              ("DELETE FROM log_nodes WHERE ((idx + 1) << level) > ?", (keep,)))
    with pytest.raises(InvalidData, match="entries were deleted"):
        start()


def test_an_entry_appended_without_the_key_stops_the_start(start):
    start()
    p = start.propose()
    start.stop()
    conn = sqlite3.connect(start.data / "server.sqlite", isolation_level=None)
    import sqlite_utils

    LogStore(sqlite_utils.Database(conn)).append(
        b'{"at":"2026-01-01T00:00:00Z","decision":"sha256:' + b"0" * 64
        + b'","proposal":"' + p.hash.encode() + b'","reviewer":"bob@example.com",'
        b'"schema":"foureyes.event/v1","type":"decision.recorded"}')
    conn.close()
    with pytest.raises(InvalidData, match="covered by no checkpoint this server signed"):
        start()


def test_what_the_start_leaves_to_the_full_verification(start):
    """A proposal the log has not mentioned since the last start is not replayed at the
    next one: a forged status on it is caught by `log verify`'s full replay (and a gate
    checks the signed decisions and the log before it runs anything)."""
    old = _history(start)
    start.sql(("UPDATE proposals SET status='approved' WHERE hash=?", (old[1].hash,)))
    start()  # not reread
    problems = replay.replay_store(start.svc.store.db.conn)
    assert [p.proposal for p in problems] == [old[1].hash]


def test_one_checkpoint_per_group_commit(start):
    svc = start()
    store, before = svc.store, svc.store.log.size
    with store.write():
        for _ in range(3):  # three steps of one group
            with store.write():
                store.log_event(start.world.log_signer, "policy.activated", start.clock(),
                                policy="sha256:" + "0" * 64)
    sizes = [r[0] for r in store.conn.execute(
        "SELECT size FROM log_checkpoints WHERE size > ?", (before,))]
    assert sizes == [before + 3]
    assert store.log.checkpoint_covering(before + 1) == store.log.checkpoint_at(before + 3)


def test_a_start_with_nothing_new_parses_at_most_one_entry(start, monkeypatch):
    from core.formats import Event

    _history(start)
    for _ in range(5):
        start.propose()
    start()
    parsed = []
    real = Event.from_bytes.__func__

    def counting(cls, data):  # noqa: ANN001, ANN202
        parsed.append(data)
        return real(cls, data)

    monkeypatch.setattr(Event, "from_bytes", classmethod(counting))
    start()
    assert start.read[-1] == 0 and len(parsed) <= 1, len(parsed)  # the last activation
