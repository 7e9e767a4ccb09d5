"""Operator and reviewer commands end to end over the real server, and `foureyes demo`."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.server_fixtures import Server, cli

SUMMARY = json.dumps({"title": "Pay invoice 4411", "why": "Due today",
                      "blast_radius": "one vendor", "reversibility": "irreversible"})
PARAMS = json.dumps({"amount_minor": 120000, "currency": "USD", "to": "acct-991"})


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
        out = cli("decide", short, "--approve", "--reason", f"ok ({who})", "--server",
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
