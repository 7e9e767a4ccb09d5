"""`foureyes folder init` and `foureyes folder gate-init`: set up a shared-folder queue."""

from __future__ import annotations

import base64
from pathlib import Path

import click
import nacl.public

from core.policy import Policy
from core.queue.safefs import SHARED_FILE_MODE, ShareRoot, Unsafe

SUBDIRS = ("proposals", "decisions", "receipts", "claims", "status", "bundles")
STATE_DIR_MODE = 0o700


def register(group: click.Group) -> None:
    group.add_command(folder)


@click.group()
def folder() -> None:
    """Shared-folder queues: a network share, or a USB stick for air-gapped reviewers."""


@folder.command("init")
@click.argument("root", type=click.Path(file_okay=False, path_type=Path))
@click.option("--policy", "policy_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path))
def init(root: Path, policy_path: Path) -> None:
    """Create the folder layout and copy the policy (refuses a non-empty foreign folder)."""
    from core.formats.canonical import MAX_DOCUMENT_BYTES

    data = policy_path.read_bytes()
    policy = Policy.from_bytes(data)
    root.mkdir(parents=True, exist_ok=True)
    share = ShareRoot(root)
    if any(root.iterdir()):
        try:
            existing = share.read(("policy.toml",), MAX_DOCUMENT_BYTES)
        except Unsafe as e:
            raise click.UsageError(f"{root}: {e.message}") from e
        if existing is None:
            raise click.UsageError(f"{root} is not empty and is not a Foureyes folder")
        if existing != data:
            raise click.UsageError(f"{root} already holds another policy")
    try:
        share.make_folders(SUBDIRS)  # a link where a folder belongs is refused, not followed
        share.write(("policy.toml",), data, exclusive=False, mode=SHARED_FILE_MODE)
    except Unsafe as e:
        raise click.UsageError(f"{root}: {e.message}") from e
    click.echo(f"Folder queue ready at {root} with policy {policy.name} {policy.hash}")


@folder.command("gate-init")
@click.argument("state", type=click.Path(file_okay=False, path_type=Path))
@click.option("--gate", "gate_id", required=True, help="The gate identity, e.g. gate:prod.")
@click.option("--log-name", required=True, help="The log origin, e.g. usb.example/foureyes.")
def gate_init(state: Path, gate_id: str, log_name: str) -> None:
    """Make the gate's private keys (signing, sealing, log) in STATE; print policy lines."""
    from core.formats.fields import identity
    from core.log.keyfile import save_log_key
    from core.log.note import LogSigner
    from core.signing import FileKeySource
    from core.signing.keyfile import write_private

    identity(gate_id, "--gate", ("gate",))
    state.mkdir(mode=STATE_DIR_MODE, parents=True, exist_ok=True)
    state.chmod(STATE_DIR_MODE)  # keys and the state database (verdicts) are the gate's alone
    key = FileKeySource(state / "gate.key").create(gate_id)
    seal = nacl.public.PrivateKey.generate()
    write_private(state / "seal.key", base64.b64encode(bytes(seal)).decode() + "\n")
    log = LogSigner.generate(log_name)
    save_log_key(state / "log.key", log)
    click.echo("Add to the policy:")
    click.echo(f'[[gates]]\nidentity = "{gate_id}"\nkey = "{key.openssh()}"\n'
               f'seal_key = "{base64.b64encode(bytes(seal.public_key)).decode()}"\n')
    click.echo(f'[[logs]]\nkey = "{log.verifier_key}"')


def gate_folder_queue(root: Path, state: Path, gate_id: str):  # noqa: ANN201 - FolderQueue
    """The gate side of a folder queue, from the keys `gate-init` made."""
    from core.log.keyfile import load_log_key
    from core.queue.folder import FolderQueue
    from core.signing.keyfile import read_private

    seal = base64.b64decode(read_private(state / "seal.key").strip())
    return FolderQueue(root, role="gate", identity=gate_id, state_dir=state,
                       seal_secret=seal, log_signer=load_log_key(state / "log.key"))
