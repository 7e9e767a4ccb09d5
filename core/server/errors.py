"""Refusals the server answers with, and the HTTP status each code travels under.

A refusal is an `InvalidData` (same stable code a gate or verifier would use) that also
knows its HTTP status, so routes never pick numbers themselves and one code always maps to
one status.
"""

from __future__ import annotations

from core.errors import InvalidData

# Codes whose status is not the default 422. Anything unlisted is a 422: the request was
# understood and refused by a rule.
STATUS_BY_CODE: dict[str, int] = {
    "format": 400, "schema": 400, "identity": 400, "time": 400,
    "unauthenticated": 401, "token_expired": 401, "challenge": 401,
    "challenge_expired": 401, "replay": 401,
    "forbidden": 403, "proposer": 403, "not_in_roster": 403, "self_approval": 403,
    "denied": 403, "receipt": 403,
    "not_found": 404,
    "policy_hash": 409, "duplicate_reviewer": 409, "duplicate_key": 409,
    "already_executed": 409, "closed": 409, "not_final": 409,
    "too_large": 413, "content_type": 415,
    "rate_limited": 429,
}
DEFAULT_REFUSAL_STATUS = 422


class Refused(InvalidData):
    """A refusal the HTTP layer turns into ``{"code", "message"}`` with `status`."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(code, message)
        self.status = status if status is not None else status_for(code)


def status_for(code: str) -> int:
    return STATUS_BY_CODE.get(code, DEFAULT_REFUSAL_STATUS)
