"""Frozen entry point of the `foureyes` command."""

from core.cli.main import main

main()
