"""`foureyes verify BUNDLE`: the auditor's offline check, with the exit codes of SPEC §9."""

from __future__ import annotations

from pathlib import Path

import click

from core.cli.verify_run import EXIT_USAGE, render, run

__all__ = ["EXIT_USAGE", "register", "render", "verify_command"]


def register(group: click.Group) -> None:
    group.add_command(verify_command)


@click.command("verify")
@click.argument("bundle", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--trust", "trust_path", type=click.Path(dir_okay=False, path_type=Path),
              help="trust.toml with the policy hashes and log keys you accept.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON report object.")
def verify_command(bundle: Path, trust_path: Path | None, as_json: bool) -> None:
    """Verify a .foureyes proof bundle offline (exit 0 valid, 1 failed, 2 unusable, 3 no trust)."""
    run(bundle, trust_path, as_json, click.echo)
