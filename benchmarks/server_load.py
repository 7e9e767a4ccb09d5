"""The real server under 32 loopback clients for a bounded time (issue "cost").

    .venv/bin/python benchmarks/server_load.py                  # 32 clients, 30 s
    .venv/bin/python benchmarks/server_load.py --seconds 10

Starts `foureyes serve` as it ships (WAL, synchronous=FULL, one process, checkpoint file
fsynced), with 32 agents and two reviewers holding tokens. Each client is one agent on its
own keep-alive connection, running whole actions back to back: submit a proposal, then two
reviewers' approvals (the 2-approval payment rule). Everything is signed before the clock
starts, so the window measures the server. Prints proposals/s, decisions/s, p50/p99 of each
request kind, errors (any non-2xx answer or broken connection), and then runs
`foureyes log verify` over the store against every checkpoint the server shipped.
The agents' rate limits are raised (--max-open/--max-per-minute): 32 agents submitting
hundreds of proposals a minute is what is measured, not what a deployment allows.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from serverkit import AsyncConnection, Deployment, request


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1e3


async def _client(dep: Deployment, index: int, flows: list, deadline: float,
                  latencies: dict[str, list[float]], errors: list[str], done: list[int]) -> None:
    _agent, token = dep.agents[index]
    conn = await AsyncConnection.open(dep.port)
    try:
        for flow in flows:
            if time.perf_counter() >= deadline:
                return
            steps = [("proposal", request("POST", "/v1/proposals", token, flow.proposal))]
            steps += [("decision", request("POST", f"/v1/proposals/{flow.hash}/decisions",
                                           dep.reviewers[who], body))
                      for who, body in flow.decisions]
            for kind, raw in steps:
                start = time.perf_counter()
                try:
                    status, body = await conn.call(raw)
                except (ConnectionError, asyncio.IncompleteReadError) as e:
                    errors.append(f"{kind}: {e!r}")
                    conn.close()
                    conn = await AsyncConnection.open(dep.port)
                    continue
                if status >= 300:
                    errors.append(f"{kind}: {status} {body[:200]!r}")
                    continue
                if time.perf_counter() < deadline:
                    latencies[kind].append(time.perf_counter() - start)
        done.append(index)  # ran out of pre-signed flows
    finally:
        conn.close()


async def _run(dep: Deployment, flows: list[list], seconds: float):  # noqa: ANN202
    latencies: dict[str, list[float]] = {"proposal": [], "decision": []}
    errors: list[str] = []
    exhausted: list[int] = []
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(*(_client(dep, i, f, deadline, latencies, errors, exhausted)
                           for i, f in enumerate(flows)))
    elapsed = min(time.perf_counter(), deadline) - start
    return latencies, errors, exhausted, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--flows", type=int, default=400,
                        help="actions signed in advance per client (the window ends early "
                        "when a client runs out, and says so)")
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    parser.add_argument("--profile", type=Path, default=None,
                        help="record the server with py-spy during the window (needs py-spy) "
                        "and write its top functions to this file")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    root = Path(tempfile.mkdtemp(prefix="foureyes-load-"))
    dep = Deployment(root)
    dep.setup(args.clients)
    t0 = time.perf_counter()
    flows = [[dep.flow(agent) for _ in range(args.flows)] for agent, _ in dep.agents]
    print(f"signed {args.clients * args.flows} actions in advance in "
          f"{time.perf_counter() - t0:.1f} s")
    dep.start()
    spy = None
    if args.profile is not None:
        import subprocess
        import sys

        spy = subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record",
                                "--pid", str(dep.proc.pid), "--duration",
                                str(int(args.seconds)), "--format", "raw", "--threads",
                                "--output", str(args.profile), "--nonblocking", "--gil"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        latencies, errors, exhausted, elapsed = asyncio.run(_run(dep, flows, args.seconds))
    finally:
        if spy is not None:
            spy.wait()
        dep.stop()
    proposals, decisions = latencies["proposal"], latencies["decision"]
    print(f"{args.clients} clients, {elapsed:.1f} s window"
          + (f" ({len(exhausted)} clients ran out of pre-signed actions)" if exhausted else ""))
    print(f"proposals/s  {len(proposals) / elapsed:8.1f}   p50 {_pct(proposals, .5):7.1f} ms"
          f"   p99 {_pct(proposals, .99):7.1f} ms   (goal >= 500/s, p99 <= 100 ms)")
    print(f"decisions/s  {len(decisions) / elapsed:8.1f}   p50 {_pct(decisions, .5):7.1f} ms"
          f"   p99 {_pct(decisions, .99):7.1f} ms   (goal >= 300/s, p99 <= 100 ms)")
    if proposals and decisions:
        print(f"mean request {statistics.mean(proposals + decisions) * 1e3:.1f} ms")
    print(f"errors       {len(errors)}" + (f"   first: {errors[0]}" if errors else ""))
    code, out, took = dep.log_verify()
    print(f"foureyes log verify: exit {code} in {took:.1f} s: {out.splitlines()[-1] if out else ''}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if not args.keep:
        import shutil

        shutil.rmtree(root, ignore_errors=True)
    else:
        print(f"data kept in {root}")


if __name__ == "__main__":
    main()
