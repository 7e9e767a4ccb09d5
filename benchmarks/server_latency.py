"""One client's latency from proposal to outcome, as history grows (issue "cost").

    .venv/bin/python benchmarks/server_latency.py                      # 0, 10k, 100k actions
    .venv/bin/python benchmarks/server_latency.py --sizes 0,10000 --flows 50

For each history size: grow the store to that many past actions (each a proposal and two
approvals, written through the same QueueService the server runs, in-process, with
synchronous=OFF for speed: the history's durability is not what is measured), start the
real `foureyes serve`, and time single-client actions over one keep-alive connection:
  2 approvals: POST proposal, POST approval (bob), POST approval (carol), GET the proposal
               as the agent until it shows "approved";
  1 approval:  the same with one approval (the 1-approval payment rule).
Documents are signed before each action's clock starts. Prints the median and p90 of each,
then `foureyes log verify` over the final store.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from serverkit import BIG_LIMIT, Connection, Deployment, request


def grow(dep: Deployment, actions: int) -> float:
    """Add `actions` approved actions to the store through the service, in-process."""
    from core.server.auth import Caller
    from core.server.service import Limits, QueueService
    from core.server.store import ServerStore

    if actions <= 0:
        return 0.0
    start = time.perf_counter()
    store = ServerStore(dep.data)
    store._writer.execute("PRAGMA synchronous=OFF")
    try:
        service = QueueService(store, dep.world.policy_bytes(), dep.world.log_signer,
                               Limits(BIG_LIMIT, BIG_LIMIT))
        agent, _token = dep.agents[0]
        for _ in range(actions):
            flow = dep.flow(agent)
            service.submit_proposal(Caller("agent", agent),
                                    json.loads(flow.proposal)["proposal"].encode())
            for who, body in flow.decisions:
                sent = json.loads(body)
                service.submit_decision(Caller("reviewer", who), flow.hash,
                                        sent["decision"].encode(), sent["signature"])
    finally:
        store.close()
    return time.perf_counter() - start


def measure(dep: Deployment, flows: int, amount: int) -> list[float]:
    _agent, agent_token = dep.agents[1]
    conn = Connection(dep.port)
    out = []
    try:
        for _ in range(flows):
            flow = dep.flow(dep.agents[1][0], amount=amount)
            steps = [request("POST", "/v1/proposals", agent_token, flow.proposal)]
            steps += [request("POST", f"/v1/proposals/{flow.hash}/decisions",
                              dep.reviewers[who], body) for who, body in flow.decisions]
            look = request("GET", f"/v1/proposals/{flow.hash}", agent_token)
            start = time.perf_counter()
            for raw in steps:
                status, body = conn.call(raw)
                if status >= 300:
                    raise SystemExit(f"refused: {status} {body[:300]!r}")
            while True:
                status, body = conn.call(look)
                if status >= 300:
                    raise SystemExit(f"refused: {status} {body[:300]!r}")
                if json.loads(body)["status"] == "approved":
                    break
            out.append(time.perf_counter() - start)
    finally:
        conn.close()
    return out


def _ms(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="0,10000,100000")
    parser.add_argument("--flows", type=int, default=100)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    root = Path(tempfile.mkdtemp(prefix="foureyes-latency-"))
    dep = Deployment(root)
    dep.setup(agents=2)
    have = 0
    print(f"{'history (actions)':>18} {'2 approvals median':>19} {'p90':>8} "
          f"{'1 approval median':>18} {'p90':>8} {'grow s':>7} {'start s':>8}")
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            took = grow(dep, size - have)
            have = max(have, size)
            t0 = time.perf_counter()
            dep.start()
            started = time.perf_counter() - t0
            try:
                two = measure(dep, args.flows, amount=120000)
                one = measure(dep, args.flows, amount=1000)
            finally:
                dep.stop()
            have += 2 * args.flows
            print(f"{size:>18,} {statistics.median(two) * 1e3:>16.1f} ms {_ms(two, .9):>5.1f} ms "
                  f"{statistics.median(one) * 1e3:>15.1f} ms {_ms(one, .9):>5.1f} ms "
                  f"{took:>7.0f} {started:>8.1f}", flush=True)
        code, out, took = dep.log_verify()
        print(f"foureyes log verify: exit {code} in {took:.1f} s: "
              f"{out.splitlines()[-1] if out else ''}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
