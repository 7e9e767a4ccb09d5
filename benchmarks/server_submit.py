"""In-process `submit_proposal` and `submit_decision` rates as the history grows (issue "cost").

    .venv/bin/python benchmarks/server_submit.py                    # 0, 10k, 100k, 1M
    .venv/bin/python benchmarks/server_submit.py --sizes 0,100000

For each size, a fresh store (file, WAL, synchronous=FULL as the server ships) is given that
many past proposals, written straight into the table (half closed ones of the agents under
test, half open ones of other agents; the log is not grown here: benchmarks/log_scale.py
measures the log). Then, through QueueService in this process, with the shipped limits:
N proposals from N agents (each agent's rate-limit windows hold its own history), then one
approval on each. Prints proposals/s and decisions/s, each with its signed log event and
checkpoint in its own committed transaction.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from serverkit import APPROVERS

from core.formats import format_time, now_utc
from core.policy import Policy
from core.sample import SampleWorld
from core.server.auth import Caller
from core.server.service import QueueService
from core.server.store import ServerStore

BULK = 50_000  # history rows per INSERT transaction


def run(size: int, n: int, world: SampleWorld) -> tuple[float, float, float]:
    root = Path(tempfile.mkdtemp(prefix="foureyes-submit-"))
    try:
        store = ServerStore(root / "data")
        service = QueueService(store, world.policy_bytes(), world.log_signer)
        agents = [f"agent:bench-{i}" for i in range(n)]
        now = now_utc()
        old, later = now - timedelta(days=3), format_time(now + timedelta(hours=5))
        t0 = time.perf_counter()
        for start in range(0, size, BULK):
            with store.write() as c:
                c.executemany(
                    "INSERT INTO proposals (hash, body, proposer, requester, created_at, "
                    "expires_at, received_at, status) VALUES (?,?,?,?,?,?,?,?)",
                    ((f"sha256:{i:064x}", b"{}",
                      agents[i % n] if i % 2 == 0 else f"agent:other-{i % 97}",
                      "alice@example.com", format_time(old),
                      format_time(old + timedelta(minutes=30)) if i % 2 == 0 else later,
                      old.timestamp() - i, "executed" if i % 2 == 0 else "pending")
                     for i in range(start, min(size, start + BULK))))
        grown = time.perf_counter() - t0
        service.sweep()
        policy_hash = Policy.from_bytes(world.policy_bytes()).hash
        proposals = [world.proposal(policy_hash=policy_hash, proposer=a,
                                    created_at=now - timedelta(seconds=5)) for a in agents]
        decisions = [world.decide(p, APPROVERS[0], decided_at=now_utc()) for p in proposals]
        t0 = time.perf_counter()
        for a, p in zip(agents, proposals, strict=True):
            service.submit_proposal(Caller("agent", a), p.raw)
        per_proposal = (time.perf_counter() - t0) / n
        t0 = time.perf_counter()
        for p, (d, sig) in zip(proposals, decisions, strict=True):
            service.submit_decision(Caller("reviewer", APPROVERS[0]), p.hash, d.raw, sig)
        per_decision = (time.perf_counter() - t0) / n
        store.close()
        return 1 / per_proposal, 1 / per_decision, grown
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="0,10000,100000,1000000")
    parser.add_argument("-n", type=int, default=500, help="proposals (and decisions) timed")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    world = SampleWorld.create()
    print(f"{'history':>10} {'proposals/s':>12} {'decisions/s':>12} {'grow s':>7}")
    for size in (int(s) for s in args.sizes.split(",")):
        p, d, grown = run(size, args.n, world)
        print(f"{size:>10,} {p:>12.0f} {d:>12.0f} {grown:>7.1f}", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
