"""`foureyes mcp proxy --listen HOST:PORT`: the same proxy served over streamable HTTP.

For MCP clients that connect to a URL instead of launching a command, and for several
agents sharing one gated upstream. Built on the `mcp` SDK's streamable HTTP app (one
session per client, progress as server-sent events), run by uvicorn in the proxy's own
event loop, beside the upstream connection. What keeps it from being an open door:

- **Loopback only, unless asked.** A non-loopback address is refused unless
  `allow_remote` is set, and then only with a bearer token: an unauthenticated gate must
  never end up on a network by accident. (Plain HTTP: put TLS in front of a remote bind.)
- **DNS rebinding protection** (the SDK's Host/Origin checks), always on: the Host header
  must name the address and port actually bound (`localhost` too, for loopback, plus any
  `allowed_hosts`), and a browser's Origin must be that same origin. A web page the
  agent's user visits cannot talk to the proxy.
- **Optional bearer token** (required for remote binds), compared in constant time; a
  request without it gets 401 `unauthenticated` before it reaches the MCP layer. The token
  comes from a file or the environment, never from the command line (`ps` shows that).

The proxy binds its socket itself, so `PORT` may be 0; it then announces the URL it
serves on stderr (`ANNOUNCE`), which scripts and tests read.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import socket
import sys
from pathlib import Path
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from core.errors import InvalidData
from core.integrations._runner import GatedRunner
from core.integrations.config import MAX_TOKEN_BYTES, _read_bounded

ANNOUNCE = "foureyes mcp proxy: serving "  # then the URL, on one stderr line
MCP_PATH = "/mcp"
TOKEN_ENV = "FOUREYES_MCP_TOKEN"
MIN_TOKEN_CHARS = 32


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT`, `[V6]:PORT` or `localhost:PORT` into (IP literal, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise InvalidData("config", f"--listen takes HOST:PORT, not {text!r}")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if host == "localhost":
        host = "127.0.0.1"
    try:
        ipaddress.ip_address(host)
    except ValueError as e:
        raise InvalidData("config", f"--listen needs an IP address (or localhost), not "
                          f"{host!r}: a name could resolve somewhere unexpected") from e
    return host, int(port)


def is_loopback(host: str) -> bool:
    return ipaddress.ip_address(host).is_loopback


def check_bind(host: str, *, allow_remote: bool, token: str | None) -> None:
    """Refuse a network-facing bind unless explicitly allowed and authenticated."""
    if is_loopback(host):
        return
    if not allow_remote:
        raise InvalidData("config", f"{host} is not a loopback address: the proxy would be "
                          "reachable from the network. Bind 127.0.0.1, or pass --allow-remote "
                          "with a bearer token if that is really meant.")
    if not token:
        raise InvalidData("config", f"listening on {host} (not loopback) needs a bearer token "
                          "(--token-file or FOUREYES_MCP_TOKEN): refusing an unauthenticated "
                          "gate on the network")


def security_settings(host: str, port: int, extra_hosts: tuple[str, ...] = ()):  # noqa: ANN201
    """The SDK's DNS-rebinding protection, pinned to the bound address and port."""
    from mcp.server.transport_security import TransportSecuritySettings

    shown = f"[{host}]" if ":" in host else host
    names = [shown, *(["localhost"] if is_loopback(host) else []), *extra_hosts]
    hosts = [f"{n}:{port}" for n in names]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts,
        allowed_origins=[f"{scheme}://{h}" for h in hosts for scheme in ("http", "https")])


class BearerToken:
    """ASGI wrapper: every HTTP request must carry `Authorization: Bearer <token>`."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given = Headers(scope=scope).get("authorization", "").encode()
            if not hmac.compare_digest(given, self.expected):
                response = JSONResponse(
                    {"code": "unauthenticated", "message": "send the proxy's bearer token"},
                    status_code=401, headers={"WWW-Authenticate": 'Bearer realm="foureyes-mcp"'})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def read_token(path: Path | None) -> str | None:
    """The bearer token from $FOUREYES_MCP_TOKEN or a file; refused if too short to guess."""
    value = os.environ.get(TOKEN_ENV)
    if not value and path is not None:
        value = _read_bounded(path, MAX_TOKEN_BYTES).decode("utf-8", "replace")
    if not value:
        return None
    value = value.strip()
    if len(value) < MIN_TOKEN_CHARS or not value.isprintable() or " " in value:
        raise InvalidData("config", f"the proxy's bearer token must be at least "
                          f"{MIN_TOKEN_CHARS} printable characters without spaces")
    return value


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, reuse_port=False)
    except OSError as e:
        raise InvalidData("config", f"cannot listen on {host}:{port}: {e.strerror}") from e


async def serve_http(runner: GatedRunner, *, listen: str, token: str | None = None,
                     allow_remote: bool = False, allowed_hosts: tuple[str, ...] = (),
                     **options: Any) -> None:
    """Connect to the upstream, then serve MCP at http://HOST:PORT/mcp until stopped."""
    import uvicorn

    from core.integrations.mcp_proxy import running_proxy

    host, port = parse_listen(listen)
    check_bind(host, allow_remote=allow_remote, token=token)
    sock = bind(host, port)
    port = sock.getsockname()[1]
    async with running_proxy(runner, **options) as proxy:
        app: ASGIApp = proxy.server().streamable_http_app(
            streamable_http_path=MCP_PATH, host=host,
            transport_security=security_settings(host, port, allowed_hosts))
        if token:
            app = BearerToken(app, token)
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                                timeout_graceful_shutdown=5)
        server = uvicorn.Server(config)
        shown = f"[{host}]" if ":" in host else host
        print(f"{ANNOUNCE}http://{shown}:{port}{MCP_PATH}", file=sys.stderr, flush=True)
        await server.serve(sockets=[sock])
