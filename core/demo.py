"""`foureyes demo`: the whole story on an embedded default, in a temporary directory.

Nothing here is simulated: real key files, a real policy, the real server process on
loopback, the agent SDK proposing through HTTP, reviewers signing with their keys, the gate
checking the quorum itself, a real bundle verified by the real verifier. The only
difference from production is that every key lives in a key file instead of a keyring.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.bundle.trust import parse_trust
from core.bundle.verify import verify_bundle
from core.errors import InvalidData
from core.formats import now_utc
from core.gate import Gate, RunResult
from core.log.keyfile import save_log_key
from core.log.note import LogSigner
from core.queue.http import HttpQueue
from core.review import make_decision
from core.sample import AGENT, GATE, LOG_ORIGIN, REQUESTER, REVIEWERS, SampleWorld
from core.signing import FileKeySource

STARTUP_TIMEOUT = 30.0
LISTEN_RE = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")


@dataclass
class DemoResult:
    root: Path
    bundle: Path
    trust: Path
    exit_code: int
    ssh_keygen_lines: list[str]


def _key_name(identity: str) -> str:
    return identity.replace("@example.com", "").replace(":", "-")


def _start_server(policy: Path, data: Path, log_key: Path) -> tuple[subprocess.Popen, str]:
    cmd = [sys.executable, "-m", "core.cli.main", "serve", "--policy", str(policy),
           "--data", str(data), "--host", "127.0.0.1", "--port", "0", "--log-key", str(log_key)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + STARTUP_TIMEOUT
    lines: list[str] = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line and proc.poll() is not None:
            break
        lines.append(line)
        m = LISTEN_RE.search(line)
        if m:
            threading.Thread(target=lambda: proc.stdout.read(), daemon=True).start()
            return proc, m.group(1)
    proc.kill()
    raise InvalidData("demo", "the demo server did not start:\n" + "".join(lines[-20:]))


def _token(data: Path, policy: Path, role: str, identity: str) -> str:
    out = subprocess.run([sys.executable, "-m", "core.cli.main", "tokens", "create", "--role",
                          role, "--identity", identity, "--data", str(data), "--policy",
                          str(policy)],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise InvalidData("demo", f"cannot create a {role} token: {out.stderr.strip()}")
    return out.stdout.strip().splitlines()[-1].strip()


def run_demo(root: Path, say: Callable[[str], Any]) -> DemoResult:
    root.mkdir(parents=True, exist_ok=True)
    keys = root / "keys"
    keys.mkdir(exist_ok=True)
    say(f"Working in {root}")

    # 1. People and the gate get Ed25519 keys (key files here; the OS keyring in real use).
    signers = {}
    for identity in (REQUESTER, *REVIEWERS, GATE):
        source = FileKeySource(keys / f"{_key_name(identity)}.key")
        source.create(identity)
        signers[identity] = source.signer(identity)
    log_signer = LogSigner.generate(LOG_ORIGIN)
    save_log_key(root / "log.key", log_signer)  # outside the server's data directory
    world = SampleWorld.create(signers=signers, log_signer=log_signer)
    policy_path = root / "policy.toml"
    policy_path.write_bytes(world.policy_bytes())
    say("1. Keys made for alice (requester), bob, carol, dave (reviewers) and gate:prod;"
        f" policy written to {policy_path}")

    # 2. The queue server on loopback, and tokens for the agent and the gate.
    data = root / "server"
    agent_token = _token(data, policy_path, "agent", AGENT)
    gate_token = _token(data, policy_path, "gate", GATE)
    proc, url = _start_server(policy_path, data, root / "log.key")
    say(f"2. Queue server running at {url}")
    try:
        return _story(root, world, url, agent_token, gate_token, say)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _story(root: Path, world: SampleWorld, url: str, agent_token: str, gate_token: str,
           say: Callable[[str], Any]) -> DemoResult:
    policy_bytes = world.policy_bytes()
    paid: list[dict[str, Any]] = []
    outcome: dict[str, Any] = {}

    def pay(params: dict[str, Any]) -> str:
        paid.append(params)
        return f"paid {params['amount_minor'] / 100:.2f} {params['currency']} to {params['to']}"

    gate = Gate(HttpQueue(url, token=agent_token), policy_bytes, identity=GATE,
                signer=world.signer(GATE), agent=AGENT, state_dir=root / "gate",
                receipts=HttpQueue(url, token=gate_token))

    def agent() -> None:
        try:
            outcome["result"] = gate.run(
                "payments.transfer", {"amount_minor": 120000, "currency": "USD",
                                      "to": "acct-991"},
                {"title": "Pay invoice 4411", "why": "Invoice due today",
                 "blast_radius": "one vendor account", "reversibility": "irreversible",
                 "cost_impact_minor": 120000, "confidence": 0.9,
                 "evidence": [{"label": "invoice", "ref": "inv-4411"}],
                 "gates_passed": ["vendor-allowlist"]},
                requester=REQUESTER, execute=pay, timeout=120)
        except Exception as e:  # reported below; the demo must say what failed
            outcome["error"] = e

    thread = threading.Thread(target=agent, daemon=True)
    thread.start()
    say("3. agent:payments-bot asks the gate to pay 1200.00 USD (needs 2 approvals)")

    reviewers = {who: HttpQueue(url, identity=who, signer=world.signer(who))
                 for who in (REQUESTER, "bob@example.com", "carol@example.com")}
    view = _first_pending(reviewers["bob@example.com"])
    proposal = view.proposal

    try:
        reviewers[REQUESTER].submit_decision(proposal.hash, make_decision(
            proposal, verdict="approve", reason="I asked for it, so approve",
            identity=REQUESTER, signer=world.signer(REQUESTER), now=now_utc()))
        raise InvalidData("demo", "the server accepted a self-approval: this must not happen")
    except InvalidData as e:
        if e.code != "self_approval":
            raise
        say(f"4. alice (the requester) tries to approve: refused [{e.code}] and logged")

    for n, who in enumerate(("bob@example.com", "carol@example.com"), start=5):
        reviewers[who].submit_decision(proposal.hash, make_decision(
            proposal, verdict="approve", reason=f"Checked invoice 4411 and the vendor ({who})",
            identity=who, signer=world.signer(who), now=now_utc()))
        say(f"{n}. {who} approves, signing with their own key")

    thread.join(timeout=120)
    if "error" in outcome:
        raise outcome["error"]
    result: RunResult = outcome["result"]
    say(f"7. The gate checked both signatures itself and executed once: {result.value}")

    bundle = root / "payment.foureyes"
    bundle.write_bytes(reviewers["bob@example.com"].export_bundle(proposal.hash))
    trust = root / "trust.toml"
    from core.policy import Policy

    policy = Policy.from_bytes(policy_bytes)
    trust.write_text(f'policies = ["{policy.hash}"]\nlogs = ["{world.log_verifier}"]\n')
    report = verify_bundle(bundle.read_bytes(), parse_trust(trust.read_bytes()))
    say(f"8. Proof bundle written to {bundle}")
    say(f"9. Verified offline: {report.verdict}")
    for q in reviewers.values():
        q.close()
    gate.close()
    return DemoResult(root, bundle, trust, report.exit_code, _ssh_lines(root, bundle, trust))


def _first_pending(queue: HttpQueue, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        views = queue.list_proposals()
        if views:
            return views[0]
        time.sleep(0.2)
    raise InvalidData("demo", "the agent's proposal never reached the queue")


def _ssh_lines(root: Path, bundle: Path, trust: Path) -> list[str]:
    """Unpack the bundle and give the commands that check each decision with OpenSSH alone.

    The keys come from the policy the auditor trusts (`foureyes policy allowed-signers`,
    checked against trust.toml), never from the bundle's own allowed_signers, which
    whoever made the bundle wrote. The demo writes that file the same way, so the lines
    run as printed.
    """
    from core.policy import Policy

    out = root / "bundle"
    with zipfile.ZipFile(bundle) as z:
        z.extractall(out)  # our own bundle, just verified
    signers = root / "allowed_signers"
    policy = Policy.from_bytes((out / "policy.toml").read_bytes())
    signers.write_text(f"# policy {policy.name!r} {policy.hash}\n" + policy.allowed_signers())
    lines = [f"foureyes policy allowed-signers {out / 'policy.toml'} --trust {trust} "
             f"> {signers}"]
    import json

    for sig in sorted((out / "decisions").glob("*.json.sig")):
        doc = sig.with_suffix("")
        reviewer = json.loads(doc.read_bytes())["reviewer"]
        lines.append(f"ssh-keygen -Y verify -f {signers} -I {reviewer} "
                     f"-n foureyes-decision-v1 -s {sig} < {doc}")
    return lines
