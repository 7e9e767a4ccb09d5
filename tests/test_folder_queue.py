"""The shared-folder queue: sealed decisions, a gate that counts and logs, hostile files."""

from __future__ import annotations

import os
import threading
import time

import nacl.exceptions
import nacl.public
import pytest
from click.testing import CliRunner

from core.bundle.trust import parse_trust
from core.bundle.verify import verify_bundle
from core.cli.main import cli
from core.formats import Event, now_utc
from core.gate import Expired, Gate, Rejected
from core.policy import Policy
from core.queue import atomic
from core.review import make_decision
from core.sample import AGENT, GATE, REQUESTER, SampleWorld
from tests.bundle_factory import trust_toml
from tests.folder_fixtures import Folder

BOB, CAROL, DAVE = "bob@example.com", "carol@example.com", "dave@example.com"
SUMMARY = {"title": "Pay invoice 4411", "why": "Invoice due today",
           "blast_radius": "one vendor account", "reversibility": "irreversible"}
PARAMS = {"amount_minor": 120000, "currency": "USD", "to": "acct-991"}


@pytest.fixture
def folder(tmp_path, world):
    return Folder.create(world, tmp_path)


def _decide(folder, who, proposal, verdict="approve", signer_of=None):
    folder.reviewer(who).submit_decision(proposal.hash, make_decision(
        proposal, verdict=verdict, reason=f"checked ({who})", identity=who,
        signer=folder.world.signer(signer_of or who), now=now_utc()))


def _gate_sdk(folder, tmp_path, q=None):
    q = q or folder.gate()
    return Gate(q, folder.world.policy_bytes(), identity=GATE, signer=folder.world.signer(GATE),
                agent=AGENT, state_dir=tmp_path / "sdk"), q


def _run(gate):
    box = {"calls": []}

    def go():
        try:
            box["result"] = gate.run("payments.transfer", PARAMS, SUMMARY, requester=REQUESTER,
                                     execute=lambda p: box["calls"].append(p), timeout=30)
        except Exception as e:
            box["error"] = e

    t = threading.Thread(target=go)
    t.start()
    return t, box


def _pending(folder, who=BOB):
    q = folder.reviewer(who)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        views = q.list_proposals()
        if views:
            return views[0].proposal
        time.sleep(0.05)
    raise AssertionError("no proposal reached the folder")


def _events(q) -> list[Event]:
    return [Event.from_bytes(q.log.entry(i)) for i in range(q.log.size)]


def test_approve_execute_and_bundle_through_a_folder(folder, tmp_path):
    gate, q = _gate_sdk(folder, tmp_path)
    t, box = _run(gate)
    p = _pending(folder)
    _decide(folder, REQUESTER, p)          # refused by the gate, and logged
    _decide(folder, BOB, p)
    _decide(folder, BOB, p)                # a second decision by bob: refused, logged
    assert folder.reviewer(DAVE).get_proposal(p.hash).status == "pending"  # blind
    _decide(folder, CAROL, p)
    t.join(30)
    assert "error" not in box, box.get("error")
    assert box["calls"] == [PARAMS]
    refused = [(e.get("reviewer"), e.get("code")) for e in _events(q)
               if e.type == "decision.refused"]
    assert sorted(refused) == sorted([(BOB, "duplicate_reviewer"), (REQUESTER, "self_approval")])
    view = folder.reviewer(DAVE).get_proposal(p.hash)
    assert view.status == "executed" and len(view.decisions) == 2
    data = folder.reviewer(DAVE).export_bundle(p.hash)
    policy = Policy.from_bytes(folder.world.policy_bytes())
    report = verify_bundle(data, parse_trust(trust_toml(folder.world, policy)))
    assert report.exit_code == 0, report.failures
    assert ("refused", REQUESTER) in [(i.kind, i.who) for i in report.timeline]


def test_rejection_and_expiry(tmp_path):
    world = SampleWorld.create(
        rules='[[rules]]\nroute = "payments.*"\napprovals = 2\nttl = "2s"\n')
    folder = Folder.create(world, tmp_path)
    gate, q = _gate_sdk(folder, tmp_path)
    t, box = _run(gate)
    p = _pending(folder)
    _decide(folder, BOB, p, "reject")
    t.join(30)
    assert isinstance(box["error"], Rejected) and box["calls"] == []
    assert folder.reviewer(DAVE).get_proposal(p.hash).status == "rejected"
    t, box = _run(gate)
    t.join(30)
    assert isinstance(box["error"], Expired) and box["calls"] == []
    kinds = [e.type for e in _events(q)]
    assert kinds.count("proposal.expired") == 1


def test_sealed_decisions_are_unreadable_without_the_gate_key(folder, tmp_path):
    _gate, q = _gate_sdk(folder, tmp_path)
    policy = Policy.from_bytes(folder.world.policy_bytes())
    p = folder.world.proposal(policy_hash=policy.hash)
    q.submit_proposal(p)
    _decide(folder, BOB, p)
    sealed = next((folder.root / "decisions").rglob("*.sealed")).read_bytes()
    assert b"bob@example.com" not in sealed and b"approve" not in sealed
    stranger = nacl.public.SealedBox(nacl.public.PrivateKey.generate())
    with pytest.raises(nacl.exceptions.CryptoError):
        stranger.decrypt(sealed)
    carol = folder.reviewer(CAROL).get_proposal(p.hash)
    assert carol.status == "pending" and carol.decisions == () and carol.my_decision is None


def test_hostile_files_are_reported_not_fatal(folder, tmp_path):
    _gate, q = _gate_sdk(folder, tmp_path)
    policy = Policy.from_bytes(folder.world.policy_bytes())
    p = folder.world.proposal(policy_hash=policy.hash)
    q.submit_proposal(p)
    props = folder.root / "proposals"
    (props / ("a" * 64 + ".json")).write_bytes(b'{"truncated":')
    (props / "notes.txt").write_text("hello")
    (props / ("b" * 64 + ".json")).write_bytes(p.raw)  # content under the wrong name
    (props / ".half-written.json.tmp").write_bytes(b"{")
    (props / ("c" * 64 + ".json")).write_bytes(b"x" * (2 * 1024 * 1024))
    h = p.hash[7:]
    (folder.root / "decisions" / h).mkdir(parents=True, exist_ok=True)
    (folder.root / "decisions" / h / ("d" * 32 + ".sealed")).write_bytes(b"garbage")
    (folder.root / "decisions" / h / "foreign.bin").write_bytes(b"x")
    reviewer = folder.reviewer(BOB)
    assert [v.hash for v in reviewer.list_proposals()] == [p.hash]
    names = {pr.name for pr in reviewer.problems}
    assert {"a" * 64 + ".json", "notes.txt", "b" * 64 + ".json", "c" * 64 + ".json"} <= names
    q.collect()
    gate_names = {pr.name for pr in q.problems}
    assert "d" * 32 + ".sealed" in gate_names and "foreign.bin" in gate_names
    assert q.get_proposal(p.hash).status == "pending"


def test_atomic_write_leaves_nothing_on_a_crash(tmp_path, monkeypatch):
    target = tmp_path / "f.json"

    def boom(*args, **kwargs):
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic.write_atomic(target, b"data")
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_missing_folder_is_a_transport_error(tmp_path):
    from core.errors import TransportError
    from core.queue.folder import FolderQueue

    with pytest.raises(TransportError):
        FolderQueue(tmp_path / "unplugged", role="reviewer")


def test_review_cli_over_a_folder(folder, tmp_path, monkeypatch):
    from core.signing import FileKeySource

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    _gate, q = _gate_sdk(folder, tmp_path)
    policy = Policy.from_bytes(folder.world.policy_bytes())
    p = folder.world.proposal(policy_hash=policy.hash, title="Pay \u202egpj.exe invoice")
    q.submit_proposal(p)
    keys = {}
    for who in (BOB, REQUESTER):
        keys[who] = tmp_path / f"{who}.key"
        FileKeySource(keys[who]).import_signer(who, folder.world.signer(who))
    runner = CliRunner()
    base = ["--folder", str(folder.root), "--identity", BOB, "--key-file", str(keys[BOB])]
    r = runner.invoke(cli, ["review", "list", *base])
    assert r.exit_code == 0 and p.hash[7:19] in r.output and "\u202e" not in r.output
    r = runner.invoke(cli, ["review", "show", p.hash[7:20], *base])
    assert r.exit_code == 0, r.output
    assert "RIGHT-TO-LEFT OVERRIDE" in r.output and "WARNING" in r.output
    assert "Written by the agent (unverified)" in r.output and p.action_hash in r.output
    fp = ["--yes-i-checked", p.action_hash[7:15]]
    r = runner.invoke(cli, ["decide", p.hash[7:20], "--approve", *fp, "--reason", "checked",
                            *base])
    assert r.exit_code == 0, r.output
    # the requester's approval is sealed like any other; the gate refuses and logs it
    r = runner.invoke(cli, ["decide", p.hash[7:20], "--approve", *fp, "--reason", "mine",
                            "--folder", str(folder.root), "--identity", REQUESTER,
                            "--key-file", str(keys[REQUESTER])])
    assert r.exit_code == 0, r.output
    q.collect()
    assert len(q.get_proposal(p.hash).decisions) == 1
    from core.formats import Event

    events = [Event.from_bytes(e) for e in q.proposal_log(p.hash).entries.values()]
    assert (REQUESTER, "self_approval") in [(e.get("reviewer"), e.get("code"))
                                             for e in events if e.type == "decision.refused"]
