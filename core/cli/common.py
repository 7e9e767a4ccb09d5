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
    """`--server URL | --folder DIR`: which queue to talk to."""
    f = click.option("--folder", type=click.Path(file_okay=False, path_type=Path),
                     default=None, help="A shared-folder queue (network share or USB stick).")(f)
    f = click.option("--server", metavar="URL", default=None,
                     help="A Foureyes queue server, e.g. http://127.0.0.1:8700.")(f)
    return f


def pick_transport(server: str | None, folder: Path | None) -> None:
    """Exactly one of --server and --folder, or a usage error (exit 2)."""
    if (server is None) == (folder is None):
        raise click.UsageError("give exactly one of --server URL or --folder DIR")
