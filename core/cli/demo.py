"""`foureyes demo`: run the whole two-person story locally, then show how to check it."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click


def register(group: click.Group) -> None:
    group.add_command(demo)


@click.command()
@click.option("--dir", "where", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to keep the demo files (default: a new temporary directory).")
def demo(where: Path | None) -> None:
    """Propose a payment, refuse a self-approval, approve twice, execute, export, verify."""
    from core.demo import run_demo

    root = where or Path(tempfile.mkdtemp(prefix="foureyes-demo-"))
    result = run_demo(root, click.echo)
    click.echo("")
    click.echo("Check it yourself:")
    click.echo(f"  foureyes verify {result.bundle} --trust {result.trust}")
    for line in result.ssh_keygen_lines:
        click.echo(f"  {line}")
    sys.exit(result.exit_code)
