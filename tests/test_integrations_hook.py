"""`foureyes hook claude-code` with Claude Code's PreToolUse contract (JSON on stdin, a
decision on stdout): deny naming the proposal until approved, then allow that exact call
once with the signed input, and deny on every failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.test_integrations_support import DAVE, DEAD_SERVER, env  # noqa: F401

REPO = Path(__file__).resolve().parents[1]


def event(command: str, cwd: str = "/srv/app") -> dict:
    return {"session_id": "s1", "transcript_path": "/tmp/t.jsonl", "cwd": cwd,
            "permission_mode": "default", "hook_event_name": "PreToolUse",
            "tool_name": "Bash", "tool_use_id": "toolu_1",
            "tool_input": {"command": command, "description": "Deploy the release"}}


def hook(config: Path, stdin: bytes, wait: float = 0.3) -> tuple[int, dict]:
    out = subprocess.run([sys.executable, "-m", "core.cli.main", "hook", "claude-code",
                          "--config", str(config), "--wait", str(wait)], input=stdin,
                         capture_output=True, timeout=120, check=False,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    return out.returncode, json.loads(out.stdout)


def decision(answer: dict) -> tuple[str, str]:
    out = answer["hookSpecificOutput"]
    assert out["hookEventName"] == "PreToolUse"
    return out["permissionDecision"], out["permissionDecisionReason"]


def test_deny_until_approved_then_allow_once(env):  # noqa: F811
    cfg = env.config("hook")
    call = json.dumps(event("make deploy")).encode()
    code, answer = hook(cfg, call)
    kind, reason = decision(answer)
    assert code == 0 and kind == "deny" and "Proposal sha256:" in reason
    proposal = reason.split("Proposal ")[1].split()[0]
    assert env.view(proposal).proposal.params == {
        "tool_name": "Bash", "cwd": "/srv/app",
        "tool_input": {"command": "make deploy", "description": "Deploy the release"}}
    _, again = hook(cfg, call)
    assert proposal in decision(again)[1]  # the retry attached
    _, other = hook(cfg, json.dumps(event("make deploy --force")).encode())
    other_id = decision(other)[1].split("Proposal ")[1].split()[0]
    assert other_id != proposal
    env.decide(other_id, DAVE, "reject")
    assert "[rejected]" in decision(hook(cfg, json.dumps(event("make deploy --force"))
                                         .encode())[1])[1]
    env.approve(proposal)
    _, allowed = hook(cfg, call)
    kind, _ = decision(allowed)
    assert kind == "allow"
    assert allowed["hookSpecificOutput"]["updatedInput"] == event("make deploy")["tool_input"]
    receipt = env.receipt(proposal)
    assert receipt["outcome"] == "succeeded" and receipt["result"]["permission"] == "allow"
    _, next_time = hook(cfg, call)  # allowed once: the same call again is a new proposal
    kind, reason = decision(next_time)
    assert kind == "deny" and proposal not in reason


def test_every_failure_denies(env):  # noqa: F811
    cfg = env.config("hook-fail")
    for stdin in (b"not json", json.dumps({"hook_event_name": "PostToolUse"}).encode(),
                  json.dumps({**event("x"), "tool_input": "rm -rf /"}).encode()):
        code, answer = hook(cfg, stdin)
        assert code == 0 and decision(answer)[0] == "deny"
    code, answer = hook(env.config("hook-dead", server=DEAD_SERVER),
                        json.dumps(event("ls")).encode())
    assert decision(answer)[0] == "deny" and "[unreachable]" in decision(answer)[1]
    denied = {**event("ls"), "tool_name": "Write"}
    code, answer = hook(cfg, json.dumps(denied).encode())  # claude-code.* covers Write too
    assert decision(answer)[0] == "deny"
    code, answer = hook(cfg.parent / "missing.toml", json.dumps(event("ls")).encode())
    assert decision(answer)[0] == "deny" and "[config]" in decision(answer)[1]
