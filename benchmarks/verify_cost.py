"""The verifier's cost against the raw Ed25519 cost of the same signatures (issue "cost").

    .venv/bin/python benchmarks/verify_cost.py                 # 2,000 bundles, 15 processes
    .venv/bin/python benchmarks/verify_cost.py --bundles 500 --runs 5

Prints, each measured in this run on this machine:
  1. offline verify of N distinct bundles (one deployment: one policy, a 2-of-n payment
     approved and executed) on one core: bundles/s, and the ratio to verifying the same
     bundles' Ed25519 signatures raw with PyNaCl (2 decisions, 1 receipt, 1 checkpoint);
  2. quorum `evaluate` with 2 decisions against the raw cost of their 2 signatures, with
     the decision cache cleared before every call (the uncached cost);
  3. `foureyes verify BUNDLE --trust T` as a process: median wall time and CPU time, beside
     `python -c pass` (the interpreter's own start) and the modules it imported.
Raw and measured runs are interleaved, timed in CPU seconds, and the best round of each is
kept, so load from other jobs on a shared machine skews neither side of a ratio.
"""

from __future__ import annotations

import argparse
import base64
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# FOUREYES_CODE=DIR (with PYTHONPATH=DIR) measures another checkout, e.g. the "before" commit.
ROOT = Path(os.environ.get("FOUREYES_CODE") or Path(__file__).resolve().parents[1])
sys.path.insert(0, str(ROOT))
ROUNDS = 7


def _best_interleaved(fns: dict, rounds: int = ROUNDS) -> dict[str, float]:
    """CPU seconds per call of each function: the best of `rounds` interleaved rounds.

    CPU time, not wall time: these run on one core, and on a shared machine the wall clock
    also counts the time other jobs held it (which once doubled one side of a ratio)."""
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(rounds):
        for name, (fn, n) in fns.items():
            start = time.process_time()
            fn()
            best[name] = min(best[name], (time.process_time() - start) / n)
    return best


def _raw_items(members: dict[str, bytes], log_public: bytes) -> list[tuple[bytes, bytes, bytes]]:
    """(public key, signed message, signature) of every Ed25519 check a bundle needs."""
    from core.signing import verify
    from core.signing.sshsig import _signed_data, _unarmor

    out = []
    for name, ns in [(n[:-4], "foureyes-decision-v1") for n in sorted(members)
                     if n.startswith("decisions/") and n.endswith(".sig")] + \
            [("receipt.json", "foureyes-receipt-v1")]:
        doc, sig = members[name], members[name + ".sig"].decode()
        out.append((verify(sig, doc, ns).raw, _signed_data(doc, ns), _unarmor(sig)[-64:]))
    note = members["log/checkpoint"].decode()
    body, sigs = note.split("\n\n", 1)
    blob = base64.b64decode(sigs.split(" ")[-1])
    out.append((log_public, (body + "\n").encode(), blob[4:]))
    return out


def offline(n: int) -> None:
    import nacl.signing

    from core.bundle.archive import read_members
    from core.bundle.trust import parse_trust
    from core.bundle.verify import verify_bundle
    from core.policy import quorum
    from core.sample import SampleWorld
    from tests.bundle_factory import build, log_signer, trust_toml

    world = SampleWorld.create()
    t0 = time.perf_counter()
    bundles = [build(world)[0] for _ in range(n)]
    policy = build(world)[1]
    trust = parse_trust(trust_toml(world, policy))
    print(f"built {n} distinct bundles in {time.perf_counter() - t0:.1f} s "
          f"({len(bundles[0])} bytes each)")
    public = log_signer(world).verifier.public
    raw = [item for b in bundles for item in _raw_items(read_members(b), public)]

    def verify_all() -> None:
        getattr(quorum, "clear_caches", lambda: None)()  # every bundle is new anyway
        for b in bundles:
            report = verify_bundle(b, trust)
            if report.exit_code != 0:
                raise SystemExit(f"a bundle did not verify: {report.verdict}")

    def raw_all() -> None:
        for key, message, sig in raw:
            nacl.signing.VerifyKey(key).verify(message, sig)

    best = _best_interleaved({"verify": (verify_all, n), "raw": (raw_all, n)}, rounds=5)
    per = len(raw) // n
    print(f"offline verify, {n} bundles, one core   {1 / best['verify']:>8.0f} bundles/s  "
          f"({best['verify'] * 1e3:.3f} ms each)")
    print(f"raw Ed25519, same {per} signatures each  {1 / best['raw']:>8.0f} bundles/s  "
          f"({best['raw'] * 1e3:.3f} ms each)")
    print(f"ratio verify / raw                       {best['verify'] / best['raw']:>8.2f} x"
          "   (goal <= 3x, >= 1,000 bundles/s)")


def evaluate_cost() -> None:
    import nacl.signing

    from core.policy import Policy, SignedDecision, evaluate, quorum
    from core.sample import SampleWorld
    from core.signing import verify
    from core.signing.sshsig import _signed_data, _unarmor

    world = SampleWorld.create()
    policy = Policy.from_bytes(world.policy_bytes())
    reps = 300
    cases = []
    for _ in range(reps):  # distinct proposals and decisions: nothing is warm
        p = world.proposal(policy_hash=policy.hash)
        ds = [SignedDecision(d.raw, s) for d, s in (world.decide(p, "bob@example.com"),
                                                     world.decide(p, "carol@example.com"))]
        cases.append((p, ds))
    raw = [(verify(sd.signature, sd.document, "foureyes-decision-v1").raw,
            _signed_data(sd.document, "foureyes-decision-v1"), _unarmor(sd.signature)[-64:])
           for _, ds in cases for sd in ds]

    def run_evaluate() -> None:
        for p, ds in cases:
            getattr(quorum, "clear_caches", lambda: None)()
            if evaluate(policy, p, ds).status != "approved":
                raise SystemExit("evaluate did not approve")

    def run_raw() -> None:
        for key, message, sig in raw:
            nacl.signing.VerifyKey(key).verify(message, sig)

    best = _best_interleaved({"evaluate": (run_evaluate, reps), "raw": (run_raw, reps)})
    print(f"quorum evaluate, 2 decisions (uncached) {best['evaluate'] * 1e6:>8.1f} us")
    print(f"raw Ed25519 of the same 2 signatures    {best['raw'] * 1e6:>8.1f} us")
    print(f"ratio evaluate / raw                     {best['evaluate'] / best['raw']:>8.2f} x"
          "   (goal <= 1.5x)")


def process(runs: int) -> None:
    from core.sample import SampleWorld
    from tests.bundle_factory import build, trust_toml

    world = SampleWorld.create()
    data, policy = build(world)
    tmp = Path(tempfile.mkdtemp(prefix="foureyes-bench-"))
    (tmp / "b.foureyes").write_bytes(data)
    (tmp / "trust.toml").write_bytes(trust_toml(world, policy))
    exe = Path(sys.executable).with_name("foureyes")
    verify_cmd = [str(exe), "verify", str(tmp / "b.foureyes"), "--trust", str(tmp / "trust.toml")]
    pass_cmd = [sys.executable, "-c", "pass"]

    # As installed (pip writes the bytecode at install time): a development shell's
    # PYTHONDONTWRITEBYTECODE would make every run compile every module from source.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

    def timed(cmd: list[str]) -> tuple[float, float]:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              check=False, env=env)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise SystemExit(f"{cmd} exited {done.returncode}")
        return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    walls: dict[str, list[float]] = {"verify": [], "pass": []}
    cpus: dict[str, list[float]] = {"verify": [], "pass": []}
    timed(verify_cmd)  # bytecode caches written
    for _ in range(runs):
        for name, cmd in (("verify", verify_cmd), ("pass", pass_cmd)):
            wall, cpu = timed(cmd)
            walls[name].append(wall)
            cpus[name].append(cpu)
    for name, label in (("verify", "`foureyes verify` process"), ("pass", "`python -c pass`")):
        print(f"{label:<40} wall median {statistics.median(walls[name]) * 1e3:6.1f} ms, "
              f"min {min(walls[name]) * 1e3:6.1f} ms; CPU median "
              f"{statistics.median(cpus[name]) * 1e3:6.1f} ms   ({runs} runs)")
    probe = subprocess.run([sys.executable, "-c", (
        "import sys, io, contextlib\nfrom core.cli.main import main\n"
        "out = io.TextIOWrapper(io.BytesIO(), encoding='utf-8')\n"
        "with contextlib.redirect_stdout(out):\n"
        "    try:\n        main(sys.argv[1:])\n    except SystemExit:\n        pass\n"
        "heavy = ('sqlite_utils', 'sqlite3', 'keyring', 'httpx', 'uvicorn', 'fastapi', "
        "'starlette', 'pydantic', 'PySide6', 'core.server', 'core.queue', 'app', 'click')\n"
        "print(len(sys.modules), sorted(m for m in sys.modules if m.split('.')[0] in heavy or "
        "m.startswith(heavy)))"), *verify_cmd[1:]], capture_output=True, text=True, check=True,
        cwd=ROOT)
    count, heavy = probe.stdout.split(" ", 1)
    print(f"modules imported by `foureyes verify`: {count}; server/HTTP/Qt/keyring/sqlite/click "
          f"among them: {heavy.strip()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bundles", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, "
          f"Python {sys.version.split()[0]}")
    evaluate_cost()
    offline(args.bundles)
    process(args.runs)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
