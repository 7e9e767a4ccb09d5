"""The agent SDK: propose, wait, verify the quorum itself, execute once, sign a receipt."""

from core.gate.errors import (
    AlreadyExecuted,
    DeniedByPolicy,
    Expired,
    GateRefused,
    NoQuorum,
    QueueUnreachable,
    Rejected,
    StillPending,
)
from core.gate.sdk import Gate, RunResult

__all__ = [
    "AlreadyExecuted", "DeniedByPolicy", "Expired", "Gate", "GateRefused", "NoQuorum",
    "QueueUnreachable", "Rejected", "RunResult", "StillPending",
]
