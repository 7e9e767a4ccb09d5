"""`foureyes folder init` and `foureyes folder gate-init`: set up a shared-folder queue."""

from __future__ import annotations

import base64
from pathlib import Path

import click
import nacl.exceptions
import nacl.public

from core.policy import Policy
from core.policy.model import MAX_POLICY_BYTES
from core.queue.safefs import SHARED_FILE_MODE, ShareRoot, Unsafe
from core.textsafety import shown

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
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The policy to copy onto the folder (it needs a gate with a seal_key).")
def init(root: Path, policy_path: Path) -> None:
    """Create the folder layout and copy the policy (refuses a non-empty foreign folder)."""
    from core.formats.canonical import MAX_DOCUMENT_BYTES

    data = policy_path.read_bytes()
    policy = Policy.from_bytes(data)
    if not any(g.seal_key for g in policy.gates):
        raise click.UsageError(f"{policy_path} names no gate with a seal_key; a shared folder "
                               "needs one (see `foureyes folder gate-init`)")
    root.mkdir(parents=True, exist_ok=True)
    share = ShareRoot(root)
    if any(root.iterdir()):
        try:
            existing = share.read(("policy.toml",), MAX_DOCUMENT_BYTES)
        except Unsafe as e:
            raise click.UsageError(f"{root}: {shown(e.message)}") from e
        if existing is None:
            raise click.UsageError(f"{root} is not empty and is not a Foureyes folder")
        if existing != data:
            raise click.UsageError(f"{root} already holds another policy")
    try:
        share.make_folders(SUBDIRS)  # a link where a folder belongs is refused, not followed
        share.write(("policy.toml",), data, exclusive=False, mode=SHARED_FILE_MODE)
    except Unsafe as e:
        raise click.UsageError(f"{root}: {shown(e.message)}") from e
    click.echo(f"Folder queue ready at {root} with policy {shown(policy.name)} {policy.hash}")


@folder.command("gate-init")
@click.argument("state", type=click.Path(file_okay=False, path_type=Path))
@click.option("--gate", "gate_id", required=True, help="The gate identity, e.g. gate:prod.")
@click.option("--log-name", required=True, help="The log origin, e.g. usb.example/foureyes.")
def gate_init(state: Path, gate_id: str, log_name: str) -> None:
    """Make the gate's private keys (signing, sealing, log) in STATE; print policy lines."""
    made = make_gate_state(state, gate_id, log_name)
    click.echo("Add to the policy:", err=True)  # stdout is the TOML alone: `>> policy.toml`
    click.echo(made.policy_lines())


class GateKeys:
    """What `make_gate_state` made: the public halves, for the policy."""

    def __init__(self, identity: str, key: str, seal_key: str, log_key: str | None) -> None:
        self.identity, self.key, self.seal_key, self.log_key = identity, key, seal_key, log_key

    def policy_lines(self) -> str:
        out = (f'[[gates]]\nidentity = "{self.identity}"\nkey = "{self.key}"\n'
               f'seal_key = "{self.seal_key}"\n')
        if self.log_key:
            out += f'\n[[logs]]\nkey = "{self.log_key}"'
        return out


def make_gate_state(state: Path, gate_id: str, log_name: str | None) -> GateKeys:
    """The gate's private state directory (0700): gate.key, seal.key and, for a folder
    gate, the log key. Refuses to overwrite any of them."""
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
    log_key = None
    if log_name is not None:
        log = LogSigner.generate(log_name)
        save_log_key(state / "log.key", log)
        log_key = log.verifier_key
    return GateKeys(gate_id, key.openssh(), base64.b64encode(bytes(seal.public_key)).decode(),
                    log_key)


def gate_folder_queue(root: Path, state: Path, gate_id: str):  # noqa: ANN201 - FolderQueue
    """The gate side of a folder queue, from the keys `gate-init` made.

    A state directory that is not this gate's (another gate's keys, a typo, a fresh folder)
    is refused here: its seal key could open no decision, so waiting would never end.
    """
    from core.errors import InvalidData
    from core.log.keyfile import load_log_key
    from core.queue.folder import FolderQueue
    from core.signing import FileKeySource
    from core.signing.keyfile import read_private

    for name in ("gate.key", "seal.key", "log.key"):
        if not (state / name).is_file():
            raise InvalidData("gate", f"{state} is not a gate state directory (no {name}); "
                              "give the --gate-state that `folder gate-init` or "
                              "`foureyes init --transport folder` made")
    try:
        seal = base64.b64decode(read_private(state / "seal.key").strip(), validate=True)
        seal_public = bytes(nacl.public.PrivateKey(seal).public_key)
    except (ValueError, TypeError, nacl.exceptions.CryptoError) as e:
        raise InvalidData("gate", f"{state / 'seal.key'} is not a seal key") from e
    log_signer = load_log_key(state / "log.key")
    key = FileKeySource(state / "gate.key").public_key(gate_id)
    try:
        share_policy = ShareRoot(root).read(("policy.toml",), MAX_POLICY_BYTES)
    except Unsafe:
        share_policy = None  # the queue reports an unreadable share policy itself
    if share_policy is not None:
        try:
            policy = Policy.from_bytes(share_policy)
        except InvalidData:
            policy = None  # the queue reports a bad share policy itself
        if policy is not None:
            gate = policy.gate(gate_id)
            if gate is None or gate.key != key:
                raise InvalidData("gate", f"{state} holds the key of {gate_id} "
                                  f"{key.fingerprint}, which the folder's policy does not list "
                                  "for that gate: wrong --gate-state or --gate?")
            if gate.seal_key != seal_public:
                raise InvalidData("gate", f"the seal key in {state} is not {gate_id}'s "
                                  "seal_key in the folder's policy: reviewers' decisions "
                                  "could never be opened (wrong --gate-state?)")
            if log_signer.verifier_key not in policy.logs:
                raise InvalidData("gate", f"the log key in {state} is not in the folder's "
                                  "policy [[logs]] (wrong --gate-state?)")
    return FolderQueue(root, role="gate", identity=gate_id, state_dir=state,
                       seal_secret=seal, log_signer=log_signer)
