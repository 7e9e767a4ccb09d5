"""`foureyes exec --route R -- CMD ARG...`: run a command only after two people approve it."""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

import click


def register(group: click.Group) -> None:
    group.add_command(exec_command)


@click.command("exec", context_settings={"ignore_unknown_options": True})
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Gate configuration (default: $FOUREYES_CONFIG).")
@click.option("--route", required=True, help="The policy route of this command.")
@click.option("--env", "env_names", multiple=True, metavar="NAME",
              help="Put this variable's current value into the proposal and run with it.")
@click.option("--clean-env", is_flag=True,
              help="Run with only the --env variables (default: inherit the rest unsigned).")
@click.option("--summary", "summary_json", default=None,
              help='JSON summary {"title", "why", "blast_radius", "reversibility", '
                   '"evidence"}; or use the options below.')
@click.option("--title", default=None, help="Default: the command line.")
@click.option("--why", default=None, help="Why this command must run (shown to reviewers).")
@click.option("--blast-radius", default=None,
              help="What it can touch if it goes wrong (shown to reviewers).")
@click.option("--reversibility", default="irreversible", show_default=True,
              type=click.Choice(["irreversible", "partially_reversible", "reversible"]),
              help="Can it be undone? The agent's claim; reviewers confirm every approval "
              "by fingerprint regardless.")
@click.option("--wait", type=float, default=None,
              help="Seconds to wait for reviewers (default: the config's wait); then exit 75 "
                   "and run the same command again to keep waiting.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_command(config_path: Path | None, route: str, env_names: tuple[str, ...],
                 clean_env: bool, summary_json: str | None, title: str | None,
                 why: str | None, blast_radius: str | None, reversibility: str,
                 wait: float | None, command: tuple[str, ...]) -> None:
    """Propose the exact command, wait for approval, run it once, exit with its status.

    \b
    Exit: the command's status once it ran; 75 still pending (run again to attach to the
    same proposal); 77 rejected, expired, denied or already run; 69 queue unreachable or
    command not found; 78 configuration or summary unusable.
    """
    from core.errors import FoureyesError
    from core.gate import StillPending
    from core.integrations import GatedRunner, load_config
    from core.integrations.command import (
        EXIT_CONFIG,
        EXIT_PENDING,
        EXIT_REFUSED,
        EXIT_UNAVAILABLE,
        command_params,
        run_signed,
    )
    from core.integrations.summary import summary_from

    argv = list(command)
    try:
        if summary_json is not None:
            try:
                given = json.loads(summary_json)
            except ValueError as e:
                raise click.UsageError(f"--summary must be JSON: {e}") from e
        else:
            given = {"title": (title or f"run {shlex.join(argv)}")[:200],
                     "why": why or "", "blast_radius": blast_radius or "",
                     "reversibility": reversibility, "evidence": []}
        config = load_config(config_path)
        params = command_params(argv, cwd=os.getcwd(), env_names=list(env_names),
                                environ=dict(os.environ), clean_env=clean_env)
        runner = GatedRunner.from_config(config)
    except FoureyesError as e:
        click.echo(f"foureyes exec: {e.diagnostics()}", err=True)
        sys.exit(EXIT_UNAVAILABLE if e.code in ("upstream", "unreachable") else EXIT_CONFIG)
    try:
        summary = summary_from(given, tool=argv[0], required=runner.approvals(route, params) > 0)

        def tick(elapsed: float) -> None:
            click.echo(f"foureyes exec: waiting for reviewers ({elapsed:.0f} s)", err=True)

        submitted = runner.submit(route, params, summary)
        click.echo(f"foureyes exec: proposal {submitted.proposal.hash}"
                   f"{' (attached to the earlier one)' if submitted.attached else ''}",
                   err=True)
        if submitted.approvals > 0:
            runner.wait(submitted.proposal, config.wait if wait is None else wait, tick)
        result = runner.execute(submitted.proposal, run_signed)
    except StillPending as e:
        from core.textsafety import shown

        click.echo(f"foureyes exec: {shown(e.message)}", err=True)
        sys.exit(EXIT_PENDING)
    except FoureyesError as e:
        click.echo(f"foureyes exec: {e.diagnostics()}", err=True)
        if e.code in ("unreachable", "upstream", "storage"):
            sys.exit(EXIT_UNAVAILABLE)
        sys.exit(EXIT_CONFIG if e.code in ("config", "summary", "format") else EXIT_REFUSED)
    finally:
        runner.close()
    status = result.value
    sys.exit(status if status >= 0 else 128 - status)
