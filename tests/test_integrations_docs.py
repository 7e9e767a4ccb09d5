"""docs/integrations.md works as written: its gate.toml, MCP client config, CI step,
decorated tool and Claude Code settings are taken from the page and run against a real
queue server. Only the server URL (an ephemeral port) and the program names `foureyes`
and `python` (this virtualenv's) are substituted."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import anyio
import httpx
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client

from tests.test_integrations_mcp import UPSTREAM, text
from tests.test_integrations_support import env  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
DOC = (REPO / "docs" / "integrations.md").read_text("utf-8")
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", DOC, re.S)
FOUREYES = str(Path(sys.executable).with_name("foureyes"))


def block(lang: str, contains: str) -> str:
    found = [body for kind, body in BLOCKS if kind == lang and contains in body]
    assert len(found) == 1, f"one {lang} block with {contains!r} in docs/integrations.md"
    return found[0]


@pytest.fixture(scope="module")
def folder(env, tmp_path_factory):  # noqa: F811
    """The private folder the page describes, with gate.toml exactly as shown."""
    where = tmp_path_factory.mktemp("docs")
    cfg = env.config("docs-source")  # policy, key and tokens as an operator made them
    for name in ("policy.toml", "gate.key", "agent.token", "gate.token"):
        shutil.copy2(cfg.parent / name, where / name)
    toml = block("toml", "agent_token_file").replace("http://127.0.0.1:8700", env.server.url)
    (where / "gate.toml").write_text(toml)
    return where


def run_env(folder: Path) -> dict:
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            "PYTHONPATH": str(REPO), "FOUREYES_CONFIG": str(folder / "gate.toml")}


def test_mcp_client_config_block(env, folder, tmp_path):  # noqa: F811
    server = json.loads(block("json", '"command": "foureyes"'))["mcpServers"]["bank"]
    (folder / "bank_server.py").write_text(UPSTREAM)
    args = [sys.executable if a == "python" else a for a in server["args"]]
    args.append(str(tmp_path / "ran.jsonl"))  # where the test upstream records calls
    params = StdioServerParameters(command=FOUREYES if server["command"] == "foureyes"
                                   else server["command"], args=args, cwd=str(folder),
                                   env={"PYTHONPATH": str(REPO)})

    async def main():
        async with stdio_client(params) as (r, w), ClientSession(r, w) as s:
            await s.initialize()
            tools = {t.name: t for t in (await s.list_tools()).tools}
            assert "foureyes_summary" in tools["transfer"].input_schema["required"]
            return await s.call_tool("balance", {"account": "acct-1"})

    out = anyio.run(main)
    assert not out.is_error and text(out) == "acct-1: 100"


def test_mcp_http_blocks(env, folder, tmp_path):  # noqa: F811
    """The `--listen` commands run as shown (port 8765 made 0: the proxy announces the
    port it took), and the client config's url and bearer header reach the proxy."""
    from tests.test_integrations_mcp import served

    commands = block("sh", "--listen").replace("127.0.0.1:8765", "127.0.0.1:0")
    (folder / "bank_server.py").write_text(UPSTREAM)
    log = tmp_path / "ran-http.jsonl"  # where the test upstream records calls
    with served(["sh", "-c", f"{commands.strip()} {log}"], cwd=folder,
                environ=run_env(folder), stderr=tmp_path / "proxy.stderr") as proxy:
        token = (folder / "mcp.token").read_text().strip()
        assert (folder / "mcp.token").stat().st_mode & 0o077 == 0
        server = json.loads(block("json", '"type": "http"'))["mcpServers"]["bank"]
        assert server["url"] == "http://127.0.0.1:8765/mcp"
        headers = {k: v.replace("${FOUREYES_MCP_TOKEN}", token)
                   for k, v in server["headers"].items()}

        async def use(s: ClientSession):
            tools = {t.name: t for t in (await s.list_tools()).tools}
            assert "foureyes_summary" in tools["transfer"].input_schema["required"]
            return await s.call_tool("balance", {"account": "acct-1"})

        out = proxy.session(use, headers=headers)
        assert not out.is_error and text(out) == "acct-1: 100"
        refused = httpx.post(proxy.url, json={}, timeout=30,
                             headers={"Accept": "application/json"})
        assert refused.status_code == 401


def test_ci_step_block(env, folder):  # noqa: F811
    step = block("yaml", "foureyes exec")
    command = re.search(r"^\s*run: (.*)$", step, re.M).group(1)
    variables = dict(re.findall(r'^\s+(RELEASE): "(.*)"$', step, re.M))
    deploy = folder / "deploy.sh"
    deploy.write_text('#!/bin/sh\necho "deployed $RELEASE to $1" >> deployed.txt\n')
    deploy.chmod(0o755)
    proc = subprocess.Popen(["sh", "-c", command], cwd=folder,
                            env={**run_env(folder), **variables},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proposal = env.pending("ci.deploy")
    assert proposal.params["env"] == {"RELEASE": "1.4.2"}
    env.approve(proposal)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert (folder / "deployed.txt").read_text() == "deployed 1.4.2 to production\n"


def test_decorated_tool_block(env, folder, monkeypatch):  # noqa: F811
    monkeypatch.setenv("FOUREYES_CONFIG", str(folder / "gate.toml"))
    scope: dict = {}
    exec(compile(block("python", "@gated"), "integrations.md", "exec"), scope)  # noqa: S102
    transfer = scope["transfer"]
    box: dict = {}
    t = threading.Thread(target=lambda: box.setdefault("v", transfer(120000, "acct-991")))
    t.start()
    proposal = env.pending("payments.transfer")
    assert proposal.summary["title"] == "Pay 120000 to acct-991"
    env.approve(proposal)
    t.join(60)
    assert box == {"v": "paid 120000 to acct-991"}


def test_claude_code_settings_block(env, folder):  # noqa: F811
    settings = json.loads(block("json", "PreToolUse"))
    entry = settings["hooks"]["PreToolUse"][0]
    assert re.fullmatch(entry["matcher"], "Bash")
    command = entry["hooks"][0]["command"].replace("--wait 30", "--wait 0.3")
    assert entry["hooks"][0]["timeout"] > 30
    event = {"hook_event_name": "PreToolUse", "tool_name": "Bash", "cwd": str(folder),
             "tool_input": {"command": "make release"}}

    def hook() -> tuple[int, dict]:
        out = subprocess.run(["sh", "-c", command], cwd=folder, env=run_env(folder),
                             input=json.dumps(event).encode(), capture_output=True,
                             timeout=120, check=False)
        return out.returncode, json.loads(out.stdout)["hookSpecificOutput"]

    code, first = hook()
    assert code == 0 and first["permissionDecision"] == "deny"
    env.approve(first["permissionDecisionReason"].split("Proposal ")[1].split()[0])
    code, second = hook()
    assert code == 0 and second["permissionDecision"] == "allow"
    assert second["updatedInput"] == event["tool_input"]
