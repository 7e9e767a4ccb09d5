"""`foureyes mcp proxy` end to end: the mcp SDK's ClientSession over stdio talks to the
proxy process, which wraps a real MCP server (below) and the real queue server; reviewers
decide through the API. The upstream appends every call it receives to a JSON-lines file,
so each test can say exactly what ran upstream. The helpers here (`Proxy`, `call`, `ran`)
serve tests/test_integrations_mcp_http.py too, where the proxy is served over HTTP."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import mcp_types as types
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client

from core.bundle.trust import parse_trust
from core.bundle.verify import verify_bundle
from core.integrations._runner import action_key
from core.integrations.mcp_http import ANNOUNCE
from core.integrations.mcp_proxy import result_digest
from tests.bundle_factory import trust_toml
from tests.test_integrations_support import BOB, DAVE, DEAD_SERVER, env  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
UPSTREAM = '''
import json, os, sys
from mcp.server.mcpserver import MCPServer

LOG = sys.argv[1]
if os.path.exists(LOG + ".down"):  # the tests' switch: this upstream cannot start
    sys.exit(1)
app = MCPServer("bank")

def record(tool, **args):
    with open(LOG, "a") as f:
        f.write(json.dumps({"tool": tool, "args": args}) + "\\n")

@app.tool()
def transfer(amount_minor: int, to: str) -> str:
    """Move money to an account."""
    record("transfer", amount_minor=amount_minor, to=to)
    return f"sent {amount_minor} to {to}"

@app.tool()
def balance(account: str) -> str:
    """Read a balance."""
    record("balance", account=account)
    return f"{account}: 100"

@app.tool()
def slow(x: int) -> str:
    """A tool whose proposals expire quickly."""
    record("slow", x=x)
    return "slow"

@app.tool()
def wipe() -> str:
    """Denied by the policy's default."""
    record("wipe")
    return "wiped"

@app.tool()
def crash() -> str:
    """The upstream dies mid-call."""
    record("crash")
    os._exit(3)

@app.resource("bank://rates")
def rates() -> str:
    """Today's rates."""
    record("rates")
    return "EUR 1.08"

@app.prompt()
def dispute(account: str) -> str:
    """Draft a dispute letter."""
    record("dispute", account=account)
    return f"Write a dispute for {account}."

if __name__ == "__main__":
    if sys.argv[2:3] == ["--http"]:
        app.run("streamable-http", host="127.0.0.1", port=int(sys.argv[3]))
    else:
        app.run()
'''

SUMMARY = {"title": "Pay invoice 4411", "why": "due today", "blast_radius": "one vendor",
           "reversibility": "irreversible", "evidence": [{"label": "invoice", "ref": "4411"}]}


def ran(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def text(result: types.CallToolResult) -> str:
    return " ".join(c.text for c in result.content if isinstance(c, types.TextContent))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Proxy:
    """`foureyes mcp proxy` over one upstream: launched per client session over stdio
    (`session`), or once as an HTTP server (`serving`) for many sessions (`Served.session`)."""

    def __init__(self, env, tmp_path: Path, name: str, *, wait: float,  # noqa: F811
                 server: str | None = None, upstream_url: str | None = None,
                 extra: tuple[str, ...] = ()) -> None:
        self.upstream_url = upstream_url
        self.config = env.config(name, server=server)
        self.script = tmp_path / "bank_server.py"
        self.script.write_text(UPSTREAM)
        self.log = tmp_path / f"{name}-upstream.jsonl"
        self.wait = wait
        self.extra = extra

    def argv(self, *more: str) -> list[str]:
        return ["-m", "core.cli.main", "mcp", "proxy", "--config", str(self.config),
                "--name", "bank", "--wait", str(self.wait), "--progress-every", "0.3",
                *self.extra, *more,
                *(["--upstream-url", self.upstream_url] if self.upstream_url else
                  ["--", sys.executable, str(self.script), str(self.log)])]

    def environ(self) -> dict[str, str]:
        return {"PYTHONPATH": str(REPO), "HOME": os.environ.get("HOME", "/tmp"),
                "PATH": os.environ.get("PATH", "")}

    def params(self) -> StdioServerParameters:
        return StdioServerParameters(command=sys.executable, cwd=str(REPO), args=self.argv(),
                                     env=self.environ())

    def session(self, fn):
        async def main():
            async with stdio_client(self.params()) as (r, w), ClientSession(r, w) as s:
                await s.initialize()
                return await fn(s)
        return anyio.run(main)

    @contextlib.contextmanager
    def serving(self, *more: str, environ: dict[str, str] | None = None) -> Iterator[Served]:
        """Run the proxy with `--listen 127.0.0.1:0 MORE...` for many client sessions."""
        with served([sys.executable, *self.argv("--listen", "127.0.0.1:0", *more)],
                    cwd=REPO, environ={**self.environ(), **(environ or {})},
                    stderr=self.log.with_suffix(".stderr")) as running:
            yield running


class Served:
    """A `foureyes mcp proxy --listen` process: the URL it announced, its stderr."""

    def __init__(self, process: subprocess.Popen, stderr: Path) -> None:
        self.process = process
        self.stderr = stderr
        self.url = self.wait_stderr(ANNOUNCE).split(ANNOUNCE, 1)[1].strip()

    def wait_stderr(self, fragment: str, timeout: float = 60) -> str:
        """The first line the process wrote to stderr containing `fragment`."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.stderr.read_text("utf-8", "replace").splitlines()
            found = [x for x in lines if fragment in x]
            if found:
                return found[0]
            assert self.process.poll() is None and time.monotonic() < deadline, lines[-20:]
            time.sleep(0.1)

    def session(self, fn, *, headers: dict[str, str] | None = None, terminate: bool = True):
        """One mcp client session over streamable HTTP; `terminate=False` leaves without
        the session DELETE, as a client that just drops its connection."""
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        async def main():
            async with httpx2.AsyncClient(headers=headers,
                                          timeout=httpx2.Timeout(30, read=300)) as http, \
                    streamable_http_client(self.url, http_client=http,
                                           terminate_on_close=terminate) as (r, w, *_), \
                    ClientSession(r, w) as s:
                await s.initialize()
                return await fn(s)
        return anyio.run(main)


@contextlib.contextmanager
def served(argv: list[str], *, cwd: Path, environ: dict[str, str], stderr: Path
           ) -> Iterator[Served]:
    """Start `argv` (in its own process group, ended with it) and wait for its URL."""
    with stderr.open("wb") as sink:
        proc = subprocess.Popen(argv, cwd=str(cwd), env=environ, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=sink, start_new_session=True)
    try:
        yield Served(proc, stderr)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


def call(session: ClientSession, tool: str, args: dict, progress: list | None = None):
    async def on_progress(done, total, message):
        if progress is not None:
            progress.append(message)
    return session.call_tool(tool, args, progress_callback=on_progress)


async def decided(env, s: ClientSession, tool: str, args: dict, decide,  # noqa: F811
                  known: frozenset = frozenset()):
    """Call a gated tool (with the summary); once its proposal is pending, `decide(proposal)`
    (reviewers, through the API). Returns the call's result and the proposal."""
    box: dict = {}
    async with anyio.create_task_group() as tg:
        async def run():
            box["out"] = await call(s, tool, {**args, "foureyes_summary": SUMMARY})
        tg.start_soon(run)
        proposal = await anyio.to_thread.run_sync(
            lambda: env.pending(f"mcp.bank.{tool}", known=known))
        await anyio.to_thread.run_sync(decide, proposal)
    return box["out"], proposal


def test_list_approve_execute_once_receipt_and_bundle(env, tmp_path):  # noqa: F811
    proxy = Proxy(env, tmp_path, "mcp-approve", wait=60)
    args = {"amount_minor": 120000, "to": "acct-991"}

    async def scenario(s: ClientSession):
        tools = {t.name: t for t in (await s.list_tools()).tools}
        assert "foureyes_summary" in tools["transfer"].input_schema["required"]
        assert "foureyes_summary" in tools["transfer"].input_schema["properties"]
        assert "foureyes_summary" not in json.dumps(tools["balance"].input_schema)
        assert "denied" in tools["wipe"].description
        # zero approvals: straight through, and logged with a receipt
        out = await call(s, "balance", {"account": "acct-1"})
        assert not out.is_error and text(out) == "acct-1: 100"
        # deny route and missing summary: tool errors, nothing proposed or forwarded
        denied = await call(s, "wipe", {})
        assert denied.is_error and "[denied]" in text(denied)
        bare = await call(s, "transfer", dict(args))
        assert bare.is_error and "[summary]" in text(bare)
        # the gated call waits; two reviewers approve; it runs once
        return await decided(env, s, "transfer", args, env.approve)

    out, proposal = proxy.session(scenario)
    assert not out.is_error and text(out) == "sent 120000 to acct-991"
    assert ran(proxy.log) == [{"tool": "balance", "args": {"account": "acct-1"}},
                              {"tool": "transfer", "args": args}]
    assert proposal.params == args and proposal.summary["why"] == "due today"
    receipt = env.receipt(proposal.hash)
    assert receipt["outcome"] == "succeeded"
    assert receipt["action"] == action_key("mcp.bank.transfer", args)
    assert receipt["result"] == {"sha256": result_digest(out), "is_error": False}
    data = env.server.auditor().export_bundle(proposal.hash)
    report = verify_bundle(data, parse_trust(trust_toml(env.world, env.policy())))
    assert report.exit_code == 0, report.failures
    assert report.executed


def test_pending_retry_disconnect_changed_args_and_reject(env, tmp_path):  # noqa: F811
    short = Proxy(env, tmp_path, "mcp-retry", wait=1.5)
    a = {"amount_minor": 500, "to": "acct-2", "foureyes_summary": SUMMARY}
    b = {**a, "amount_minor": 501}

    async def first(s: ClientSession):
        progress: list = []
        out1 = await call(s, "transfer", a, progress)
        out2 = await call(s, "transfer", {**a, "foureyes_summary": {**SUMMARY, "why": "again"}})
        out3 = await call(s, "transfer", b)
        return progress, out1, out2, out3

    progress, out1, out2, out3 = short.session(first)
    assert out1.is_error and "pending" in text(out1) and "same call" in text(out1)
    p1 = text(out1).split("Proposal ")[1].split(" ")[0]
    assert env.view(p1).status == "pending"
    assert any(p1 in m for m in progress if m)  # progress notifications named it
    assert out2.is_error and p1 in text(out2)  # the retry attached
    assert out3.is_error and p1 not in text(out3)  # changed arguments: a new proposal
    p2 = text(out3).split("Proposal ")[1].split(" ")[0]
    assert ran(short.log) == []

    # a client that disconnects mid-wait: nothing runs, even once approved meanwhile
    long = Proxy(env, tmp_path, "mcp-retry", wait=60)

    async def leave_mid_wait(s: ClientSession):
        seen = anyio.Event()
        messages: list = []

        async def on_progress(done, total, message):
            messages.append(message)
            seen.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: s.call_tool("transfer", a, progress_callback=on_progress))
            await seen.wait()
            tg.cancel_scope.cancel()
        return messages

    assert any(p1 in m for m in long.session(leave_mid_wait))
    env.approve(p1)
    assert ran(long.log) == []

    async def come_back(s: ClientSession):
        done = await call(s, "transfer", a)  # attaches to the approved proposal: runs once
        async with anyio.create_task_group() as tg:
            box = {}

            async def run():
                box["out"] = await call(s, "transfer", b)
            tg.start_soon(run)
            await anyio.to_thread.run_sync(env.decide, p2, DAVE, "reject")
        return done, box["out"]

    done, rejected = long.session(come_back)
    assert not done.is_error and text(done) == "sent 500 to acct-2"
    assert rejected.is_error and "[rejected]" in text(rejected)
    assert ran(long.log) == [{"tool": "transfer", "args": {"amount_minor": 500, "to": "acct-2"}}]
    assert env.view(p1).status == "executed" and env.view(p2).status == "rejected"


def test_expiry_unreachable_and_upstream_gone_run_nothing(env, tmp_path):  # noqa: F811
    proxy = Proxy(env, tmp_path, "mcp-fail", wait=60)

    down = Path(f"{proxy.log}.down")  # while it exists, the upstream cannot start
    args = {"amount_minor": 7, "to": "acct-7"}

    async def expire_then_crash(s: ClientSession):
        expired, _ = await decided(env, s, "slow", {"x": 1},
                                   lambda p: env.decide(p, BOB))  # one of two
        down.touch()
        crashed = await call(s, "crash", {})  # dies mid-call, and cannot be restarted
        still_down = await call(s, "balance", {"account": "acct-1"})
        approved, proposal = await decided(env, s, "transfer", args, env.approve)
        kept = await anyio.to_thread.run_sync(env.view, proposal.hash)
        down.unlink()
        back = await call(s, "balance", {"account": "acct-1"})  # the proxy reconnects
        again = await call(s, "transfer", {**args, "foureyes_summary": SUMMARY})
        return expired, crashed, still_down, approved, proposal, kept, back, again

    expired, crashed, still_down, approved, proposal, kept, back, again = \
        proxy.session(expire_then_crash)
    assert expired.is_error and "[expired]" in text(expired)
    assert crashed.is_error and "upstream" in text(crashed)
    [died] = [v for v in env.server.auditor().list_proposals()
              if v.proposal.route == "mcp.bank.crash"]
    assert env.receipt(died.hash)["outcome"] == "failed"
    assert env.receipt(died.hash)["result"]["upstream"] == "gone"
    assert still_down.is_error and "[upstream] cannot connect" in text(still_down)
    # approved while the upstream is gone: not claimed, not run, kept approved for a retry
    assert approved.is_error and "[upstream]" in text(approved)
    assert proposal.hash in text(approved) and kept.status == "approved"
    assert not back.is_error and text(back) == "acct-1: 100"
    assert not again.is_error and text(again) == "sent 7 to acct-7"  # the same proposal
    assert env.view(proposal.hash).status == "executed"
    assert ran(proxy.log) == [{"tool": "crash", "args": {}},  # the slow call never ran
                              {"tool": "balance", "args": {"account": "acct-1"}},
                              {"tool": "transfer", "args": args}]

    dead = Proxy(env, tmp_path, "mcp-dead", wait=5, server=DEAD_SERVER)

    async def unreachable(s: ClientSession):
        return (await call(s, "transfer", {"amount_minor": 1, "to": "x",
                                           "foureyes_summary": SUMMARY}),
                await call(s, "balance", {"account": "acct-1"}))

    gated, open_ = dead.session(unreachable)
    assert gated.is_error and "[unreachable]" in text(gated)
    assert open_.is_error and "[unreachable]" in text(open_)
    assert ran(dead.log) == []


def test_resources_and_prompts_only_when_exposed_and_by_policy(env, tmp_path):  # noqa: F811
    from mcp.shared.exceptions import MCPError

    plain = Proxy(env, tmp_path, "mcp-tools-only", wait=5)

    async def tools_only(s: ClientSession):
        with pytest.raises(MCPError):
            await s.list_resources()
        with pytest.raises(MCPError):
            await s.read_resource("bank://rates")
        with pytest.raises(MCPError):
            await s.get_prompt("dispute", {"account": "acct-1"})
        return s.server_capabilities

    caps = plain.session(tools_only)
    assert caps.resources is None and caps.prompts is None and caps.tools is not None
    assert ran(plain.log) == []

    exposed = Proxy(env, tmp_path, "mcp-expose", wait=5,
                    extra=("--expose", "resources", "--expose", "prompts"))

    async def reads(s: ClientSession):
        listed = await s.list_resources()
        rates = await s.read_resource("bank://rates")  # an open route: runs, logged
        prompts = await s.list_prompts()
        with pytest.raises(MCPError) as refused:  # a gated route: a read cannot wait
            await s.get_prompt("dispute", {"account": "acct-1"})
        return listed, rates, prompts, refused.value

    listed, rates, prompts, refused = exposed.session(reads)
    assert [str(r.uri) for r in listed.resources] == ["bank://rates"]
    assert [c.text for c in rates.contents] == ["EUR 1.08"]
    assert [p.name for p in prompts.prompts] == ["dispute"]
    assert "[config]" in str(refused) and "needs approval" in str(refused)
    assert ran(exposed.log) == [{"tool": "rates", "args": {}}]  # the prompt never ran
    [read] = [v for v in env.server.auditor().list_proposals()
              if v.proposal.route == "mcp.bank.resources/read"]
    assert read.proposal.params == {"uri": "bank://rates"} and read.status == "executed"
    assert env.receipt(read.hash)["outcome"] == "succeeded"


@pytest.mark.parametrize("pair", ["transfer", "transfer=bad route"])
def test_route_map_is_checked(pair):
    from core.errors import InvalidData
    from core.integrations.mcp_proxy import parse_routes

    with pytest.raises(InvalidData):
        parse_routes((pair,))
    assert parse_routes(("transfer=payments.transfer",)) == {"transfer": "payments.transfer"}


def test_upstream_over_streamable_http_and_back(env, tmp_path):  # noqa: F811
    import httpx

    port = free_port()
    proxy = Proxy(env, tmp_path, "mcp-http", wait=60,
                  upstream_url=f"http://127.0.0.1:{port}/mcp")

    def start_upstream() -> subprocess.Popen:
        process = subprocess.Popen([sys.executable, str(proxy.script), str(proxy.log), "--http",
                                    str(port)], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/mcp", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        return process

    upstream = start_upstream()
    try:
        args = {"amount_minor": 42, "to": "acct-h"}

        async def scenario(s: ClientSession):
            nonlocal upstream
            tools = {t.name: t for t in (await s.list_tools()).tools}
            assert "foureyes_summary" in tools["transfer"].input_schema["required"]
            out = (await decided(env, s, "transfer", args, env.approve))[0]
            upstream.terminate()  # the URL goes away: fail closed, then reach it again
            await anyio.to_thread.run_sync(upstream.wait, 10)
            gone = await call(s, "balance", {"account": "acct-1"})
            upstream = await anyio.to_thread.run_sync(start_upstream)
            back = await call(s, "balance", {"account": "acct-1"})
            return out, gone, back

        out, gone, back = proxy.session(scenario)
        assert not out.is_error and text(out) == "sent 42 to acct-h"
        assert gone.is_error and "[upstream] cannot connect" in text(gone)
        assert not back.is_error and text(back) == "acct-1: 100"
        assert ran(proxy.log) == [{"tool": "transfer", "args": args},
                                  {"tool": "balance", "args": {"account": "acct-1"}}]
    finally:
        upstream.terminate()
        upstream.wait(10)
