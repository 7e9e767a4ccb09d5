"""`foureyes release sign|verify|sums`: threshold-signed installers (SPEC §11)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from core.cli.common import identity_options


def register(group: click.Group) -> None:
    group.add_command(release)


@click.group()
def release() -> None:
    """Sign and verify release directories (SHA256SUMS + one signature per signer)."""


@release.command("sums")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("files", nargs=-1, required=True)
def sums(directory: Path, files: tuple[str, ...]) -> None:
    """Write DIRECTORY/SHA256SUMS for FILES (names relative to DIRECTORY)."""
    from core.release import write_sums

    click.echo(write_sums(directory, list(files)))


@release.command("sign")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@identity_options
def sign(directory: Path, identity: str, key_file: Path | None) -> None:
    """Sign DIRECTORY/SHA256SUMS with your key (foureyes-release-v1)."""
    from core.release import SUMS, sign_release
    from core.signing import key_source

    if not (directory / SUMS).is_file():
        raise click.UsageError(f"{directory} has no {SUMS}: make it first with "
                               f"`foureyes release sums {directory} FILE...`")
    path = sign_release(directory, identity, key_source(key_file).signer(identity))
    click.echo(f"wrote {path}")


@release.command("verify")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--signers", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="release_signers (allowed_signers format).")
@click.option("--threshold", required=True, type=click.IntRange(min=1),
              help="How many distinct listed signers must have signed.")
def verify(directory: Path, signers: Path, threshold: int) -> None:
    """Check every file and require THRESHOLD distinct valid signers."""
    from core.release import verify_release
    from core.textsafety import shown

    report = verify_release(directory, signers, threshold)
    for who in report.valid_signers:
        click.echo(f"✓ signed by {shown(who)}")
    for code, message in report.problems:  # they quote names from SHA256SUMS and .sig files
        click.echo(f"✗ [{shown(code)}] {shown(message)}")
    if report.missing:
        click.echo(f"missing signatures from: {shown(', '.join(report.missing))}")
    verdict = "VALID" if report.ok else "NOT VALID"
    click.echo(f"{verdict}: {len(report.valid_signers)} of {threshold} required signers")
    sys.exit(0 if report.ok else 1)
