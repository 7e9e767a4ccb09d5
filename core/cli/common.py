"""Options shared by several command groups, declared once so they read the same everywhere."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

F = Callable[..., Any]


def identity_options(f: F) -> F:
    """`--identity ID [--key-file PATH]`: who acts, and where their key lives.

    Without --key-file the key comes from the OS keyring (the default for people);
    a key file is for servers, gates and tests.
    """
    f = click.option(
        "--key-file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Use a 0600 key file instead of the OS keyring (servers, gates, tests).",
    )(f)
    f = click.option(
        "--identity", "identity", required=True, help="Your identity, e.g. bob@example.com."
    )(f)
    return f


def queue_options(f: F) -> F:
    """`--server URL [--ca PEM] | --folder DIR`: which queue to talk to."""
    f = click.option("--ca", type=click.Path(exists=True, dir_okay=False), default=None,
                     envvar="FOUREYES_CA",
                     help="PEM file of the CA that signed the server's TLS certificate "
                     "(a private CA); env FOUREYES_CA.")(f)
    f = click.option("--folder", type=click.Path(file_okay=False, path_type=Path),
                     default=None, help="A shared-folder queue (network share or USB stick).")(f)
    f = click.option("--server", metavar="URL", default=None,
                     help="A Foureyes queue server, e.g. http://127.0.0.1:8700.")(f)
    return f


def pick_transport(server: str | None, folder: Path | None) -> None:
    """Exactly one of --server and --folder, or a usage error (exit 2)."""
    if (server is None) == (folder is None):
        raise click.UsageError("give exactly one of --server URL or --folder DIR")


def state_dir() -> Path:
    """Per-user private state (own decisions, caches): never on a shared folder."""
    import platformdirs

    return Path(platformdirs.user_state_dir("foureyes", appauthor=False))


def reviewer_queue(server: str | None, folder: Path | None, identity: str,
                   key_file: Path | None, ca: str | None = None):  # noqa: ANN201 - a Queue
    """The queue a reviewer talks to, logged in with their own key."""
    from core.signing import key_source

    pick_transport(server, folder)
    signer = key_source(key_file).signer(identity)
    if server is not None:
        from core.queue.http import HttpQueue

        return HttpQueue(server, identity=identity, signer=signer, ca=ca), signer
    from core.queue.folder import FolderQueue

    return FolderQueue(folder, role="reviewer", identity=identity, state_dir=state_dir()), signer


def resolve_id(queue, text: str):  # noqa: ANN001, ANN201 - Queue, ProposalView
    """A proposal by full `sha256:` hash or a unique hex prefix of at least 8 characters."""
    from core.errors import InvalidData

    wanted = text.removeprefix("sha256:")
    if len(wanted) < 8:
        raise InvalidData("not_found", "give at least 8 hex characters of the proposal hash")
    matches = [v for v in queue.list_proposals() if v.hash[7:].startswith(wanted)]
    if not matches:
        raise InvalidData("not_found", f"no proposal you can see matches {text!r}")
    if len(matches) > 1:
        raise InvalidData("not_found", f"{len(matches)} proposals match {text!r}; give more "
                          "characters")
    return matches[0]
