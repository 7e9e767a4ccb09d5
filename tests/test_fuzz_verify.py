"""Bounded fuzzing of the verifier with seeded mutations of the known-answer vector.

No exception other than NotABundle may escape `verify_bundle`; a mutated bundle exits 1
(a check failed) or 2 (not a zip at all). Exit 0 is allowed only when the mutation touched
nothing the verifier checks: the members it read are the vector's own (allowed_signers
aside, which is never trusted; a signature's armor may be re-wrapped, as OpenSSH allows),
e.g. a changed zip timestamp.
"""

from __future__ import annotations

import io
import random
import time
import zipfile

import pytest

from core.bundle.archive import read_members
from core.bundle.trust import parse_trust
from core.bundle.verify import UNEXPECTED, NotABundle, verify_bundle

SEED = 20261124
BUDGET_SECONDS = 20
MAX_CASES = 4000
INTERESTING = [b"\x00", b"\xff", b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06", b"\x00" * 8,
               b"\xff\xff\xff\xff", b"[", b"{", b'"', b"\\u0000", b"\xc3", b"\n", b"NaN",
               b"9007199254740993", b"\xb2"]


def _mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        pos = rng.randrange(len(b) + 1) if b else 0
        if op == 0 and b:
            b[min(pos, len(b) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1 and b:
            b[min(pos, len(b) - 1)] = rng.randrange(256)
        elif op == 2:
            b[pos:pos] = rng.choice(INTERESTING)
        elif op == 3 and b:
            del b[pos:pos + rng.randint(1, 16)]
        elif op == 4 and b:
            start = rng.randrange(len(b))
            b[pos:pos] = b[start:start + rng.randint(1, 64)]
        else:
            b[pos:pos + 4] = rng.choice(INTERESTING)
    return bytes(b)


def _mutate_member(rng: random.Random, members: dict[str, bytes]) -> bytes:
    name = rng.choice(sorted(members))
    mutated = dict(members, **{name: _mutate_bytes(rng, members[name])})
    if rng.random() < 0.1:
        del mutated[rng.choice(sorted(mutated))]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for n, d in mutated.items():
            z.writestr(n, d)
    return out.getvalue()


def _checked(members: dict[str, bytes]) -> dict[str, bytes]:
    """What the verifier relies on: every member but allowed_signers, armor unwrapped."""
    return {n: b"".join(d.split()) if n.endswith(".sig") else d
            for n, d in members.items() if n != "allowed_signers"}


@pytest.mark.timeout(90)
def test_mutations_never_escape_and_never_pass(vectors_dir, vector_members):
    trust = parse_trust((vectors_dir / "trust.toml").read_bytes())
    original = (vectors_dir / "payment-2of4.foureyes").read_bytes()
    checked = _checked(vector_members)
    rng = random.Random(SEED)
    deadline = time.monotonic() + BUDGET_SECONDS
    seen = {0: 0, 1: 0, 2: 0}
    n = 0
    while n < MAX_CASES and time.monotonic() < deadline:
        n += 1
        data = _mutate_bytes(rng, original) if rng.random() < 0.6 else \
            _mutate_member(rng, vector_members)
        try:
            report = verify_bundle(data, trust)
        except NotABundle:
            seen[2] += 1
            continue
        assert report.exit_code in (0, 1), (n, report.checks)
        assert all(c.code and c.message for c in report.failures)
        # the last-resort net caught nothing: every failure was a check that knew why
        assert not any(c.message.startswith(UNEXPECTED) for c in report.failures), \
            (n, report.failures)
        if report.exit_code == 0:
            assert _checked(read_members(data)) == checked, f"case {n}: a changed bundle verified"
        seen[report.exit_code] += 1
    assert n >= 200 and seen[1] > n // 2, (n, seen)
