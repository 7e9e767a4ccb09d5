"""A strict reader for SSH wire encoding: exact lengths, no trailing bytes, named limits."""

from __future__ import annotations

import struct

from core.errors import InvalidData

MAX_FIELD_BYTES = 64 * 1024


class Reader:
    def __init__(self, data: bytes, what: str, code: str = "key") -> None:
        self.data = data
        self.pos = 0
        self.what = what
        self.code = code

    def _fail(self, why: str) -> InvalidData:
        return InvalidData(self.code, f"{self.what}: {why}")

    def raw(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise self._fail("truncated")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def uint32(self) -> int:
        return struct.unpack(">I", self.raw(4))[0]

    def string(self) -> bytes:
        n = self.uint32()
        if n > MAX_FIELD_BYTES:
            raise self._fail("a field is too long")
        return self.raw(n)

    def end(self) -> None:
        if self.pos != len(self.data):
            raise self._fail("unexpected trailing bytes")
