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


LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def listen_socket(host: str, port: int) -> socket.socket:
    """The listening socket, made with IPPROTO_TCP: asyncio sets TCP_NODELAY only on
    accepted sockets whose protocol says TCP, and without it every response waits for the
    client's delayed ACK (~40 ms)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                         socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        from core.errors import TransportError

        sock.close()
        raise TransportError("address_in_use", f"cannot listen on {host}:{port}: "
                             f"{e.strerror or e}; is another server running there? "
                             "(--port 0 picks a free port)") from e
    sock.listen(128)  # connections wait in the backlog until uvicorn accepts them
    return sock


@click.command()
@click.option("--policy", "policy_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The policy.toml to enforce (checked before anything is written).")
@click.option("--data", "data_dir", required=True, type=click.Path(file_okay=False,
                                                                   path_type=Path),
              help="The server's data directory (SQLite store and tokens), made 0700.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind. Anything but loopback should use TLS (--tls-cert) "
              "or sit behind a reverse proxy that terminates TLS.")
@click.option("--port", default=8700, show_default=True, type=click.IntRange(0, 65535),
              help="0 picks a free port and prints it.")
@click.option("--public-url", default=None,
              help="The URL reviewers use to reach this server; login challenges name its "
              "host (default: http(s)://HOST:PORT of the bound address).")
@click.option("--log-key", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The log's signing key file, outside DATA (default: DATA.log.key beside "
              "the data directory). Made on first start if missing; the policy's [[logs]] "
              "must list its verifier key or the server refuses to start.")
@click.option("--log-name", default="foureyes-queue", show_default=True,
              help="Origin (and key name) of a newly made log.")
@click.option("--checkpoint-file", type=click.Path(dir_okay=False, path_type=Path),
              default=None,
              help="Append every signed checkpoint to this file (O_APPEND, fsynced), kept "
              "outside the data directory; ship it elsewhere and check the log with "
              "`foureyes log verify --checkpoint FILE`. Default: DATA-checkpoints.txt "
              "beside DATA.")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="PEM certificate (chain) to serve HTTPS directly.")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="PEM private key of --tls-cert.")
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
          log_key: Path | None, log_name: str, checkpoint_file: Path | None,
          tls_cert: Path | None, tls_key: Path | None, max_open: int,
          max_per_minute: int, login_rate: int, login_rate_total: int,
          body_timeout: float) -> None:
    """Run the queue server (SQLite in DATA, OpenAPI at /openapi.json).

    Nothing is written before the policy is valid; the log key must be one the policy's
    [[logs]] lists. On start it prints where it listens, its log origin and key, and where
    checkpoints go.
    """
    import uvicorn

    from core.errors import InvalidData
    from core.log.keyfile import load_or_create_log_key
    from core.policy import Policy
    from core.policy.model import MAX_POLICY_BYTES
    from core.server.app import create_app
    from core.server.auth import AuthLimits, audience_of
    from core.server.service import Limits, QueueService
    from core.server.store import ServerStore

    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("give --tls-cert and --tls-key together")
    from core.bundle.trust import read_limited

    if tls_cert is not None:
        import ssl

        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(tls_cert, tls_key)
        except (OSError, ssl.SSLError) as e:
            raise InvalidData("tls", f"cannot use {tls_cert} and {tls_key} for TLS: {e}") \
                from e
    policy_bytes = read_limited(policy_path, MAX_POLICY_BYTES, "policy", "policy file")
    policy = Policy.from_bytes(policy_bytes)  # (1) a valid policy before anything is written
    if public_url is not None:
        audience_of(public_url)  # refuse a bad URL before anything is made
    if log_key is None:
        if (data_dir / "log.key").exists():
            raise click.UsageError(f"{data_dir / 'log.key'} is inside the data directory: move "
                                   "it out and pass --log-key")
        log_key = default_log_key(data_dir)
    if _inside(log_key, data_dir):
        raise click.UsageError("--log-key must lie outside the data directory")
    checkpoint_file = checkpoint_file or default_checkpoint_file(data_dir)
    if _inside(checkpoint_file, data_dir):
        raise click.UsageError("--checkpoint-file must lie outside the data directory")
    signer, created = load_or_create_log_key(log_key, log_name)
    if created:
        click.echo(f"Created the log key {log_key} (origin {signer.name}).")
    if signer.verifier_key not in policy.logs:  # (2) checkpoints nobody would trust
        click.echo(f"Add to {policy_path}:\n[[logs]]\nkey = \"{signer.verifier_key}\"")
        raise InvalidData("log_key", f"the log key {log_key} is not listed in the policy's "
                          "[[logs]]; add the lines above and start again")
    scheme = "https" if tls_cert else "http"
    sock = listen_socket(host, port)
    bound = sock.getsockname()[1]
    url = bind_url(host, bound).replace("http://", f"{scheme}://", 1)
    store = ServerStore(data_dir, checkpoint_file=checkpoint_file)  # (3) now the store
    service = QueueService(store, policy_bytes, signer, Limits(max_open, max_per_minute))
    service.configure_auth(public_url or url, AuthLimits(login_rate, login_rate_total))
    if tls_cert is None and host not in LOOPBACK_HOSTS:
        click.echo(f"warning: listening on {host} without TLS: tokens and sessions cross "
                   "the network in clear. Use --tls-cert/--tls-key, or bind to 127.0.0.1 "
                   "behind a reverse proxy that terminates TLS.", err=True)
    from core.textsafety import shown

    click.echo(f"policy {shown(service.policy.name)} {service.policy.hash}")
    click.echo(f"log origin {signer.name}, verifier key {signer.verifier_key}")
    click.echo(f"log key {log_key}; data in {data_dir}")
    click.echo(f"checkpoints appended to {checkpoint_file}")
    click.echo(f"public URL {public_url or url}  (OpenAPI at {url}/openapi.json)")
    click.echo(f"listening on {url}", nl=True)
    config = uvicorn.Config(create_app(service, body_timeout=body_timeout), log_level="warning",
                            access_log=False, timeout_keep_alive=5,
                            ssl_certfile=str(tls_cert) if tls_cert else None,
                            ssl_keyfile=str(tls_key) if tls_key else None)
    uvicorn.Server(config).run(sockets=[sock])
