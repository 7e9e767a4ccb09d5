"""`foureyes log verify` and `foureyes log keygen`: check a whole audit log, make a log key."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import click
import sqlite_utils


def register(group: click.Group) -> None:
    group.add_command(log)


@click.group()
def log() -> None:
    """The tamper-evident audit log."""


@log.command("verify")
@click.option("--db", "db_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The SQLite file holding the log (DATA/server.sqlite, or a folder's log).")
@click.option("--checkpoint", "extra", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Also check this signed checkpoint (e.g. one an auditor kept earlier).")
@click.option("--key", "keys", multiple=True, help="Trusted log verifier key (repeatable).")
def verify(db_path: Path, extra: tuple[Path, ...], keys: tuple[str, ...]) -> None:
    """Recompute every entry and root; check every checkpoint; name the first bad index."""
    from core.log.note import LogVerifier
    from core.log.store import verify_store

    trusted = [LogVerifier.from_text(k) for k in keys]
    uri = f"file:{db_path}?mode=ro"
    db = sqlite_utils.Database(sqlite3.connect(uri, uri=True))
    report = verify_store(db, trusted, [p.read_text("utf-8") for p in extra])
    click.echo(f"{report.size} entries, {report.checkpoints} checkpoints checked"
               + ("" if trusted else " (signatures not checked: no --key given)"))
    for problem in report.problems:
        click.echo(f"✗ {problem}")
    if report.first_bad_index is not None:
        click.echo(f"first bad index: {report.first_bad_index}")
    if report.ok:
        click.echo("✓ the log is consistent with every checkpoint")
    sys.exit(0 if report.ok else 1)


@log.command("keygen")
@click.option("--name", required=True, help="The log's origin, e.g. queue.example.com/foureyes")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
def keygen(name: str, output: Path) -> None:
    """Make a log signing key (0600) and print the verifier key for the policy."""
    from core.log.keyfile import save_log_key
    from core.log.note import LogSigner

    signer = LogSigner.generate(name)
    save_log_key(output, signer)
    click.echo(signer.verifier_key)
