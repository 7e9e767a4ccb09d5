"""`foureyes mcp proxy`: gate an MCP server's tools by configuration (core.integrations)."""

from __future__ import annotations

from pathlib import Path

import click


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
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def proxy(config_path: Path | None, server_name: str, routes: tuple[str, ...],
          wait: float | None, progress_every: float, upstream_url: str | None,
          command: tuple[str, ...]) -> None:
    """Serve the upstream MCP server's tools on stdio, each call gated by the policy.

    \b
    foureyes mcp proxy --config gate.toml --name bank -- python bank_server.py
    """
    try:
        import anyio

        from core.integrations.mcp_proxy import parse_routes, serve_stdio
    except ImportError as e:
        raise click.UsageError(f"the MCP proxy needs the mcp extra: pip install "
                               f"'foureyes[mcp]' ({e})") from e
    from core.integrations import GatedRunner, load_config

    if bool(command) == bool(upstream_url):
        raise click.UsageError("give the upstream as -- COMMAND ARGS or --upstream-url URL")
    config = load_config(config_path)
    route_map = parse_routes(routes)
    runner = GatedRunner.from_config(config)
    runner.slice = max(0.1, progress_every)
    try:
        anyio.run(lambda: serve_stdio(runner, command=list(command) or None, url=upstream_url,
                                      server_name=server_name, routes=route_map,
                                      wait=config.wait if wait is None else wait))
    finally:
        runner.close()
