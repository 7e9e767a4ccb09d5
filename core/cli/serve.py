"""`foureyes serve` and `foureyes tokens create`: run the queue server, issue bearer tokens."""

from __future__ import annotations

import socket
from pathlib import Path

import click

from core.formats.fields import identity as check_identity


def register(group: click.Group) -> None:
    group.add_command(serve)
    group.add_command(tokens)


@click.command()
@click.option("--policy", "policy_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--data", "data_dir", required=True, type=click.Path(file_okay=False,
                                                                   path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8700, show_default=True, type=int,
              help="0 picks a free port and prints it.")
@click.option("--log-key", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The log's signing key file (default: DATA/log.key, made on first start).")
@click.option("--log-name", default="foureyes-queue", show_default=True,
              help="Origin (and key name) of a newly made log.")
@click.option("--checkpoint-file", type=click.Path(dir_okay=False, path_type=Path),
              default=None,
              help="Append every signed checkpoint to this file (O_APPEND, fsynced), kept "
              "outside the data directory; ship it elsewhere and check the log with "
              "`foureyes log verify --checkpoint FILE`. Default: DATA-checkpoints.txt "
              "beside DATA.")
@click.option("--max-open", default=20, show_default=True, help="Open proposals per agent.")
@click.option("--max-per-minute", default=30, show_default=True,
              help="New proposals per agent per minute.")
def serve(policy_path: Path, data_dir: Path, host: str, port: int, log_key: Path | None,
          log_name: str, checkpoint_file: Path | None, max_open: int,
          max_per_minute: int) -> None:
    """Run the queue server (SQLite in DATA, OpenAPI at /docs)."""
    import uvicorn

    from core.log.keyfile import load_or_create_log_key
    from core.server.app import create_app
    from core.server.service import Limits, QueueService
    from core.server.store import ServerStore

    signer, created = load_or_create_log_key(log_key or data_dir / "log.key", log_name)
    if created:
        click.echo(f"Created the log key. Add it to the policy's [[logs]]:\n"
                   f"  key = \"{signer.verifier_key}\"")
    checkpoint_file = checkpoint_file or default_checkpoint_file(data_dir)
    store = ServerStore(data_dir, checkpoint_file=checkpoint_file)
    service = QueueService(store, policy_path.read_bytes(), signer,
                           Limits(max_open, max_per_minute))
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)  # connections wait in the backlog until uvicorn accepts them
    bound = sock.getsockname()[1]
    click.echo(f"log verifier key: {signer.verifier_key}")
    click.echo(f"checkpoints appended to {checkpoint_file}")
    click.echo(f"policy {service.policy.name} {service.policy.hash}")
    click.echo(f"listening on http://{host}:{bound}", nl=True)
    config = uvicorn.Config(create_app(service), log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


def default_checkpoint_file(data_dir: Path) -> Path:
    """Beside the data directory, not in it: a copy of the data directory misses it."""
    data_dir = data_dir.resolve()
    return data_dir.parent / f"{data_dir.name}-checkpoints.txt"


@click.group()
def tokens() -> None:
    """Bearer tokens for agents, gates and auditors (stored hashed)."""


@tokens.command("create")
@click.option("--role", type=click.Choice(["agent", "gate", "auditor"]), required=True)
@click.option("--identity", required=True, help="agent:NAME, gate:NAME or a person.")
@click.option("--data", "data_dir", required=True, type=click.Path(file_okay=False,
                                                                   path_type=Path))
def create(role: str, identity: str, data_dir: Path) -> None:
    """Create a token and print it once; only its hash is kept."""
    from core.server.store import ServerStore

    kinds = {"agent": ("agent",), "gate": ("gate",), "auditor": ("human",)}[role]
    check_identity(identity, "--identity", kinds)
    store = ServerStore(data_dir)
    token = store.create_token(role, identity)
    store.close()
    click.echo(f"{role} token for {identity} (shown once):")
    click.echo(token)
