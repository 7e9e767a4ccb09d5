"""The fast readers give exactly the answers of the strict ones they stand in for.

`parse_json` checks canonical form with the standard library's C writer when a value is
plain, and `parse_time` reads with `fromisoformat` instead of `strptime`; both are checked
here against rfc8785 and strptime on hostile and random inputs (seeded: deterministic).
"""

from __future__ import annotations

import importlib
import json
import random
from datetime import UTC, datetime

import pytest
import rfc8785

from core.errors import InvalidData
from core.formats.fields import parse_time

C = importlib.import_module("core.formats.canonical")  # the package re-exports canonical()

ALPHABET = ["a", "Z", "0", " ", "\x00", "\x1f", "\x7f", '"', "\\", "/", "\b", "\t", "\n",
            "\f", "\r", "é", "\u2028", "\ue000", "\uffff", "😀", "\U0010ffff", "ø"]


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 6)))


def _value(rng: random.Random, depth: int = 0):  # noqa: ANN202
    kind = rng.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, 1, -1, 2**53 - 1, -(2**53 - 1), rng.randrange(-10**9, 10**9)])
    if kind == 3:
        return rng.choice([0.5, -0.0, 1e21, 1e-7, 0.1, 123.0, 5e-324])
    if kind in (4, 5):
        return _text(rng)
    if kind in (6, 7):
        return {_text(rng): _value(rng, depth + 1) for _ in range(rng.randrange(0, 5))}
    return [_value(rng, depth + 1) for _ in range(rng.randrange(0, 5))]


def test_the_writer_matches_rfc8785_on_random_values():
    rng = random.Random(8785)
    plain_seen = 0
    for _ in range(3000):
        value = _value(rng)
        expected = rfc8785.dumps(value)
        assert C.canonical(value) == expected
        plain_seen += C._check_value(value, "$", 0)
        # and the reader accepts exactly these bytes, fast or strict, with the same value
        assert C.parse_json(expected) == value or value != value
    assert plain_seen > 500  # the fast writer really ran


def test_floats_in_the_fast_reader_are_written_as_rfc8785_writes_them():
    rng = random.Random(754)
    floats = [rng.random() * 10.0 ** rng.randrange(-9, 23) for _ in range(20000)]
    floats += [0.1, 0.2, 0.3, 1 / 3, 2 / 3, 0.9, 1e-4, 9.999e-5, 1e15 + 0.5, 1e16, 123.456,
               5e-324, 1.7976931348623157e308, 0.0001, 0.001, 4.35, 100.0, 2.5]
    fast = 0
    for x in floats + [-x for x in floats]:
        expected = rfc8785.dumps({"x": x})
        if C._plain_float(x):
            fast += 1
            assert C._WRITER.encode({"x": x}).encode() == expected, x
        if abs(x) < 2**53:  # larger ones are written as integers, outside SPEC §1's range
            assert C.parse_json(expected) == {"x": x}
        assert C._canonical_fast(expected.decode()) in ({"x": x}, C._NOT_FAST)
    assert fast > 5000


def test_astral_keys_sort_by_utf16_code_units():
    value = {"\U0001f600": 1, "\uffff": 2, "\ue000": 3, "a": 4}
    assert not C._check_value(value, "$", 0)  # not plain: goes through rfc8785
    assert C.canonical(value) == rfc8785.dumps(value)
    assert C.parse_json(rfc8785.dumps(value)) == value


HOSTILE = [
    b'{"a":1,"a":1}', b'{"a":1,"a":2}', b'{"a":NaN}', b'{"a":Infinity}', b'{"a":-Infinity}',
    b'{"a":1e999}', b'{"a":"\\ud800"}', b'{"\\udfff":1}', b'{"a":9007199254740992}',
    b'{"a":-9007199254740992}', b'{"a":123456789012345678901}', b'[' * 40 + b']' * 40,
    b'{"a": 1}', b' {"a":1}', b'{"b":1,"a":2}', b'{"a":"\\u0041"}', b'{"a":"\\/"}',
    b'{"a":1.0}', b'{"a":1E2}', b'{"a":"\\u001F"}', b'{"a":"\\u001f"}', b'"x"', b"1",
    b"\xef\xbb\xbf{}", b"{}", b"[]", b'{"a":[1,2,{"b":null}]}', b'{"a":true}',
    # a string or an empty container one level past MAX_DEPTH, in a list and in an object
    b"[" * 33 + b'"x"' + b"]" * 33, b"[" * 32 + b'"x"' + b"]" * 32,
    b'{"a":' * 33 + b'"x"' + b"}" * 33, b'{"a":' * 32 + b'"x"' + b"}" * 32,
    b"[" * 33 + b"[]" + b"]" * 33, b"[" * 32 + b"[]" + b"]" * 32,
    # compact but not canonical: the reader without require_canonical takes its own path
    b'{"index":1,"entry":"x"}', b'{"index":1,"index":1}', b'{"b":{"d":1,"c":2},"a":[]}',
    b'{"a":1} ', b'{"a":1}\n', b'{"a":"\\u00e9"}', b'{"a":"\\ud800"}',
]


def _strict(data: bytes, canonical: bool):  # noqa: ANN202
    """What the reader answered before the fast path: run it with the fast path off."""
    saved = C._canonical_fast, C._compact_fast
    C._canonical_fast = C._compact_fast = lambda _text: C._NOT_FAST
    try:
        return C.parse_json(data, require_canonical=canonical)
    finally:
        C._canonical_fast, C._compact_fast = saved


@pytest.mark.parametrize("data", HOSTILE)
def test_the_fast_reader_answers_as_the_strict_one(data):
    for canonical in (True, False):
        try:
            expected = ("ok", _strict(data, canonical))
        except InvalidData as e:
            expected = ("refused", e.code, e.message)
        try:
            got = ("ok", C.parse_json(data, require_canonical=canonical))
        except InvalidData as e:
            got = ("refused", e.code, e.message)
        assert got == expected


def test_parse_time_matches_strptime_on_every_edge():
    for y in ("0000", "0001", "1970", "2024", "2026", "9999"):
        for mo in ("00", "01", "02", "12", "13"):
            for d in ("00", "01", "28", "29", "30", "31", "32"):
                for hms in ("00:00:00", "23:59:59", "24:00:00", "23:60:00", "23:59:60",
                            "23:59:61"):
                    text = f"{y}-{mo}-{d}T{hms}Z"
                    try:
                        expected = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(
                            tzinfo=UTC)
                    except ValueError:
                        expected = None
                    try:
                        got = parse_time(text, "t")
                    except InvalidData as e:
                        assert e.code == "time"
                        got = None
                    assert got == expected, text
                    assert got is None or got.tzinfo is UTC


@pytest.mark.parametrize("text", ["2026-11-24T09:30:00Z\n", "2026-11-24T09:30:00+00:00",
                                  "2026-11-24T09:30:00.5Z", "2026-11-24 09:30:00Z",
                                  "２026-11-24T09:30:00Z", "2026-11-24T09:30:00z", "20261124T093000Z"])
def test_parse_time_still_refuses_other_spellings(text):
    with pytest.raises(InvalidData) as e:
        parse_time(text, "t")
    assert e.value.code == "time"


def test_json_writer_escapes_as_rfc8785():
    every = "".join(chr(c) for c in range(0x80)) + "\u2028\u2029\ufeff"
    assert C._WRITER.encode({"k": every}).encode() == rfc8785.dumps({"k": every})
    assert json.loads(C._WRITER.encode({"k": every})) == {"k": every}
