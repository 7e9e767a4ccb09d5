"""A shared folder is writable by people the gate does not trust (SPEC §10): each test here
is an attack by such a share writer on the real FolderQueue or the project's own CLI."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import threading
import zipfile
from datetime import timedelta
from io import BytesIO

import pytest

from core.bundle.archive import MAX_MEMBER_BYTES, MAX_MEMBERS
from core.bundle.trust import parse_trust
from core.bundle.verify import verify_bundle
from core.errors import InvalidData
from core.formats import Event, canonical, now_utc
from core.gate import Gate
from core.policy import Policy, SignedDecision
from core.review import make_decision
from core.sample import AGENT, GATE, REQUESTER, SampleWorld
from tests.bundle_factory import make_receipt, trust_toml
from tests.folder_fixtures import CliFolder, Folder, random_signer

pytestmark = pytest.mark.timeout(120)

BOB, CAROL, DAVE = "bob@example.com", "carol@example.com", "dave@example.com"
SECRET = b"-----BEGIN OPENSSH PRIVATE KEY----- the gate's own key, never to be published\n"
SEAL = b"c2VhbCBzZWNyZXQgb2YgdGhlIGdhdGU=\n"


@pytest.fixture
def folder(tmp_path, world):
    return Folder.create(world, tmp_path)


def _policy(folder) -> Policy:
    return Policy.from_bytes(folder.world.policy_bytes())


def _signed(folder, who, p, verdict="approve", signer=None) -> SignedDecision:
    return make_decision(p, verdict=verdict, reason=f"checked ({who})", identity=who,
                         signer=signer or folder.world.signer(who), now=now_utc())


def _decide(folder, who, p, verdict="approve"):
    folder.reviewer(who).submit_decision(p.hash, _signed(folder, who, p, verdict))


def _events(q) -> list[Event]:
    return [Event.from_bytes(q.log.entry(i)) for i in range(q.log.size)]


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def _approved(folder, q, **kw):
    p = folder.world.proposal(policy_hash=_policy(folder).hash, **kw)
    q.submit_proposal(p)
    _decide(folder, BOB, p)
    _decide(folder, CAROL, p)
    assert q.get_proposal(p.hash).status == "approved"
    return p


def _receipt(folder, q, p):
    from core.formats import Decision

    hashes = [Decision.from_bytes(d.document).hash for d in q.get_proposal(p.hash).decisions]
    return make_receipt(folder.world, p, hashes, now_utc())


def _codes(q) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for problem in q.problems:
        out.setdefault(problem.code, set()).add(problem.name)
    return out


# ---------------------------------------------------------------- 1. key theft, redirects


def test_symlinked_receipt_never_puts_a_gate_secret_into_a_bundle(folder, tmp_path):
    q = folder.gate()
    key_file, seal_file = folder.state / "gate.key", folder.state / "seal.key"
    key_file.write_bytes(SECRET)
    seal_file.write_bytes(SEAL)
    old = now_utc() - timedelta(hours=2)
    mine = folder.world.proposal(policy_hash=_policy(folder).hash, created_at=old)
    folder.gate(clock=lambda: old).submit_proposal(mine)  # the gate's own, expired since
    planted = folder.world.proposal(policy_hash=_policy(folder).hash, created_at=old,
                                    title="planted")
    (folder.root / "proposals" / f"{planted.hash[7:]}.json").write_bytes(planted.raw)
    for p in (mine, planted):
        h = p.hash[7:]
        (folder.root / "receipts" / f"{h}.json").symlink_to(key_file)
        (folder.root / "receipts" / f"{h}.json.sig").symlink_to(seal_file)
    q.collect()                                  # the gate's next routine command
    bundles = list((folder.root / "bundles").iterdir())
    for path in bundles:
        for name, content in _members(path.read_bytes()).items():
            assert SECRET not in content and SEAL not in content, name
    assert [b.name for b in bundles] == [f"{mine.hash[7:]}.foureyes"]  # never the planted one
    assert "receipt.json" not in _members(bundles[0].read_bytes())
    assert f"{planted.hash[7:]}.json" in _codes(q).get("not_ours", set())


def test_symlinked_share_folders_never_redirect_the_gates_writes(folder, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    q = folder.gate()
    p = _approved(folder, q)
    receipt, sig = _receipt(folder, q, p)
    for sub in ("receipts", "status", "bundles", "claims"):
        shutil.rmtree(folder.root / sub, ignore_errors=True)
        (folder.root / sub).symlink_to(outside)
    q.collect()
    with pytest.raises(InvalidData) as e:
        q.claim(p.hash)
    assert e.value.code in ("share_blocked", "already_executed")
    q.record_receipt(p.hash, receipt, sig)       # reported, never fatal, never outside
    assert list(outside.iterdir()) == []
    assert q.get_proposal(p.hash).status == "executed"
    told = " ".join(pr.message for pr in q.problems)
    assert "receipts is a symbolic link" in told and "status is a symbolic link" in told
    # a reviewer's sealed decision is never written through a linked decisions/<hex> folder
    p2 = folder.world.proposal(policy_hash=_policy(folder).hash)
    q.submit_proposal(p2)
    (folder.root / "decisions" / p2.hash[7:]).symlink_to(outside)
    with pytest.raises(InvalidData):
        _decide(folder, BOB, p2)
    assert list(outside.iterdir()) == []


# ---------------------------------------------------------------- 2. policy swap


def test_a_swapped_share_policy_is_refused_never_adopted(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    f = CliFolder.create(tmp_path)
    first = f.propose()                          # first use: the gate pins this policy
    mallory = [f.new_key(who) for who in ("mallory@evil.example", "trent@evil.example")]
    extra = "".join(f'[[approvers]]\nidentity = "{who}"\nkey = "{key}"\n\n'
                    for who, key in zip(("mallory@evil.example", "trent@evil.example"), mallory,
                                        strict=True))
    (f.usb / "policy.toml").write_text(f.policy_text.replace("[[gates]]", extra + "[[gates]]"))
    r = f.run("propose", *f.gate, "--route", "payments.transfer", "--params",
              '{"amount_minor":120000,"currency":"USD","to":"acct-991"}', "--summary",
              '{"title":"x","why":"y","blast_radius":"z","reversibility":"reversible"}',
              "--requester", "alice@example.com")
    assert r.exit_code != 0 and r.exception.code == "policy_changed"
    # the attackers seal approvals of the gate's proposal: not in the pinned roster
    from core.formats import Proposal
    from core.queue.folder import FolderQueue
    from core.signing import FileKeySource

    p = Proposal.from_bytes((f.usb / "proposals" / f"{first[7:]}.json").read_bytes())
    for who in ("mallory@evil.example", "trent@evil.example"):
        FolderQueue(f.usb, role="reviewer").submit_decision(p.hash, make_decision(
            p, verdict="approve", reason="lgtm", identity=who,
            signer=FileKeySource(f.keys[who]).signer(who), now=now_utc()))
    r = f.run("wait", first[7:19], *f.gate, "--timeout", "1")
    assert "approved" not in r.output and r.exit_code == 4, r.output
    assert "policy_changed" in r.output
    # a proposal the gate did not submit, pinned to the attackers' policy, never counts
    swapped = Policy.from_bytes((f.usb / "policy.toml").read_bytes())
    planted = Proposal.from_obj({**Proposal.from_bytes(
        (f.usb / "proposals" / f"{first[7:]}.json").read_bytes()).data,
        "policy": swapped.hash, "id": "6f1f8a2e-3c7d-4b8e-9a51-0d2c4e6f8a10"})
    (f.usb / "proposals" / f"{planted.hash[7:]}.json").write_bytes(planted.raw)
    for who in ("mallory@evil.example", "trent@evil.example"):
        f.ok("decide", planted.hash[7:19], "--approve", "--yes-i-checked",
             planted.action_hash[7:15], "--reason", "lgtm", *f.reviewer(who))
    r = f.run("wait", planted.hash[7:19], *f.gate, "--timeout", "1")
    assert r.exit_code != 0 and "approved" not in r.output, r.output


# ---------------------------------------------------------------- 3. execute once


def test_claim_is_exclusive_across_cloned_gate_state(folder, tmp_path):
    q = folder.gate()
    p = _approved(folder, q)
    q.close()
    clones = [tmp_path / f"clone-{i}" for i in range(4)]
    for c in clones:
        shutil.copytree(folder.state, c)
    gates = [folder.gate(state=c) for c in clones]
    ran, refused = [], []
    barrier = threading.Barrier(len(gates))

    def run(g):
        barrier.wait()
        try:
            g.claim(p.hash)
        except InvalidData as e:
            refused.append(e.code)
            return
        ran.append(g)                            # only now would the action run

    threads = [threading.Thread(target=run, args=(g,)) for g in gates]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(ran) == 1 and refused == ["already_executed"] * 3
    receipt, sig = _receipt(folder, ran[0], p)
    ran[0].record_receipt(p.hash, receipt, sig)
    with pytest.raises(InvalidData) as e:
        folder.gate(state=clones[0] if ran[0] is not gates[0] else clones[1]).claim(p.hash)
    assert e.value.code == "already_executed"
    # a gate whose state was deleted knows no proposal, so it never claims one
    with pytest.raises(InvalidData) as e:
        folder.gate(state=tmp_path / "deleted").claim(p.hash)
    assert e.value.code == "not_found"


def test_claim_refuses_what_the_share_shows_even_as_a_link(folder, tmp_path):
    q = folder.gate()
    p = _approved(folder, q)
    h = p.hash[7:]
    (folder.root / "receipts" / f"{h}.json").symlink_to(tmp_path / "nowhere")  # dangling
    with pytest.raises(InvalidData) as e:
        q.claim(p.hash)
    assert e.value.code == "already_executed"
    p2 = _approved(folder, q)
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.rmtree(folder.root / "claims", ignore_errors=True)
    (folder.root / "claims").symlink_to(outside)
    with pytest.raises(InvalidData) as e:
        q.claim(p2.hash)
    assert e.value.code == "share_blocked" and list(outside.iterdir()) == []


def test_sdk_gate_on_cloned_state_stops_before_running_again(folder, tmp_path):
    q = folder.gate()
    policy = _policy(folder)
    gate = Gate(q, folder.world.policy_bytes(), identity=GATE, signer=folder.world.signer(GATE),
                agent=AGENT, state_dir=tmp_path / "sdk")
    p = folder.world.proposal(policy_hash=policy.hash)
    q.submit_proposal(p)
    _decide(folder, BOB, p)
    _decide(folder, CAROL, p)
    q.collect()
    shutil.copytree(folder.state, tmp_path / "clone")     # cloned before the execution
    shutil.copytree(tmp_path / "sdk", tmp_path / "sdk-clone")
    calls = []
    gate.execute(p, calls.append)
    q2 = folder.gate(state=tmp_path / "clone")
    gate2 = Gate(q2, folder.world.policy_bytes(), identity=GATE,
                 signer=folder.world.signer(GATE), agent=AGENT, state_dir=tmp_path / "sdk-clone")
    with pytest.raises(InvalidData) as e:
        gate2.execute(p, calls.append)
    assert e.value.code == "already_executed"
    assert len(calls) == 1


# ---------------------------------------------------------------- 4. floods and forgeries

FLOOD = 3000


def test_a_flood_of_forged_decisions_names_no_one_and_keeps_the_bundle_valid(folder):
    q = folder.gate()
    p = folder.world.proposal(policy_hash=_policy(folder).hash)
    q.submit_proposal(p)
    forger = random_signer()
    forged = _signed(folder, CAROL, p, signer=forger)
    for i in range(FLOOD):
        folder.plant_sealed(p.hash, forged, f"{i:032x}.sealed")
    selfie = _signed(folder, REQUESTER, p)       # a real roster key, refused: once in the log
    for i in range(20):
        folder.plant_sealed(p.hash, selfie, f"{FLOOD + i:032x}.sealed")
    q.collect()
    refused = [(e.get("reviewer"), e.get("code")) for e in _events(q)
               if e.type == "decision.refused"]
    assert refused == [(REQUESTER, "self_approval")]
    assert "unattributable" in _codes(q)
    _decide(folder, BOB, p)
    _decide(folder, CAROL, p)
    assert q.get_proposal(p.hash).status == "approved"
    receipt, sig = _receipt(folder, q, p)
    q.record_receipt(p.hash, receipt, sig)
    data = (folder.root / "bundles" / f"{p.hash[7:]}.foureyes").read_bytes()
    members = _members(data)
    assert len(members) <= MAX_MEMBERS and max(map(len, members.values())) <= MAX_MEMBER_BYTES
    report = verify_bundle(data, parse_trust(trust_toml(folder.world, _policy(folder))))
    assert report.exit_code == 0, report.failures
    assert folder.reviewer(DAVE).get_proposal(p.hash).status == "executed"


def test_refusals_are_deduplicated_and_bounded(folder, monkeypatch):
    from core.queue import folder as folder_module

    monkeypatch.setattr(folder_module, "MAX_REFUSALS_PER_PROPOSAL", 2, raising=False)
    q = folder.gate()
    p = folder.world.proposal(policy_hash=_policy(folder).hash)
    q.submit_proposal(p)
    for i in range(5):                           # the same refusal five times: logged once
        folder.plant_sealed(p.hash, _signed(folder, REQUESTER, p), f"{i:032x}.sealed")
    q.collect()
    _decide(folder, BOB, p)
    _decide(folder, BOB, p)                      # duplicate_reviewer: the second refusal
    q.collect()
    _decide(folder, CAROL, p)
    q.collect()                                  # approved: closed refusals from now on
    _decide(folder, DAVE, p)                     # closed: over the limit, reported only
    q.collect()
    refused = [(e.get("reviewer"), e.get("code")) for e in _events(q)
               if e.type == "decision.refused"]
    assert refused == [(REQUESTER, "self_approval"), (BOB, "duplicate_reviewer")]
    assert any(DAVE in pr.message for pr in q.problems)


def test_folder_init_refuses_a_linked_subfolder(tmp_path, world):
    from click.testing import CliRunner

    from core.cli.main import cli

    outside, share = tmp_path / "outside", tmp_path / "share"
    outside.mkdir()
    share.mkdir()
    (share / "bundles").symlink_to(outside)
    (tmp_path / "policy.toml").write_bytes(world.policy_bytes())
    (share / "policy.toml").write_bytes(world.policy_bytes())
    r = CliRunner().invoke(cli, ["folder", "init", str(share), "--policy",
                                 str(tmp_path / "policy.toml")])
    assert r.exit_code == 2 and "bundles is a symbolic link" in r.output, r.output
    assert list(outside.iterdir()) == []


def test_reviewers_believe_only_a_verified_bundle(folder, tmp_path):
    q = folder.gate()
    p = folder.world.proposal(policy_hash=_policy(folder).hash)
    q.submit_proposal(p)
    h = p.hash[7:]
    fake = _signed(folder, BOB, p)
    (folder.root / "status" / f"{h}.json").write_bytes(canonical({
        "status": "executed", "decisions": [{"decision": fake.document.decode(),
                                             "signature": fake.signature}]}))
    (folder.root / "bundles" / f"{h}.foureyes").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    view = folder.reviewer(DAVE).get_proposal(p.hash)
    assert view.status == "pending" and view.decisions == () and view.receipt is None
    # a bundle from another log key (a forger's) proves nothing either
    other = Folder.create(SampleWorld.create(), tmp_path / "other")
    oq = other.gate()
    op = other.world.proposal(policy_hash=_policy(other).hash)
    oq.submit_proposal(op)
    _decide(other, BOB, op, "reject")
    oq.collect()
    (folder.root / "bundles" / f"{h}.foureyes").write_bytes(
        (other.root / "bundles" / f"{op.hash[7:]}.foureyes").read_bytes())
    assert folder.reviewer(DAVE).get_proposal(p.hash).status == "pending"
    _decide(folder, BOB, p, "reject")            # the real outcome, proven by the gate
    q.collect()
    view = folder.reviewer(DAVE).get_proposal(p.hash)
    assert view.status == "rejected" and len(view.decisions) == 1


# ---------------------------------------------------------------- 5. atomicity


def test_a_planted_receipt_is_reported_and_the_execution_fully_recorded(folder):
    q = folder.gate()
    p = _approved(folder, q)
    h = p.hash[7:]
    receipt, sig = _receipt(folder, q, p)
    (folder.root / "receipts" / f"{h}.json").write_bytes(b'{"planted":true}')
    with pytest.raises(InvalidData) as e:        # planted before execution: nothing runs
        q.get_proposal(p.hash)
    assert e.value.code == "already_executed"
    q.record_receipt(p.hash, receipt, sig)       # planted during execution: no raw error
    assert q.get_proposal(p.hash).status == "executed"
    assert [e.type for e in _events(q)].count("receipt.recorded") == 1
    assert (folder.root / "receipts" / f"{h}.json").read_bytes() == receipt
    assert "share_blocked" in _codes(q)
    data = (folder.root / "bundles" / f"{h}.foureyes").read_bytes()
    assert verify_bundle(data, parse_trust(trust_toml(folder.world, _policy(folder)))
                         ).exit_code == 0


def test_a_crash_inside_a_change_leaves_no_half_of_it(folder, monkeypatch):
    q = folder.gate()
    p = _approved(folder, q)
    size = q.log.size
    real = q._event

    def crash(kind, **fields):
        if kind == "receipt.recorded":
            raise OSError("power cut")
        real(kind, **fields)

    monkeypatch.setattr(q, "_event", crash)
    receipt, sig = _receipt(folder, q, p)
    with pytest.raises(OSError):
        q.record_receipt(p.hash, receipt, sig)
    monkeypatch.undo()
    assert q._status(p) == "approved" and q.log.size == size
    q.record_receipt(p.hash, receipt, sig)       # the retry records it whole
    assert q._status(p) == "executed"


# ---------------------------------------------------------------- 6. hangs and crashes


def _plant_hostile(folder, p):
    h = p.hash[7:]
    d = folder.root / "decisions" / h
    d.mkdir(parents=True, exist_ok=True)
    os.mkfifo(d / ("f" * 32 + ".sealed"))
    (d / ("e" * 32 + ".sealed")).symlink_to("/dev/zero")
    os.mkfifo(folder.root / "proposals" / ("1" * 64 + ".json"))
    (folder.root / "proposals" / ("2" * 64 + ".json")).symlink_to("/dev/zero")
    os.mkfifo(folder.root / "bundles" / f"{h}.foureyes")
    (folder.root / "decisions" / ("3" * 64)).write_bytes(b"a file where a folder belongs")


def test_fifos_device_links_and_misplaced_files_never_hang_or_crash(folder):
    q = folder.gate()
    p = folder.world.proposal(policy_hash=_policy(folder).hash)
    q.submit_proposal(p)
    _plant_hostile(folder, p)
    p2 = folder.world.proposal(policy_hash=_policy(folder).hash, title="second")
    q.submit_proposal(p2)
    (folder.root / "decisions" / p2.hash[7:]).write_bytes(b"a file where a folder belongs")
    reviewer = folder.reviewer(DAVE)
    assert {v.hash for v in reviewer.list_proposals()} == {p.hash, p2.hash}
    assert reviewer.get_proposal(p.hash).status == "pending"
    assert {"1" * 64 + ".json", "2" * 64 + ".json"} <= {pr.name for pr in reviewer.problems}
    q.collect()
    names = {pr.name for pr in q.problems}
    assert {"f" * 32 + ".sealed", "e" * 32 + ".sealed", "1" * 64 + ".json",
            f"decisions/{p2.hash[7:]}"} <= names
    q.close()
    again = folder.gate()                        # a restart: reported once, then remembered
    again.collect()
    assert not {"f" * 32 + ".sealed", "e" * 32 + ".sealed"} & {pr.name for pr in again.problems}
    _decide(folder, BOB, p)
    again.collect()
    assert len(again.get_proposal(p.hash).decisions) == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads folders whatever their mode")
def test_an_unreadable_folder_is_reported_not_fatal(folder):
    q = folder.gate()
    p = folder.world.proposal(policy_hash=_policy(folder).hash)
    q.submit_proposal(p)
    d = folder.root / "decisions" / p.hash[7:]
    d.mkdir()
    d.chmod(0)
    try:
        q.collect()
        assert any(p.hash[7:] in pr.name for pr in q.problems)
    finally:
        d.chmod(0o755)


def test_a_folder_that_cannot_be_listed_is_reported_once_not_fatal(folder, monkeypatch):
    q = folder.gate()
    p = folder.world.proposal(policy_hash=_policy(folder).hash)
    q.submit_proposal(p)
    (folder.root / "decisions" / p.hash[7:]).mkdir()
    real = os.listdir

    def denied(arg="."):                         # what a 0000 folder does to a non-root user
        where = os.readlink(f"/proc/self/fd/{arg}") if isinstance(arg, int) else str(arg)
        if where.endswith(p.hash[7:]):
            raise PermissionError(13, "Permission denied", where)
        return real(arg)

    monkeypatch.setattr(os, "listdir", denied)
    q.collect()
    assert q.get_proposal(p.hash).status == "pending"
    assert any(p.hash[7:] in pr.name for pr in q.problems)
    q.close()
    again = folder.gate()
    again.collect()
    assert not any(p.hash[7:] in pr.name for pr in again.problems)


def test_gate_cli_wait_reports_hostile_files_and_never_hangs(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    f = CliFolder.create(tmp_path)
    proposal = f.propose()
    assert stat.S_IMODE(f.gate_state.stat().st_mode) == 0o700
    assert stat.S_IMODE((f.gate_state / "folder-gate.sqlite").stat().st_mode) == 0o600
    os.mkfifo(f.usb / "proposals" / ("1" * 64 + ".json"))
    d = f.usb / "decisions" / proposal[7:]
    d.mkdir(parents=True, exist_ok=True)
    os.mkfifo(d / ("f" * 32 + ".sealed"))
    (d / ("e" * 32 + ".sealed")).symlink_to("/dev/zero")
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "xdg")}
    r = subprocess.run([sys.executable, "-m", "core.cli.main", "wait", proposal[7:19], *f.gate,
                        "--timeout", "1"], capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 4, r.stderr
    assert "pending" in r.stdout
    assert "f" * 32 + ".sealed" in r.stderr and "e" * 32 + ".sealed" in r.stderr
    r = subprocess.run([sys.executable, "-m", "core.cli.main", "review", "list",
                        *f.reviewer("bob@example.com")], capture_output=True, text=True,
                       timeout=60, env=env)
    assert r.returncode == 0 and proposal[7:19] in r.stdout, r.stderr


# ---------------------------------------------------------------- 7. permissions


def test_share_files_are_readable_and_gate_state_is_private(folder):
    q = folder.gate()
    p = _approved(folder, q)
    receipt, sig = _receipt(folder, q, p)
    q.record_receipt(p.hash, receipt, sig)
    h = p.hash[7:]
    for path in (folder.root / "proposals" / f"{h}.json",
                 folder.root / "bundles" / f"{h}.foureyes",
                 folder.root / "receipts" / f"{h}.json",
                 folder.root / "receipts" / f"{h}.json.sig",
                 folder.root / "status" / f"{h}.json",
                 *(folder.root / "decisions" / h).iterdir()):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
    assert stat.S_IMODE(folder.state.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder.state / "folder-gate.sqlite").stat().st_mode) == 0o600


# ---------------------------------------------------------------- receipts: the one judge


@pytest.mark.parametrize("bad, code", [
    ("no_decisions", "receipt"), ("before_decisions", "receipt_time"),
    ("wrong_gate_key", "receipt"), ("other_job", "binding")])
def test_the_folder_gate_judges_receipts_like_the_server(folder, bad, code):
    """The folder gate used to record almost any receipt; it now calls the same judge."""
    from core.formats import Decision

    q = folder.gate()
    p = _approved(folder, q, created_at=now_utc() - timedelta(minutes=2))
    q.claim(p.hash)
    counted = [Decision.from_bytes(d.document).hash for d in q.get_proposal(p.hash).decisions]
    when = now_utc()
    kwargs = {}
    if bad == "no_decisions":
        counted = []
    elif bad == "before_decisions":
        when = p.created_at
    elif bad == "wrong_gate_key":
        kwargs["signer"] = "bob@example.com"
    elif bad == "other_job":
        kwargs["job_id"] = "job-other"
    receipt, sig = make_receipt(folder.world, p, counted, when, **kwargs)
    with pytest.raises(InvalidData) as e:
        q.record_receipt(p.hash, receipt, sig)
    assert e.value.code == code
    assert q.get_proposal(p.hash).status == "approved"  # nothing recorded: not stuck
    good, sig = _receipt(folder, q, p)
    q.record_receipt(p.hash, good, sig)
    assert q.get_proposal(p.hash).status == "executed"
