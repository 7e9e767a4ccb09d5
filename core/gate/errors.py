"""What can stop a gated action, as distinct exceptions an agent framework can catch.

All derive from the two roots in core.errors, so a caller that only knows those still
fails closed.
"""

from __future__ import annotations

from core.errors import InvalidData, TransportError


class GateRefused(InvalidData):
    """The action did not (and will not) run."""


class DeniedByPolicy(GateRefused):
    def __init__(self, message: str) -> None:
        super().__init__("denied", message)


class Rejected(GateRefused):
    def __init__(self, message: str) -> None:
        super().__init__("rejected", message)


class Expired(GateRefused):
    def __init__(self, message: str) -> None:
        super().__init__("expired", message)


class NoQuorum(GateRefused):
    """The queue said approved, but the gate's own check of the signatures disagrees."""

    def __init__(self, message: str) -> None:
        super().__init__("quorum", message)


class AlreadyExecuted(GateRefused):
    def __init__(self, message: str) -> None:
        super().__init__("already_executed", message)


class StillPending(GateRefused):
    """The wait deadline passed before the proposal was decided; it may still be decided."""

    def __init__(self, message: str) -> None:
        super().__init__("pending", message)


class QueueUnreachable(TransportError):
    def __init__(self, message: str) -> None:
        super().__init__("unreachable", message)
