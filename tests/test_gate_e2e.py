"""End to end over the real server: the gate SDK proposes, waits, verifies the quorum itself,
executes once, and the exported bundle verifies (also with ssh-keygen)."""

from __future__ import annotations

import subprocess
import threading
import time
import zipfile
from io import BytesIO

import pytest

from core.bundle.trust import parse_trust
from core.bundle.verify import verify_bundle
from core.errors import InvalidData
from core.formats import now_utc
from core.gate import AlreadyExecuted, DeniedByPolicy, Expired, Gate, QueueUnreachable, Rejected
from core.policy import Policy
from core.queue.http import HttpQueue
from core.review import make_decision
from core.sample import AGENT, GATE, REQUESTER, SampleWorld
from tests.bundle_factory import trust_toml
from tests.server_fixtures import Server

SUMMARY = {"title": "Pay invoice 4411", "why": "Invoice due today",
           "blast_radius": "one vendor account", "reversibility": "irreversible"}
PARAMS = {"amount_minor": 120000, "currency": "USD", "to": "acct-991"}


def _gate(server: Server, tmp_path) -> Gate:
    return Gate(server.agent(), server.world.policy_bytes(), identity=GATE,
                signer=server.world.signer(GATE), agent=AGENT, state_dir=tmp_path / "gate",
                receipts=server.gate())


def _run_in_thread(gate: Gate, params=PARAMS, timeout=60):
    box: dict = {}

    def run() -> None:
        calls = []
        try:
            box["result"] = gate.run("payments.transfer", params, SUMMARY, requester=REQUESTER,
                                     execute=lambda p: calls.append(p) or "done",
                                     timeout=timeout)
        except Exception as e:
            box["error"] = e
        box["calls"] = calls

    t = threading.Thread(target=run)
    t.start()
    return t, box


def _pending(server: Server, who: str):
    q = server.reviewer(who)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        views = [v for v in q.list_proposals() if v.status == "pending"]
        if views:
            return q, views[0].proposal
        time.sleep(0.1)
    raise AssertionError("no pending proposal")


def _decide(server, who, proposal, verdict="approve"):
    q = server.reviewer(who)
    q.submit_decision(proposal.hash, make_decision(
        proposal, verdict=verdict, reason=f"reviewed ({who})", identity=who,
        signer=server.world.signer(who), now=now_utc()))


def test_propose_approve_execute_export_verify(server, tmp_path):
    gate = _gate(server, tmp_path)
    params = dict(PARAMS)
    t, box = _run_in_thread(gate, params)
    _, proposal = _pending(server, "bob@example.com")
    params["to"] = "acct-evil"  # mutating the caller's dict after proposing changes nothing
    with pytest.raises(InvalidData) as e:
        _decide(server, REQUESTER, proposal)
    assert e.value.code == "self_approval"
    _decide(server, "bob@example.com", proposal)
    _decide(server, "carol@example.com", proposal)
    t.join(60)
    assert "error" not in box, box.get("error")
    assert box["calls"] == [PARAMS]  # exactly the approved parameters, once
    with pytest.raises(AlreadyExecuted):
        gate.execute(proposal, lambda p: None)
    gate.close()
    again = _gate(server, tmp_path)  # a restarted gate remembers too
    with pytest.raises(AlreadyExecuted):
        again.execute(proposal, lambda p: None)

    data = server.auditor().export_bundle(proposal.hash)
    policy = Policy.from_bytes(server.world.policy_bytes())
    report = verify_bundle(data, parse_trust(trust_toml(server.world, policy)))
    assert report.exit_code == 0, report.failures
    assert ("refused", REQUESTER) in [(i.kind, i.who) for i in report.timeline]
    out = tmp_path / "b"
    zipfile.ZipFile(BytesIO(data)).extractall(out)
    for n in (1, 2):
        doc = (out / "decisions" / f"{n}.json").read_bytes()
        who = __import__("json").loads(doc)["reviewer"]
        r = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(out / "allowed_signers"),
                            "-I", who, "-n", "foureyes-decision-v1", "-s",
                            str(out / "decisions" / f"{n}.json.sig")], input=doc,
                           capture_output=True, check=False)
        assert r.returncode == 0, r.stderr


def test_rejection_raises_and_bundle_shows_it(server, tmp_path):
    gate = _gate(server, tmp_path)
    t, box = _run_in_thread(gate)
    _, proposal = _pending(server, "bob@example.com")
    _decide(server, "bob@example.com", proposal, "reject")
    t.join(60)
    assert isinstance(box["error"], Rejected) and box["calls"] == []
    data = server.auditor().export_bundle(proposal.hash)
    report = verify_bundle(data, parse_trust(trust_toml(
        server.world, Policy.from_bytes(server.world.policy_bytes()))))
    assert report.exit_code == 0 and report.outcome.status == "rejected" and not report.executed


def test_expiry_fails_closed(tmp_path):
    world = SampleWorld.create(
        rules='[[rules]]\nroute = "payments.*"\napprovals = 2\nttl = "2s"\n')
    srv = Server(world, tmp_path / "s")
    srv.setup()
    srv.start()
    try:
        gate = _gate(srv, tmp_path)
        t, box = _run_in_thread(gate)
        _, proposal = _pending(srv, "bob@example.com")
        _decide(srv, "bob@example.com", proposal)
        t.join(60)
        assert isinstance(box["error"], Expired) and box["calls"] == []
        data = srv.auditor().export_bundle(proposal.hash)
        report = verify_bundle(data, parse_trust(trust_toml(
            world, Policy.from_bytes(world.policy_bytes()))))
        assert report.exit_code == 0 and not report.executed
        assert "expired" in [i.kind for i in report.timeline]
    finally:
        srv.stop()


def test_gate_trusts_no_queue(server, tmp_path):
    """A queue that lies about the status cannot make the gate execute."""
    gate = _gate(server, tmp_path)
    proposal = gate.propose("payments.transfer", PARAMS, SUMMARY, requester=REQUESTER)
    from core.gate import NoQuorum

    with pytest.raises(NoQuorum):
        gate.execute(proposal, lambda p: pytest.fail("must not run"))


def test_denied_and_unreachable(server, tmp_path):
    gate = _gate(server, tmp_path)
    with pytest.raises(DeniedByPolicy):
        gate.run("db.drop", {}, SUMMARY, requester=REQUESTER, execute=lambda p: None)
    dead = Gate(HttpQueue("http://127.0.0.1:9", timeout=1), server.world.policy_bytes(),
                identity=GATE, signer=server.world.signer(GATE), agent=AGENT,
                state_dir=tmp_path / "g2")
    with pytest.raises(QueueUnreachable):
        dead.run("payments.transfer", PARAMS, SUMMARY, requester=REQUESTER,
                 execute=lambda p: None, timeout=1)


def test_no_approval_rule_runs_and_is_logged(server, tmp_path):
    gate = _gate(server, tmp_path)
    result = gate.run("reports.read", {"report": "q3"}, SUMMARY, requester=REQUESTER,
                      execute=lambda p: "read")
    assert result.value == "read" and result.receipt is not None
    events = [e.decode() for e in server.auditor().entries(0, 100)]
    assert any("receipt.recorded" in e for e in events)


def test_async_run(server, tmp_path):
    import asyncio

    gate = _gate(server, tmp_path)
    result = asyncio.run(gate.arun("reports.read", {}, SUMMARY, requester=REQUESTER,
                                   execute=lambda p: 42))
    assert result.value == 42
