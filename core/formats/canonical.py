"""Canonical JSON (RFC 8785) and the strict JSON reader every document goes through.

Hashes and signatures are over canonical bytes, so a reader that accepted a second spelling
of the same document (duplicate keys, other whitespace, escaped characters) would let two
byte strings mean one thing. We parse with the standard library, refuse everything SPEC §1
forbids, and then insist that re-serialising gives back the exact input bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import rfc8785

from core.errors import InvalidData

MAX_DOCUMENT_BYTES = 1024 * 1024  # SPEC §8 caps bundle members at 1 MiB; no document is larger.
MAX_SAFE_INTEGER = 2**53 - 1
MAX_DEPTH = 32

_HASH_RE = re.compile(r"sha256:[0-9a-f]{64}")


def canonical(obj: Any) -> bytes:
    """RFC 8785 bytes of ``obj``; refuses values JSON cannot carry exactly."""
    _check_value(obj, "$", 0)
    try:
        return rfc8785.dumps(obj)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as e:
        raise InvalidData("format", f"value cannot be written as canonical JSON: {e}") from e


def sha256_ref(data: bytes) -> str:
    """The `sha256:<hex>` name of some bytes: how documents refer to each other."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def is_hash_ref(value: object) -> bool:
    return isinstance(value, str) and _HASH_RE.fullmatch(value) is not None


def _reject_constant(name: str) -> Any:
    raise InvalidData("format", f"{name} is not allowed in JSON documents")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise InvalidData("format", f"duplicate key {key!r} in a JSON object")
        out[key] = value
    return out


def _int(text: str) -> int:
    if len(text) > 20:
        raise InvalidData("format", "an integer is too long")
    value = int(text)
    if abs(value) > MAX_SAFE_INTEGER:
        raise InvalidData("format", f"integer {text} is outside ±(2^53−1)")
    return value


def _check_value(value: Any, path: str, depth: int) -> None:
    """Walk a parsed value: depth, lone surrogates, safe integers, finite floats."""
    if depth > MAX_DEPTH:
        raise InvalidData("format", f"JSON nested deeper than {MAX_DEPTH} levels at {path}")
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise InvalidData("format", f"integer at {path} is outside ±(2^53−1)")
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidData("format", f"NaN or Infinity at {path}")
    elif isinstance(value, str):
        _check_text(value, path)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_value(item, f"{path}[{i}]", depth + 1)
    elif isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise InvalidData("format", f"non-string key at {path}")
            _check_text(k, path)
            _check_value(v, f"{path}.{k}", depth + 1)
    else:
        raise InvalidData("format", f"unsupported value type {type(value).__name__} at {path}")


def _check_text(text: str, path: str) -> None:
    try:
        text.encode("utf-8", "strict")
    except UnicodeEncodeError as e:
        raise InvalidData("format", f"lone surrogate in a string at {path}") from e


def parse_json(data: bytes, *, require_canonical: bool = True, what: str = "document") -> Any:
    """Parse JSON bytes strictly; with ``require_canonical`` the bytes must be RFC 8785 form."""
    if not isinstance(data, bytes | bytearray):
        raise InvalidData("format", f"{what} must be bytes")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise InvalidData("format", f"{what} is larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        text = bytes(data).decode("utf-8", "strict")
    except UnicodeDecodeError as e:
        raise InvalidData("format", f"{what} is not valid UTF-8") from e
    try:
        value = json.loads(
            text,
            object_pairs_hook=_pairs,
            parse_constant=_reject_constant,
            parse_int=_int,
        )
    except InvalidData as e:
        raise InvalidData(e.code, f"{what}: {e.message}") from e
    except (ValueError, RecursionError) as e:
        raise InvalidData("format", f"{what} is not valid JSON: {e}") from e
    try:
        _check_value(value, "$", 0)
    except InvalidData as e:
        raise InvalidData(e.code, f"{what}: {e.message}") from e
    if require_canonical:
        try:
            again = rfc8785.dumps(value)
        except Exception as e:  # noqa: BLE001 - any failure here means "not canonical"
            raise InvalidData("format", f"{what} cannot be canonicalised: {e}") from e
        if again != bytes(data):
            raise InvalidData(
                "format", f"{what} is not in RFC 8785 canonical form (other bytes, same JSON)"
            )
    return value
