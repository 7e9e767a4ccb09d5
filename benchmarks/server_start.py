"""The server's start-up over a grown store: full, then incremental (issue "cost").

    .venv/bin/python benchmarks/server_start.py                  # 10k actions of history
    .venv/bin/python benchmarks/server_start.py --actions 100000 --more 100

Grows a store to `--actions` approved actions (each a proposal and two approvals, through
the service in-process, synchronous=OFF: see server_latency.py), then times, in-process,
in a fresh process each time (no cache of an earlier start helps), opening the store and
constructing the QueueService (its start-up check) four ways:
  first:       the first start after the history (its last start verified an empty log);
  again:       a second start with nothing new;
  after more:  a start after `--more` further actions;
  full:        with the remembered state deleted (what every start cost before: the
               whole log verified and every proposal replayed).
Each row names the entries the start rehashed and the proposals it replayed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from server_latency import grow
from serverkit import BIG_LIMIT, Deployment


def start(dep: Deployment) -> tuple[float, int, int]:
    """One start in a fresh process: seconds, entries rehashed, proposals replayed."""
    (dep.root / "world.json").write_text(json.dumps({"log_key": dep.world.log_signer.to_text(),
                                                    "policy": dep.world.policy_bytes().decode()}))
    done = subprocess.run([sys.executable, __file__, "--child", str(dep.root)],
                          capture_output=True, text=True, check=True)
    took, read, replayed = done.stdout.split()
    return float(took), int(read), int(replayed)


def child(root: Path) -> None:
    from core.log.note import LogSigner

    world = json.loads((root / "world.json").read_text())
    took, read, replayed = _start(root / "data", world["policy"].encode(),
                                  LogSigner.from_text(world["log_key"]))
    print(took, read, replayed)


def _start(data: Path, policy: bytes, signer) -> tuple[float, int, int]:  # noqa: ANN001
    from core.log import store as log_store
    from core.server import replay
    from core.server.service import Limits, QueueService
    from core.server.store import ServerStore

    seen = {"read": 0, "replayed": 0}
    real_verify, real_one = log_store.verify_store, replay._replay_one

    def verify(*args, **kw):  # noqa: ANN002, ANN003, ANN202
        report = real_verify(*args, **kw)
        seen["read"] = report.entries_read
        return report

    def one(*args):  # noqa: ANN002, ANN202
        seen["replayed"] += 1
        return real_one(*args)

    log_store.verify_store, replay._replay_one = verify, one
    try:
        t0 = time.perf_counter()
        store = ServerStore(data)
        QueueService(store, policy, signer, Limits(BIG_LIMIT, BIG_LIMIT))
        took = time.perf_counter() - t0
        store.close()
    finally:
        log_store.verify_store, replay._replay_one = real_verify, real_one
    return took, seen["read"], seen["replayed"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--actions", type=int, default=10_000)
    parser.add_argument("--more", type=int, default=100)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child)
    root = Path(tempfile.mkdtemp(prefix="foureyes-start-"))
    dep = Deployment(root)
    try:
        dep.setup(agents=1)
        grown = grow(dep, args.actions)
        conn = sqlite3.connect(dep.data / "server.sqlite")
        size = conn.execute("SELECT MAX(idx) + 1 FROM log_entries").fetchone()[0]
        conn.close()
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; "
              f"{args.actions:,} actions, {size:,} log entries (grown in {grown:.0f} s)")
        print(f"{'start':>12} {'seconds':>8} {'entries read':>13} {'replayed':>9}  load")
        rows = [("first", None), ("again", None), ("after more", args.more), ("full", "full")]
        for name, what in rows:
            if isinstance(what, int):
                grow(dep, what)
            if what == "full":
                conn = sqlite3.connect(dep.data / "server.sqlite")
                conn.execute("DELETE FROM log_verified")
                conn.commit()
                conn.close()
            took, read, replayed = start(dep)
            print(f"{name:>12} {took:>8.2f} {read:>13,} {replayed:>9,}  "
                  f"{os.getloadavg()[0]:.2f}", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
