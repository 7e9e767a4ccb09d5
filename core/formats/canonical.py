"""Canonical JSON (RFC 8785) and the strict JSON reader every document goes through.

Hashes and signatures are over canonical bytes, so a reader that accepted a second spelling
of the same document (duplicate keys, other whitespace, escaped characters) would let two
byte strings mean one thing. We parse with the standard library, refuse everything SPEC §1
forbids, and then insist that re-serialising gives back the exact input bytes.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Any

import rfc8785

from core.errors import InvalidData

MAX_DOCUMENT_BYTES = 1024 * 1024  # SPEC §8 caps bundle members at 1 MiB; no document is larger.
MAX_SAFE_INTEGER = 2**53 - 1
MAX_DEPTH = 32

_HASH_RE = re.compile(r"sha256:[0-9a-f]{64}")
_BMP_MAX = "\uffff"


def canonical(obj: Any) -> bytes:
    """RFC 8785 bytes of ``obj``; refuses values JSON cannot carry exactly."""
    plain = _check_value(obj, "$", 0)
    try:
        return _dumps(obj, plain).encode("utf-8")
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


def _check_value(value: Any, path: str, depth: int) -> bool:
    """Walk a parsed value: depth, lone surrogates, safe integers, finite floats.

    Returns whether the value is "plain": no floats and no object key beyond U+FFFF. For a
    plain value the standard library's writer (sorted keys, no spaces, no ASCII escaping)
    writes exactly the RFC 8785 bytes: integers are spelled alike, strings are escaped
    alike (the short escapes, \\u00xx for other controls, nothing else), and sorting by code
    point equals RFC 8785's sort by UTF-16 code unit for keys inside the BMP. Floats and
    astral keys go through rfc8785 itself (tests/test_perf_formats.py checks both agree)."""
    if depth > MAX_DEPTH:
        raise InvalidData("format", f"JSON nested deeper than {MAX_DEPTH} levels at {path}")
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise InvalidData("format", f"integer at {path} is outside ±(2^53−1)")
        return type(value) is int
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidData("format", f"NaN or Infinity at {path}")
        return False
    if isinstance(value, str):
        _check_text(value, path)
        return True
    plain = True
    if isinstance(value, list):
        for i, item in enumerate(value):
            plain = _check_value(item, f"{path}[{i}]", depth + 1) and plain
    elif isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise InvalidData("format", f"non-string key at {path}")
            _check_text(k, path)
            plain = plain and (k.isascii() or max(k) <= _BMP_MAX)
            plain = _check_value(v, f"{path}.{k}", depth + 1) and plain
    else:
        raise InvalidData("format", f"unsupported value type {type(value).__name__} at {path}")
    return plain


_NOT_FAST = object()
_WRITER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True,
                           allow_nan=False)


def _c_writer(sort_keys: bool):  # noqa: ANN202 - a C callable: value -> chunks
    """The C writer that `json.JSONEncoder.encode` builds on every call, built once: no
    separators but "," and ":", no ASCII escaping, no NaN. No cycle check: it only ever
    writes values the C reader has just made, which are trees."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # an interpreter without the C accelerator: the same bytes, slower
        writer = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"),
                                  sort_keys=sort_keys, allow_nan=False)
        return lambda value, _level: (writer.encode(value),)
    return make(None, _no_default, json.encoder.encode_basestring, None, ":", ",",
                sort_keys, False, False)


def _no_default(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON")


_SORTED = _c_writer(True)  # RFC 8785 for plain values (see `_check_value`)
_COMPACT = _c_writer(False)  # the same, keys in the order read
_SCAN = json.JSONDecoder().scan_once  # the C reader json.loads uses, minus its wrapping


def scan_value(text: str, start: int) -> tuple[Any, int]:
    """The JSON value that starts at ``start`` of an already checked text, and where it
    ends (for slicing a nested value out of canonical bytes)."""
    return _SCAN(text, start)


def _fast_plain(value: Any, depth: int) -> bool:
    """For `_fast_read`: within MAX_DEPTH, safe integers, BMP keys, and floats only
    where Python's repr is ECMAScript's Number::toString (see `_plain_float`)."""
    if depth > MAX_DEPTH:
        return False
    if type(value) is dict:
        if value and depth >= MAX_DEPTH:  # its values would lie deeper than MAX_DEPTH
            return False
        if not "".join(value).isascii() and any(max(k, default="") > _BMP_MAX for k in value):
            return False
        return all(type(v) is str or _fast_plain(v, depth + 1) for v in value.values())
    if type(value) is list:
        if value and depth >= MAX_DEPTH:
            return False
        return all(type(v) is str or _fast_plain(v, depth + 1) for v in value)
    if value is None or type(value) is bool or type(value) is str:
        return True
    if type(value) is float:
        return _plain_float(value)
    return type(value) is int and abs(value) <= MAX_SAFE_INTEGER


def _plain_float(value: float) -> bool:
    """A finite float whose repr has no exponent and no trailing ".0" (so 1e-4 ≤ |x| <
    1e16, not integral): both repr and RFC 8785 (ECMAScript) write the shortest digits that
    read back to it, in plain decimal, and so agree. Others go through rfc8785."""
    if not math.isfinite(value):
        return False
    text = repr(value)
    return "e" not in text and not text.endswith(".0")


def _fast_read(text: str, writer: Any) -> Any:
    """The common case, checked in C: read without hooks, and if the value is plain and
    `writer` writes it back to exactly `text`, it is the value the strict path returns.
    Otherwise `_NOT_FAST`, and the strict path runs and says what is wrong.

    Why nothing the strict path refuses can pass here: a duplicate key collapses in the dict
    and the written text comes out shorter; NaN, Infinity, a float and an unsafe integer
    are not plain; a lone surrogate can only come from a \\u escape, which the writer does
    not write back (it writes the character itself), so the texts differ; depth is bounded
    by `_fast_plain`; whitespace anywhere is never written back. With `_SORTED` the text is
    also RFC 8785 form; with `_COMPACT` it may list keys in any order (the strict reader
    without `require_canonical` accepts that too)."""
    try:
        value, end = _SCAN(text, 0)
        if end == len(text) and _fast_plain(value, 0) and "".join(writer(value, 0)) == text:
            return value
    except Exception:  # noqa: BLE001, S110 - the strict path below says what is wrong
        pass
    return _NOT_FAST


def _canonical_fast(text: str) -> Any:
    """`_fast_read` for RFC 8785 text."""
    return _fast_read(text, _SORTED)


def _compact_fast(text: str) -> Any:
    """`_fast_read` for compact text in any key order (log lines, proofs)."""
    return _fast_read(text, _COMPACT)


def _dumps(value: Any, plain: bool) -> str:
    """The RFC 8785 text of a checked value (see `_check_value` for when json suffices)."""
    if plain:
        return _WRITER.encode(value)
    return rfc8785.dumps(value).decode("utf-8")


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
    value = _canonical_fast(text) if require_canonical else _compact_fast(text)
    if value is not _NOT_FAST:
        return value
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
        plain = _check_value(value, "$", 0)
    except InvalidData as e:
        raise InvalidData(e.code, f"{what}: {e.message}") from e
    if require_canonical:
        try:
            again = _dumps(value, plain)
        except Exception as e:  # noqa: BLE001 - any failure here means "not canonical"
            raise InvalidData("format", f"{what} cannot be canonicalised: {e}") from e
        if again != text:
            raise InvalidData(
                "format", f"{what} is not in RFC 8785 canonical form (other bytes, same JSON)"
            )
    return value
