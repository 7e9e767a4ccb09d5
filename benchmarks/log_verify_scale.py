"""`foureyes log verify` over a grown log, as a process: wall time and peak memory.

    .venv/bin/python benchmarks/log_verify_scale.py                         # 10k, 100k
    .venv/bin/python benchmarks/log_verify_scale.py --sizes 1000000 --every 1000

Grows one file-backed log to each size with a signed checkpoint every `--every` entries (1:
one per entry, as the server signs one per event), then runs `foureyes log verify --db FILE
--key KEY` in a fresh process and prints its wall time and peak resident memory (the
issue's goal: 1M entries in <= 5 s and <= 100 MB).
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
    finally:
        conn.close()
        shutil.rmtree(root, ignore_errors=True)
    print("(peak MB is the largest child so far: a later row is at least the earlier one's)")


if __name__ == "__main__":
    main()
