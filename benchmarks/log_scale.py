"""How the Merkle log's cost grows with its size (issue "cost"). Run:

    .venv/bin/python benchmarks/log_scale.py [--sizes 0,10000,100000,1000000]

For each size the log is grown to (appends in large transactions, not timed), then:
- append + checkpoint: one event and a signed checkpoint per committed transaction, as the
  server writes them (file-backed SQLite in WAL mode, synchronous=NORMAL so the figure is
  the log's work rather than the disk's fsync);
- inclusion proof at the latest size and at a past size, consistency proof: median and
  worst latency over random positions, each on a fresh LogStore (nothing cached);
- SQL statements one inclusion proof runs (each an indexed lookup of one row).
Wall-clock figures on the machine at hand; compare runs on the same machine only.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

APPENDS = 500
PROOFS = 200
GROW_BATCH = 20_000


def _timed(fn) -> tuple[float, float]:  # noqa: ANN001
    """Median and worst latency in ms over PROOFS calls."""
    out = []
    for _ in range(PROOFS):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1e3)
    return statistics.median(out), max(out)


def main() -> None:
    import sqlite_utils

    from core.log.note import LogSigner
    from core.log.store import LogStore

    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="0,10000,100000,1000000")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    signer = LogSigner.generate("bench/log")
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(Path(tmp) / "log.sqlite", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        store = LogStore(sqlite_utils.Database(conn))
        counter = iter(range(10**12))
        print(f"{'size':>9} {'append+checkpoint/s':>20} {'inclusion ms (med/max)':>23} "
              f"{'past-size incl. ms':>19} {'consistency ms':>15} {'queries/proof':>13}")
        for target in sizes:
            grow_start = time.perf_counter()
            while store.size < target:
                conn.execute("BEGIN")
                for _ in range(min(GROW_BATCH, target - store.size)):
                    store.append(b'{"n":%d}' % next(counter))
                conn.execute("COMMIT")
            grow = time.perf_counter() - grow_start
            start = time.perf_counter()
            for _ in range(APPENDS):
                conn.execute("BEGIN IMMEDIATE")
                store.append(b'{"n":%d}' % next(counter))
                store.sign_checkpoint(signer)
                conn.execute("COMMIT")
            rate = APPENDS / (time.perf_counter() - start)
            size = store.size
            fresh = sqlite3.connect(Path(tmp) / "log.sqlite", isolation_level=None)
            reader = LogStore(sqlite_utils.Database(fresh))
            statements: list[str] = []
            fresh.set_trace_callback(statements.append)

            incl = _timed(lambda r=reader, n=size: r.inclusion_proof(rng.randrange(n), n))
            past = _timed(lambda r=reader, n=size: r.inclusion_proof(0, rng.randrange(1, n + 1)))
            cons = _timed(lambda r=reader, n=size: r.consistency_proof(rng.randrange(1, n + 1),
                                                                         n))
            statements.clear()
            reader.inclusion_proof(rng.randrange(size), size)
            rows = len(statements)
            fresh.close()
            print(f"{target:>9} {rate:>20.0f} {incl[0]:>11.3f} / {incl[1]:<9.3f} "
                  f"{past[0]:>19.3f} {cons[0]:>15.3f} {rows:>13}"
                  + (f"   (grown in {grow:.0f} s)" if target else ""), flush=True)


if __name__ == "__main__":
    main()
