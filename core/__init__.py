"""Foureyes core: everything a server, gate, CLI or verifier needs. Never imports Qt."""

__version__ = "0.1.0"
