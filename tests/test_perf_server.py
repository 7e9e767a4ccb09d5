"""Issue "cost", server side: every hot path touches a bounded number of rows, however long
the history grows.

No timing here. Each test builds two stores that differ only in how much history they hold
(rows written straight into `proposals`, so the log has the same size in both), runs the
same operation on each, and counts SQLite virtual-machine steps (a progress handler called
at every instruction): an indexed search costs the same instructions over 20 rows or 4,000,
a scan does not. The hot queries' plans must be indexed searches, never a SCAN of a table
or a sort in a temporary B-tree.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from datetime import datetime, timedelta

import pytest

from core.formats import format_time, now_utc
from core.policy import Policy
from core.policy import quorum as quorum_module
from core.sample import AGENT, SampleWorld
from core.server import service as service_module
from core.server.auth import Caller
from core.server.service import Limits, QueueService
from core.server.store import ServerStore
from tests.sql_counting import Steps

BOB, CAROL = "bob@example.com", "carol@example.com"
SMALL, LARGE = 20, 4000
HOT_QUERIES = {
    "Q_OPEN": ("agent:x", 20), "Q_RECENT": ("agent:x", 0.0, 30),
    "Q_EXPIRED": ("2026-01-01T00:00:00Z",), "Q_NEXT_EXPIRY": ("pending",),
    "Q_LIST_ALL": (100, 0), "Q_LIST_MINE": ("agent:x", 100, 0),
}


class Clock:
    def __init__(self) -> None:
        self.now = now_utc()

    def __call__(self) -> datetime:
        return self.now


def _service(tmp_path, world: SampleWorld, history: int, clock: Clock,
             name: str) -> QueueService:
    """A service whose store holds `history` old proposals: closed ones of the agent under
    test, and open ones of other agents that expire late."""
    store = ServerStore(tmp_path / name)
    svc = QueueService(store, world.policy_bytes(), world.log_signer,
                       Limits(max_open_per_agent=20, max_per_minute_per_agent=30), clock=clock)
    later = format_time(clock.now + timedelta(hours=5))
    old = clock.now - timedelta(days=3)
    rows = []
    for i in range(history):
        mine = i % 2 == 0
        rows.append((f"sha256:{i:064x}", b"{}", AGENT if mine else f"agent:other-{i % 7}",
                     "alice@example.com", format_time(old),
                     format_time(old + timedelta(minutes=30)) if mine else later,
                     old.timestamp() - i, "executed" if mine else "pending"))
    with store.write() as c:
        c.executemany("INSERT INTO proposals (hash, body, proposer, requester, created_at, "
                      "expires_at, received_at, status) VALUES (?,?,?,?,?,?,?,?)", rows)
    svc.sweep()  # learn the earliest open expiry
    return svc


def _pair(tmp_path, world, clock):
    return (_service(tmp_path, world, SMALL, clock, "small"),
            _service(tmp_path, world, LARGE, clock, "large"))


def _policy_hash(world) -> str:
    return Policy.from_bytes(world.policy_bytes()).hash


def _flat(small: int, large: int) -> None:
    """The large history may cost no more than the small one (a little slack for B-tree
    page boundaries); a scan over 4,000 rows would cost tens of thousands of steps more."""
    assert large <= small + small // 20 + 50, (small, large)


@pytest.mark.parametrize("name", sorted(HOT_QUERIES))
def test_hot_queries_are_indexed_searches(tmp_path, world, name):
    svc = _service(tmp_path, world, 50, Clock(), "plans")
    sql = getattr(service_module, name)
    plan = [row[-1] for row in svc.store.conn.execute("EXPLAIN QUERY PLAN " + sql,
                                                      HOT_QUERIES[name])]
    for step in plan:
        assert "TEMP B-TREE" not in step, (sql, plan)
        if step.startswith("SCAN"):  # only of a subquery's rows, or in index order with LIMIT
            assert "subquery" in step or "COVERING INDEX" in step and "LIMIT" in sql, \
                (sql, plan)
        if "proposals" in step:
            assert "INDEX" in step, (sql, plan)


def test_submit_proposal_touches_the_same_rows_at_any_history(tmp_path, world):
    clock = Clock()
    small, large = _pair(tmp_path, world, clock)
    agent = Caller("agent", AGENT)
    costs = []
    for svc in (small, large):
        proposal = world.proposal(policy_hash=_policy_hash(world))
        with Steps(svc.store._writer) as steps:
            svc.submit_proposal(agent, proposal.raw)
        costs.append(steps.count)
        assert not any("COUNT(*) FROM proposals WHERE" in s for s in steps.statements)
    _flat(*costs)


def test_sweep_runs_no_query_until_something_can_have_expired(tmp_path, world):
    clock = Clock()
    svc = _service(tmp_path, world, 200, clock, "sweep")
    proposal = world.proposal(policy_hash=_policy_hash(world), ttl=timedelta(minutes=10))
    svc.submit_proposal(Caller("agent", AGENT), proposal.raw)
    reviewer = Caller("reviewer", BOB)
    with Steps(svc.store._writer) as w, Steps(svc.store.conn) as r:
        assert svc.sweep() == 0
        svc.view(reviewer, proposal.hash)
        svc.list(reviewer, limit=5)
    assert not any("expires_at" in s for s in w.statements + r.statements)
    clock.now += timedelta(minutes=11)  # past this proposal's expiry, not the others'
    assert svc.sweep() == 1
    assert svc.view(reviewer, proposal.hash)["status"] == "expired"
    with Steps(svc.store._writer) as w:
        assert svc.sweep() == 0  # the next expiry is hours away: no query again
    assert w.statements == []


def test_sweep_touches_only_what_expired(tmp_path, world):
    clock = Clock()
    small, large = _pair(tmp_path, world, clock)
    costs = []
    for svc in (small, large):
        proposal = world.proposal(policy_hash=_policy_hash(world), ttl=timedelta(minutes=10))
        svc.submit_proposal(Caller("agent", AGENT), proposal.raw)
    clock.now += timedelta(minutes=11)
    for svc in (small, large):
        with Steps(svc.store._writer) as steps:
            assert svc.sweep() == 1
        costs.append(steps.count)
    _flat(*costs)


def test_list_and_view_touch_the_same_rows_at_any_history(tmp_path, world):
    clock = Clock()
    small, large = _pair(tmp_path, world, clock)
    costs = []
    for svc in (small, large):
        proposal = world.proposal(policy_hash=_policy_hash(world))
        svc.submit_proposal(Caller("agent", AGENT), proposal.raw)
        with Steps(svc.store.conn) as steps:
            page = svc.list(Caller("reviewer", BOB), limit=10)
            mine = svc.list(Caller("agent", AGENT), limit=10)
        assert page[0]["hash"] == mine[0]["hash"] == proposal.hash
        costs.append(steps.count)
    _flat(*costs)


def test_submit_decision_touches_the_same_rows_and_reads_each_decision_once(
        tmp_path, world, monkeypatch):
    clock = Clock()
    small, large = _pair(tmp_path, world, clock)
    calls = {"verify": 0, "parse": 0}
    real_verify, real_decision = quorum_module.verify, quorum_module.Decision

    class CountingDecision:
        @staticmethod
        def from_bytes(data: bytes):  # noqa: ANN205
            calls["parse"] += 1
            return real_decision.from_bytes(data)

    def counting_verify(*args):  # noqa: ANN002, ANN202
        calls["verify"] += 1
        return real_verify(*args)

    monkeypatch.setattr(quorum_module, "verify", counting_verify)
    monkeypatch.setattr(quorum_module, "Decision", CountingDecision)
    costs = []
    for svc in (small, large):
        proposal = world.proposal(policy_hash=_policy_hash(world),
                                  created_at=clock.now - timedelta(minutes=1))
        svc.submit_proposal(Caller("agent", AGENT), proposal.raw)
        for who in (BOB, CAROL):
            decision, signature = world.decide(proposal, who, decided_at=clock.now)
            quorum_module.clear_caches() if who == BOB else None
            calls.update(verify=0, parse=0)
            with Steps(svc.store._writer) as steps:
                svc.submit_decision(Caller("reviewer", who), proposal.hash, decision.raw,
                                    signature)
            # judged alone, then with the counted one: each document is read and each
            # signature checked once (the earlier decision is remembered, not re-read)
            assert calls == {"verify": 1, "parse": 1}
        costs.append(steps.count)
        assert svc.view(Caller("reviewer", BOB), proposal.hash)["status"] == "approved"
    _flat(*costs)


def test_accepted_sockets_get_tcp_nodelay():
    from core.cli.serve import listen_socket

    sock = listen_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    seen: list[int] = []

    async def main() -> None:
        done = asyncio.get_running_loop().create_future()

        class Proto(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                s = transport.get_extra_info("socket")
                seen.append(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()
                done.set_result(None)

        server = await asyncio.get_running_loop().create_server(Proto, sock=sock)
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.wait_for(done, 10)
        writer.close()
        server.close()
        await server.wait_closed()

    asyncio.run(main())
    assert seen and seen[0] != 0


def test_concurrent_steps_share_commits_and_fail_alone(tmp_path):
    """Group commit: while one step runs, 15 more queue up; all 16 share one COMMIT, the
    step that raises leaves no row, and each returns only once its row is committed."""
    import threading
    import time

    store = ServerStore(tmp_path / "group")
    commits: list[str] = []
    store._writer.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT"
                                     else None)
    first_inside, release_first = threading.Event(), threading.Event()
    seen_after_return: list[bool] = []

    def step(i: int) -> None:
        try:
            with store.write() as c:
                c.execute("INSERT INTO refusals (proposal, reviewer, code) VALUES (?,?,?)",
                          (f"p{i}", "r", "c"))
                if i == 0:
                    first_inside.set()
                    release_first.wait(30)
                if i == 7:
                    raise ValueError("this step fails")
        except ValueError:
            return
        reader = sqlite3.connect(store.path)  # acknowledged: any reader sees the row
        seen_after_return.append(reader.execute("SELECT 1 FROM refusals WHERE proposal=?",
                                                (f"p{i}",)).fetchone() is not None)
        reader.close()

    threads = [threading.Thread(target=step, args=(i,)) for i in range(16)]
    threads[0].start()
    assert first_inside.wait(30)
    for t in threads[1:]:
        t.start()
    deadline = time.monotonic() + 30
    while store._waiting < 15 and time.monotonic() < deadline:  # all queued behind step 0
        time.sleep(0.01)
    release_first.set()
    for t in threads:
        t.join()
    rows = {r[0] for r in store.conn.execute("SELECT proposal FROM refusals")}
    assert rows == {f"p{i}" for i in range(16) if i != 7}
    assert seen_after_return == [True] * 15
    assert commits == ["COMMIT"]
    store.close()
