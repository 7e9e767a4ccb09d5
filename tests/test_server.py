"""The real queue server process on loopback: two reviewers and an agent, every refusal,
blind review over every OpenAPI route, bad input, and a SIGKILL in the middle of a burst."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import threading
import time
from datetime import timedelta

import httpx
import pytest
import sqlite_utils

from core.errors import InvalidData
from core.formats import Decision, Event, canonical, now_utc
from core.log.note import LogVerifier
from core.log.store import verify_store
from core.policy import SignedDecision
from core.review import make_decision
from core.sample import SampleWorld
from core.signing import Signer
from tests.bundle_factory import make_receipt
from tests.server_fixtures import Server, cli

BOB, CAROL, DAVE, ALICE = ("bob@example.com", "carol@example.com", "dave@example.com",
                           "alice@example.com")


def _propose(server, world, **kw):
    from core.policy import Policy

    policy = Policy.from_bytes(world.policy_bytes())
    proposal = world.proposal(policy_hash=policy.hash, **kw)
    server.agent().submit_proposal(proposal)
    return proposal


def _decide(server, who, proposal, verdict="approve", signer_of=None, **kw):
    world = server.world
    d = make_decision(proposal, verdict=verdict, reason=kw.pop("reason", f"ok ({who})"),
                      identity=kw.pop("reviewer", who),
                      signer=world.signer(signer_of or who), now=now_utc())
    return server.reviewer(who).submit_decision(proposal.hash, d)


def _events(server) -> list[Event]:
    raw = server.auditor().entries(0, 10_000)
    return [Event.from_bytes(e) for e in raw]


def test_two_reviewers_and_an_agent(server):
    p = _propose(server, server.world)
    bob = server.reviewer(BOB)
    assert [v.hash for v in bob.list_proposals()] == [p.hash]
    assert bob.get_proposal(p.hash).status == "pending"
    _decide(server, BOB, p)
    view = bob.get_proposal(p.hash)
    assert view.my_decision is not None and len(view.decisions) == 1
    _decide(server, CAROL, p)
    assert server.gate().get_proposal(p.hash).status == "approved"
    assert len(server.gate().get_proposal(p.hash).decisions) == 2
    kinds = [e.type for e in _events(server)]
    assert kinds == ["policy.activated", "proposal.submitted", "decision.recorded",
                     "decision.recorded"]


def test_every_refusal_is_answered_and_logged(server):
    world = server.world
    world.signers["erin@example.com"] = Signer(bytes(range(32)))
    p = _propose(server, world)
    cases = []

    def refuse(code, fn):
        with pytest.raises(InvalidData) as e:
            fn()
        assert e.value.code == code, (code, e.value.message)
        assert e.value.message
        cases.append(code)

    refuse("self_approval", lambda: _decide(server, ALICE, p))
    _decide(server, BOB, p)
    refuse("duplicate_reviewer", lambda: _decide(server, BOB, p, reason="again"))
    refuse("not_in_roster", lambda: _decide(server, DAVE, p, reviewer="erin@example.com",
                                            signer_of="erin@example.com"))
    refuse("reviewer_mismatch", lambda: _decide(server, DAVE, p, reviewer=CAROL,
                                                signer_of=CAROL))
    d = make_decision(p, verdict="approve", reason="x", identity=DAVE,
                      signer=world.signer(DAVE), now=now_utc())
    forged = Decision.from_bytes(canonical({**json.loads(d.document), "job_id": "other"}))
    refuse("binding", lambda: server.reviewer(DAVE).submit_decision(p.hash, SignedDecision(
        forged.raw, world.signer(DAVE).sign(forged.raw, "foureyes-decision-v1"))))
    refuse("signature", lambda: server.reviewer(DAVE).submit_decision(p.hash, SignedDecision(
        d.document, world.signer(DAVE).sign(d.document, "foureyes-login-v1"))))
    iam = _propose(server, world, route="iam.grant", params={"role": "admin"},
                   requester=CAROL)
    refuse("not_eligible", lambda: _decide(server, ALICE, iam))
    _decide(server, BOB, iam)
    _decide(server, DAVE, iam)  # shares a group with bob: recorded, never refused
    assert server.gate().get_proposal(iam.hash).status == "pending"
    _decide(server, CAROL, p)  # p is approved: its outcome is final
    refuse("closed", lambda: _decide(server, DAVE, p, verdict="reject", reason="late"))
    refused = [(e.get("reviewer"), e.get("code")) for e in _events(server)
               if e.type == "decision.refused"]
    assert [c for _, c in refused] == cases
    assert (ALICE, "self_approval") in refused


def test_expiry_is_logged_once_and_refuses_late_decisions(tmp_path):
    world = SampleWorld.create(ttl="2s", rules='[[rules]]\nroute = "payments.*"\napprovals = 2\n')
    srv = Server(world, tmp_path / "s")
    srv.setup()
    srv.start()
    try:
        p = _propose(srv, world, ttl=timedelta(seconds=2))
        view = srv.agent().wait(p.hash, 10)
        deadline = time.monotonic() + 20
        while view.status == "pending" and time.monotonic() < deadline:
            view = srv.agent().wait(p.hash, 5)
        assert view.status == "expired"
        with pytest.raises(InvalidData) as e:
            _decide(srv, BOB, p)
        assert e.value.code == "expired"
        kinds = [ev.type for ev in _events(srv)]
        assert kinds.count("proposal.expired") == 1
        assert kinds[-1] == "decision.refused"
    finally:
        srv.stop()


def test_receipt_once_and_only_from_the_gate(server):
    world = server.world
    p = _propose(server, world)
    d1 = _decide(server, BOB, p)
    d2 = _decide(server, CAROL, p)
    receipt, sig = make_receipt(world, p, [d1.decision_hash, d2.decision_hash], now_utc())
    with pytest.raises(InvalidData) as e:
        server.agent().record_receipt(p.hash, receipt, sig)
    assert e.value.code == "forbidden"
    server.gate().record_receipt(p.hash, receipt, sig)
    with pytest.raises(InvalidData) as e:
        server.gate().record_receipt(p.hash, receipt, sig)
    assert e.value.code == "already_executed"
    assert server.reviewer(DAVE).get_proposal(p.hash).status == "executed"
    assert len(server.reviewer(DAVE).get_proposal(p.hash).decisions) == 2  # final: shown


def test_receipt_without_quorum_is_refused(server):
    p = _propose(server, server.world)
    d1 = _decide(server, BOB, p)
    receipt, sig = make_receipt(server.world, p, [d1.decision_hash], now_utc())
    with pytest.raises(InvalidData) as e:
        server.gate().record_receipt(p.hash, receipt, sig)
    assert e.value.code == "quorum"


def test_a_relayed_login_challenge_is_not_signed(server):
    """A look-alike server relaying the real server's challenge gets no signature."""
    import httpx as hx

    real = hx.post(server.url + "/v1/login/challenge", json={"identity": BOB}).json()

    def relay(request: hx.Request) -> hx.Response:
        return hx.Response(200, json=real)

    from core.queue.http import HttpQueue

    fake = HttpQueue("http://evil.example:8700", identity=BOB, signer=server.world.signer(BOB),
                     transport=hx.MockTransport(relay))
    with pytest.raises(InvalidData) as e:
        fake.login()
    assert e.value.code == "login"


def test_login_replay_roles_and_tokens(server):
    url = server.url
    ch = httpx.post(url + "/v1/login/challenge", json={"identity": BOB}).json()
    sig = server.world.signer(BOB).sign(ch["challenge"].encode(), "foureyes-login-v1")
    assert httpx.post(url + "/v1/login", json={"challenge": ch["challenge"],
                                               "signature": sig}).status_code == 200
    again = httpx.post(url + "/v1/login", json={"challenge": ch["challenge"], "signature": sig})
    assert again.status_code == 401 and again.json()["code"] == "replay"
    ch = httpx.post(url + "/v1/login/challenge", json={"identity": BOB}).json()
    wrong = server.world.signer(CAROL).sign(ch["challenge"].encode(), "foureyes-login-v1")
    r = httpx.post(url + "/v1/login", json={"challenge": ch["challenge"], "signature": wrong})
    assert r.status_code == 403 and r.json()["code"] == "not_in_roster"
    r = httpx.get(url + "/v1/proposals")
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"
    r = httpx.post(url + "/v1/proposals", json={"proposal": "{}"},
                   headers={"Authorization": f"Bearer {server.gate_token}x"})
    assert r.status_code == 401
    with pytest.raises(InvalidData) as e:
        server.reviewer(BOB).submit_proposal(server.world.proposal(policy_hash="sha256:" + "0" * 64))
    assert e.value.code == "forbidden"
    # an expired session token
    store = sqlite_utils.Database(sqlite3.connect(server.data / "server.sqlite"))
    from core.server.store import token_hash

    store.conn.execute("INSERT INTO tokens (hash, role, identity, expires_at) "
                       "VALUES (?, 'reviewer', ?, ?)",
                       (token_hash("old-token"), BOB, time.time() - 1))
    store.conn.commit()
    r = httpx.get(url + "/v1/proposals", headers={"Authorization": "Bearer old-token"})
    assert r.status_code == 401 and r.json()["code"] == "token_expired"


def test_bad_input_gets_clear_4xx_and_no_state(server):
    url, auth = server.url, {"Authorization": f"Bearer {server.agent_token}"}
    before = len(server.auditor().entries(0, 10_000))
    cases = [
        (httpx.post(url + "/v1/proposals", content=b"{not json", headers={
            **auth, "Content-Type": "application/json"}), 400, "format"),
        (httpx.post(url + "/v1/proposals", content=b"x" * (300 * 1024), headers={
            **auth, "Content-Type": "application/json"}), 413, "too_large"),
        (httpx.post(url + "/v1/proposals", content=b"{}", headers={
            **auth, "Content-Type": "text/plain"}), 415, "content_type"),
        (httpx.get(url + "/v1/nowhere", headers=auth), 404, "not_found"),
        (httpx.post(url + "/v1/proposals", json={"proposal": '{"a": 1}'}, headers=auth),
         400, "format"),
        (httpx.post(url + "/v1/proposals", json={"proposal": "{}", "extra": 1}, headers=auth),
         400, "format"),
    ]
    for response, status, code in cases:
        assert response.status_code == status, response.text
        assert response.json()["code"] == code and response.json()["message"]
    assert len(server.auditor().entries(0, 10_000)) == before


def test_proposal_checks(server):
    world = server.world
    with pytest.raises(InvalidData) as e:
        _propose(server, world, route="unknown.route")
    assert e.value.code == "denied"
    with pytest.raises(InvalidData) as e:
        _propose(server, world, ttl=timedelta(hours=5))
    assert e.value.code == "ttl"
    with pytest.raises(InvalidData) as e:
        _propose(server, world, proposer="agent:someone-else")
    assert e.value.code == "proposer"


def test_rate_limit(tmp_path, world):
    srv = Server(world, tmp_path / "s", extra_args=("--max-open", "2"))
    srv.setup()
    srv.start()
    try:
        _propose(srv, world)
        _propose(srv, world)
        with pytest.raises(InvalidData) as e:
            _propose(srv, world)
        assert e.value.code == "rate_limited"
    finally:
        srv.stop()


_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def _probe(url: str, token: str, path: str, method: str) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if method == "get":
        r = httpx.get(url + path, headers=headers, params={"timeout": 0, "index": 0, "size": 1,
                                                           "old": 1, "new": 1}, timeout=30)
    else:
        r = httpx.post(url + path, headers=headers, json={"probe": True}, timeout=30)
    body = _TIME.sub("T", r.text)
    body = re.sub(r'"(nonce|challenge|token)":"[^"]*"', r'"\1":"X"', body)
    return r.status_code, body


def test_blind_review_walks_every_openapi_route(server):
    """Before dave decides, nothing he can ask reveals that bob decided."""
    p = _propose(server, server.world)
    dave = server.reviewer(DAVE)
    dave.list_proposals()  # logs in
    spec = httpx.get(server.url + "/openapi.json").json()
    routes = [(path.replace("{proposal_hash}", p.hash), method)
              for path, methods in spec["paths"].items() for method in methods]
    assert len(routes) >= 12
    before = {r: _probe(server.url, dave.token, *r) for r in routes}
    _decide(server, BOB, p)
    after = {r: _probe(server.url, dave.token, *r) for r in routes}
    for route in routes:
        assert before[route] == after[route], route
    assert dave.get_proposal(p.hash).status == "pending"
    _decide(server, DAVE, p)
    assert len(dave.get_proposal(p.hash).decisions) == 2  # shown once he has decided


def test_sigkill_mid_burst_loses_nothing_acknowledged(tmp_path, world):
    world.rules = '[[rules]]\nroute = "payments.*"\napprovals = 2\n'
    srv = Server(world, tmp_path / "s", extra_args=("--max-open", "1000",
                                                    "--max-per-minute", "1000"))
    srv.setup()
    srv.start()
    acked: list[str] = []
    stop = threading.Event()

    def burst() -> None:
        from core.policy import Policy

        h = Policy.from_bytes(world.policy_bytes()).hash
        agent = srv.agent()
        while not stop.is_set():
            p = world.proposal(policy_hash=h)
            try:
                agent.submit_proposal(p)
            except Exception:
                return
            acked.append(p.hash)

    t = threading.Thread(target=burst)
    t.start()
    deadline = time.monotonic() + 30
    while len(acked) < 15 and time.monotonic() < deadline:
        time.sleep(0.05)
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.wait()
    stop.set()
    t.join(10)
    assert len(acked) >= 15
    srv.start()
    try:
        auditor = srv.auditor()
        stored = {v.hash for v in auditor.list_proposals()}
        assert set(acked) <= stored
        db = sqlite_utils.Database(sqlite3.connect(srv.data / "server.sqlite"))
        report = verify_store(db, [LogVerifier.from_text(world.log_verifier)])
        assert report.ok, report.problems
        submitted = [e for e in _events(srv) if e.type == "proposal.submitted"]
        assert len(submitted) == len(stored)  # every stored proposal logged, none twice
        out = cli("log", "verify", "--db", str(srv.data / "server.sqlite"), "--key",
                  world.log_verifier)
        assert out.returncode == 0, out.stdout + out.stderr
    finally:
        srv.stop()


def test_log_verify_names_a_tampered_entry(server):
    _propose(server, server.world)
    server.stop()
    conn = sqlite3.connect(server.data / "server.sqlite")
    conn.execute("UPDATE log_entries SET entry = CAST(? AS BLOB) WHERE idx = 1",
                 (b'{"x":1}',))
    conn.commit()
    conn.close()
    out = cli("log", "verify", "--db", str(server.data / "server.sqlite"), "--key",
              server.world.log_verifier)
    assert out.returncode == 1
    assert "first bad index: 1" in out.stdout


def test_refusal_messages_do_not_count_other_decisions(server):
    """A refused reviewer learns nothing about how many others already decided."""
    world = server.world
    first, second = _propose(server, world), _propose(server, world)
    _decide(server, BOB, second)

    def bad_signature(p):
        d = make_decision(p, verdict="approve", reason="x", identity=DAVE,
                          signer=world.signer(DAVE), now=now_utc())
        with pytest.raises(InvalidData) as e:
            server.reviewer(DAVE).submit_decision(p.hash, SignedDecision(
                d.document, world.signer(DAVE).sign(d.document, "foureyes-login-v1")))
        return e.value.code, e.value.message

    assert bad_signature(first) == bad_signature(second)


def test_server_refuses_to_start_on_a_damaged_log(server):
    server.stop()
    conn = sqlite3.connect(server.data / "server.sqlite")
    conn.execute("UPDATE log_entries SET entry=CAST(? AS BLOB) WHERE idx=0", (b'{"x":1}',))
    conn.commit()
    conn.close()
    with pytest.raises(RuntimeError) as e:
        server.start()
    assert "log_damaged" in str(e.value) or "does not verify" in str(e.value)


def test_key_not_valid_is_refused(tmp_path):
    """A roster entry outside its validity window cannot even log in, so it cannot decide.
    (The decision-time check, and its decision.refused entry, is the quorum function's: a
    reviewer whose window closes mid-session loses the session first, see
    tests/test_server_auth.py.)"""
    world = SampleWorld.create()
    erin = Signer(bytes(range(1, 33)))
    world.signers["erin@example.com"] = erin
    world.extra_approvers = ('[[approvers]]\nidentity = "erin@example.com"\n'
                             f'key = "{erin.public_key.openssh()}"\n'
                             'valid_before = "2020-01-01T00:00:00Z"\n')
    srv = Server(world, tmp_path / "s")
    srv.setup()
    srv.start()
    try:
        p = _propose(srv, world)
        with pytest.raises(InvalidData) as e:
            _decide(srv, "erin@example.com", p)
        assert e.value.code == "key_not_valid"
        assert "decision.recorded" not in [ev.type for ev in _events(srv)]
    finally:
        srv.stop()
