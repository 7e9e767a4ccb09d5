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
              help="A file of signed checkpoints kept outside the store (the server's "
              "--checkpoint-file, or notes an auditor saved): the log must still extend "
              "every one of them. Repeatable.")
@click.option("--key", "keys", multiple=True, help="Trusted log verifier key (repeatable).")
def verify(db_path: Path, extra: tuple[Path, ...], keys: tuple[str, ...]) -> None:
    """Recompute every entry and root; check every checkpoint; name the first bad index.
    On a server store, also replay the log against its proposals, decisions and receipts.
    Always the whole log (streamed: memory stays flat); the server's own start-up check is
    the incremental one."""
    from core.errors import InvalidData
    from core.log.note import LogVerifier, split_notes
    from core.log.store import verify_store
    from core.server.replay import is_server_store, replay_store
    from core.textsafety import shown

    try:
        trusted = [LogVerifier.from_text(k) for k in keys]
    except InvalidData as e:
        raise click.BadParameter(shown(e.message), param_hint="--key") from e
    outside: list[tuple[str, str]] = []
    for path in extra:
        notes = split_notes(path.read_text("utf-8", "replace"))
        if not notes:
            click.echo(f"✗ {path.name!r} holds no checkpoint")
            sys.exit(1)
        outside += [(f"{n} of {len(notes)} in {path.name}", note)
                    for n, note in enumerate(notes, start=1)]
    from core.errors import TransportError

    uri = f"file:{db_path}?mode=ro"
    try:
        db = sqlite_utils.Database(sqlite3.connect(uri, uri=True))
        report = verify_store(db, trusted, outside)
        replayed = replay_store(db.conn) if is_server_store(db.conn) else None
    except sqlite3.Error as e:
        raise TransportError("storage", f"cannot read {db_path} as a Foureyes log: {e}") from e
    if trusted and report.ok and report.signed_size < report.size:
        # A server or a gate signs in the transaction that appends: an entry no checkpoint
        # covers was added by someone without the key.
        report.problems.append(f"entries {report.signed_size} to {report.size - 1} are "
                               "covered by no stored checkpoint signed by a trusted key")
        report.first_bad_index = report.signed_size
    click.echo(f"{report.size} entries, {report.checkpoints} checkpoints checked"
               + ("" if trusted else " (signatures not checked: no --key given)"))
    for problem in report.problems:
        click.echo(f"✗ {shown(problem)}")
    if report.first_bad_index is not None:
        click.echo(f"first bad index: {report.first_bad_index}")
    if report.first_bad_checkpoint is not None:
        click.echo(f"first checkpoint the log does not extend: {report.first_bad_checkpoint}")
    for problem in replayed or ():
        click.echo(f"✗ {shown(problem)}")
    ok = report.ok and not replayed
    if replayed is not None and not replayed:
        click.echo("✓ the store's proposals, decisions and receipts agree with the log")
    if report.ok:
        click.echo("✓ the log is consistent with every checkpoint")
    sys.exit(0 if ok else 1)


@log.command("keygen")
@click.option("--name", required=True, help="The log's origin, e.g. queue.example.com/foureyes")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the private key (0600); keep it outside the data "
              "directory. Never overwritten.")
def keygen(name: str, output: Path) -> None:
    """Make a log signing key (0600) and print the [[logs]] lines for the policy."""
    from core.log.keyfile import save_log_key
    from core.log.note import LogSigner

    signer = LogSigner.generate(name)
    save_log_key(output, signer)
    click.echo(f'[[logs]]\nkey = "{signer.verifier_key}"')
