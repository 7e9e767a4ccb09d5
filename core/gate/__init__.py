"""The agent SDK: propose, wait, verify the quorum itself, execute once, sign a receipt.

Everything an integrator catches is importable from here, the two roots included:
`InvalidData` (refused or malformed, with a stable `.code`) and `TransportError`
(network or storage trouble); the `GateRefused` family says why an action did not run.
"""

from core.errors import FoureyesError, InvalidData, TransportError
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
    "AlreadyExecuted", "DeniedByPolicy", "Expired", "FoureyesError", "Gate", "GateRefused",
    "InvalidData", "NoQuorum", "QueueUnreachable", "Rejected", "RunResult", "StillPending",
    "TransportError",
]
