"""Entry point of the `foureyes` command.

Each command group lives in its own module exposing ``register(group)``; this module only
wires them, so adding a group never means editing another group's file.

Modules are imported when needed, not at start: a command named in FAST_COMMANDS loads only
its own module (`foureyes verify` must start in well under 100 ms and import no server,
Qt, HTTP or keyring code); any other name, and --help, load them all.
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
# Commands whose module alone provides them: run without importing the others.
FAST_COMMANDS: dict[str, str] = {"verify": "core.cli.verify"}


class _LazyGroup(click.Group):
    """Registers each command module on first need, once."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._loaded: set[str] = set()

    def _load(self, names: tuple[str, ...]) -> None:
        for name in names:
            if name not in self._loaded:
                self._loaded.add(name)
                importlib.import_module(name).register(self)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in FAST_COMMANDS:
            self._load((FAST_COMMANDS[cmd_name],))
        if cmd_name not in self.commands:
            self._load(COMMAND_MODULES)
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load(COMMAND_MODULES)
        return super().list_commands(ctx)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="foureyes")
def cli() -> None:
    """Foureyes: two distinct humans must approve what an AI agent wants to run."""


def load_all() -> click.Group:
    """The group with every command registered (for tools that walk the command tree)."""
    cli._load(COMMAND_MODULES)  # type: ignore[attr-defined]
    return cli


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
