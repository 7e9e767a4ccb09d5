"""Start the real `foureyes serve` process on 127.0.0.1 with an ephemeral port."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from core.log.keyfile import save_log_key
from core.queue.http import HttpQueue
from core.sample import AGENT, GATE, SampleWorld

STARTUP_TIMEOUT = 30.0
LISTEN = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core.cli.main", *args], capture_output=True,
                          text=True, check=False)


@dataclass
class Server:
    world: SampleWorld
    root: Path
    extra_args: tuple[str, ...] = ()
    proc: subprocess.Popen | None = None
    url: str = ""
    output: list[str] = field(default_factory=list)
    agent_token: str = ""
    gate_token: str = ""
    auditor_token: str = ""

    @property
    def data(self) -> Path:
        return self.root / "data"

    def setup(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "policy.toml").write_bytes(self.world.policy_bytes())
        if not (self.root / "log.key").exists():
            save_log_key(self.root / "log.key", self.world.log_signer)
        self.agent_token = self.token("agent", AGENT)
        self.gate_token = self.token("gate", GATE)
        self.auditor_token = self.token("auditor", "audit@example.com")

    def token(self, role: str, identity: str) -> str:
        out = cli("tokens", "create", "--role", role, "--identity", identity, "--data",
                  str(self.data), "--policy", str(self.root / "policy.toml"))
        assert out.returncode == 0, out.stderr
        return out.stdout.strip().splitlines()[-1]

    def start(self) -> Server:
        cmd = [sys.executable, "-m", "core.cli.main", "serve", "--policy",
               str(self.root / "policy.toml"), "--data", str(self.data), "--port", "0",
               "--log-key", str(self.root / "log.key"), *self.extra_args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line and self.proc.poll() is not None:
                break
            self.output.append(line)
            m = LISTEN.search(line)
            if m:
                self.url = m.group(1)
                threading.Thread(target=self._drain, daemon=True).start()
                httpx.get(self.url + "/health", timeout=10).raise_for_status()
                return self
        raise RuntimeError("server did not start:\n" + "".join(self.output))

    def _drain(self) -> None:
        for line in self.proc.stdout:
            self.output.append(line)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def reviewer(self, identity: str) -> HttpQueue:
        return HttpQueue(self.url, identity=identity, signer=self.world.signer(identity))

    def agent(self) -> HttpQueue:
        return HttpQueue(self.url, token=self.agent_token)

    def gate(self) -> HttpQueue:
        return HttpQueue(self.url, token=self.gate_token)

    def auditor(self) -> HttpQueue:
        return HttpQueue(self.url, token=self.auditor_token)
