"""Item: `log verify` replays the log against the server store's rows.

The attack: with write access to server.sqlite and no key, delete a counted reject from
`decisions` and set the proposal to 'approved'. The Merkle log still verifies; the replay
does not, and names the proposal.
"""

from __future__ import annotations

import sqlite3

from core.formats import Receipt, now_utc
from core.log.events import recorded_for
from tests.bundle_factory import make_receipt
from tests.server_fixtures import cli
from tests.test_server import BOB, CAROL, _decide, _propose


def _verify(server):
    return cli("log", "verify", "--db", str(server.data / "server.sqlite"), "--key",
               server.world.log_verifier)


def _sql(server, *statements: tuple) -> None:
    conn = sqlite3.connect(server.data / "server.sqlite")
    for statement in statements:
        conn.execute(*statement)
    conn.commit()
    conn.close()


def test_a_deleted_reject_and_a_forged_approval_fail_naming_the_proposal(server):
    other = _propose(server, server.world)
    p = _propose(server, server.world)
    _decide(server, BOB, p, verdict="reject")
    assert server.gate().get_proposal(p.hash).status == "rejected"
    server.stop()
    assert _verify(server).returncode == 0
    _sql(server, ("DELETE FROM decisions WHERE proposal=? AND verdict='reject'", (p.hash,)),
         ("UPDATE proposals SET status='approved' WHERE hash=?", (p.hash,)))
    out = _verify(server)
    assert out.returncode == 1, out.stdout
    assert f"proposal {p.hash}: the log records decision" in out.stdout
    assert "(deleted?)" in out.stdout
    assert other.hash not in out.stdout


def test_a_forged_status_alone_fails(server):
    p = _propose(server, server.world)
    server.stop()
    _sql(server, ("UPDATE proposals SET status='approved' WHERE hash=?", (p.hash,)))
    out = _verify(server)
    assert out.returncode == 1
    assert f"proposal {p.hash}: the store says 'approved', but its log events lead to " \
        "'pending'" in out.stdout


def test_a_deleted_receipt_fails_and_the_gate_function_reads_the_record(server):
    world = server.world
    p = _propose(server, world)
    d1, d2 = _decide(server, BOB, p), _decide(server, CAROL, p)
    receipt, sig = make_receipt(world, p, [d1.decision_hash, d2.decision_hash], now_utc())
    server.gate().record_receipt(p.hash, receipt, sig)
    rec = recorded_for(server.auditor().entries(0, 1000), p.hash)
    assert rec.decision_set == {d1.decision_hash, d2.decision_hash}
    assert rec.receipt_set == {Receipt.from_bytes(receipt).hash}
    assert rec.submitted == 1 and not rec.expired
    server.stop()
    ok = _verify(server)
    assert ok.returncode == 0 and "agree with the log" in ok.stdout, ok.stdout
    _sql(server, ("UPDATE proposals SET receipt=NULL, receipt_sig=NULL, status='approved' "
                  "WHERE hash=?", (p.hash,)))
    out = _verify(server)
    assert out.returncode == 1
    assert f"proposal {p.hash}: the log records a receipt, but the store holds none" \
        in out.stdout
