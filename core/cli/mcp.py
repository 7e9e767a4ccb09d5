"""`foureyes mcp proxy`: gate an MCP server's tools by configuration (core.integrations)."""

from __future__ import annotations

import logging
from pathlib import Path

import click


class ShownFormatter(logging.Formatter):
    """Log lines with their control, bidi and look-alike characters made visible.

    The proxy's stderr is read on a terminal or in the agent host's log viewer, and what it
    logs (the SDK's complaints about a request, an upstream's error) quotes text the agent
    or the upstream server chose. Line breaks stay (a traceback), indented, so no line the
    quoted text draws can pass for one of the proxy's own."""

    def format(self, record: logging.LogRecord) -> str:
        from core.textsafety import shown_lines

        return shown_lines(super().format(record), "    ")


def stderr_handler() -> logging.Handler:
    handler = logging.StreamHandler()
    handler.setFormatter(ShownFormatter("foureyes mcp proxy: %(message)s"))
    return handler


def register(group: click.Group) -> None:
    group.add_command(mcp)


@click.group()
def mcp() -> None:
    """Model Context Protocol integrations."""


@mcp.command(context_settings={"ignore_unknown_options": True})
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Gate configuration (default: $FOUREYES_CONFIG).")
@click.option("--name", "server_name", required=True,
              help="The upstream's name in routes: mcp.<name>.<tool>.")
@click.option("--route", "routes", multiple=True, metavar="TOOL=ROUTE",
              help="Map one tool to another route (repeatable).")
@click.option("--wait", type=float, default=None,
              help="Seconds one call waits for reviewers before answering 'pending' "
                   "(default: the config's wait).")
@click.option("--progress-every", type=float, default=5.0, show_default=True,
              help="Seconds between progress notifications while a call waits.")
@click.option("--upstream-url", default=None, metavar="URL",
              help="Reach the upstream over streamable HTTP instead of a command.")
@click.option("--expose", multiple=True, type=click.Choice(["resources", "prompts"]),
              help="Also serve the upstream's resources or prompts, each read checked "
                   "against the policy (default: tools only).")
@click.option("--listen", default=None, metavar="HOST:PORT",
              help="Serve streamable HTTP at http://HOST:PORT/mcp instead of stdio "
                   "(loopback only unless --allow-remote; PORT 0 picks a free one).")
@click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --listen: clients must send this bearer token "
                   "(or set FOUREYES_MCP_TOKEN).")
@click.option("--allow-remote", is_flag=True,
              help="With --listen: allow a non-loopback address (needs a bearer token).")
@click.option("--allowed-host", "allowed_hosts", multiple=True, metavar="NAME",
              help="With --listen: another Host name clients use (DNS-rebinding check).")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def proxy(config_path: Path | None, server_name: str, routes: tuple[str, ...],
          wait: float | None, progress_every: float, upstream_url: str | None,
          expose: tuple[str, ...], listen: str | None, token_file: Path | None,
          allow_remote: bool, allowed_hosts: tuple[str, ...], command: tuple[str, ...]) -> None:
    """Serve the upstream MCP server's tools on stdio (or HTTP), each call gated by the policy.

    \b
    foureyes mcp proxy --config gate.toml --name bank -- python bank_server.py
    foureyes mcp proxy --config gate.toml --name bank --listen 127.0.0.1:8765 -- python bank_server.py
    """
    try:
        import anyio

        from core.integrations.mcp_http import check_bind, parse_listen, read_token, serve_http
        from core.integrations.mcp_proxy import parse_routes, serve_stdio
    except ImportError as e:
        raise click.UsageError(f"the MCP proxy needs the mcp extra: pip install "
                               f"'foureyes[mcp]' ({e})") from e
    from core.errors import FoureyesError
    from core.integrations import GatedRunner, load_config

    if bool(command) == bool(upstream_url):
        raise click.UsageError("give the upstream as -- COMMAND ARGS or --upstream-url URL")
    if listen is None and (token_file or allow_remote or allowed_hosts):
        raise click.UsageError("--token-file, --allow-remote and --allowed-host go with --listen")
    config = load_config(config_path)
    route_map = parse_routes(routes)
    options = {"command": list(command) or None, "url": upstream_url,
               "server_name": server_name, "routes": route_map,
               "wait": config.wait if wait is None else wait, "expose": frozenset(expose)}
    if listen is not None:  # refuse a bad bind before anything starts
        token = read_token(token_file)
        check_bind(parse_listen(listen)[0], allow_remote=allow_remote, token=token)
    logging.basicConfig(level=logging.WARNING, handlers=[stderr_handler()])
    runner = GatedRunner.from_config(config)
    runner.slice = max(0.1, progress_every)
    try:
        if listen is None:
            anyio.run(lambda: serve_stdio(runner, **options))
        else:
            anyio.run(lambda: serve_http(runner, listen=listen, token=token,
                                         allow_remote=allow_remote,
                                         allowed_hosts=allowed_hosts, **options))
    except BaseExceptionGroup as group:  # task groups wrap what they carry: show the cause
        inner: BaseException = group
        while isinstance(inner, BaseExceptionGroup) and len(inner.exceptions) == 1:
            inner = inner.exceptions[0]
        if isinstance(inner, FoureyesError | KeyboardInterrupt):
            raise inner from None
        raise
    finally:
        runner.close()
