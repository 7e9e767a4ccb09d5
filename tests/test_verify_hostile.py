"""The verifier on hostile ground: inputs that crashed it, SPEC §8 rules it did not
enforce, resource bounds, honest verdicts, strict zips and policies, and the auditor's own
allowed_signers. Each test here failed on the verifier before these fixes."""

from __future__ import annotations

import io
import json
import re
import struct
import subprocess
import time
import tracemalloc
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from core.bundle.archive import MAX_BUNDLE_BYTES, MAX_DIRECTORY_BYTES, write_members
from core.bundle.build import build_bundle
from core.bundle.trust import parse_trust
from core.bundle.verify import verify_bundle
from core.cli.main import cli
from core.codes import REGISTRY
from core.errors import InvalidData
from core.formats import Event, Receipt, canonical, sha256_ref
from core.log.note import parse_checkpoint
from core.log.store import LogStore
from core.policy import Policy, SignedDecision
from tests.bundle_factory import build, make_receipt, trust_toml
from tests.corpus.make_corpus import patch_directory

BOB, CAROL, DAVE = "bob@example.com", "carol@example.com", "dave@example.com"
OTHER = "sha256:" + "ab" * 32


def _failed(report) -> set[str]:
    return {c.code for c in report.checks if not c.ok}


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


def _entries_with(members: dict[str, bytes], line: int, entry: bytes) -> dict[str, bytes]:
    lines = members["log/entries.jsonl"].decode().splitlines()
    obj = json.loads(lines[line])
    obj["entry"] = entry.decode()
    lines[line] = json.dumps(obj)
    return {**members, "log/entries.jsonl": ("\n".join(lines) + "\n").encode()}


@pytest.fixture
def vector_trust(vectors_dir):
    return parse_trust((vectors_dir / "trust.toml").read_bytes())


@pytest.fixture
def vector_bytes(vectors_dir) -> bytes:
    return (vectors_dir / "payment-2of4.foureyes").read_bytes()


# --------------------------------------------------------------- 1. no crash, ever


def test_event_type_that_is_a_list_is_a_format_failure(vector_members):
    entry = canonical({"schema": "foureyes.event/v1", "type": ["proposal.submitted"],
                       "at": "2026-11-24T09:30:00Z"})
    report = verify_bundle(_zip(_entries_with(vector_members, 0, entry)), None)
    assert report.exit_code == 1 and _failed(report) == {"format"}


def test_proofs_key_with_a_superscript_digit_is_a_format_failure(vector_members):
    proofs = json.loads(vector_members["log/proofs.json"])
    proofs["²"] = next(iter(proofs.values()))
    report = verify_bundle(_zip({**vector_members,
                                 "log/proofs.json": json.dumps(proofs).encode()}), None)
    assert _failed(report) == {"format"} and "index" in report.failures[0].message


DEEP_TOML = [b"a = " + b"[" * 5000 + b"]" * 5000, b"a = " + b"{b=" * 3000 + b"1" + b"}" * 3000,
             b"a" + b".a" * 300_000 + b" = 1\n", b"[" + b"a." * 300_000 + b"a]\n"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("text", DEEP_TOML, ids=["arrays", "tables", "dotted", "header"])
def test_deep_toml_is_refused_everywhere(vector_members, tmp_path, text):
    report = verify_bundle(_zip({**vector_members, "policy.toml": text}), None)
    assert report.exit_code == 1 and _failed(report) == {"format"}
    with pytest.raises(InvalidData) as e:
        Policy.from_bytes(text)
    assert e.value.code == "policy"
    with pytest.raises(InvalidData) as e:
        parse_trust(text)
    assert e.value.code == "trust"
    (tmp_path / "p.toml").write_bytes(text)
    r = CliRunner().invoke(cli, ["policy", "check", str(tmp_path / "p.toml")])
    assert r.exit_code == 1 and r.exception is None or isinstance(r.exception, SystemExit)
    assert "[policy]" in r.output
    r = CliRunner().invoke(cli, ["verify", "--trust", str(tmp_path / "p.toml"),
                                 str(tmp_path / "p.toml")])
    assert r.exit_code == 2 and "[trust]" in r.output


def test_zip_needing_version_6_4_is_an_archive_failure(vector_bytes):
    data = patch_directory(vector_bytes, b"proposal.json", 6, "<H", 64)
    report = verify_bundle(data, None)
    assert report.exit_code == 1 and _failed(report) == {"archive"}
    assert "6.4" in report.failures[0].message


def test_unsupported_compression_is_an_archive_failure(vector_bytes):
    for method in (12, 14, 99):  # bzip2, lzma, AES
        data = patch_directory(vector_bytes, b"receipt.json", 10, "<H", method)
        report = verify_bundle(data, None)
        assert report.exit_code == 1 and _failed(report) == {"archive"}


# --------------------------------------------------------------- 2. SPEC §8 log rules


def _forged(world, decisions, *, files=None, receipt=None, receipts_logged=(), extra=()):
    """A bundle whose log and files may disagree, every entry proven in a real checkpoint.

    ``decisions(p)``: all decisions logged; ``files``: indices of those put in the bundle
    (default all); ``receipt(p, ds)``: the receipt file or None; ``receipts_logged(p, rec)``:
    receipt hashes logged; ``extra``: (type, fields) events appended, proposal or not.
    """
    policy = Policy.from_bytes(world.policy_bytes())
    p = world.proposal(policy_hash=policy.hash)
    ds = decisions(p)
    rec = receipt(p, ds) if receipt else None
    db = sqlite_utils.Database(memory=True)
    store = LogStore(db)
    t = p.created_at
    with db.conn:
        store.append(Event.make("policy.activated", t, policy=policy.hash).raw)
        store.append(Event.make("proposal.submitted", t, proposal=p.hash).raw)
        for d, _ in ds:
            store.append(Event.make("decision.recorded", d.decided_at, proposal=p.hash,
                                    decision=d.hash, reviewer=d.reviewer).raw)
        for h in (receipts_logged(p, rec) if callable(receipts_logged) else receipts_logged):
            store.append(Event.make("receipt.recorded", t + timedelta(minutes=5),
                                    proposal=p.hash, receipt=h).raw)
        for kind, fields in extra:
            store.append(Event.make(kind, p.expires_at,
                                    **{k: (p.hash if v == "THIS" else v)
                                       for k, v in fields.items()}).raw)
        note = store.sign_checkpoint(world.log_signer)
    size = parse_checkpoint(note).size
    entries = {i: store.entry(i) for i in range(size)}
    kept = [ds[i] for i in (files if files is not None else range(len(ds)))]
    data = build_bundle(proposal=p.raw, policy=policy.raw,
                        decisions=[SignedDecision(d.raw, s) for d, s in kept], receipt=rec,
                        checkpoint=note, entries=entries,
                        proofs={i: store.inclusion_proof(i, size) for i in entries})
    return verify_bundle(data, parse_trust(trust_toml(world, policy)))


def _receipt(world):
    return lambda p, ds: make_receipt(world, p, [d.hash for d, _ in ds[:2]],
                                      p.created_at + timedelta(minutes=3))


def _rhash(p, rec):
    return [Receipt.from_bytes(rec[0]).hash]


def _three(world):
    return lambda p: [world.decide(p, BOB), world.decide(p, CAROL),
                      world.decide(p, DAVE, "reject", "wrong vendor",
                                   decided_at=p.created_at + timedelta(minutes=2))]


def test_forged_helper_makes_a_valid_bundle(world):
    report = _forged(world, lambda p: [world.decide(p, BOB), world.decide(p, CAROL)],
                     receipt=_receipt(world), receipts_logged=_rhash)
    assert report.exit_code == 0, report.failures


def test_a_recorded_reject_left_out_of_the_bundle_fails(world):
    report = _forged(world, _three(world), files=[0, 1], receipt=_receipt(world),
                     receipts_logged=_rhash)
    assert _failed(report) == {"decision_left_out"}
    assert DAVE in report.failures[0].message


def test_a_second_receipt_recorded_fails(world):
    report = _forged(world, lambda p: [world.decide(p, BOB), world.decide(p, CAROL)],
                     receipt=_receipt(world), receipts_logged=lambda p, r: _rhash(p, r) * 2)
    assert _failed(report) == {"second_execution"}
    report = _forged(world, lambda p: [world.decide(p, BOB), world.decide(p, CAROL)],
                     receipt=_receipt(world),
                     receipts_logged=lambda p, r: [*_rhash(p, r), OTHER])
    assert _failed(report) == {"second_execution"}


def test_a_receipt_recorded_without_a_receipt_fails(world):
    report = _forged(world, lambda p: [world.decide(p, BOB, "reject", "no")],
                     receipts_logged=[OTHER])
    assert _failed(report) == {"receipt_left_out"}


def test_only_this_proposals_expiry_is_a_final_outcome(world):
    one = lambda p: [world.decide(p, BOB)]  # noqa: E731 - pending: one approval of two
    report = _forged(world, one, extra=[("proposal.expired", {"proposal": OTHER})])
    assert _failed(report) == {"receipt"}
    assert "another proposal" in report.failures[0].message
    report = _forged(world, one, extra=[("proposal.expired", {"proposal": "THIS"})])
    assert report.exit_code == 0, report.failures


def test_new_codes_are_declared():
    for code in ("decision_left_out", "second_execution", "receipt_left_out"):
        assert code in REGISTRY


# --------------------------------------------------------------- 3. resources


@pytest.mark.timeout(120)
def test_a_1_gib_file_is_refused_without_reading_it(tmp_path, vector_bytes):
    big = tmp_path / "big.foureyes"
    with big.open("wb") as f:
        f.write(vector_bytes)
        f.truncate(1 << 30)  # sparse: costs no disk
    tracemalloc.start()
    try:
        r = CliRunner().invoke(cli, ["verify", str(big)])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert r.exit_code == 1 and "FAILED: [archive]" in r.output  # a report, exit 1
    assert str(MAX_BUNDLE_BYTES) in r.output
    assert peak < 50 * 1024 * 1024, peak


def _many_entries_zip(path, entries: int) -> None:
    """One real member, then a central directory of ``entries`` headers, streamed."""
    local = b"PK\x03\x04" + struct.pack("<5H3L2H", 20, 0, 0, 0, 0, 0, 0, 0, 1, 0) + b"a"
    header = b"PK\x01\x02" + struct.pack("<6H3L5H2L", 20, 20, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0,
                                         0, 0, 0, 0) + b"a"
    with path.open("wb") as f:
        f.write(local)
        chunk = header * 10_000
        for _ in range(entries // 10_000):
            f.write(chunk)
        cd_size = len(header) * (entries // 10_000) * 10_000
        # the end record's 16-bit count says 12; zipfile itself walks the whole directory
        f.write(b"PK\x05\x06" + struct.pack("<4H2LH", 0, 0, 12, 12, cd_size, len(local), 0))


@pytest.mark.timeout(120)
def test_a_1_4_million_entry_directory_is_refused_before_parsing(tmp_path):
    path = tmp_path / "many.foureyes"
    _many_entries_zip(path, 1_400_000)
    assert path.stat().st_size < MAX_BUNDLE_BYTES
    tracemalloc.start()
    t = time.process_time()
    try:
        r = CliRunner().invoke(cli, ["verify", str(path)])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert r.exit_code == 1 and "archive" in r.output
    assert str(MAX_DIRECTORY_BYTES) in r.output
    assert peak < 150 * 1024 * 1024, peak  # the file itself is ~66 MB
    assert time.process_time() - t < 10


def _policy_with_rules(base: bytes, n: int, pad: int = 0) -> bytes:
    rules = "".join(f'\n[[rules]]\nroute = "zz{i}.*"\napprovals = 1\n' for i in range(n))
    return base + rules.encode() + b"\n" * pad


@pytest.mark.timeout(120)
def test_a_small_bundle_cannot_cost_seconds_of_cpu(vector_members):
    """A ~100 KB bundle whose 1 MiB policy held thousands of rules cost 14-19 s: the
    reader looked up each rule's line by rescanning the whole file."""
    policy = _policy_with_rules(vector_members["policy.toml"], 20_000)[:1024 * 1024]
    policy = policy[:policy.rindex(b"\n[[rules]]")]
    data = write_members({**vector_members, "policy.toml": policy})
    assert len(data) < 200_000
    t = time.process_time()
    report = verify_bundle(data, None)
    assert time.process_time() - t < 3
    assert _failed(report) == {"format"} and "rules" in report.failures[0].message
    # the most a policy may hold, padded to 1 MiB, is still cheap
    policy = _policy_with_rules(vector_members["policy.toml"], 250)
    policy += b"\n" * (1024 * 1024 - len(policy))
    t = time.process_time()
    report = verify_bundle(write_members({**vector_members, "policy.toml": policy}), None)
    assert time.process_time() - t < 5
    assert "policy_hash" in _failed(report)


# --------------------------------------------------------------- 4. honest verdicts


def test_a_failed_execution_is_not_reported_as_a_plain_success(world):
    data, policy = build(world, receipt=lambda p, ds: make_receipt(
        world, p, [d.hash for d, _ in ds], p.created_at + timedelta(minutes=2),
        outcome="failed"))
    report = verify_bundle(data, parse_trust(trust_toml(world, policy)))
    assert report.exit_code == 0, report.failures
    assert report.verdict == "VALID: executed, outcome failed"
    assert report.to_json()["execution_outcome"] == "failed"


def test_a_successful_execution_reads_as_before(vector_bytes, vector_trust):
    report = verify_bundle(vector_bytes, vector_trust)
    assert report.verdict == "VALID: executed"


# --------------------------------------------------------------- 5. the auditor's signers


def test_policy_allowed_signers_checks_the_vector_with_ssh_keygen(vector_members, vectors_dir,
                                                                  tmp_path):
    (tmp_path / "policy.toml").write_bytes(vector_members["policy.toml"])
    runner = CliRunner()
    r = runner.invoke(cli, ["policy", "allowed-signers", str(tmp_path / "policy.toml"),
                            "--trust", str(vectors_dir / "trust.toml")])
    assert r.exit_code == 0, r.output
    policy = Policy.from_bytes(vector_members["policy.toml"])
    assert policy.hash in r.stdout.splitlines()[0]
    assert all('namespaces="foureyes-decision-v1"' in ln for ln in r.stdout.splitlines()
               if ln.split(" ")[0].count("@"))
    (tmp_path / "signers").write_text(r.stdout)
    for n in (1, 2):
        doc = vector_members[f"decisions/{n}.json"]
        (tmp_path / "sig").write_bytes(vector_members[f"decisions/{n}.json.sig"])
        out = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(tmp_path / "signers"),
                              "-I", json.loads(doc)["reviewer"], "-n", "foureyes-decision-v1",
                              "-s", str(tmp_path / "sig")], input=doc, capture_output=True,
                             check=False)
        assert out.returncode == 0, out.stderr
    (tmp_path / "t.toml").write_text(f'policies = ["{OTHER}"]\n')
    r = runner.invoke(cli, ["policy", "allowed-signers", str(tmp_path / "policy.toml"),
                            "--trust", str(tmp_path / "t.toml")])
    assert r.exit_code == 1 and r.stdout == ""


def test_check_it_yourself_uses_the_trusted_policy_not_the_bundle(tmp_path, vector_bytes,
                                                                   vectors_dir):
    from core.demo import _ssh_lines

    (tmp_path / "b.foureyes").write_bytes(vector_bytes)
    lines = _ssh_lines(tmp_path, tmp_path / "b.foureyes", vectors_dir / "trust.toml")
    assert lines[0].startswith("foureyes policy allowed-signers ")
    assert "--trust" in lines[0]
    assert not any("bundle/allowed_signers" in ln for ln in lines)
    for line in lines[1:]:
        r = subprocess.run(line, shell=True, capture_output=True, text=True, check=False)
        assert r.returncode == 0 and "Good" in r.stdout, r.stderr
    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text()
    assert "foureyes policy allowed-signers" in readme
    assert "against the bundle's `allowed_signers`" not in readme


# --------------------------------------------------------------- 6. strictness


def _renamed(members: dict[str, bytes], old: str, new: bytes) -> bytes:
    placeholder = "Q" * len(new)
    data = _zip({(placeholder if k == old else k): v for k, v in members.items()})
    return data.replace(placeholder.encode(), new)


@pytest.mark.parametrize("name", [b"allowed_signers\x00evil", b"allowed\nsigners",
                                  b"allowed_signers\x7f", b"allowed_signers\xc3\xa9"])
def test_control_characters_in_entry_names(vector_members, name):
    report = verify_bundle(_renamed(vector_members, "allowed_signers", name), None)
    assert report.exit_code == 1 and _failed(report) == {"archive"}
    assert re.search("control character|non-ASCII", report.failures[0].message)


def test_data_before_or_after_the_zip_is_refused(vector_bytes, vector_trust):
    for data, needle in ((b"#!/bin/sh\nexit 0\n" + vector_bytes, "before"),
                         (vector_bytes + b"\x00" * 100, "after"),
                         (vector_bytes + b"trailing garbage", "after")):
        report = verify_bundle(data, vector_trust)
        assert report.exit_code == 1 and _failed(report) == {"archive"}, report.failures
        assert needle in report.failures[0].message


@pytest.mark.parametrize("line", ["approvals = nan", "approvals = inf", "approvals = 1.0",
                                  'when = { amount_minor = { gte = nan } }',
                                  'when = { amount_minor = { gte = -inf } }',
                                  'when = { amount_minor = { lt = 1.5 } }',
                                  'when = { amount_minor = { in = [1, nan] } }',
                                  'when = { amount_minor = { eq = 9007199254740993 } }'])
def test_nan_inf_and_float_thresholds_are_refused(line):
    text = ('schema = "foureyes.policy/v1"\nname = "p"\ndefault = "deny"\nttl = "30m"\n\n'
            f'[[rules]]\nroute = "payments.*"\n{line}\n')
    if not line.startswith("approvals"):
        text += "approvals = 2\n"
    with pytest.raises(InvalidData) as e:
        Policy.from_bytes(text.encode())
    assert e.value.code == "policy"
    assert re.search(r"nan|inf|float|integer|2\^53", e.value.message, re.I), e.value.message


def test_sha256_ref_helper_matches_decision_hash(world):
    policy = Policy.from_bytes(world.policy_bytes())
    d, _ = world.decide(world.proposal(policy_hash=policy.hash), BOB)
    assert sha256_ref(d.raw) == d.hash


@pytest.mark.timeout(30)
def test_a_fifo_or_device_is_not_a_bundle_and_never_blocks(tmp_path):
    import os

    fifo = tmp_path / "pipe.foureyes"
    os.mkfifo(fifo)
    r = CliRunner().invoke(cli, ["verify", str(fifo)])  # opening it for reading must not wait
    assert r.exit_code == 2 and "regular file" in r.output
    r = CliRunner().invoke(cli, ["verify", "/dev/zero"])
    assert r.exit_code == 2


# --------------------------------------------------------------- the member reader


@pytest.mark.parametrize("name, needle", [
    ("local-name-differs", "another name in its local header"),
    ("local-size-differs", "disagrees with the directory (CRC-32 or sizes)"),
    ("local-method-differs", "disagrees with the directory (flags or compression)"),
    ("local-flags-differ", "disagrees with the directory (flags or compression)"),
    ("size-lies-crc-right", "inflates to 529 bytes, not the 1529 it states"),
    ("deflate-crc-wrong", "fails its CRC-32 check"),
    ("deflate-unfinished", "does not end where its size says"),
    ("overlapping-members", "does not end where its size says"),
    ("member-inside-another", "'log/proofs.json' overlaps another"),
    ("hidden-member-in-a-gap", "no entry accounts for, before entry 'allowed_signers'"),
    ("extra-field-damaged", "damaged extra field"),
    ("patched-data-flag", "compressed patch data"),
    ("stored-sizes-differ", "stored with two different sizes"),
    ("data-descriptor-lies", "data descriptor disagrees with the directory"),
])
def test_each_member_is_read_where_the_directory_says_and_agrees_with_it(
        name, needle, vector_trust):
    """The reader parses the zip once, itself: a member's local header, data and data
    descriptor must repeat its directory entry, and the members tile the file. Most of
    these passed `zipfile`, which trusts the directory's sizes and stops at a deflate
    stream's end (tests/corpus/make_corpus.py builds them)."""
    data = (Path(__file__).parent / "corpus" / "bundles" / f"{name}.foureyes").read_bytes()
    report = verify_bundle(data, vector_trust)
    assert report.exit_code == 1 and _failed(report) == {"archive"}
    assert needle in report.failures[0].message, report.failures[0].message


def test_a_bundle_written_with_data_descriptors_still_verifies(vector_trust):
    data = (Path(__file__).parent / "corpus" / "bundles" / "data-descriptors.foureyes")
    assert b"PK\x07\x08" in data.read_bytes()
    assert verify_bundle(data.read_bytes(), vector_trust).exit_code == 0


def test_a_hand_written_zip_of_the_vector_verifies(vector_members, vector_trust):
    from tests.corpus.make_corpus import raw_zip

    assert verify_bundle(raw_zip(vector_members), vector_trust).exit_code == 0
