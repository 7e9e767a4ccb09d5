"""Entry point of the `foureyes` command.

Each command group lives in its own module exposing ``register(group)``; this module only
wires them, so adding a group never means editing another group's file.
"""

from __future__ import annotations

import importlib
import sys

import click

from core import __version__
from core.errors import FoureyesError

# Modules that contribute commands, in the order they appear in --help.
COMMAND_MODULES: tuple[str, ...] = (
    "core.cli.keys",
    "core.cli.policy",
    "core.cli.verify",
    "core.cli.serve",
    "core.cli.tokens",
    "core.cli.log",
    "core.cli.folder",
    "core.cli.review",
    "core.cli.gate",
    "core.cli.app",
    "core.cli.release",
    "core.cli.demo",
    "core.cli.mcp",
    "core.cli.exec",
    "core.cli.hook",
    "core.cli.init",
    "core.cli.stats",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="foureyes")
def cli() -> None:
    """Foureyes: two distinct humans must approve what an AI agent wants to run."""


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(cli)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; Foureyes errors become one plain sentence and exit code 1."""
    try:
        cli.main(args=argv, prog_name="foureyes", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except FoureyesError as e:
        click.echo(f"error: {e.diagnostics()}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except OSError as e:  # a file or socket problem the command did not expect
        click.echo(f"error: [storage] {e.strerror or e}"
                   + (f": {e.filename}" if e.filename else ""), err=True)
        sys.exit(1)
    except Exception as e:  # never a traceback to a person
        click.echo(f"error: [internal] {type(e).__name__}: {e} (please report this)",
                   err=True)
        sys.exit(70)


if __name__ == "__main__":
    main()
