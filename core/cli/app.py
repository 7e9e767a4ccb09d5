"""`foureyes app [FILE.foureyes]`: start the desktop app (needs the `app` extra)."""

from __future__ import annotations

import sys
from pathlib import Path

import click


def register(group: click.Group) -> None:
    group.add_command(app_command)


@click.command("app")
@click.argument("bundle", required=False, type=click.Path(dir_okay=False, path_type=Path))
def app_command(bundle: Path | None) -> None:
    """Open the reviewer app, or a proof bundle in its auditor view."""
    import importlib

    try:
        # The GUI is an optional front end over core; core itself never depends on it.
        main = importlib.import_module("app.main").main
    except ImportError as e:
        raise click.ClickException(f"the desktop app is not installed ({e}); install the "
                                   "'app' extra: pip install 'foureyes[app]'") from e
    sys.exit(main([str(bundle)] if bundle else []))
