"""`foureyes mcp proxy --listen`: the proxy served over streamable HTTP, end to end.

The real proxy process listens on an ephemeral loopback port; the mcp SDK's client
session connects to it over streamable HTTP; the upstream, the queue server and the
reviewers are those of tests/test_integrations_mcp.py (helpers imported from there). One
proxy process serves several client sessions in turn, which is the point of HTTP: a
client that leaves mid-wait must not leave a call behind that runs on approval."""

from __future__ import annotations

import subprocess
import sys

import anyio
import httpx
import pytest
from mcp import ClientSession

from core.integrations._runner import action_key
from core.integrations.mcp_http import check_bind, parse_listen, security_settings
from core.integrations.mcp_proxy import result_digest
from tests.test_integrations_mcp import REPO, SUMMARY, Proxy, call, decided, ran, text
from tests.test_integrations_support import DAVE, env  # noqa: F401

TOKEN = "t" * 40


def proposals_for(env, route: str, args: dict) -> list:  # noqa: F811
    """Every proposal the queue holds for exactly (route, args)."""
    key = action_key(route, args)
    return [v for v in env.server.auditor().list_proposals()
            if action_key(v.proposal.route, v.proposal.params) == key]


def test_http_approve_reject_disconnect_and_retry(env, tmp_path):  # noqa: F811
    proxy = Proxy(env, tmp_path, "mcp-listen", wait=60)
    a = {"amount_minor": 120000, "to": "acct-991"}
    b = {"amount_minor": 3, "to": "acct-3"}
    c = {"amount_minor": 900, "to": "acct-9"}
    with proxy.serving() as served:
        assert served.url.startswith("http://127.0.0.1:") and served.url.endswith("/mcp")

        async def approve_then_reject(s: ClientSession):
            tools = {t.name: t for t in (await s.list_tools()).tools}
            assert "foureyes_summary" in tools["transfer"].input_schema["required"]
            approved = await decided(env, s, "transfer", a, env.approve)
            rejected = await decided(env, s, "transfer", b,
                                     lambda p: env.decide(p, DAVE, "reject"))
            return approved, rejected

        (out, p_a), (refused, p_b) = served.session(approve_then_reject)
        assert not out.is_error and text(out) == "sent 120000 to acct-991"
        assert p_a.params == a  # the upstream got the signed params, once
        receipt = env.receipt(p_a.hash)
        assert receipt["outcome"] == "succeeded"
        assert receipt["result"] == {"sha256": result_digest(out), "is_error": False}
        assert refused.is_error and "[rejected]" in text(refused)
        assert env.view(p_b.hash).status == "rejected"
        assert ran(proxy.log) == [{"tool": "transfer", "args": a}]

        # a client that leaves mid-wait: the proxy stays up, and its call must not run
        # when the approval arrives afterwards
        expected = [{"tool": "transfer", "args": a}]
        for terminate in (True, False):  # a clean DELETE of the session, or just gone
            args = {**c, "amount_minor": c["amount_minor"] + terminate}

            async def leave_mid_wait(s: ClientSession, args=args):
                seen = anyio.Event()

                async def on_progress(done, total, message):
                    seen.set()
                async with anyio.create_task_group() as tg:
                    tg.start_soon(lambda: s.call_tool(
                        "transfer", {**args, "foureyes_summary": SUMMARY},
                        progress_callback=on_progress))
                    await seen.wait()
                    tg.cancel_scope.cancel()

            served.session(leave_mid_wait, terminate=terminate)
            [left] = proposals_for(env, "mcp.bank.transfer", args)
            served.wait_stderr(f"the client disconnected while proposal {left.hash} waited")
            env.approve(left.hash)  # the proxy no longer waits on it: it must stay approved
            assert env.view(left.hash).status == "approved"
            assert ran(proxy.log) == expected

            # the same call from a new session attaches to that proposal and runs once
            again = served.session(
                lambda s, args=args: call(s, "transfer", {**args, "foureyes_summary": SUMMARY}))
            assert not again.is_error and text(again) == f"sent {args['amount_minor']} to acct-9"
            assert [v.hash for v in proposals_for(env, "mcp.bank.transfer", args)] == [left.hash]
            assert env.view(left.hash).status == "executed"
            expected.append({"tool": "transfer", "args": args})
            assert ran(proxy.log) == expected


def test_http_token_host_and_origin_checks(env, tmp_path):  # noqa: F811
    proxy = Proxy(env, tmp_path, "mcp-token", wait=5)
    token_file = tmp_path / "mcp.token"
    token_file.write_text(TOKEN + "\n")
    with proxy.serving("--token-file", str(token_file)) as served:
        url = served.url
        port = url.split(":")[2].split("/")[0]
        body = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                           "clientInfo": {"name": "t", "version": "1"}}}
        headers = {"Accept": "application/json, text/event-stream"}
        auth = {**headers, "Authorization": f"Bearer {TOKEN}"}

        def post(**kw) -> httpx.Response:
            return httpx.post(url, json=body, timeout=30, **kw)
        missing = post(headers=headers)
        assert missing.status_code == 401 and missing.json()["code"] == "unauthenticated"
        assert post(headers={**headers, "Authorization": "Bearer " + "x" * 40}).status_code == 401
        # DNS rebinding: a page on another name reaching this port, or a foreign origin
        assert post(headers={**auth, "Host": f"evil.example:{port}"}).status_code == 421
        assert post(headers={**auth, "Origin": "http://evil.example"}).status_code == 403
        assert post(headers={**auth, "Host": f"localhost:{port}",
                             "Origin": f"http://localhost:{port}"}).status_code == 200

        async def use(s: ClientSession):
            return await call(s, "balance", {"account": "acct-1"})
        out = served.session(use, headers={"Authorization": f"Bearer {TOKEN}"})
        assert not out.is_error and text(out) == "acct-1: 100"


@pytest.mark.parametrize("more, message", [
    (("--listen", "0.0.0.0:0"), "not a loopback address"),
    (("--listen", "0.0.0.0:0", "--allow-remote"), "needs a bearer token"),
    (("--listen", "example.com:80"), "needs an IP address"),
    (("--token-file", "x"), "go with --listen"),
])
def test_network_binds_are_refused_before_anything_starts(env, tmp_path, more, message):  # noqa: F811
    proxy = Proxy(env, tmp_path, "mcp-bind", wait=5)
    out = subprocess.run([sys.executable, *proxy.argv(*more)], cwd=str(REPO),
                         env=proxy.environ(), capture_output=True, text=True, timeout=60,
                         check=False)
    assert out.returncode != 0 and message in out.stderr
    assert not proxy.log.exists()  # the upstream was never started


def test_an_upstream_that_cannot_start_is_one_error_line(env, tmp_path):  # noqa: F811
    proxy = Proxy(env, tmp_path, "mcp-nostart", wait=5)
    argv = proxy.argv("--listen", "127.0.0.1:0")
    argv[argv.index("--") + 1:] = [str(tmp_path / "no-such-server")]
    out = subprocess.run([sys.executable, *argv], cwd=str(REPO), env=proxy.environ(),
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stderr.startswith("error: [upstream] cannot connect to the upstream")


def test_bind_rules():
    assert parse_listen("localhost:0") == ("127.0.0.1", 0)
    assert parse_listen("[::1]:8765") == ("::1", 8765)
    check_bind("127.0.0.1", allow_remote=False, token=None)
    check_bind("10.0.0.5", allow_remote=True, token=TOKEN)
    settings = security_settings("127.0.0.1", 8765)
    assert settings.enable_dns_rebinding_protection
    assert settings.allowed_hosts == ["127.0.0.1:8765", "localhost:8765"]
