"""Prints Foureyes' speed figures (no test depends on them). Run: .venv/bin/python benchmarks/run.py

Figures: offline bundle verification, the quorum function, SSHSIG sign/verify, Merkle log
append with checkpoint signing, and inclusion proofs on a large log. Wall-clock numbers on
the machine at hand; compare runs on the same machine only.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def rate(label: str, n: int, fn) -> None:  # noqa: ANN001
    start = time.perf_counter()
    for _ in range(n):
        fn()
    elapsed = time.perf_counter() - start
    print(f"{label:<44} {n / elapsed:>10.0f} /s   ({elapsed / n * 1e3:.3f} ms each)")


def main() -> None:
    import sqlite_utils

    from core.bundle.trust import parse_trust
    from core.bundle.verify import verify_bundle
    from core.log.store import LogStore
    from core.policy import Policy, SignedDecision, evaluate
    from core.sample import SampleWorld
    from core.signing import verify
    from tests.bundle_factory import build, trust_toml

    world = SampleWorld.create()
    data, policy = build(world)
    trust = parse_trust(trust_toml(world, policy))
    rate("verify_bundle (2-of-n payment, executed)", 200, lambda: verify_bundle(data, trust))

    p = world.proposal(policy_hash=Policy.from_bytes(world.policy_bytes()).hash)
    ds = [SignedDecision(d.raw, s) for d, s in (world.decide(p, "bob@example.com"),
                                                world.decide(p, "carol@example.com"))]
    rate("quorum evaluate (2 decisions)", 500, lambda: evaluate(policy, p, ds))
    signer = world.signer("bob@example.com")
    sig = signer.sign(b"x" * 500, "foureyes-decision-v1")
    rate("SSHSIG sign (500 B)", 2000, lambda: signer.sign(b"x" * 500, "foureyes-decision-v1"))
    rate("SSHSIG verify (500 B)", 2000, lambda: verify(sig, b"x" * 500, "foureyes-decision-v1"))

    db = sqlite_utils.Database(memory=True)
    store = LogStore(db)
    counter = iter(range(10**9))

    def append() -> None:
        with db.conn:
            store.append(b'{"n":%d}' % next(counter))
            store.sign_checkpoint(world.log_signer)

    rate("log append + checkpoint (in-memory SQLite)", 2000, append)
    with db.conn:
        for i in range(20_000):
            store.append(b'{"bulk":%d}' % i)
    size = store.size
    tracemalloc.start()
    rate(f"inclusion proof at size {size}", 50, lambda: store.inclusion_proof(size // 3, size))
    peak = tracemalloc.get_traced_memory()[1]
    print(f"{'peak memory of proof generation':<44} {peak / 1e6:>10.1f} MB")


if __name__ == "__main__":
    main()
