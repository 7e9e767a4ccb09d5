"""`foureyes keys ...`: create, show, export and rotate a signing key."""

from __future__ import annotations

from pathlib import Path

import click

from core.cli.common import identity_options
from core.formats.fields import identity as check_identity
from core.signing import allowed_signers_line, key_source

NAMESPACES = ("foureyes-decision-v1", "foureyes-login-v1")
ALL_NAMESPACES = (*NAMESPACES, "foureyes-receipt-v1", "foureyes-release-v1")


def register(group: click.Group) -> None:
    group.add_command(keys)


@click.group()
def keys() -> None:
    """Signing keys: in the OS keyring by default, or in a 0600 key file."""


@keys.command("new")
@identity_options
def new(identity: str, key_file: Path | None) -> None:
    """Create a key for ID (refuses to overwrite an existing one)."""
    check_identity(identity, "--identity", ("human", "gate"))
    source = key_source(key_file)
    key = source.create(identity)
    click.echo(f"Created a key for {identity} in {source.describe()}.")
    click.echo(key.openssh())
    click.echo(key.fingerprint)


@keys.command("show")
@identity_options
def show(identity: str, key_file: Path | None) -> None:
    """Print the public key line, then its SHA256 fingerprint."""
    source = key_source(key_file)
    key = source.public_key(identity)
    click.echo(key.openssh())
    click.echo(key.fingerprint)
    previous = source.previous_public_key(identity)
    if previous is not None:
        click.echo(f"previous key still kept: {previous.fingerprint}")


@keys.command("export")
@identity_options
@click.option("--namespace", "namespaces", multiple=True,
              type=click.Choice(ALL_NAMESPACES),
              help="Namespace the line allows (repeatable). Default: decisions and login, "
              "for the security team's policy; foureyes-release-v1 gives a "
              "release_signers line.")
def export(identity: str, key_file: Path | None, namespaces: tuple[str, ...]) -> None:
    """Print an allowed_signers line to hand to the security team (or release team)."""
    key = key_source(key_file).public_key(identity)
    click.echo(allowed_signers_line(identity, key, namespaces or NAMESPACES))


@keys.command("rotate")
@identity_options
@click.option("--remove-previous", is_flag=True, help="Delete the kept previous key instead.")
def rotate(identity: str, key_file: Path | None, remove_previous: bool) -> None:
    """Make a new current key; the old one is kept until --remove-previous."""
    source = key_source(key_file)
    if remove_previous:
        source.remove_previous(identity)
        click.echo(f"Removed the previous key of {identity}.")
        return
    key = source.rotate(identity)
    click.echo(f"New key for {identity} (the previous one is kept until removed):")
    click.echo(key.openssh())
    click.echo(key.fingerprint)
