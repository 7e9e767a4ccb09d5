"""`foureyes hook claude-code`: a fail-closed PreToolUse hook for Claude Code.

Claude Code runs the hook before each matching tool call, with JSON on stdin
(`hook_event_name`, `tool_name`, `tool_input`, `cwd`, ...), and reads a decision from
stdout: `{"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision":
"allow" | "deny", "permissionDecisionReason": "...", "updatedInput": {...}}}`.

The call (tool name, tool input, working directory) becomes a proposal on route
`claude-code.<tool>`. The hook waits a short bound (below the hook timeout) and answers
*deny*, naming the proposal and telling the agent to repeat the same call later. A repeat
attaches to the same proposal; once it is approved the hook claims it, records the receipt
and answers *allow* with `updatedInput` set to the signed tool input, once. Every failure
answers deny. What this can and cannot guarantee is in docs/integrations.md.
"""

from __future__ import annotations

import json
from typing import Any

from core.errors import FoureyesError, InvalidData
from core.gate import StillPending
from core.gate.sdk import Executed
from core.integrations._runner import GatedRunner, sha256_hex
from core.integrations.summary import summary_from

ROUTE_PREFIX = "claude-code"
MAX_HOOK_INPUT = 1024 * 1024
DEFAULT_HOOK_WAIT = 30.0  # keep well below the hook's timeout in settings.json


def decision(kind: str, reason: str, updated: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"hookEventName": "PreToolUse", "permissionDecision": kind,
                           "permissionDecisionReason": reason}
    if updated is not None:
        out["updatedInput"] = updated
    return {"hookSpecificOutput": out}


def deny(reason: str) -> dict[str, Any]:
    return decision("deny", f"Foureyes: {reason}")


def parse_event(data: bytes) -> dict[str, Any]:
    if len(data) > MAX_HOOK_INPUT:
        raise InvalidData("too_large", "the hook input is larger than 1 MiB")
    try:
        event = json.loads(data)
    except ValueError as e:
        raise InvalidData("format", f"the hook input is not JSON: {e}") from e
    if not isinstance(event, dict) or event.get("hook_event_name") != "PreToolUse":
        raise InvalidData("format", "this hook handles PreToolUse events only")
    if not isinstance(event.get("tool_name"), str) or not isinstance(event.get("tool_input"),
                                                                     dict):
        raise InvalidData("format", "the hook input lacks tool_name or tool_input")
    return event


def handle(event: dict[str, Any], runner: GatedRunner, *, wait: float,
           prefix: str = ROUTE_PREFIX) -> dict[str, Any]:
    """The hook's answer to one PreToolUse event; never raises for a gate refusal."""
    tool, tool_input = event["tool_name"], event["tool_input"]
    route = f"{prefix}.{tool}"
    params = {"tool_name": tool, "tool_input": tool_input, "cwd": event.get("cwd")}
    try:
        described = tool_input.get("description")
        summary = summary_from({
            "title": f"{tool}: {json.dumps(tool_input, ensure_ascii=False)}"[:200],
            "why": described if isinstance(described, str) and described.strip()
            else "not stated by the agent (Claude Code hook); read the exact input",
            "blast_radius": "not assessed by the agent; read the exact tool input",
            "reversibility": "irreversible", "evidence": []}, tool=tool, required=False)
        submitted = runner.submit(route, params, summary)
        if submitted.approvals > 0:
            runner.wait(submitted.proposal, wait)

        def allow(signed: dict[str, Any]) -> Executed:
            body = json.dumps(signed["tool_input"], sort_keys=True).encode()
            return Executed(signed["tool_input"], result={
                "permission": "allow", "tool_input_sha256": sha256_hex(body)})

        run = runner.execute(submitted.proposal, allow)
    except StillPending as e:
        return deny(f"this call needs two human approvals. {e.message}")
    except FoureyesError as e:
        return deny(f"refused, the call must not run: {e.diagnostics()}")
    return decision("allow", f"Foureyes: approved as proposal {run.proposal.hash}; "
                    "allowed once with the approved input", updated=run.value)
