"""Validators for the scalar fields SPEC §1 defines: times, identities, hashes, ids.

Each returns the value unchanged or raises `InvalidData` naming the field. Nothing is ever
normalised (no lower-casing, no trimming): a value is either exactly right or refused.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from core.errors import InvalidData

HUMAN_RE = re.compile(r"[a-z0-9][a-z0-9._+-]*@[a-z0-9.-]+")
AGENT_RE = re.compile(r"agent:[a-z0-9][a-z0-9._-]*")
GATE_RE = re.compile(r"gate:[a-z0-9][a-z0-9._-]*")
TIME_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
HASH_RE = re.compile(r"sha256:[0-9a-f]{64}")
TTL_RE = re.compile(r"([1-9][0-9]{0,5})([smhd])")
MAX_IDENTITY_CHARS = 254
MAX_TTL = timedelta(days=366)
_TTL_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# The same few times recur in every document of one proposal (its expiry is repeated in
# each decision): each spelling is read once, kept by its exact text, at most this many.
MAX_CACHED_TIMES = 4096
_TIMES: dict[str, datetime] = {}


def _require_str(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidData("format", f"field {field!r} must be a string")
    return value


_KIND_RE = {"human": HUMAN_RE, "agent": AGENT_RE, "gate": GATE_RE}


def identity(value: Any, field: str, kinds: tuple[str, ...] = ("human", "agent", "gate")) -> str:
    """An identity of one of ``kinds``; refused, never lower-cased, when it does not match."""
    text = _require_str(value, field)
    if len(text) <= MAX_IDENTITY_CHARS:
        for k in kinds:
            if _KIND_RE[k].fullmatch(text):
                return text
    wanted = " or ".join(
        {"human": "a person (name@domain, lowercase)", "agent": "agent:<name>",
         "gate": "gate:<name>"}[k]
        for k in kinds
    )
    raise InvalidData("identity", f"field {field!r} must be {wanted}; got {text!r}")


def human(value: Any, field: str) -> str:
    if type(value) is str and len(value) <= MAX_IDENTITY_CHARS and HUMAN_RE.fullmatch(value):
        return value
    return identity(value, field, ("human",))


def parse_time(value: Any, field: str) -> datetime:
    """RFC 3339 UTC with seconds and a literal Z, nothing else."""
    if type(value) is str:
        moment = _TIMES.get(value)
        if moment is not None:  # read before, and immutable
            return moment
    text = _require_str(value, field)
    if not TIME_RE.fullmatch(text):
        raise InvalidData(
            "time", f"field {field!r} must look like 2026-11-24T09:30:00Z (UTC, no fractions)"
        )
    try:  # TIME_RE admitted only this one spelling, which fromisoformat reads (in C) to UTC
        # and refuses when the day, hour, minute or second is not real, as strptime did
        # (tests/test_perf_formats.py compares them); strptime cost more than the rest.
        moment = datetime.fromisoformat(text)
    except ValueError as e:
        raise InvalidData("time", f"field {field!r} is not a real date and time: {text}") from e
    if len(_TIMES) >= MAX_CACHED_TIMES:
        _TIMES.clear()
    _TIMES[text] = moment
    return moment


def format_time(moment: datetime) -> str:
    """The one spelling of a time we write."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_utc() -> datetime:
    """Now, truncated to whole seconds, since documents carry no fractions."""
    return datetime.now(UTC).replace(microsecond=0)


def hash_ref(value: Any, field: str) -> str:
    if type(value) is str and HASH_RE.fullmatch(value):
        return value
    text = _require_str(value, field)
    if not HASH_RE.fullmatch(text):
        raise InvalidData("format", f"field {field!r} must be sha256:<64 lowercase hex>")
    return text


def uuid_text(value: Any, field: str) -> str:
    """A lowercase hyphenated UUID. The version nibble is not enforced: see docs/formats.md."""
    text = _require_str(value, field)
    if not UUID_RE.fullmatch(text):
        raise InvalidData("format", f"field {field!r} must be a lowercase UUID")
    return text


def parse_ttl(value: Any, field: str) -> timedelta:
    """A lifetime like 30m or 2h (units s, m, h, d); zero and absurd values are refused."""
    text = _require_str(value, field)
    m = TTL_RE.fullmatch(text)
    if not m:
        raise InvalidData("policy", f"{field} must be a number and a unit s, m, h or d, like 30m")
    ttl = timedelta(seconds=int(m.group(1)) * _TTL_UNITS[m.group(2)])
    if ttl > MAX_TTL:
        raise InvalidData("policy", f"{field} is longer than {MAX_TTL.days} days")
    return ttl
