"""`foureyes init`, then the printed next commands, to an executed and verified action,
through the server and through a shared folder; and init never overwrites."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.policy import Policy
from core.policy.lint import lint

BIN = Path(sys.executable).parent
STARTUP_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
            "PYTHONUNBUFFERED": "1"}


def sh(line: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", line], cwd=cwd, env=env(), capture_output=True,
                          text=True, timeout=120, check=False)


def next_commands(output: str) -> list[str]:
    lines = output.split("\nNext:\n", 1)[1].splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]


def start_server(line: str, cwd: Path) -> subprocess.Popen:
    proc = subprocess.Popen(["bash", "-c", "exec " + line], cwd=cwd, env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    seen = []
    while time.monotonic() < deadline:
        out = proc.stdout.readline()
        if not out and proc.poll() is not None:
            break
        seen.append(out)
        if "listening on" in out:
            return proc
    proc.kill()
    raise AssertionError("server did not start:\n" + "".join(seen))


def follow(cwd: Path, commands: list[str]) -> str:
    """Run the printed commands in order, as a person would: ID and FINGERPRINT are what
    `propose` printed. Returns the output of the last command."""
    exported: dict[str, str] = {}
    ident = fingerprint = None
    server = None
    try:
        for line in commands:
            if line.startswith("foureyes serve"):
                server = start_server(line, cwd)
                continue
            m = re.fullmatch(r'export (\w+)="(.*)"', line)
            if m:
                exported[m.group(1)] = sh(f'echo "{m.group(2)}"', cwd).stdout.strip()
                continue
            line = line.replace("ID", ident or "ID").replace("FINGERPRINT", fingerprint or "")
            prefix = "".join(f"{k}={shlex.quote(v)} " for k, v in exported.items())
            out = sh(prefix + line, cwd)
            assert out.returncode == 0, (line, out.stdout, out.stderr)
            assert "Traceback" not in out.stdout + out.stderr
            if line.startswith("foureyes propose"):
                ident = out.stdout.strip().splitlines()[-1][7:19]
                fingerprint = re.search(r"fingerprint ([0-9a-f]{8})", out.stderr).group(1)
        return out.stdout + out.stderr
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(15)


@pytest.mark.parametrize("transport", ["server", "folder"])
def test_init_then_the_printed_commands_reach_a_verified_execution(tmp_path, transport,
                                                                   monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    out = sh(f"foureyes init deploy --transport {transport} --port {free_port()}", tmp_path)
    assert out.returncode == 0, out.stderr
    assert "warning" not in out.stderr
    deploy = tmp_path / "deploy"
    policy = Policy.from_bytes((deploy / "policy.toml").read_bytes())
    assert lint(policy) == []
    assert policy.default == "deny" and {r.approvals for r in policy.rules} >= {0, 2}
    assert any(r.distinct_groups for r in policy.rules)
    for name in ("trust.toml", "allowed_signers", "release_signers"):
        assert (deploy / "auditor" / name).is_file()
    if transport == "server":
        assert (deploy / "log.key").is_file() and not list((deploy / "data").glob("*.key"))
        assert {p.name for p in (deploy / "tokens").iterdir()} == {
            "agent.token", "gate.token", "auditor.token"}
    else:
        assert {"gate.key", "seal.key", "log.key"} <= {p.name for p in (deploy / "gate").iterdir()}
    commands = next_commands(out.stdout)
    assert any(c.startswith("foureyes propose") for c in commands)
    last = follow(tmp_path, commands)
    assert "VALID" in last and (tmp_path / "payment.foureyes").is_file()
    if transport == "folder":
        assert list((deploy / "share" / "bundles").glob("*.foureyes"))


def test_init_refuses_to_overwrite(tmp_path):
    assert sh("foureyes init d", tmp_path).returncode == 0
    before = (tmp_path / "d" / "policy.toml").read_bytes()
    out = sh("foureyes init d --transport folder", tmp_path)
    assert out.returncode == 2 and "not empty" in out.stderr and "Traceback" not in out.stderr
    assert (tmp_path / "d" / "policy.toml").read_bytes() == before
