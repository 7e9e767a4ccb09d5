"""`foureyes mcp proxy`: an MCP server in front of another MCP server, with the gate between.

The proxy is itself served over stdio (what MCP clients launch) and talks to its upstream
as an MCP client (a command over stdio, or a streamable HTTP URL). For every tool:

- `tools/list` passes through. The tool's route is `mcp.<server>.<tool>` unless mapped.
  A tool the pinned policy may gate gets a required `foureyes_summary` argument in its
  input schema (title, why, blast_radius, reversibility, evidence): what reviewers read.
- `tools/call` on a gated route: the summary is taken out, the remaining arguments become
  the proposal's `params`, and the call waits (sending progress notifications, so clients
  keep it open) up to the configured bound. Past it, the tool answers an error naming the
  proposal; the same call again attaches to the same proposal (`_runner`). Once approved,
  `Gate.execute` runs it once and the upstream receives the *signed* params, parsed from
  the proposal bytes, never the client's copy. The receipt records the outcome and the
  SHA-256 of the upstream result as the proxy received it.
- Zero-approval routes are proposed (so logged) and run at once. Denied routes, a missing
  summary, an unreachable queue, a rejection, an expiry, a vanished upstream: a tool error,
  and nothing is forwarded. No failure path forwards a call.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
from collections.abc import Callable
from fnmatch import fnmatchcase
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
import mcp_types as types
from mcp import ClientSession
from mcp.server.lowlevel import Server

from core.errors import FoureyesError, InvalidData
from core.gate.sdk import Executed
from core.integrations._runner import GatedRunner, retry_hint, sha256_hex
from core.integrations.summary import SUMMARY_FIELD, SUMMARY_SCHEMA, summary_from

ROUTE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,199}")
PING_TIMEOUT = 10.0  # the upstream must answer a ping before an approved call is claimed

OPEN, GATED, DENIED = "open", "gated", "denied"


def result_digest(result: types.CallToolResult) -> str:
    """SHA-256 hex of the upstream's result as JSON (aliases, no nulls): what the receipt
    records, so an auditor holding the tool's answer can match it to the execution."""
    return sha256_hex(result.model_dump_json(by_alias=True, exclude_none=True).encode())


def tool_error(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)],
                                is_error=True)


class McpProxy:
    def __init__(self, runner: GatedRunner, upstream: ClientSession, *, server_name: str,
                 routes: dict[str, str] | None = None, wait: float,
                 progress_every: float | None = None) -> None:
        self.runner = runner
        self.upstream = upstream
        self.server_name = server_name
        self.routes = dict(routes or {})
        self.wait = wait
        if progress_every is not None:
            runner.slice = progress_every

    # ------------------------------------------------------------------ routes and policy

    def route_of(self, tool: str) -> str:
        return self.routes.get(tool, f"mcp.{self.server_name}.{tool}")

    def gating(self, route: str) -> str:
        """What the pinned policy can do with this route, whatever the arguments: OPEN
        (every call runs without approval), DENIED (no call can run) or GATED."""
        policy = self.runner.gate.policy
        for rule in policy.rules:
            if not fnmatchcase(route, rule.route):
                continue
            if rule.approvals > 0:
                return GATED
            if not rule.conditions:
                return OPEN
            # a conditional zero-approval rule: other arguments fall to a stricter rule or
            # to the default, so reviewers may be asked; the summary is required
            return GATED
        return OPEN if policy.default == "allow" else DENIED

    def present(self, tool: types.Tool) -> types.Tool:
        route = self.route_of(tool.name)
        if not ROUTE_RE.fullmatch(route):
            return tool.model_copy(update={"description": "[Foureyes: this tool's name is "
                                           "not a valid route; calls are refused] "
                                           + (tool.description or "")})
        mode = self.gating(route)
        if mode == DENIED:
            return tool.model_copy(update={"description": f"[Foureyes: route {route} is "
                                           "denied by policy; calls are refused] "
                                           + (tool.description or "")})
        if mode == OPEN:
            return tool
        schema = copy.deepcopy(dict(tool.input_schema or {"type": "object"}))
        props = dict(schema.get("properties") or {})
        props[SUMMARY_FIELD] = SUMMARY_SCHEMA
        schema["properties"] = props
        schema["required"] = [*[r for r in schema.get("required", []) if r != SUMMARY_FIELD],
                              SUMMARY_FIELD]
        note = (f"[Foureyes: route {route} needs human approval. Fill in {SUMMARY_FIELD}; "
                "the call waits for reviewers and, if it returns 'pending', repeat exactly "
                "the same call later.] ")
        return tool.model_copy(update={"input_schema": schema,
                                       "description": note + (tool.description or "")})

    # ------------------------------------------------------------------ MCP handlers

    async def list_tools(self, ctx: Any, params: types.PaginatedRequestParams | None
                         ) -> types.ListToolsResult:
        result = await self.upstream.list_tools(params=params)
        return result.model_copy(update={"tools": [self.present(t) for t in result.tools]})

    async def call_tool(self, ctx: Any, params: types.CallToolRequestParams
                        ) -> types.CallToolResult:
        try:
            return await self._call(ctx, params.name, dict(params.arguments or {}))
        except FoureyesError as e:
            return tool_error(f"Foureyes refused: {e.diagnostics()}")
        except Exception as e:  # noqa: BLE001 - fail closed: nothing was forwarded
            return tool_error(f"Foureyes refused: [upstream] the gate failed ({type(e).__name__}"
                              f": {e}); nothing was forwarded")

    async def _call(self, ctx: Any, name: str, args: dict[str, Any]) -> types.CallToolResult:
        route = self.route_of(name)
        if not ROUTE_RE.fullmatch(route):
            raise InvalidData("format", f"tool {name!r} maps to {route!r}, which is not a valid "
                              "route; map it with --route TOOL=ROUTE")
        given = args.pop(SUMMARY_FIELD, None)
        approvals = self.runner.approvals(route, args)  # DeniedByPolicy: a tool error
        summary = summary_from(given, tool=name, required=approvals > 0)
        submitted = await anyio.to_thread.run_sync(self.runner.submit, route, args, summary)
        proposal = submitted.proposal
        if approvals > 0 and not await self._wait(ctx, proposal):
            return tool_error(f"Foureyes: pending. {retry_hint(proposal)}")
        if not await self._upstream_alive():
            raise InvalidData("upstream", f"the upstream MCP server does not answer; proposal "
                              f"{proposal.hash} was not executed. Restart the proxy and repeat "
                              "the same call.")
        with anyio.CancelScope(shield=True):  # once claimed, the receipt must be recorded
            run = await anyio.to_thread.run_sync(self.runner.execute, proposal,
                                                 self._forwarder(name))
        return run.value

    async def _wait(self, ctx: Any, proposal) -> bool:  # noqa: ANN001 - a Proposal
        """True once approved; False when the bound passed (still pending)."""
        start = anyio.current_time()
        while True:
            elapsed = anyio.current_time() - start
            view = await anyio.to_thread.run_sync(
                self.runner.poll, proposal, min(self.runner.slice, max(0.0, self.wait - elapsed)))
            if view.status == "approved":
                return True
            elapsed = anyio.current_time() - start
            if elapsed >= self.wait:
                return False
            await _progress(ctx, elapsed, self.wait,
                            f"waiting for reviewers: proposal {proposal.hash}")

    async def _upstream_alive(self) -> bool:
        with anyio.move_on_after(PING_TIMEOUT):
            try:
                await self.upstream.send_ping()
                return True
            except Exception:  # noqa: BLE001 - any failure means gone
                return False
        return False

    def _forwarder(self, name: str) -> Callable[[dict[str, Any]], Executed]:
        """Runs in Gate.execute's worker thread with the signed params; hops to the loop."""
        def forward(signed_params: dict[str, Any]) -> Executed:
            try:
                result = anyio.from_thread.run(self.upstream.call_tool, name, signed_params)
            except Exception as e:  # noqa: BLE001 - the upstream failed: a failed receipt
                text = f"Foureyes: [upstream] the upstream MCP server failed: {e!r}"
                return Executed(tool_error(text), succeeded=False,
                                result={"sha256": sha256_hex(text.encode()), "is_error": True,
                                        "upstream": "gone"})
            return Executed(result, succeeded=not result.is_error,
                            result={"sha256": result_digest(result),
                                    "is_error": bool(result.is_error)})
        return forward

    def server(self) -> Server:
        return Server("foureyes-proxy", version="1", on_list_tools=self.list_tools,
                      on_call_tool=self.call_tool)


async def _progress(ctx: Any, done: float, total: float, message: str) -> None:
    with contextlib.suppress(Exception):  # progress is advisory; the wait goes on
        await ctx.session.report_progress(done, total, message)


async def serve_stdio(runner: GatedRunner, *, command: list[str] | None, url: str | None,
                      server_name: str, routes: dict[str, str], wait: float) -> None:
    """Connect to the upstream, then serve MCP on our stdin/stdout until the client leaves."""
    from contextlib import AsyncExitStack

    from mcp.server.stdio import stdio_server

    async with AsyncExitStack() as stack:
        if command:
            from mcp import StdioServerParameters, stdio_client

            params = StdioServerParameters(command=command[0], args=command[1:])
            try:
                read, write = await stack.enter_async_context(stdio_client(params))
            except OSError as e:
                raise InvalidData("upstream", f"cannot start {command[0]}: {e}") from e
        else:
            from mcp.client.streamable_http import streamable_http_client

            read, write = (await stack.enter_async_context(streamable_http_client(url)))[:2]
        upstream = await stack.enter_async_context(ClientSession(read, write))
        await upstream.initialize()
        proxy = McpProxy(runner, upstream, server_name=server_name, routes=routes, wait=wait)
        server = proxy.server()
        async with stdio_server() as (sread, swrite):
            await server.run(sread, swrite, server.create_initialization_options())


def parse_routes(pairs: tuple[str, ...]) -> dict[str, str]:
    routes = {}
    for pair in pairs:
        tool, sep, route = pair.partition("=")
        if not sep or not tool or not ROUTE_RE.fullmatch(route):
            raise InvalidData("config", f"--route takes TOOL=ROUTE with a valid route, not "
                              f"{json.dumps(pair)}")
        routes[tool] = route
    return routes
