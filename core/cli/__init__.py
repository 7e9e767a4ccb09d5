"""The `foureyes` command line: one module per command group, wired in `main`."""
