"""`foureyes policy check FILE`: validate a policy before anyone relies on it."""

from __future__ import annotations

from pathlib import Path

import click

from core.policy.lint import lint
from core.policy.model import Policy


def register(group: click.Group) -> None:
    group.add_command(policy)


@click.group()
def policy() -> None:
    """Work with policy.toml files."""


@policy.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def check(file: Path) -> None:
    """Validate FILE, warn about rules that can never match, and print its hash last."""
    parsed = Policy.from_bytes(file.read_bytes())
    click.echo(f"policy {parsed.name!r}: {len(parsed.approvers)} approvers, "
               f"{len(parsed.gates)} gates, {len(parsed.rules)} rules, default {parsed.default}")
    for warning in lint(parsed):
        click.echo(f"warning: {warning}")
    click.echo(parsed.hash)
