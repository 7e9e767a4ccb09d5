"""Item: readers and writers at once against the real server process.

Eight clients polling /v1/log/proof while an agent submitted proposals once made the server
sign checkpoints with wrong roots (one SQLite connection shared by the threadpool, and an
in-memory leaf cache read and mutated from several threads). This test runs a bounded burst
of readers and writers on loopback; its assertions are deterministic (no timing): every
proof a reader got verifies against the checkpoint it read, no request failed with 5xx,
`foureyes log verify` passes afterwards and the server starts again on the same data.
"""

from __future__ import annotations

import base64
import itertools
import random
import threading
import time

import httpx

from core.log.merkle import CompactRange, leaf_hash, verify_inclusion
from core.log.note import LogVerifier, verify_checkpoint
from core.policy import Policy
from core.sample import SampleWorld
from tests.server_fixtures import Server, cli

BURST_SECONDS = 5.0
READERS = 12
WRITERS = 3
CHECKPOINT_EVERY = 8
SEED_ENTRIES = 8000  # a log of some size: the old leaf cache rebuilt in O(n) windows


def test_readers_and_writers_at_once_keep_the_log_sound(tmp_path):
    world = SampleWorld.create()
    srv = Server(world, tmp_path / "s", extra_args=("--max-open", "1000000",
                                                    "--max-per-minute", "1000000"))
    srv.setup()
    _seed(srv, world, SEED_ENTRIES)
    srv.start()
    trusted = [LogVerifier.from_text(world.log_verifier)]
    stop = threading.Event()
    errors: list[str] = []
    proofs: list = []
    notes: list[str] = []
    submitted = [0]
    policy_hash = Policy.from_bytes(world.policy_bytes()).hash

    def writer() -> None:
        agent = srv.agent()
        while not stop.is_set():
            try:
                agent.submit_proposal(world.proposal(policy_hash=policy_hash))
                submitted[0] += 1
            except Exception as e:  # noqa: BLE001 - every failure is a finding
                errors.append(f"submit: {e!r}")
                return

    def reader(seed: int) -> None:
        rng = random.Random(seed)
        headers = {"Authorization": f"Bearer {srv.auditor_token}"}
        size = 0
        with httpx.Client(base_url=srv.url, headers=headers, timeout=30) as c:
            for n in itertools.count():
                if stop.is_set():
                    return
                if n % CHECKPOINT_EVERY == 0:
                    r = c.get("/v1/log/checkpoint")
                    if r.status_code != 200:
                        errors.append(f"checkpoint: {r.status_code} {r.text[:200]}")
                        return
                    notes.append(r.text)
                    size = verify_checkpoint(r.text, trusted).size
                index = rng.randrange(size)
                p = c.get("/v1/log/proof", params={"index": index, "size": size})
                if p.status_code != 200:
                    errors.append(f"proof: {p.status_code} {p.text[:200]}")
                    return
                proofs.append((index, size, [base64.b64decode(h) for h in p.json()["proof"]]))

    threads = [threading.Thread(target=writer) for _ in range(WRITERS)]
    threads += [threading.Thread(target=reader, args=(i,)) for i in range(READERS)]
    try:
        for t in threads:
            t.start()
        time.sleep(BURST_SECONDS)
        stop.set()
        for t in threads:
            t.join(60)
        assert not errors, errors[:5]
        assert proofs and submitted[0] > 0
        entries = _all_entries(srv)
        roots = _roots([leaf_hash(e) for e in entries],
                       {size for _, size, _ in proofs} | {verify_checkpoint(n, trusted).size
                                                         for n in notes})
        wrong = [cp.size for cp in (verify_checkpoint(n, trusted) for n in notes)
                 if cp.root != roots[cp.size]]
        assert not wrong, f"{len(wrong)} of {len(notes)} checkpoints signed wrong roots"
        bad = [(i, size) for i, size, proof in proofs
               if not verify_inclusion(leaf_hash(entries[i]), i, size, proof, roots[size])]
        assert not bad, f"{len(bad)} of {len(proofs)} proofs do not verify, e.g. {bad[:3]}"
    finally:
        stop.set()
        srv.stop()
    out = cli("log", "verify", "--db", str(srv.data / "server.sqlite"), "--key",
              world.log_verifier)
    assert out.returncode == 0, out.stdout + out.stderr
    srv.start()  # refuses (log_damaged) if any checkpoint was signed over a wrong root
    try:
        assert httpx.get(srv.url + "/health", timeout=10).status_code == 200
    finally:
        srv.stop()


def _all_entries(srv: Server) -> list[bytes]:
    out: list[bytes] = []
    headers = {"Authorization": f"Bearer {srv.auditor_token}"}
    while True:
        r = httpx.get(srv.url + "/v1/log/entries", params={"start": len(out),
                                                            "stop": len(out) + 1000},
                      headers=headers, timeout=30)
        got = r.json()["entries"]
        if not got:
            return out
        out += [e.encode() for e in got]


def _seed(srv: Server, world: SampleWorld, n: int) -> None:
    """Give the log some history before the server starts (valid events, one checkpoint)."""
    from core.formats import Event, now_utc
    from core.server.store import ServerStore

    store = ServerStore(srv.data)
    raw = Event.make("policy.activated", now_utc(),
                     policy=Policy.from_bytes(world.policy_bytes()).hash).raw
    with store.write():
        for _ in range(n):
            store.log.append(raw)
        store.log.sign_checkpoint(world.log_signer)
    store.close()


def _roots(leaves: list[bytes], sizes: set[int]) -> dict[int, bytes]:
    """The RFC 9162 root at each size, recomputed by the test from the entries alone."""
    compact, out = CompactRange(), {}
    for size in sorted(sizes):
        while compact.size < size:
            compact.append(leaves[compact.size])
        out[size] = compact.root()
    return out


def test_readers_never_see_a_writers_open_step(tmp_path, world):
    """Deterministic: while a write step is open (event appended, checkpoint signed, not
    committed), another thread sees the committed log only; a rolled-back step leaves no
    trace in what anyone reads afterwards."""
    import pytest

    from core.errors import InvalidData
    from core.formats import now_utc
    from core.server.store import ServerStore

    store = ServerStore(tmp_path / "data")
    policy = "sha256:" + "0" * 64
    with store.write():
        store.log_event(world.log_signer, "policy.activated", now_utc(), policy=policy)
    committed = (store.log.size, store.log.root(), store.log.latest_checkpoint())
    inside, release, seen = threading.Event(), threading.Event(), []

    def step() -> None:
        try:
            with store.write():
                store.log_event(world.log_signer, "policy.activated", now_utc(), policy=policy)
                inside.set()
                release.wait(30)
                raise RuntimeError("roll back")
        except RuntimeError:
            pass

    writer = threading.Thread(target=step)
    writer.start()
    try:
        assert inside.wait(30)
        seen.append((store.log.size, store.log.root(), store.log.latest_checkpoint()))
        with pytest.raises(InvalidData):
            store.log.inclusion_proof(1, 2)
    finally:
        release.set()
        writer.join(30)
    assert seen == [committed]
    assert (store.log.size, store.log.root(), store.log.latest_checkpoint()) == committed
    with store.write():
        store.log_event(world.log_signer, "policy.activated", now_utc(), policy=policy)
    assert store.log.size == 2
    store.close()
