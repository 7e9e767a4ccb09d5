"""Entry point of the `foureyes` command.

The click group (core.cli.group) is imported only when needed: `foureyes verify BUNDLE
[--trust FILE] [--json]` with plain arguments runs without click at all (core.cli.verify_run
says when), because an auditor runs it once per bundle and it must start in well under
100 ms and import no server, Qt, HTTP or keyring code. Everything else goes through click.
`cli` and `load_all` are still importable from here (PEP 562).
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

from core.errors import FoureyesError
from core.textsafety import shown

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


def __getattr__(name: str) -> Any:
    if name in ("cli", "load_all"):
        from core.cli import group

        return getattr(group, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; Foureyes errors become one plain sentence and exit code 1."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args[:1] == ["verify"]:
            from core.cli import verify_run

            plain = verify_run.plain_args(args[1:])
            if plain is not None:
                verify_run.run(*plain, verify_run.echo)
        from core.cli.group import cli

        cli.main(args=args, prog_name="foureyes", standalone_mode=False)
    except SystemExit:
        raise
    except BaseException as e:  # noqa: BLE001 - each kind ends in its own exit code
        _exit_for(e)


def _exit_for(e: BaseException) -> NoReturn:
    """The one plain sentence and exit code for an error no command handled.

    Every message here may quote what someone else chose (a hostile server's error text, a
    file name on a share), so each goes through `shown` (FoureyesError.diagnostics does)."""
    click = sys.modules.get("click")  # only its own errors can come from it
    if click is not None and isinstance(e, click.exceptions.Exit):
        sys.exit(e.exit_code)
    if click is not None and isinstance(e, click.ClickException):
        e.message = shown(e.message)  # it may quote an argument, a share or a server
        e.show()
        sys.exit(2)
    if click is not None and isinstance(e, click.exceptions.Abort):
        click.echo("Aborted.", err=True)
        sys.exit(1)
    if isinstance(e, FoureyesError):
        _say(f"error: {e.diagnostics()}")
        sys.exit(1)
    if isinstance(e, KeyboardInterrupt):
        _say("Interrupted.")
        sys.exit(130)
    if isinstance(e, OSError):  # a file or socket problem the command did not expect
        _say(f"error: [storage] {shown(e.strerror or e)}"
             + (f": {shown(e.filename)}" if e.filename else ""))
        sys.exit(1)
    if not isinstance(e, Exception):
        raise e
    _say(f"error: [internal] {type(e).__name__}: {shown(e)} (please report this)")  # no trace
    sys.exit(70)


def _say(message: str) -> None:
    click = sys.modules.get("click")
    if click is not None:
        click.echo(message, err=True)
    else:
        from core.cli.verify_run import echo

        echo(message, err=True)


if __name__ == "__main__":
    main()
