"""The offline verifier (SPEC §8–9): the independent vector, exit codes, and a tampered
bundle for each check code that fails exactly that check."""

from __future__ import annotations

import io
import json
import stat
import subprocess
import sys
import zipfile
from datetime import timedelta

import pytest
from click.testing import CliRunner

from core.bundle.archive import read_members, write_members
from core.bundle.trust import parse_trust
from core.bundle.verify import NotABundle, verify_bundle
from core.cli.main import cli
from core.formats import Decision, canonical
from core.signing import Signer
from tests.bundle_factory import build, make_receipt, trust_toml

BOB, CAROL, ALICE, DAVE = ("bob@example.com", "carol@example.com", "alice@example.com",
                           "dave@example.com")


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


def _failed(report) -> set[str]:
    return {c.code for c in report.checks if not c.ok}


# --------------------------------------------------------------- the independent vector


def test_vector_verifies_with_trust(vectors_dir):
    trust = parse_trust((vectors_dir / "trust.toml").read_bytes())
    report = verify_bundle((vectors_dir / "payment-2of4.foureyes").read_bytes(), trust)
    assert report.ok, report.failures
    assert report.exit_code == 0 and report.executed
    kinds = [t.kind for t in report.timeline]
    assert kinds == ["proposed", "approve", "approve", "executed"]


def test_vector_cli_exit_codes(vectors_dir, tmp_path):
    bundle = str(vectors_dir / "payment-2of4.foureyes")
    runner = CliRunner()
    r = runner.invoke(cli, ["verify", bundle, "--trust", str(vectors_dir / "trust.toml")])
    assert r.exit_code == 0, r.output
    assert "VALID: executed" in r.output and "bob@example.com" in r.output
    assert runner.invoke(cli, ["verify", bundle]).exit_code == 3
    r = runner.invoke(cli, ["verify", bundle, "--json", "--trust",
                            str(vectors_dir / "trust.toml")])
    assert json.loads(r.output)["exit_code"] == 0
    assert runner.invoke(cli, ["verify", str(tmp_path / "missing.foureyes")]).exit_code == 2
    (tmp_path / "junk.foureyes").write_bytes(b"not a zip")
    assert runner.invoke(cli, ["verify", str(tmp_path / "junk.foureyes")]).exit_code == 2
    assert runner.invoke(cli, ["verify"]).exit_code == 2


def test_every_flipped_byte_of_the_vector_fails(vector_members, vectors_dir):
    """Change one byte of any member and the verifier fails, naming a check."""
    trust = parse_trust((vectors_dir / "trust.toml").read_bytes())
    for name, data in vector_members.items():
        if name == "allowed_signers":
            continue  # a convenience copy: never trusted, so never checked
        for pos in {0, len(data) // 2, len(data) - 2}:
            mutated = dict(vector_members)
            b = bytearray(data)
            b[pos] ^= 0x01
            mutated[name] = bytes(b)
            report = verify_bundle(_zip(mutated), trust)
            assert report.exit_code == 1, (name, pos)
            assert report.failures and all(c.message for c in report.failures)


def test_allowed_signers_is_never_trusted(vector_members, vectors_dir):
    trust = parse_trust((vectors_dir / "trust.toml").read_bytes())
    mutated = dict(vector_members, allowed_signers=b"mallory@example.com ssh-ed25519 AAAA\n")
    assert verify_bundle(_zip(mutated), trust).exit_code == 0


def test_vector_decisions_pass_real_ssh_keygen(vector_members, tmp_path):
    (tmp_path / "allowed_signers").write_bytes(vector_members["allowed_signers"])
    for n, who in ((1, BOB), (2, CAROL)):
        (tmp_path / "sig").write_bytes(vector_members[f"decisions/{n}.json.sig"])
        out = subprocess.run(
            ["ssh-keygen", "-Y", "verify", "-f", str(tmp_path / "allowed_signers"), "-I", who,
             "-n", "foureyes-decision-v1", "-s", str(tmp_path / "sig")],
            input=vector_members[f"decisions/{n}.json"], capture_output=True, check=False)
        assert out.returncode == 0 and b'Good "foureyes-decision-v1" signature' in out.stdout


# --------------------------------------------------------------- our own bundles


def test_our_bundle_verifies_and_round_trips(world, tmp_path):
    data, policy = build(world)
    trust = parse_trust(trust_toml(world, policy))
    report = verify_bundle(data, trust)
    assert report.ok, report.failures
    members = read_members(data)
    assert write_members(members) == data  # deterministic
    (tmp_path / "allowed_signers").write_bytes(members["allowed_signers"])
    decision = Decision.from_bytes(members["decisions/1.json"])
    (tmp_path / "sig").write_bytes(members["decisions/1.json.sig"])
    out = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(tmp_path / "allowed_signers"),
                          "-I", decision.reviewer, "-n", "foureyes-decision-v1", "-s",
                          str(tmp_path / "sig")], input=members["decisions/1.json"],
                         capture_output=True, check=False)
    assert out.returncode == 0, out.stderr


def test_rejected_and_expired_bundles_are_valid_without_receipt(world):
    data, policy = build(world, reviewers=(), receipt=False, expired=True)
    report = verify_bundle(data, parse_trust(trust_toml(world, policy)))
    assert report.ok, report.failures
    assert not report.executed

    data, policy = build(world, receipt=False,
                         decisions=lambda p: [world.decide(p, BOB, "reject", "wrong vendor")])
    report = verify_bundle(data, parse_trust(trust_toml(world, policy)))
    assert report.ok, report.failures
    assert report.outcome.status == "rejected"
    assert [t.kind for t in report.timeline][-1] == "reject"


def test_unfinished_bundle_without_receipt_fails(world):
    data, policy = build(world, reviewers=(BOB,), receipt=False)
    report = verify_bundle(data, parse_trust(trust_toml(world, policy)))
    assert _failed(report) == {"receipt"}


def test_refusals_travel_in_the_bundle(world):
    data, policy = build(world, refused=((ALICE, "self_approval"),))
    report = verify_bundle(data, parse_trust(trust_toml(world, policy)))
    assert report.ok, report.failures
    assert ("refused", ALICE) in [(t.kind, t.who) for t in report.timeline]


TAMPER_CASES = ["self_approval", "duplicate_reviewer", "expired", "binding", "signature",
                "not_in_roster", "quorum", "receipt", "inclusion", "checkpoint", "policy_hash",
                "format", "archive"]


def _tampered(world, code):
    """A bundle that should fail exactly ``code``, and the trust to check it with."""
    if code in ("self_approval", "duplicate_reviewer", "expired", "binding", "signature",
                "not_in_roster"):
        def extra(proposal):
            if code == "self_approval":
                return world.decide(proposal, ALICE)
            if code == "duplicate_reviewer":
                return world.decide(proposal, BOB, reason="me again")
            if code == "expired":
                return world.decide(proposal, DAVE,
                                    decided_at=proposal.expires_at + timedelta(seconds=5))
            if code == "binding":
                d, _ = world.decide(proposal, DAVE)
                forged = Decision.from_bytes(canonical({**d.data, "job_id": "job-other"}))
                return forged, world.signer(DAVE).sign(forged.raw, "foureyes-decision-v1")
            if code == "signature":
                d, _ = world.decide(proposal, DAVE)
                return d, world.signer(DAVE).sign(d.raw, "foureyes-receipt-v1")
            world.signers["erin@example.com"] = Signer(bytes(range(32)))
            return world.decide(proposal, "erin@example.com")
        return _with_extra(world, extra)
    if code == "quorum":
        return _build_with(world, lambda p: [world.decide(p, BOB)],
                           lambda p, ds: make_receipt(world, p, [ds[0][0].hash],
                                                      p.created_at + timedelta(minutes=2)))
    if code == "receipt":
        return _build_with(world, lambda p: [world.decide(p, BOB), world.decide(p, CAROL)],
                           lambda p, ds: make_receipt(world, p, [d.hash for d, _ in ds],
                                                      p.created_at + timedelta(minutes=2),
                                                      signer=BOB))
    data, policy = build(world)
    trust = trust_toml(world, policy)
    members = read_members(data)
    if code == "inclusion":
        lines = members["log/entries.jsonl"].decode().splitlines()
        obj = json.loads(lines[1])
        entry = json.loads(obj["entry"])
        entry["at"] = "2000-01-01T00:00:00Z"
        obj["entry"] = canonical(entry).decode()
        lines[1] = json.dumps(obj)
        members["log/entries.jsonl"] = ("\n".join(lines) + "\n").encode()
    elif code == "checkpoint":
        # a log key the policy does not list
        trust = trust.replace(world.log_verifier.encode(),
                              b"other/log+00000000+AYqHX/8es4RRV3rNWv7kBUVlaN18ieCQhjoFV7x69J8X")
    elif code == "policy_hash":
        trust = b'policies = ["sha256:' + b"0" * 64 + b'"]\n' + trust.split(b"\n", 1)[1]
    elif code == "format":
        members["proposal.json"] = members["proposal.json"].replace(b'{"action"', b'{ "action"')
    elif code == "archive":
        members["notes.txt"] = b"hello"
        return _zip(members), parse_trust(trust)
    return write_members(members), parse_trust(trust)


def _build_with(world, make_decisions, make_rec):
    data, policy = build(world, decisions=make_decisions, receipt=make_rec)
    return data, parse_trust(trust_toml(world, policy))


def _with_extra(world, extra):
    """Two good approvals, executed, plus one extra decision between them that must be
    refused (after both it would be refused `closed`: an outcome once reached is final)."""
    def decisions(p):
        return [world.decide(p, BOB), extra(p), world.decide(p, CAROL)]

    def receipt(p, ds):
        return make_receipt(world, p, [ds[0][0].hash, ds[2][0].hash],
                            p.created_at + timedelta(minutes=10))

    return _build_with(world, decisions, receipt)


@pytest.mark.parametrize("code", TAMPER_CASES)
def test_tampered_bundle_fails_exactly_one_check(world, code):
    data, trust = _tampered(world, code)
    report = verify_bundle(data, trust)
    assert report.exit_code == 1
    assert _failed(report) == {code}, report.failures


# --------------------------------------------------------------- hostile archives


@pytest.mark.parametrize("mutate, needle", [
    (lambda m: {**m, "../evil": b"x"}, "unsafe"),
    (lambda m: {**m, "notes.txt": b"x"}, "not one"),
    (lambda m: {**m, "/etc/passwd": b"x"}, "unsafe"),
    (lambda m: {**m, "decisions/": b""}, "directory"),
    (lambda m: {k: v for k, v in m.items() if k != "log/checkpoint"}, "missing"),
    (lambda m: {k: v for k, v in m.items() if k != "decisions/1.json.sig"}, "no signature"),
    (lambda m: {**m, "decisions/4.json": m["decisions/1.json"],
                "decisions/4.json.sig": m["decisions/1.json.sig"]}, "without gaps"),
    (lambda m: {**m, "receipt.json": b"x" * (1024 * 1024 + 1)}, "larger"),
])
def test_hostile_archives(vector_members, mutate, needle):
    report = verify_bundle(_zip(mutate(dict(vector_members))), None)
    assert _failed(report) == {"archive"}
    assert needle in report.failures[0].message


def test_duplicate_names_links_and_bombs(vector_members):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z, pytest.warns(UserWarning):
        for name, data in vector_members.items():
            z.writestr(name, data)
        z.writestr("proposal.json", b"{}")
    assert "twice" in verify_bundle(out.getvalue(), None).failures[0].message

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in vector_members.items():
            info = zipfile.ZipInfo(name)
            if name == "allowed_signers":
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(info, data)
    assert "link" in verify_bundle(out.getvalue(), None).failures[0].message

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in vector_members.items():
            z.writestr(name, data if name != "receipt.json" else b"0" * (50 * 1024 * 1024))
    report = verify_bundle(out.getvalue(), None)
    assert _failed(report) == {"archive"}

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for i in range(70):
            z.writestr(f"decisions/{i + 1}.json", b"{}")
    assert "at most 64" in verify_bundle(out.getvalue(), None).failures[0].message


def test_not_a_zip_raises_not_a_bundle():
    with pytest.raises(NotABundle):
        verify_bundle(b"hello", None)


def test_verify_never_raises_on_garbage_members(vector_members):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    names = sorted(n for n in vector_members if n != "allowed_signers")

    @given(st.sampled_from(names), st.binary(max_size=300))
    @settings(max_examples=150, deadline=None)
    def inner(name, garbage):
        report = verify_bundle(_zip({**vector_members, name: garbage}), None)
        assert report.exit_code == 1

    inner()


def test_trust_file_errors():
    from core.errors import InvalidData

    for bad in (b"policies = 1", b"foo = []", b"policies = ['sha256:abc']", b"\xff"):
        with pytest.raises(InvalidData):
            parse_trust(bad)



@pytest.mark.parametrize("as_json", [False, True])
def test_terminal_controls_in_a_bundle_never_reach_the_auditors_terminal(
        world, tmp_path, monkeypatch, as_json):
    """A policy named with terminal escapes could erase the report's last line and print
    its own "VALID" over an invalid bundle: every value from the bundle is shown with its
    controls made visible, in the report and in --json (C1 controls included)."""
    from core.sample import SampleWorld
    from tests.bundle_factory import build

    hostile = "pay\\u001b[1A\\u001b[2K\\rVALID: executed\\u009b2K\\u202e"
    text = SampleWorld.policy_text
    monkeypatch.setattr(SampleWorld, "policy_text", lambda self: text(self).replace(
        'name = "demo-payments"', f'name = "{hostile}"'))
    raw, policy = build(world)
    assert "\x1b" in policy.name
    bundle = tmp_path / "b.foureyes"
    bundle.write_bytes(raw)
    args = ["verify", str(bundle)] + (["--json"] if as_json else [])
    for out in (subprocess.run([sys.executable, "-m", "core.cli.main", *args],
                               capture_output=True, text=True, check=False).stdout,
                CliRunner().invoke(cli, args).output):
        assert "pay" in out
        assert not any(ch in out for ch in "\x1b\x9b\u202e\r"), repr(out)
