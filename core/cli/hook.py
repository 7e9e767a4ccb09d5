"""`foureyes hook claude-code`: gate a coding agent's tool calls through its hook contract."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


def register(group: click.Group) -> None:
    group.add_command(hook)


@click.group()
def hook() -> None:
    """Coding-agent hooks (fail closed: every failure answers deny)."""


@hook.command("claude-code")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Gate configuration (default: $FOUREYES_CONFIG).")
@click.option("--wait", type=float, default=None,
              help="Seconds to wait for reviewers before denying with the proposal id "
                   "(default 30; keep it below the hook's timeout).")
@click.option("--route-prefix", default="claude-code", show_default=True,
              help="Routes are PREFIX.<tool name>; write policy rules for them.")
def claude_code(config_path: Path | None, wait: float | None, route_prefix: str) -> None:
    """Claude Code PreToolUse hook: JSON event on stdin, decision JSON on stdout."""
    from core.integrations.claude_code import (
        DEFAULT_HOOK_WAIT,
        MAX_HOOK_INPUT,
        deny,
        handle,
        parse_event,
    )

    runner = None
    try:
        event = parse_event(sys.stdin.buffer.read(MAX_HOOK_INPUT + 1))
        from core.integrations import GatedRunner, load_config

        runner = GatedRunner.from_config(load_config(config_path))
        answer = handle(event, runner, wait=DEFAULT_HOOK_WAIT if wait is None else wait,
                        prefix=route_prefix)
    except Exception as e:  # noqa: BLE001 - fail closed: anything unexpected denies
        diag = e.diagnostics() if hasattr(e, "diagnostics") else f"{type(e).__name__}: {e}"
        answer = deny(f"the gate failed, so the call must not run: {diag}")
    finally:
        if runner is not None:
            runner.close()
    click.echo(json.dumps(answer))
