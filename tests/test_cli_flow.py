"""Operator and reviewer commands end to end over the real server, and `foureyes demo`."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.server_fixtures import Server, cli

SUMMARY = json.dumps({"title": "Pay invoice 4411", "why": "Due today",
                      "blast_radius": "one vendor", "reversibility": "irreversible"})
PARAMS = json.dumps({"amount_minor": 120000, "currency": "USD", "to": "acct-991"})


def fingerprint(route: str, params: str) -> str:
    from core.formats import canonical, sha256_ref

    return sha256_ref(canonical({"route": route, "params": json.loads(params)}))[7:15]


FP = fingerprint("payments.transfer", PARAMS)


def test_propose_decide_wait_export_verify_by_cli(server: Server, tmp_path):
    from core.signing import FileKeySource

    world = server.world
    keys = {}
    for who in ("bob@example.com", "carol@example.com"):
        keys[who] = tmp_path / f"{who}.key"
        FileKeySource(keys[who]).import_signer(who, world.signer(who))
    out = cli("propose", "--server", server.url, "--token", server.agent_token, "--route",
              "payments.transfer", "--params", PARAMS, "--summary", SUMMARY, "--requester",
              "alice@example.com", "--agent", "agent:payments-bot")
    assert out.returncode == 0, out.stderr
    proposal_hash = out.stdout.strip().splitlines()[-1]
    short = proposal_hash[7:19]
    out = cli("wait", short, "--server", server.url, "--token", server.agent_token,
              "--timeout", "0")
    assert out.returncode == 4 and "pending" in out.stdout
    for who in keys:
        out = cli("decide", short, "--approve", "--yes-i-checked", FP, "--reason", f"ok ({who})",
                  "--server",
                  server.url, "--identity", who, "--key-file", str(keys[who]))
        assert out.returncode == 0, out.stderr
    out = cli("wait", short, "--server", server.url, "--token", server.agent_token,
              "--timeout", "5")
    assert out.returncode == 0 and "approved" in out.stdout
    out = cli("bundle", "export", short, "--server", server.url, "--token",
              server.auditor_token, "-o", str(tmp_path / "b.foureyes"))
    assert out.returncode == 1 and "not_final" in out.stderr  # approved but not executed


def test_rejected_bundle_export_by_cli(server: Server, tmp_path):
    from core.signing import FileKeySource

    world = server.world
    key = tmp_path / "dave.key"
    FileKeySource(key).import_signer("dave@example.com", world.signer("dave@example.com"))
    out = cli("propose", "--server", server.url, "--token", server.agent_token, "--route",
              "payments.transfer", "--params", PARAMS, "--summary", SUMMARY, "--requester",
              "alice@example.com", "--agent", "agent:payments-bot")
    short = out.stdout.strip()[7:19]
    out = cli("decide", short, "--reject", "--reason", "wrong vendor", "--server", server.url,
              "--identity", "dave@example.com", "--key-file", str(key))
    assert out.returncode == 0, out.stderr
    target = tmp_path / "r.foureyes"
    out = cli("bundle", "export", short, "--server", server.url, "--identity",
              "dave@example.com", "--key-file", str(key), "-o", str(target))
    assert out.returncode == 0 and "rejected: no receipt" in out.stdout
    assert cli("verify", str(target)).returncode == 3  # consistent, but no trust given


def test_demo_runs_the_whole_story(tmp_path):
    out = subprocess.run([sys.executable, "-m", "core.cli.main", "demo", "--dir",
                          str(tmp_path / "demo")], capture_output=True, text=True,
                         timeout=300, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "refused [self_approval]" in out.stdout
    assert "VALID: executed" in out.stdout
    lines = [ln.strip() for ln in out.stdout.splitlines() if ln.strip().startswith("ssh-keygen")]
    assert len(lines) == 2
    for line in lines:
        r = subprocess.run(line, shell=True, capture_output=True, text=True, check=False)
        assert r.returncode == 0 and "Good" in r.stdout, r.stderr


def test_decide_is_safe_from_the_terminal(server: Server, tmp_path):
    """--approve --reject together used to sign whichever came last; approving needs the
    action's fingerprint; a self-approval reaches the server and is logged."""
    from core.formats import Event
    from core.signing import FileKeySource

    world = server.world
    keys = {}
    for who in ("alice@example.com", "bob@example.com"):
        keys[who] = tmp_path / f"{who}.key"
        FileKeySource(keys[who]).import_signer(who, world.signer(who))
    out = cli("propose", "--server", server.url, "--token", server.agent_token, "--route",
              "payments.transfer", "--params", PARAMS, "--summary", SUMMARY, "--requester",
              "alice@example.com", "--agent", "agent:payments-bot")
    short = out.stdout.strip()[7:19]
    bob = ["--server", server.url, "--identity", "bob@example.com", "--key-file",
           str(keys["bob@example.com"])]
    out = cli("decide", short, "--approve", "--reject", "--reason", "x", *bob)
    assert out.returncode == 2 and "exactly one" in out.stderr
    out = cli("decide", short, "--approve", "--reason", "x", *bob)  # stdin is not a terminal
    assert out.returncode == 2 and "fingerprint" in out.stderr
    out = cli("decide", short, "--approve", "--yes-i-checked", "deadbeef", "--reason", "x", *bob)
    assert out.returncode == 2 and "not this action" in out.stderr
    out = cli("decide", short, "--approve", "--yes-i-checked", FP, "--reason", "mine",
              "--server", server.url, "--identity", "alice@example.com", "--key-file",
              str(keys["alice@example.com"]))
    assert out.returncode == 1 and "self_approval" in out.stderr
    events = [Event.from_bytes(e) for e in server.auditor().entries(0, 1000)]
    assert ("alice@example.com", "self_approval") in [
        (e.get("reviewer"), e.get("code")) for e in events if e.type == "decision.refused"]
