"""The `foureyes` click group: each command group's module is loaded when it is asked for.

Each command group lives in its own module exposing ``register(group)``; this module only
wires them, so adding a group never means editing another group's file. A command named
in FAST_COMMANDS loads only its own module; any other name, and --help, load them all.
"""

from __future__ import annotations

import importlib

import click

from core import __version__
from core.cli.main import COMMAND_MODULES, FAST_COMMANDS


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
