"""The fixed-layout fast path of SSHSIG verification answers exactly as the strict reader:
every single-byte change of a real signature blob, and other namespaces, give the same key
or the same refusal with the path on and off."""

from __future__ import annotations

import base64

import nacl.signing
import pytest

from core.errors import InvalidData
from core.signing import Signer, sshsig

MESSAGE = b'{"schema":"foureyes.decision/v1"}'


def _armor(blob: bytes) -> str:
    text = base64.b64encode(blob).decode()
    return f"{sshsig.BEGIN}\n{text}\n{sshsig.END}\n"


def _answer(armored: str, namespace: str):  # noqa: ANN202
    try:
        return ("key", sshsig.verify(armored, MESSAGE, namespace).raw)
    except InvalidData as e:
        return ("refused", e.code, e.message)


@pytest.fixture(scope="module")
def blob() -> bytes:
    signer = Signer(nacl.signing.SigningKey.generate().encode())
    return sshsig._unarmor(signer.sign(MESSAGE, "foureyes-decision-v1"))


def test_every_one_byte_change_is_judged_alike(blob, monkeypatch):
    cases = [blob] + [blob[:i] + bytes([blob[i] ^ 0x01]) + blob[i + 1:]
                      for i in range(len(blob))] + [blob[:-1], blob + b"\0"]
    for namespace in ("foureyes-decision-v1", "foureyes-receipt-v1"):
        fast = [_answer(_armor(b), namespace) for b in cases]
        monkeypatch.setattr(sshsig, "_fixed_layout", lambda _b, _n: None)
        strict = [_answer(_armor(b), namespace) for b in cases]
        monkeypatch.undo()
        assert fast == strict
    assert fast[0][0] == "refused" and strict[0][0] == "refused"  # other namespace
    assert _answer(_armor(blob), "foureyes-decision-v1")[0] == "key"


def _unarmor_answer(armored):  # noqa: ANN001, ANN202
    try:
        return ("blob", sshsig._unarmor(armored))
    except InvalidData as e:
        return ("refused", e.code, e.message)


def test_the_common_armor_is_read_as_the_line_reader_reads_it(blob, monkeypatch):
    text = base64.b64encode(blob).decode()
    lines = "\n".join(text[i:i + 70] for i in range(0, len(text), 70))
    head, tail = sshsig.BEGIN, sshsig.END
    cases = [f"{head}\n{lines}\n{tail}\n", f"{head}\n{text}\n{tail}\n", f"{head}\n{lines}\n{tail}",
             f"{head}\r\n{lines}\r\n{tail}\r\n", f"{head}\n\n{lines}\n\n{tail}\n",
             f"{head}\n {lines}\n{tail}\n", f"{head}\n{lines}=\n{tail}\n", f"{head}\n{tail}\n",
             f"{head}\n\n{tail}\n", f"{head}\n{lines[:-1]}\n{tail}\n", f"{head}\n{lines}*\n{tail}\n",
             f"{head}\n{text[:5]}\n{text[5:]}\n{tail}\n", f" {head}\n{lines}\n{tail}\n\n",
             f"{head}\n{lines}\n{tail}\n".encode(), f"{head}\n=={lines}\n{tail}\n"]
    fast = [_unarmor_answer(c) for c in cases]
    monkeypatch.setattr(sshsig, "_ARMOR_BODY", type("Never", (), {
        "fullmatch": staticmethod(lambda _s: None)}))
    strict = [_unarmor_answer(c) for c in cases]
    assert fast == strict
    assert fast[0] == ("blob", blob)
