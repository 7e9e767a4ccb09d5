"""`foureyes log verify` over a grown log, as a process: wall time and peak memory.

    .venv/bin/python benchmarks/log_verify_scale.py                         # 10k, 100k
    .venv/bin/python benchmarks/log_verify_scale.py --sizes 1000000 --every 1000
    .venv/bin/python benchmarks/log_verify_scale.py --sizes 10000000 --every 1000 --proof


Grows one file-backed log to each size with a signed checkpoint every `--every` entries (1:
one per entry, as a server at low load signs one per group commit of a single step), then runs `foureyes log verify --db FILE
--key KEY` in a fresh process and prints its wall time and peak resident memory (the
issue's goal: 1M entries in <= 5 s and <= 100 MB). With `--proof`, also one inclusion and
one consistency proof from a fresh process over the grown file (issue item 6: a 10M-entry
log generated, verified and proven within the memory goal).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlite_utils  # noqa: E402

from core.log.note import LogSigner  # noqa: E402
from core.log.store import LogStore  # noqa: E402

BATCH = 20_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--every", type=int, default=1, help="entries per signed checkpoint")
    parser.add_argument("--proof", action="store_true",
                        help="also time an inclusion and a consistency proof (fresh process)")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    root = Path(tempfile.mkdtemp(prefix="foureyes-logverify-"))
    path = root / "log.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    store = LogStore(sqlite_utils.Database(conn))
    signer = LogSigner.generate("bench/log")
    exe = Path(sys.executable).with_name("foureyes")
    print(f"{'entries':>10} {'checkpoints':>12} {'grow s':>7} {'verify s':>9} {'peak MB':>8}  "
          "result")
    have = 0
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            t0 = time.perf_counter()
            while have < size:
                conn.execute("BEGIN")
                for _ in range(min(BATCH, size - have)):
                    store.append(b'{"n":%d}' % have)
                    have += 1
                    if have % args.every == 0 or have == size:
                        store.sign_checkpoint(signer)
                conn.execute("COMMIT")
            grown = time.perf_counter() - t0
            checkpoints = conn.execute("SELECT COUNT(*) FROM log_checkpoints").fetchone()[0]
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            t0 = time.perf_counter()
            done = subprocess.run([str(exe), "log", "verify", "--db", str(path), "--key",
                                   signer.verifier_key], capture_output=True, text=True,
                                  check=False)
            took = time.perf_counter() - t0
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            last = (done.stdout + done.stderr).strip().splitlines()
            print(f"{size:>10,} {checkpoints:>12,} {grown:>7.1f} {took:>9.2f} "
                  f"{max(peak, before) / 1024:>8.0f}  exit {done.returncode}: "
                  f"{last[-1] if last else ''}", flush=True)
            if args.proof:
                print("  " + _proof(path, size), flush=True)
    finally:
        conn.close()
        shutil.rmtree(root, ignore_errors=True)
    print("(peak MB is the largest child so far: a later row is at least the earlier one's)")


PROOF = """
import resource, sqlite3, sys, time
import sqlite_utils
from core.log.merkle import verify_consistency, verify_inclusion
from core.log.store import LogStore
size = int(sys.argv[2])
t0 = time.perf_counter()
store = LogStore(sqlite_utils.Database(sqlite3.connect(sys.argv[1])))
index = size * 2 // 3
proof = store.inclusion_proof(index, size)
leaf = store.conn.execute("SELECT leaf FROM log_entries WHERE idx=?", (index,)).fetchone()[0]
root = store.root(size)
ok = verify_inclusion(leaf, index, size, proof, root)
t1 = time.perf_counter()
old = size // 3
ok2 = verify_consistency(old, size, store.root(old), root, store.consistency_proof(old, size))
t2 = time.perf_counter()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"inclusion proof of {index:,} in {size:,}: {(t1 - t0) * 1e3:.1f} ms with opening "
      f"({len(proof)} hashes, verifies: {ok}); consistency {old:,} -> {size:,}: "
      f"{(t2 - t1) * 1e3:.1f} ms (verifies: {ok2}); peak {peak:.0f} MB")
"""


def _proof(path: Path, size: int) -> str:
    """One inclusion and one consistency proof from a fresh process: cold, no warm-up."""
    done = subprocess.run([sys.executable, "-c", PROOF, str(path), str(size)],
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    return (done.stdout + done.stderr).strip()


if __name__ == "__main__":
    main()
