"""What the server benchmarks share: a data directory with tokens, the real `foureyes serve`
process, pre-signed flows, and a raw HTTP/1.1 keep-alive client (so the client's own cost
stays small beside the server's on a machine with two cores)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

# FOUREYES_CODE=DIR (with PYTHONPATH=DIR) measures another checkout, e.g. the "before" commit.
ROOT = Path(os.environ.get("FOUREYES_CODE") or Path(__file__).resolve().parents[1])
sys.path.insert(0, str(ROOT))

from core.formats import now_utc  # noqa: E402
from core.log.keyfile import save_log_key  # noqa: E402
from core.policy import Policy  # noqa: E402
from core.sample import REVIEWERS, SampleWorld  # noqa: E402

LISTEN = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")
TOKEN_LIFETIME = 24 * 3600.0
BIG_LIMIT = 10**9  # the benchmark's agents are not rate limited (each count still stops here)
APPROVERS = REVIEWERS[:2]  # bob and carol: the requester (alice) may not approve


@dataclass
class Flow:
    """One action: the proposal and the decisions that approve it, signed in advance."""

    hash: str
    proposal: bytes  # request body of POST /v1/proposals
    decisions: list[tuple[str, bytes]]  # (reviewer, request body of POST .../decisions)


@dataclass
class Deployment:
    root: Path
    world: SampleWorld = field(default_factory=SampleWorld.create)
    agents: list[tuple[str, str]] = field(default_factory=list)  # (identity, token)
    reviewers: dict[str, str] = field(default_factory=dict)  # identity -> token
    proc: subprocess.Popen | None = None
    port: int = 0

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def checkpoints(self) -> Path:
        return self.root / "data-checkpoints.txt"

    @property
    def policy_path(self) -> Path:
        return self.root / "policy.toml"

    @property
    def policy_hash(self) -> str:
        if not hasattr(self, "_policy_hash"):
            self._policy_hash = Policy.from_bytes(self.world.policy_bytes()).hash
        return self._policy_hash

    def setup(self, agents: int) -> None:
        """Policy, log key and tokens, written before the server starts (tokens straight
        into the store: the benchmark measures proposals and decisions, not logins)."""
        from core.server.store import ServerStore

        self.root.mkdir(parents=True, exist_ok=True)
        self.policy_path.write_bytes(self.world.policy_bytes())
        save_log_key(self.root / "log.key", self.world.log_signer)
        store = ServerStore(self.data)
        try:
            self.agents = [(f"agent:bench-{i}", store.create_token(
                "agent", f"agent:bench-{i}", TOKEN_LIFETIME)) for i in range(agents)]
            self.reviewers = {who: store.create_token("reviewer", who, TOKEN_LIFETIME)
                              for who in APPROVERS}
        finally:
            store.close()

    def start(self) -> None:
        exe = Path(sys.executable).with_name("foureyes")
        self.proc = subprocess.Popen(
            [str(exe), "serve", "--policy", str(self.policy_path), "--data", str(self.data),
             "--port", "0", "--log-key", str(self.root / "log.key"), "--checkpoint-file",
             str(self.checkpoints), "--max-open", str(BIG_LIMIT), "--max-per-minute",
             str(BIG_LIMIT)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + 600  # a first start verifies the whole log
        lines = []
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line and self.proc.poll() is not None:
                break
            lines.append(line)
            m = LISTEN.search(line)
            if m:
                self.port = int(m.group(1))
                threading.Thread(target=lambda: [None for _ in self.proc.stdout],
                                 daemon=True).start()
                return
        raise SystemExit("the server did not start:\n" + "".join(lines))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_verify(self) -> tuple[int, str, float]:
        """`foureyes log verify` over the store, against every shipped checkpoint."""
        exe = Path(sys.executable).with_name("foureyes")
        start = time.perf_counter()
        done = subprocess.run([str(exe), "log", "verify", "--db", str(self.data / "server.sqlite"),
                               "--checkpoint", str(self.checkpoints), "--key",
                               self.world.log_verifier], capture_output=True, text=True,
                              check=False)
        return done.returncode, (done.stdout + done.stderr).strip(), \
            time.perf_counter() - start

    def flow(self, agent: str, amount: int = 120000) -> Flow:
        """A proposal (2 approvals when amount >= 50000, else 1) and its approvals."""
        w = self.world
        p = w.proposal(policy_hash=self.policy_hash, proposer=agent,
                       params={"amount_minor": amount, "currency": "USD", "to": "acct-1"},
                       created_at=now_utc() - timedelta(seconds=1))
        need = 2 if amount >= 50000 else 1
        decisions = []
        for who in APPROVERS[:need]:
            d, sig = w.decide(p, who, decided_at=now_utc())
            decisions.append((who, json.dumps({"decision": d.raw.decode(),
                                               "signature": sig}).encode()))
        return Flow(p.hash, json.dumps({"proposal": p.raw.decode()}).encode(), decisions)


def request(method: str, path: str, token: str, body: bytes | None = None) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + (body or b"")


def _parse_head(head: bytes) -> tuple[int, int]:
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, length


class Connection:
    """Blocking keep-alive connection with TCP_NODELAY, as a careful client has."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def call(self, raw: bytes) -> tuple[int, bytes]:
        self.sock.sendall(raw)
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        status, length = _parse_head(head)
        while len(self.buf) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        body, self.buf = self.buf[:length], self.buf[length:]
        return status, body

    def close(self) -> None:
        self.sock.close()


class AsyncConnection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> AsyncConnection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def call(self, raw: bytes) -> tuple[int, bytes]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status, length = _parse_head(head[:-4])
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()
