"""`foureyes mcp proxy`: an MCP server in front of another MCP server, with the gate between.

The proxy is itself served over stdio (what MCP clients launch) or over streamable HTTP
(`mcp_http`), and talks to its upstream as an MCP client (a command over stdio, or a
streamable HTTP URL; `mcp_upstream` reconnects after it went away). For every tool:

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

Resources and prompts are not served unless asked for (`expose`): a resource read or a
prompt is data flowing to the agent, and what it may read is the operator's call. When
exposed, listings pass through and every `resources/read` / `prompts/get` is checked
against the policy as route `mcp.<server>.resources/read` (params `{"uri"}`) or
`mcp.<server>.prompts/get` (params `{"name", "arguments"}`): an open route runs at once
and is logged with a receipt; a denied one is refused; one that needs approval is refused
too (a read cannot carry a summary for reviewers).
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import re
from collections.abc import Awaitable, Callable
from fnmatch import fnmatchcase
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
import mcp_types as types
from mcp import ClientSession
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError

from core.errors import FoureyesError, InvalidData
from core.gate.sdk import Executed
from core.integrations._runner import GatedRunner, retry_hint, sha256_hex
from core.integrations.mcp_upstream import Upstream
from core.integrations.summary import SUMMARY_FIELD, SUMMARY_SCHEMA, default_summary, summary_from

ROUTE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,199}")
log = logging.getLogger("foureyes.mcp")

OPEN, GATED, DENIED = "open", "gated", "denied"


def result_digest(result: types.CallToolResult) -> str:
    """SHA-256 hex of the upstream's result as JSON (aliases, no nulls): what the receipt
    records, so an auditor holding the tool's answer can match it to the execution."""
    return sha256_hex(result.model_dump_json(by_alias=True, exclude_none=True).encode())


def tool_error(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)],
                                is_error=True)


class McpProxy:
    def __init__(self, runner: GatedRunner, upstream: Upstream, *, server_name: str,
                 routes: dict[str, str] | None = None, wait: float,
                 expose: frozenset[str] = frozenset()) -> None:
        self.runner = runner
        self.upstream = upstream
        self.server_name = server_name
        self.routes = dict(routes or {})
        self.wait = wait
        self.expose = expose

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

    # ------------------------------------------------------------------ MCP handlers: tools

    async def list_tools(self, ctx: Any, params: types.PaginatedRequestParams | None
                         ) -> types.ListToolsResult:
        session = await self._alive_or_mcp_error()
        result = await session.list_tools(params=params)
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

        async def forward(session: ClientSession, signed: dict[str, Any]) -> Executed:
            result = await session.call_tool(name, signed)
            return Executed(result, succeeded=not result.is_error,
                            result={"sha256": result_digest(result),
                                    "is_error": bool(result.is_error)})
        return await self._execute(proposal, forward, on_failure=tool_error)

    async def _execute(self, proposal, forward: Callable[[ClientSession, dict[str, Any]],  # noqa: ANN001
                                                         Awaitable[Executed]],
                       on_failure: Callable[[str], Any]) -> Any:  # noqa: ANN401
        """Claim and run `proposal` once on a live upstream session, with the signed params.

        The upstream is pinged first (reconnecting once if it went away): a dead upstream
        leaves the proposal unclaimed, approved if it was, for a retry. If it fails during
        the call, the receipt says so and `on_failure(text)` is the answer; if it went away,
        the session is dropped, so that the next call starts or reaches it again."""
        try:
            session = await self.upstream.alive()
        except InvalidData as e:
            raise InvalidData("upstream", f"{e.message}. Proposal {proposal.hash} was not "
                              "executed and is kept: repeat the same call once the upstream "
                              "is back.") from e
        gone: list[Exception] = []

        def run_once(signed: dict[str, Any]) -> Executed:  # Gate.execute's worker thread
            try:
                return anyio.from_thread.run(forward, session, signed)
            except MCPError as e:
                if e.code == types.CONNECTION_CLOSED:  # the SDK's word for "it went away"
                    gone.append(e)
                    text = f"Foureyes: [upstream] the upstream MCP server went away: {e.message}"
                    state = "gone"
                else:  # it answered with an error: it is there
                    text = f"Foureyes: [upstream] the upstream MCP server answered: {e.message}"
                    state = "error"
            except Exception as e:  # noqa: BLE001 - the upstream failed: a failed receipt
                gone.append(e)
                text = f"Foureyes: [upstream] the upstream MCP server failed: {e!r}"
                state = "gone"
            return Executed(on_failure(text), succeeded=False,
                            result={"sha256": sha256_hex(text.encode()), "is_error": True,
                                    "upstream": state})

        with anyio.CancelScope(shield=True):  # once claimed, the receipt must be recorded
            run = await anyio.to_thread.run_sync(self.runner.execute, proposal, run_once)
        if gone:
            self.upstream.drop(session)
        return run.value

    async def _wait(self, ctx: Any, proposal) -> bool:  # noqa: ANN001 - a Proposal
        """True once approved; False when the bound passed (still pending)."""
        start = anyio.current_time()
        while True:
            elapsed = anyio.current_time() - start
            view = await anyio.to_thread.run_sync(
                self.runner.poll, proposal, min(self.runner.slice, max(0.0, self.wait - elapsed)))
            await _client_still_there(ctx, proposal)
            if view.status == "approved":
                return True
            elapsed = anyio.current_time() - start
            if elapsed >= self.wait:
                return False
            await _progress(ctx, elapsed, self.wait,
                            f"waiting for reviewers: proposal {proposal.hash}")

    async def _alive_or_mcp_error(self) -> ClientSession:
        try:
            return await self.upstream.alive()
        except FoureyesError as e:
            raise MCPError(code=types.INTERNAL_ERROR, message=f"Foureyes: {e.diagnostics()}"
                           ) from e

    # ------------------------------------------------------------------ resources, prompts

    async def _read_like(self, route: str, params: dict[str, Any], what: str,
                         send: Callable[[ClientSession], Awaitable[Any]]) -> Any:  # noqa: ANN401
        """A resource read or a prompt: open routes run at once, logged with a receipt;
        everything else is refused as a JSON-RPC error (these carry no summary)."""
        try:
            if self.runner.approvals(route, params) > 0:
                raise InvalidData("config", f"route {route} needs approval, and {what} cannot "
                                  "carry a summary for reviewers: the proxy refuses it. Make "
                                  "the rule approvals = 0 to allow it, or deny it.")
            submitted = await anyio.to_thread.run_sync(
                self.runner.submit, route, params, default_summary(f"{what} {params}"[:200]))

            async def forward(session: ClientSession, signed: dict[str, Any]) -> Executed:
                result = await send(session)
                return Executed(result, succeeded=True, result={"sha256": sha256_hex(
                    result.model_dump_json(by_alias=True, exclude_none=True).encode())})
            out = await self._execute(submitted.proposal, forward, on_failure=lambda t: t)
        except FoureyesError as e:
            raise MCPError(code=types.INVALID_REQUEST, message=f"Foureyes refused: "
                           f"{e.diagnostics()}") from e
        if isinstance(out, str):  # the upstream failed during the read
            raise MCPError(code=types.INTERNAL_ERROR, message=out)
        return out

    async def list_resources(self, ctx: Any, params: types.PaginatedRequestParams | None
                             ) -> types.ListResourcesResult:
        return await (await self._alive_or_mcp_error()).list_resources(params=params)

    async def list_resource_templates(self, ctx: Any,
                                      params: types.PaginatedRequestParams | None
                                      ) -> types.ListResourceTemplatesResult:
        return await (await self._alive_or_mcp_error()).list_resource_templates(params=params)

    async def read_resource(self, ctx: Any, params: types.ReadResourceRequestParams
                            ) -> types.ReadResourceResult:
        uri = str(params.uri)
        return await self._read_like(f"mcp.{self.server_name}.resources/read", {"uri": uri},
                                     "a resource read", lambda s: s.read_resource(uri))

    async def list_prompts(self, ctx: Any, params: types.PaginatedRequestParams | None
                           ) -> types.ListPromptsResult:
        return await (await self._alive_or_mcp_error()).list_prompts(params=params)

    async def get_prompt(self, ctx: Any, params: types.GetPromptRequestParams
                         ) -> types.GetPromptResult:
        args = dict(params.arguments or {})
        return await self._read_like(f"mcp.{self.server_name}.prompts/get",
                                     {"name": params.name, "arguments": args}, "a prompt",
                                     lambda s: s.get_prompt(params.name, args))

    def server(self) -> Server:
        handlers: dict[str, Any] = {"on_list_tools": self.list_tools,
                                    "on_call_tool": self.call_tool}
        if "resources" in self.expose:
            handlers.update(on_list_resources=self.list_resources,
                            on_list_resource_templates=self.list_resource_templates,
                            on_read_resource=self.read_resource)
        if "prompts" in self.expose:
            handlers.update(on_list_prompts=self.list_prompts, on_get_prompt=self.get_prompt)
        return Server("foureyes-proxy", version="1", **handlers)


async def _client_still_there(ctx: Any, proposal) -> None:  # noqa: ANN001 - a Proposal
    """Over HTTP, a client that drops its connection mid-wait is not a cancellation to the
    SDK (the 2025 transport lets a client resume a stream), so the handler would go on
    waiting and run the call on approval for nobody. Check the request's connection after
    every slice and stop: nothing runs, and the proposal is kept for the same call later.
    Over stdio the client leaving ends the process, so there is nothing to check."""
    request = getattr(ctx, "request", None)
    is_disconnected = getattr(request, "is_disconnected", None)
    if is_disconnected is not None and await is_disconnected():
        log.warning("the client disconnected while proposal %s waited; nothing ran, the "
                    "proposal is kept", proposal.hash)
        raise InvalidData("pending", f"the client disconnected while proposal "
                          f"{proposal.hash} waited; nothing ran. {retry_hint(proposal)}")


async def _progress(ctx: Any, done: float, total: float, message: str) -> None:
    with contextlib.suppress(Exception):  # progress is advisory; the wait goes on
        await ctx.session.report_progress(done, total, message)


@contextlib.asynccontextmanager
async def running_proxy(runner: GatedRunner, *, command: list[str] | None, url: str | None,
                        server_name: str, routes: dict[str, str], wait: float,
                        expose: frozenset[str] = frozenset()):  # noqa: ANN201
    """A proxy whose upstream owner task runs for the duration; the first connection is
    made here, so a broken upstream command fails at start rather than at the first call."""
    from core.integrations.mcp_upstream import connector

    upstream = Upstream(connector(command, url), " ".join(command) if command else str(url))
    async with anyio.create_task_group() as tg:
        await tg.start(upstream.run)
        try:
            await upstream.session()
            yield McpProxy(runner, upstream, server_name=server_name, routes=routes,
                           wait=wait, expose=expose)
        finally:
            upstream.close()
            tg.cancel_scope.cancel()


async def serve_stdio(runner: GatedRunner, **options: Any) -> None:
    """Connect to the upstream, then serve MCP on our stdin/stdout until the client leaves."""
    from mcp.server.stdio import stdio_server

    async with running_proxy(runner, **options) as proxy:
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
