"""SSHSIG against the real OpenSSH, both ways, plus the independent vector's signatures."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import InvalidData
from core.signing import FileKeySource, PublicKey, Signer, allowed_signers_line, verify

NS = "foureyes-decision-v1"
MSG = b'{"schema":"foureyes.decision/v1","x":1}'


def ssh_keygen(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run(["ssh-keygen", *args], input=stdin, capture_output=True, check=False)


def _openssh_verify(tmp: Path, who: str, key: PublicKey, sig: str, msg: bytes,
                    ns: str = NS) -> subprocess.CompletedProcess:
    (tmp / "allowed").write_text(allowed_signers_line(who, key) + "\n")
    (tmp / "msg.sig").write_text(sig)
    return ssh_keygen("-Y", "verify", "-f", str(tmp / "allowed"), "-I", who, "-n", ns,
                      "-s", str(tmp / "msg.sig"), stdin=msg)


def test_our_signature_passes_ssh_keygen(tmp_path):
    signer = Signer(bytes(range(32)))
    out = _openssh_verify(tmp_path, "bob@example.com", signer.public_key,
                          signer.sign(MSG, NS), MSG)
    assert out.returncode == 0, out.stderr
    assert b'Good "foureyes-decision-v1" signature for bob@example.com' in out.stdout


def test_ssh_keygen_rejects_our_wrong_namespace_and_flipped_byte(tmp_path):
    signer = Signer(bytes(range(32)))
    sig = signer.sign(MSG, "foureyes-receipt-v1")
    assert _openssh_verify(tmp_path, "b@x", signer.public_key, sig, MSG).returncode != 0
    sig = signer.sign(MSG, NS)
    assert _openssh_verify(tmp_path, "b@x", signer.public_key, sig, MSG + b" ").returncode != 0


def test_ssh_keygen_signature_passes_ours(tmp_path):
    key = tmp_path / "id"
    assert ssh_keygen("-q", "-t", "ed25519", "-N", "", "-C", "carol@example.com",
                      "-f", str(key)).returncode == 0
    (tmp_path / "m").write_bytes(MSG)
    assert ssh_keygen("-Y", "sign", "-f", str(key), "-n", NS, str(tmp_path / "m")).returncode == 0
    sig = (tmp_path / "m.sig").read_text()
    got = verify(sig, MSG, NS)
    assert got == PublicKey.from_openssh((tmp_path / "id.pub").read_text())
    with pytest.raises(InvalidData, match="namespace"):
        verify(sig, MSG, "foureyes-receipt-v1")
    with pytest.raises(InvalidData, match="does not match"):
        verify(sig, MSG + b"x", NS)
    fp = ssh_keygen("-l", "-f", str(tmp_path / "id.pub")).stdout.decode().split()[1]
    assert got.fingerprint == fp


def test_ecdsa_and_rsa_signatures_are_refused(tmp_path):
    for kind in ("ecdsa", "rsa"):
        key = tmp_path / f"id_{kind}"
        assert ssh_keygen("-q", "-t", kind, "-N", "", "-f", str(key)).returncode == 0
        (tmp_path / "m").write_bytes(MSG)
        assert ssh_keygen("-Y", "sign", "-f", str(key), "-n", NS,
                          str(tmp_path / "m")).returncode == 0
        with pytest.raises(InvalidData) as e:
            verify((tmp_path / "m.sig").read_text(), MSG, NS)
        assert e.value.code == "signature" and "ssh-ed25519" in e.value.message
        (tmp_path / "m.sig").unlink()


def test_our_key_file_works_with_ssh_keygen(tmp_path):
    path = tmp_path / "bob.key"
    source = FileKeySource(path)
    pub = source.create("bob@example.com")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    derived = ssh_keygen("-y", "-f", str(path)).stdout.decode()
    assert PublicKey.from_openssh(derived) == pub
    (tmp_path / "m").write_bytes(MSG)
    assert ssh_keygen("-Y", "sign", "-f", str(path), "-n", NS, str(tmp_path / "m")).returncode == 0
    assert verify((tmp_path / "m.sig").read_text(), MSG, NS) == pub


def test_ssh_keygen_key_file_loads_in_our_file_source(tmp_path):
    key = tmp_path / "gate.key"
    ssh_keygen("-q", "-t", "ed25519", "-N", "", "-C", "gate:prod", "-f", str(key))
    signer = FileKeySource(key).signer("gate:prod")
    assert signer.public_key == PublicKey.from_openssh((tmp_path / "gate.key.pub").read_text())
    with pytest.raises(InvalidData) as e:
        FileKeySource(key).signer("gate:other")
    assert e.value.code == "identity_mismatch"


def test_vector_signatures_verify(vector_members):
    roster = {}
    for line in vector_members["allowed_signers"].decode().splitlines():
        who, _opts, kind, blob = line.split()
        roster[PublicKey.from_openssh(f"{kind} {blob}")] = who
    for n, who in ((1, "bob@example.com"), (2, "carol@example.com")):
        key = verify(vector_members[f"decisions/{n}.json.sig"],
                     vector_members[f"decisions/{n}.json"], NS)
        assert roster[key] == who
    verify(vector_members["receipt.json.sig"], vector_members["receipt.json"],
           "foureyes-receipt-v1")


def test_key_equality_is_by_bytes():
    k = Signer(bytes(32)).public_key
    assert PublicKey.from_openssh(k.openssh() + " some comment") == k
    assert len({k, PublicKey.from_openssh(k.openssh() + "  x")}) == 1
    with pytest.raises(InvalidData) as e:
        PublicKey.from_openssh("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ")
    assert e.value.code == "key_type"
    assert "seed" not in repr(Signer(bytes(32))) and "00000000" not in repr(Signer(bytes(32)))


@given(st.binary(max_size=600))
@settings(max_examples=300)
def test_verify_raises_only_invalid_data_on_garbage(data):
    for candidate in (data, b"-----BEGIN SSH SIGNATURE-----\n" + data +
                      b"\n-----END SSH SIGNATURE-----\n"):
        with pytest.raises(InvalidData):
            verify(candidate, MSG, NS)


@given(st.data())
@settings(max_examples=200)
def test_mutated_signatures_fail_cleanly(data):
    import base64

    sig = Signer(bytes(range(32))).sign(MSG, NS)
    blob = bytearray(base64.b64decode("".join(sig.strip().splitlines()[1:-1])))
    pos = data.draw(st.integers(0, len(blob) - 1))
    blob[pos] ^= data.draw(st.integers(1, 255))
    text = base64.b64encode(bytes(blob)).decode()
    armored = f"-----BEGIN SSH SIGNATURE-----\n{text}\n-----END SSH SIGNATURE-----\n"
    with pytest.raises(InvalidData):
        verify(armored, MSG, NS)
