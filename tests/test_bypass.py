"""Attacks on the rule itself, each against the real server process.

Every test here reproduces a bypass found by attacking the product as an agent, a reviewer,
a gate-token holder or a queue operator would, and failed before the fix it names.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import timedelta
from io import BytesIO

import httpx
import pytest

from core.bundle.trust import parse_trust
from core.bundle.verify import verify_bundle
from core.errors import InvalidData
from core.formats import Decision, canonical, format_time, now_utc
from core.gate import Gate, NoQuorum
from core.judge import Judge
from core.policy import Policy, SignedDecision
from core.sample import AGENT, GATE, REQUESTER
from core.signing import Signer
from tests.bundle_factory import make_receipt, trust_toml

BOB, CAROL, DAVE = "bob@example.com", "carol@example.com", "dave@example.com"
SUMMARY = {"title": "Pay invoice 4411", "why": "due", "blast_radius": "one payment",
           "reversibility": "irreversible"}


def _policy(world) -> Policy:
    return Policy.from_bytes(world.policy_bytes())


def _propose(server, **kw):
    p = server.world.proposal(policy_hash=_policy(server.world).hash, **kw)
    server.agent().submit_proposal(p)
    return p


def _signed(world, proposal, who, verdict="approve", *, decided_at=None, reviewer=None,
            signer_of=None, reason=None, **changes) -> SignedDecision:
    d = Decision.for_proposal(proposal, verdict=verdict, reason=reason or f"checked ({who})",
                              reviewer=reviewer or who, decided_at=decided_at or now_utc())
    if changes:
        d = Decision.from_bytes(canonical({**json.loads(d.raw), **changes}))
    return SignedDecision(d.raw, world.signer(signer_of or who).sign(d.raw,
                                                                    "foureyes-decision-v1"))


def _decide(server, who, proposal, verdict="approve", **kw):
    return server.reviewer(who).submit_decision(
        proposal.hash, _signed(server.world, proposal, who, verdict, **kw))


def _code(fn) -> str:
    with pytest.raises(InvalidData) as e:
        fn()
    return e.value.code


def _gate(server, tmp_path, name="gate") -> Gate:
    return Gate(server.agent(), server.world.policy_bytes(), identity=GATE,
                signer=server.world.signer(GATE), agent=AGENT, state_dir=tmp_path / name,
                receipts=server.gate())


# ------------------------------------------------------------------------------ time


def test_a_backdated_decision_does_not_count_on_the_server(server):
    """A reviewer signs a decision dated before the proposal existed (within the server's
    clock tolerance): it used to count; now it is refused `binding` and logged."""
    p = _propose(server, created_at=now_utc() - timedelta(minutes=1))
    early = p.created_at - timedelta(seconds=90)
    assert _code(lambda: _decide(server, BOB, p, decided_at=early)) == "binding"


def test_revocation_is_immediate_for_decisions(world):
    """A reviewer removed from the active policy: their decision on a proposal pinned to the
    old policy no longer counts at arrival."""
    old = _policy(world)
    p = world.proposal(policy_hash=old.hash)
    without_bob = world.policy_text().replace('identity = "bob@example.com"',
                                              'identity = "bobby@example.com"')
    active = Policy.from_bytes(without_bob.encode())
    judge = Judge(active, {old.hash: old, active.hash: active}.__getitem__, clock="server")
    ruling = judge.decision(p, "pending", [], _signed(world, p, BOB, decided_at=p.created_at),
                            p.created_at)
    assert ruling.code == "key_not_valid"
    # ...and a roster entry whose valid_before has passed is refused at arrival too
    expiring = world.policy_text().replace(
        'identity = "bob@example.com"',
        f'identity = "bob@example.com"\nvalid_before = "{format_time(p.created_at + timedelta(seconds=30))}"')
    pol = Policy.from_bytes(expiring.encode())
    p2 = world.proposal(policy_hash=pol.hash, created_at=p.created_at)
    judge = Judge(pol, {pol.hash: pol}.__getitem__, clock="folder")
    late = judge.decision(p2, "pending", [], _signed(world, p2, BOB, decided_at=p2.created_at),
                          p2.created_at + timedelta(minutes=2))
    assert late.code == "key_not_valid"


# ------------------------------------------------------------------------------ finality


def test_a_late_reject_never_erases_an_execution(server, tmp_path):
    """Quorum, then a reject while the gate executes: the reject is refused `closed` and
    logged, the receipt is recorded, and the bundle says executed."""
    gate = _gate(server, tmp_path)
    p = gate.propose("payments.transfer", {"amount_minor": 120000, "currency": "USD",
                                           "to": "acct-991"}, SUMMARY, requester=REQUESTER)
    _decide(server, BOB, p)
    _decide(server, CAROL, p)
    ran = []

    def pay(params):
        # the reject lands while the payment runs
        assert _code(lambda: _decide(server, DAVE, p, "reject", reason="stop")) == "closed"
        ran.append(params)
        return "paid"

    result = gate.execute(p, pay)
    assert ran and result.receipt is not None
    assert server.gate().get_proposal(p.hash).status == "executed"
    data = server.auditor().export_bundle(p.hash)
    report = verify_bundle(data, parse_trust(trust_toml(server.world, _policy(server.world))))
    assert report.exit_code == 0, report.failures
    assert report.executed
    assert ("refused", DAVE) in [(i.kind, i.who) for i in report.timeline]


def test_a_receipt_dated_before_its_decisions_is_refused_and_not_stuck(server):
    p = _propose(server, created_at=now_utc() - timedelta(minutes=2))
    _decide(server, BOB, p)
    _decide(server, CAROL, p)
    gate_q = server.gate()
    gate_q.claim(p.hash)
    view = gate_q.get_proposal(p.hash)
    hashes = [Decision.from_bytes(d.document).hash for d in view.decisions]
    early, sig = make_receipt(server.world, p, hashes, p.created_at)
    assert _code(lambda: gate_q.record_receipt(p.hash, early, sig)) == "receipt_time"
    good, sig = make_receipt(server.world, p, hashes, now_utc())
    gate_q.record_receipt(p.hash, good, sig)
    assert gate_q.get_proposal(p.hash).status == "executed"


def test_a_second_gate_on_copied_state_is_refused_by_the_queue(server, tmp_path):
    """The ledger alone can be copied or deleted; the queue's claim cannot."""
    first = _gate(server, tmp_path, "g1")
    p = first.propose("payments.transfer", {"amount_minor": 120000, "currency": "USD",
                                            "to": "acct-991"}, SUMMARY, requester=REQUESTER)
    _decide(server, BOB, p)
    _decide(server, CAROL, p)
    runs = []
    barrier = threading.Barrier(2)
    errors = []

    def run(g):
        barrier.wait()
        try:
            g.execute(p, lambda params: runs.append(params))
        except InvalidData as e:
            errors.append(e.code)

    gates = [first, _gate(server, tmp_path, "g2")]  # g2: a fresh (deleted) state directory
    threads = [threading.Thread(target=run, args=(g,)) for g in gates]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(runs) == 1
    assert errors == ["already_executed"]


# ------------------------------------------------------------------------------ blind review


def _raw(server, token, method, path, **kw) -> tuple[int, str]:
    r = httpx.request(method, server.url + path, headers={"Authorization": f"Bearer {token}"},
                      timeout=10, **kw)
    return r.status_code, r.text


def test_every_refusal_dave_can_provoke_is_the_same_whether_or_not_others_decided(server):
    """Two identical proposals: on one nobody decided, on the other bob and carol approved
    (it is closed). Everything dave can send before deciding gets the same answer, byte for
    byte once the proposal hashes are aligned."""
    world = server.world
    world.signers["erin@example.com"] = Signer(bytes(range(32)))
    quiet = _propose(server)
    busy = _propose(server)
    _decide(server, BOB, busy)
    _decide(server, CAROL, busy)
    dave = server.reviewer(DAVE)
    dave.list_proposals()  # log in
    far = now_utc() + timedelta(hours=3)

    def attempts(p):
        return [
            _signed(world, p, DAVE, job_id="other"),                       # binding
            _signed(world, p, DAVE, decided_at=p.created_at - timedelta(seconds=5)),
            _signed(world, p, DAVE, decided_at=far),                       # clock / expired
            _signed(world, p, DAVE, reviewer=CAROL, signer_of=CAROL),      # mismatch
            _signed(world, p, "erin@example.com"),                         # not in roster
            SignedDecision(_signed(world, p, DAVE).document,
                           world.signer(DAVE).sign(b"x", "foureyes-decision-v1")),
        ]

    def norm(p, answer):
        status, text = answer
        text = text.replace(json.dumps(p.raw.decode())[1:-1], "<BODY>")  # its own bytes
        return status, text.replace(p.hash, "<P>").replace(p.hash.removeprefix("sha256:"),
                                                          "<P>")

    for a, b in zip(attempts(quiet), attempts(busy), strict=True):
        ra = _raw(server, dave.token, "POST", f"/v1/proposals/{quiet.hash}/decisions",
                  json={"decision": a.document.decode(), "signature": a.signature})
        rb = _raw(server, dave.token, "POST", f"/v1/proposals/{busy.hash}/decisions",
                  json={"decision": b.document.decode(), "signature": b.signature})
        assert ra[0] >= 400
        assert norm(quiet, ra) == norm(busy, rb)
    for path in ("", "/wait?timeout=0", "/bundle", "/log"):
        assert norm(quiet, _raw(server, dave.token, "GET", f"/v1/proposals/{quiet.hash}{path}")
                    ) == norm(busy, _raw(server, dave.token, "GET",
                                         f"/v1/proposals/{busy.hash}{path}")), path


def test_a_decision_ack_carries_no_log_position(server):
    p = _propose(server)
    status, text = _raw(server, server.reviewer(BOB).token or _login(server, BOB), "POST",
                        f"/v1/proposals/{p.hash}/decisions",
                        json={"decision": _signed(server.world, p, BOB).document.decode(),
                              "signature": _signed(server.world, p, BOB).signature})
    assert status == 201 and set(json.loads(text)) == {"decision"}


def _login(server, who) -> str:
    q = server.reviewer(who)
    q.list_proposals()
    return q.token


def test_a_reexported_bundle_carries_the_checkpoint_of_its_closing(server):
    p = _propose(server)
    _decide(server, BOB, p, "reject", reason="wrong vendor")
    first = server.auditor().export_bundle(p.hash)
    for _ in range(3):  # the log keeps growing with others' activity
        _propose(server)
    import zipfile

    again = server.auditor().export_bundle(p.hash)
    read = lambda d: zipfile.ZipFile(BytesIO(d)).read("log/checkpoint")  # noqa: E731
    assert read(first) == read(again)


# ------------------------------------------------------------------------------ roles


def test_a_gate_token_cannot_propose_and_agents_see_only_their_own(server):
    p = server.world.proposal(policy_hash=_policy(server.world).hash)
    assert _code(lambda: server.gate().submit_proposal(p)) == "forbidden"
    server.agent().submit_proposal(p)
    from core.queue.http import HttpQueue

    other = HttpQueue(server.url, token=server.token("agent", "agent:other-bot"))
    assert p.hash not in {v.hash for v in other.list_proposals()}
    assert _code(lambda: other.get_proposal(p.hash)) == "not_found"
    forged = server.world.proposal(policy_hash=_policy(server.world).hash,
                                   proposer="agent:other-bot")
    assert _code(lambda: server.agent().submit_proposal(forged)) == "proposer"


def test_agents_do_not_see_verdicts_in_flight(server):
    p = _propose(server)
    _decide(server, BOB, p)
    view = server.agent().get_proposal(p.hash)
    assert view.decisions == ()


# ------------------------------------------------------------------------------ tampered store


def test_a_deleted_reject_and_a_forced_status_are_caught_by_the_gate(server, tmp_path):
    """The queue operator deletes the counted reject row and forces 'approved', adding an
    approve that was refused `closed` (no key needed for any of it). The signatures the gate
    is shown are all valid; the log disagrees, and the gate refuses before anything runs."""
    gate = _gate(server, tmp_path)
    p = gate.propose("payments.transfer", {"amount_minor": 120000, "currency": "USD",
                                           "to": "acct-991"}, SUMMARY, requester=REQUESTER)
    _decide(server, BOB, p)
    _decide(server, DAVE, p, "reject", reason="wrong vendor")
    carol = _signed(server.world, p, CAROL)
    db = sqlite3.connect(server.data / "server.sqlite")
    with db:
        db.execute("DELETE FROM decisions WHERE reviewer=?", (DAVE,))
        db.execute("INSERT INTO decisions (hash, proposal, seq, reviewer, verdict, body, "
                   "signature) VALUES (?,?,?,?,?,?,?)",
                   (Decision.from_bytes(carol.document).hash, p.hash, 2, CAROL, "approve",
                    carol.document, carol.signature))
        db.execute("UPDATE proposals SET status='approved' WHERE hash=?", (p.hash,))
    db.close()
    ran = []
    with pytest.raises(NoQuorum) as e:
        gate.execute(p, lambda params: ran.append(params))
    assert "audit log disagrees" in e.value.message
    assert ran == []


def test_a_receipt_lost_after_the_run_is_sent_again_never_run_again(server, tmp_path):
    """The gate ran the action, then the queue was unreachable for the receipt: the next
    attempt sends the kept receipt and does not run the action a second time."""
    from core.errors import TransportError
    from core.gate import AlreadyExecuted, QueueUnreachable

    gate = _gate(server, tmp_path)
    p = gate.propose("payments.transfer", {"amount_minor": 120000, "currency": "USD",
                                           "to": "acct-991"}, SUMMARY, requester=REQUESTER)
    _decide(server, BOB, p)
    _decide(server, CAROL, p)
    real = gate.receipts.record_receipt

    def outage(*args):
        raise TransportError("unreachable", "connection refused")

    gate.receipts.record_receipt = outage
    runs = []
    with pytest.raises(QueueUnreachable):
        gate.execute(p, lambda params: runs.append(params))
    assert server.gate().get_proposal(p.hash).status == "approved"  # claimed, no receipt
    gate.receipts.record_receipt = real
    with pytest.raises(AlreadyExecuted):
        gate.execute(p, lambda params: runs.append(params))
    assert len(runs) == 1
    assert server.gate().get_proposal(p.hash).status == "executed"
