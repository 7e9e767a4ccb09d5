"""`foureyes app [FILE.foureyes]`: launch the desktop reviewer app.

Qt is imported only when the command runs, so the rest of the CLI (servers, gates, CI)
works without PySide6 installed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click


def register(group: click.Group) -> None:
    group.add_command(app_command)


@click.command("app")
@click.argument("bundle", required=False, metavar="[FILE.foureyes]",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--demo", is_flag=True, help="Open the demo workspace (rebuilt fresh).")
def app_command(bundle: Path | None, demo: bool) -> None:
    """Open the desktop app; with FILE.foureyes, verify that bundle in the auditor view."""
    import importlib
    import os

    from core.errors import TransportError

    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if sys.platform.startswith("linux") and not platform and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        # Qt would abort the whole process with a message about plugins; say it plainly.
        raise TransportError("no_display", "the desktop app needs a display: run it in a "
                             "desktop session (or over ssh -X); on a server use the "
                             "terminal commands (`foureyes review list`, `foureyes decide`)")
    try:
        # The GUI is an optional front end over core; core itself never depends on it.
        main = importlib.import_module("app.main").main
    except ImportError as e:
        raise click.ClickException(
            f"the desktop app needs PySide6 ({e}); install foureyes[app]") from e
    argv = ([str(bundle)] if bundle else []) + (["--demo"] if demo else [])
    sys.exit(main(argv))
