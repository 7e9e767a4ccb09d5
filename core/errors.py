"""The two roots of every error Foureyes raises.

Callers (CLI, server, app) only ever need to catch these two: `InvalidData` for bad or
refused data, carrying a stable machine `code` and a sentence for a person, and
`TransportError` for network or storage trouble. Third-party exceptions are wrapped once,
at the boundary, with ``raise ... from e``.
"""

from __future__ import annotations


class FoureyesError(Exception):
    """Base of all Foureyes errors: a stable `code` plus a plain-language message."""

    code: str = "error"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def diagnostics(self) -> str:
        """The sentence shown to a person, prefixed by the code a machine can match.

        Both may quote what someone else chose (a server's answer, a share's file name, an
        agent's text), so both are shown with their control, bidi and line-break
        characters made visible: an escape sequence in a hostile server's error message
        must not rewrite the terminal it is printed on. `code` and `message` stay verbatim."""
        from core.textsafety import shown

        return f"[{shown(self.code)}] {shown(self.message)}"

    def __str__(self) -> str:
        return self.message


class InvalidData(FoureyesError):
    """Data that is malformed, or a request that the rules refuse (fail closed)."""


class TransportError(FoureyesError):
    """A network, storage or keyring problem: the data may be fine, the path to it is not."""


class Refused(InvalidData):
    """A refusal by a judge (server or gate); its HTTP status comes from core.codes."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(code, message)
        from core.codes import http_status

        self.status = status if status is not None else http_status(code)
