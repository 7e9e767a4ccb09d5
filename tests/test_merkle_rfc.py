"""Our Merkle log against RFC 9162's own recursive definitions, written out again here
(MTH, PATH, PROOF/SUBPROOF) without importing the code under test; plus checkpoints."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import random
import sqlite3

import pytest
import sqlite_utils
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import InvalidData
from core.log.merkle import (
    CompactRange,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from core.log.note import LogSigner, LogVerifier, parse_checkpoint, verify_checkpoint
from core.log.store import LogStore, verify_store

# ---- RFC 9162 §2.1.1, §2.1.3.1, §2.1.4.1, transcribed


def H(b: bytes) -> bytes:  # noqa: N802
    return hashlib.sha256(b).digest()


def k_of(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def MTH(d: list[bytes]) -> bytes:  # noqa: N802
    if not d:
        return H(b"")
    if len(d) == 1:
        return H(b"\x00" + d[0])
    k = k_of(len(d))
    return H(b"\x01" + MTH(d[:k]) + MTH(d[k:]))


def PATH(m: int, d: list[bytes]) -> list[bytes]:  # noqa: N802
    if len(d) == 1:
        return []
    k = k_of(len(d))
    return PATH(m, d[:k]) + [MTH(d[k:])] if m < k else PATH(m - k, d[k:]) + [MTH(d[:k])]


def SUBPROOF(m: int, d: list[bytes], b: bool) -> list[bytes]:  # noqa: N802
    n = len(d)
    if m == n:
        return [] if b else [MTH(d)]
    k = k_of(n)
    if m <= k:
        return SUBPROOF(m, d[:k], b) + [MTH(d[k:])]
    return SUBPROOF(m - k, d[k:], False) + [MTH(d[:k])]


ENTRIES = [f"entry-{i}".encode() for i in range(300)]
LEAVES = [leaf_hash(e) for e in ENTRIES]


def test_roots_and_proofs_match_the_rfc_for_sizes_1_to_300():
    rng = random.Random(9162)
    cache: dict = {}
    compact = CompactRange()
    for n in range(1, 301):
        d = ENTRIES[:n]
        compact.append(LEAVES[n - 1])
        root = MTH(d)
        assert root_hash(LEAVES[:n]) == root == compact.root()
        indices = range(n) if n <= 64 else rng.sample(range(n), 8)
        for i in indices:
            proof = inclusion_proof(LEAVES, i, n, cache)
            assert proof == PATH(i, d)
            assert verify_inclusion(LEAVES[i], i, n, proof, root)
            assert not verify_inclusion(LEAVES[i], (i + 1) % n, n, proof, root) or n == 1
            if proof:
                bad = list(proof)
                bad[0] = H(bad[0])
                assert not verify_inclusion(LEAVES[i], i, n, bad, root)
                assert not verify_inclusion(LEAVES[i], i, n, proof, H(root))
        olds = range(1, n + 1) if n <= 64 else rng.sample(range(1, n + 1), 8)
        for m in olds:
            proof = consistency_proof(LEAVES, m, n, cache)
            assert proof == SUBPROOF(m, d, True)
            assert verify_consistency(m, n, MTH(ENTRIES[:m]), root, proof)
            if m < n:
                assert not verify_consistency(m, n, H(b"x"), root, proof)
                assert not verify_consistency(m, n, MTH(ENTRIES[:m]), root, proof + [root])


@given(st.integers(-3, 40), st.integers(-3, 40), st.lists(st.binary(max_size=40), max_size=6))
@settings(max_examples=300)
def test_verifiers_never_raise(i, n, proof):
    assert verify_inclusion(LEAVES[0], i, n, proof, LEAVES[1]) in (True, False)
    assert verify_consistency(i, n, LEAVES[0], LEAVES[1], proof) in (True, False)


# ---- checkpoints (C2SP signed notes)


def test_vector_checkpoint_and_proofs(vector_members, vectors_dir):
    trust = (vectors_dir / "trust.toml").read_text()
    key = LogVerifier.from_text(trust.split('logs = ["')[1].split('"')[0])
    note = vector_members["log/checkpoint"].decode()
    cp = verify_checkpoint(note, [key])
    assert (cp.origin, cp.size) == ("queue.example.com/foureyes", 6)
    assert base64.b64encode(cp.root).decode() == "IPVdaSouGcqHAop5unf8EL8DW4B4jJTKOm/vr/WSKFA="
    proofs = json.loads(vector_members["log/proofs.json"])
    for line in vector_members["log/entries.jsonl"].decode().splitlines():
        obj = json.loads(line)
        proof = [base64.b64decode(h) for h in proofs[str(obj["index"])]]
        assert verify_inclusion(leaf_hash(obj["entry"].encode()), obj["index"], cp.size,
                                proof, cp.root)
    flipped = note.replace("IPVd", "IPVe")
    with pytest.raises(InvalidData):
        verify_checkpoint(flipped, [key])
    other = LogSigner.generate("queue.example.com/foureyes").verifier
    with pytest.raises(InvalidData, match="no trusted"):
        verify_checkpoint(note, [other])


def test_unknown_signers_ignored_known_bad_signature_refused():
    a, b = LogSigner.generate("log.example/a"), LogSigner.generate("log.example/a")
    note = a.sign_checkpoint(3, H(b"r"))
    witness = LogSigner.generate("witness.example").sign_checkpoint(3, H(b"r"))
    two = note + witness.split("\n\n", 1)[1]
    assert verify_checkpoint(two, [a.verifier]).size == 3
    with pytest.raises(InvalidData):
        verify_checkpoint(witness, [a.verifier])
    # a trusted key's line with a broken signature fails the whole note
    body, sig = note.split("\n\n", 1)
    name, blob = sig.strip()[2:].split(" ")
    raw = bytearray(base64.b64decode(blob))
    raw[-1] ^= 1
    broken = f"{body}\n\n— {name} {base64.b64encode(bytes(raw)).decode()}\n"
    with pytest.raises(InvalidData):
        verify_checkpoint(broken, [a.verifier, b.verifier])


@pytest.mark.parametrize("note", [
    "log\n3\nAAAA\n\n— log x\n", "log\n03\n" + "A" * 43 + "=\n\n— log AAAA\n",
    "log\n+3\n" + "A" * 43 + "=\n\n— log AAAA\n", "log\n3\n" + "A" * 43 + "=\n— log AAAA\n",
    "log\nthree\n" + "A" * 43 + "=\n\n— log AAAA\n", "x" * 20000,
])
def test_malformed_notes(note):
    with pytest.raises(InvalidData) as e:
        parse_checkpoint(note)
    assert e.value.code == "checkpoint"


@given(st.text(max_size=300))
@settings(max_examples=300)
def test_note_parsing_never_raises_anything_else(text):
    signer = LogSigner.generate("x")
    with contextlib.suppress(InvalidData):
        verify_checkpoint(text, [signer.verifier])


# ---- the SQLite store


def test_store_rollback_reopen_and_tamper(tmp_path):
    path = tmp_path / "log.sqlite"
    signer = LogSigner.generate("t/log")
    db = sqlite_utils.Database(sqlite3.connect(path, isolation_level=None))
    store = LogStore(db)
    db.conn.execute("BEGIN")
    for e in ENTRIES[:5]:
        store.append(e)
    store.sign_checkpoint(signer)
    db.conn.execute("COMMIT")
    db.conn.execute("BEGIN")
    store.append(b"phantom")
    db.conn.execute("ROLLBACK")
    assert store.size == 5 and store.root() == MTH(ENTRIES[:5])
    again = LogStore(sqlite_utils.Database(sqlite3.connect(path)))
    assert again.root() == MTH(ENTRIES[:5])
    assert verify_store(again.db, [signer.verifier]).ok
    db.conn.execute("UPDATE log_entries SET entry=?, leaf=? WHERE idx=2",
                    (b"evil", leaf_hash(b"evil")))
    report = verify_store(again.db, [signer.verifier])
    assert not report.ok and report.first_bad_index is not None
