"""`foureyes policy ...`: validate a policy, and derive what an auditor needs from one."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from core.bundle.trust import load_trust, read_limited
from core.errors import InvalidData
from core.policy.lint import lint
from core.policy.model import MAX_POLICY_BYTES, Policy
from core.textsafety import shown

EXIT_FAILED = 1
EXIT_USAGE = 2


def register(group: click.Group) -> None:
    group.add_command(policy)


@click.group()
def policy() -> None:
    """Work with policy.toml files."""


def _load(file: Path) -> Policy:
    """Read within MAX_POLICY_BYTES (stat first) and parse; a bad file ends in one sentence."""
    try:
        return Policy.from_bytes(read_limited(file, MAX_POLICY_BYTES, "policy", "policy file"))
    except InvalidData as e:
        click.echo(f"error: {e.diagnostics()}", err=True)
        sys.exit(EXIT_FAILED)


@policy.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def check(file: Path) -> None:
    """Validate FILE, warn about rules that can never match, and print its hash last."""
    parsed = _load(file)
    click.echo(f"policy {shown(repr(parsed.name))}: {len(parsed.approvers)} approvers, "
               f"{len(parsed.gates)} gates, {len(parsed.rules)} rules, default {parsed.default}")
    for warning in lint(parsed):
        click.echo(f"warning: {shown(warning)}")
    click.echo(parsed.hash)


@policy.command("allowed-signers")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--trust", "trust_path", type=click.Path(dir_okay=False, path_type=Path),
              help="trust.toml: refuse unless FILE's hash is one of its policies.")
def allowed_signers(file: Path, trust_path: Path | None) -> None:
    """Print an allowed_signers file for ssh-keygen from a policy you trust.

    Each approver gets namespaces="foureyes-decision-v1", each gate
    namespaces="foureyes-receipt-v1". The first line is a comment with the policy's hash
    (also printed on stderr): compare it with your trust.toml, because a bundle's own
    allowed_signers is written by whoever made the bundle.
    """
    parsed = _load(file)
    if trust_path is not None:
        try:
            trust = load_trust(trust_path)
        except InvalidData as e:
            click.echo(f"error: {e.diagnostics()}", err=True)
            sys.exit(EXIT_USAGE)
        if parsed.hash not in trust.policies:
            click.echo(f"error: [policy_hash] policy {parsed.hash} is not in {trust_path}",
                       err=True)
            sys.exit(EXIT_FAILED)
    click.echo(f"# policy {shown(repr(parsed.name))} {parsed.hash}")
    click.echo(parsed.allowed_signers(), nl=False)
    click.echo(f"policy {shown(repr(parsed.name))} {parsed.hash}"
               + (" is in the trust file" if trust_path is not None
                  else ": compare this hash with your trust.toml"), err=True)
