"""`foureyes serve`: run the queue server. Tokens are issued by `foureyes tokens`."""

from __future__ import annotations

import socket
from pathlib import Path

import click


def register(group: click.Group) -> None:
    group.add_command(serve)


def default_log_key(data_dir: Path) -> Path:
    """Beside the data directory, never in it: a copy of the data (a backup, a store handed
    to an auditor) must not carry the key that signs the log's checkpoints."""
    data_dir = data_dir.absolute()
    return data_dir.with_name(data_dir.name + ".log.key")


def default_checkpoint_file(data_dir: Path) -> Path:
    """Beside the data directory, not in it: a copy of the data directory misses it."""
    data_dir = data_dir.absolute()
    return data_dir.with_name(data_dir.name + "-checkpoints.txt")


def _inside(path: Path, folder: Path) -> bool:
    return path.absolute().resolve().is_relative_to(folder.absolute().resolve())


def bind_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def listen_socket(host: str, port: int) -> socket.socket:
    """The listening socket, made with IPPROTO_TCP: asyncio sets TCP_NODELAY only on
    accepted sockets whose protocol says TCP, and without it every response waits for the
    client's delayed ACK (~40 ms)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                         socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)  # connections wait in the backlog until uvicorn accepts them
    return sock


@click.command()
@click.option("--policy", "policy_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--data", "data_dir", required=True, type=click.Path(file_okay=False,
                                                                   path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8700, show_default=True, type=int,
              help="0 picks a free port and prints it.")
@click.option("--public-url", default=None,
              help="The URL reviewers use to reach this server; login challenges name its "
              "host (default: http://HOST:PORT of the bound address).")
@click.option("--log-key", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The log's signing key file, outside DATA (default: DATA.log.key beside "
              "the data directory, made on first start).")
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
@click.option("--login-rate", default=10, show_default=True,
              help="Login challenges per reviewer per minute.")
@click.option("--login-rate-total", default=120, show_default=True,
              help="Login challenges per minute, all reviewers together.")
@click.option("--body-timeout", default=10.0, show_default=True,
              help="Seconds a client has to send a request body.")
def serve(policy_path: Path, data_dir: Path, host: str, port: int, public_url: str | None,
          log_key: Path | None, log_name: str, checkpoint_file: Path | None, max_open: int,
          max_per_minute: int, login_rate: int, login_rate_total: int,
          body_timeout: float) -> None:
    """Run the queue server (SQLite in DATA, OpenAPI at /openapi.json)."""
    import uvicorn

    from core.log.keyfile import load_or_create_log_key
    from core.server.app import create_app
    from core.server.auth import AuthLimits, audience_of
    from core.server.service import Limits, QueueService
    from core.server.store import ServerStore

    if public_url is not None:
        audience_of(public_url)  # refuse a bad URL before anything is made
    if log_key is None:
        if (data_dir / "log.key").exists():
            raise click.UsageError(f"{data_dir / 'log.key'} is inside the data directory: move "
                                   "it out and pass --log-key")
        log_key = default_log_key(data_dir)
    if _inside(log_key, data_dir):
        raise click.UsageError("--log-key must lie outside the data directory")
    signer, created = load_or_create_log_key(log_key, log_name)
    if created:
        click.echo(f"Created the log key in {log_key}. Add it to the policy's [[logs]]:\n"
                   f"  key = \"{signer.verifier_key}\"")
    checkpoint_file = checkpoint_file or default_checkpoint_file(data_dir)
    if _inside(checkpoint_file, data_dir):
        raise click.UsageError("--checkpoint-file must lie outside the data directory")
    store = ServerStore(data_dir, checkpoint_file=checkpoint_file)
    service = QueueService(store, policy_path.read_bytes(), signer,
                           Limits(max_open, max_per_minute))
    sock = listen_socket(host, port)
    bound = sock.getsockname()[1]
    service.configure_auth(public_url or bind_url(host, bound),
                           AuthLimits(login_rate, login_rate_total))
    click.echo(f"log verifier key: {signer.verifier_key}")
    click.echo(f"checkpoints appended to {checkpoint_file}")
    click.echo(f"policy {service.policy.name} {service.policy.hash}")
    click.echo(f"public URL {public_url or bind_url(host, bound)}")
    click.echo(f"listening on {bind_url(host, bound)}", nl=True)
    config = uvicorn.Config(create_app(service, body_timeout=body_timeout), log_level="warning",
                            access_log=False, timeout_keep_alive=5)
    uvicorn.Server(config).run(sockets=[sock])
