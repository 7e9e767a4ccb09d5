"""Threshold-signed releases: two signers, tampering, unknown keys, double signing, OpenSSH."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from click.testing import CliRunner

from core.cli.main import cli
from core.release import parse_sums, sign_release, verify_release, write_sums
from core.signing import FileKeySource, allowed_signers_line

SIGNERS = ("rel-a@example.com", "rel-b@example.com", "rel-c@example.com")


@pytest.fixture
def release_dir(tmp_path):
    d = tmp_path / "dist"
    d.mkdir()
    (d / "foureyes-0.1.0-linux-x86_64.tar.gz").write_bytes(b"installer bytes" * 100)
    (d / "notes.txt").write_text("release notes")
    write_sums(d, ["foureyes-0.1.0-linux-x86_64.tar.gz", "notes.txt"])
    keys = {}
    lines = []
    for who in SIGNERS:
        src = FileKeySource(tmp_path / f"{who}.key")
        pub = src.create(who)
        keys[who] = src
        lines.append(allowed_signers_line(who, pub, ("foureyes-release-v1",)))
    (tmp_path / "release_signers").write_text("# release signers\n" + "\n".join(lines) + "\n")
    return d, keys, tmp_path / "release_signers"


def _sign(d, keys, who):
    return sign_release(d, who, keys[who].signer(who))


def test_two_signers_meet_threshold_two(release_dir):
    d, keys, signers = release_dir
    _sign(d, keys, SIGNERS[0])
    assert not verify_release(d, signers, 2).ok  # one signature is never enough
    _sign(d, keys, SIGNERS[1])
    report = verify_release(d, signers, 2)
    assert report.ok and sorted(report.valid_signers) == sorted(SIGNERS[:2])
    assert report.missing == [SIGNERS[2]]


def test_tampered_file_fails_and_is_named(release_dir):
    d, keys, signers = release_dir
    _sign(d, keys, SIGNERS[0])
    _sign(d, keys, SIGNERS[1])
    (d / "notes.txt").write_text("release notes, edited")
    report = verify_release(d, signers, 2)
    assert not report.ok
    assert ("file_mismatch", "notes.txt does not match SHA256SUMS") in report.problems


def test_unknown_key_and_double_signing_do_not_count(release_dir, tmp_path):
    """An outsider's signature and a signer's second copy (under another name) add nothing."""
    d, keys, signers = release_dir
    _sign(d, keys, SIGNERS[0])
    outsider = FileKeySource(tmp_path / "mallory.key")
    outsider.create("mallory@example.com")
    sign_release(d, "mallory@example.com", outsider.signer("mallory@example.com"))
    shutil.copy(d / f"SHA256SUMS.{SIGNERS[0]}.sig", d / f"SHA256SUMS.{SIGNERS[0]}x.sig")
    report = verify_release(d, signers, 2)
    assert not report.ok and report.valid_signers == [SIGNERS[0]]
    codes = {c for c, _ in report.problems}
    assert "unknown_key" in codes and "wrong_identity" in codes


def test_cli_and_real_ssh_keygen(release_dir):
    d, keys, signers = release_dir
    runner = CliRunner()
    for who in SIGNERS[:2]:
        r = runner.invoke(cli, ["release", "sign", str(d), "--identity", who, "--key-file",
                                str(keys[who].path)])
        assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["release", "verify", str(d), "--signers", str(signers),
                            "--threshold", "2"])
    assert r.exit_code == 0 and "VALID: 2 of 2" in r.output
    r = runner.invoke(cli, ["release", "verify", str(d), "--signers", str(signers),
                            "--threshold", "3"])
    assert r.exit_code == 1 and SIGNERS[2] in r.output
    sums = (d / "SHA256SUMS").read_bytes()
    out = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(signers), "-I", SIGNERS[0],
                          "-n", "foureyes-release-v1", "-s",
                          str(d / f"SHA256SUMS.{SIGNERS[0]}.sig")], input=sums,
                         capture_output=True, check=False)
    assert out.returncode == 0, out.stderr
    out = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=d, capture_output=True,
                         check=False)
    assert out.returncode == 0


@pytest.mark.parametrize("bad", [b"", b"abc  file\n", b"0" * 64 + b"  /etc/passwd\n",
                                 b"0" * 64 + b"  ../x\n",
                                 b"0" * 64 + b"  a\n" + b"1" * 64 + b"  a\n"])
def test_sums_reader_is_strict(bad):
    from core.errors import InvalidData

    with pytest.raises(InvalidData):
        parse_sums(bad)
