"""Reading and writing the proof-bundle zip (SPEC §8), treating every input as hostile.

The reader is our own, small enough to audit, and parses each byte once: the
end-of-central-directory record, then the central directory, then each member's local
header and data. A bundle that claims 1.4 million entries, needs a zip feature newer than
deflate, hides a NUL in a name, or carries bytes before or after the zip is refused before
any list is built or any byte decompressed. Each member is then read from the offsets the
checked directory gives, and must agree with it: the local header repeats the directory's
name, method, flags, CRC and sizes; the members tile the file up to the directory, each
once (no gaps a streaming unzip would read differently, no overlaps a zip bomb reuses);
a deflated member inflates, within a cap of one byte past its stated size, to exactly that
size and CRC-32, its stream ending exactly where its compressed size says.

Named limits (also listed in docs/formats.md):
  MAX_BUNDLE_BYTES     the whole file; checked with stat before reading, then read bounded
  MAX_MEMBERS          entries in the central directory (SPEC §8: 64)
  MAX_MEMBER_BYTES     one member, inflated (SPEC §8: 1 MiB)
  MAX_DIRECTORY_BYTES  the central directory itself
  MAX_NAME_BYTES       one entry name
  MAX_EXTRACT_VERSION  the newest zip feature level a bundle may need (2.0: deflate)
"""

from __future__ import annotations

import collections
import io
import os
import re
import stat
import struct
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

from core.errors import InvalidData

MAX_MEMBERS = 64
MAX_MEMBER_BYTES = 1024 * 1024
MAX_BUNDLE_BYTES = MAX_MEMBERS * MAX_MEMBER_BYTES + 1024 * 1024
MAX_DIRECTORY_BYTES = 64 * 1024
MAX_NAME_BYTES = 64
MAX_EXTRACT_VERSION = 20
FIXED_NAMES = ("proposal.json", "policy.toml", "receipt.json", "receipt.json.sig",
               "log/checkpoint", "log/entries.jsonl", "log/proofs.json", "allowed_signers")
REQUIRED = ("proposal.json", "policy.toml", "log/checkpoint", "log/entries.jsonl",
            "log/proofs.json")
DECISION_NAME = re.compile(r"decisions/([1-9][0-9]{0,2})\.json(\.sig)?")
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)

_LOCAL_SIG = b"PK\x03\x04"
_CENTRAL_SIG = b"PK\x01\x02"
_END_SIG = b"PK\x05\x06"
_ZIP64_LOCATOR_SIG = b"PK\x06\x07"
_DESCRIPTOR_SIG = b"PK\x07\x08"
_END = struct.Struct("<4s4H2LH")  # end of central directory record, 22 bytes
_CENTRAL = struct.Struct("<4s6H3L5H2L")  # central directory header, 46 bytes
_LOCAL = struct.Struct("<4s5H3L2H")  # local file header, 30 bytes
_EXTRA_HEAD = struct.Struct("<HH")
_MAX_COMMENT = 0xFFFF
_ZIP64_MARK = 0xFFFFFFFF  # a 32-bit size or offset that says "see the zip64 record"
_FLAG_ENCRYPTED = 0x0001
_FLAG_DATA_DESCRIPTOR = 0x0008
_FLAG_PATCHED = 0x0020
_FLAG_STRONG_ENCRYPTION = 0x0040
_STORED, _DEFLATED = 0, 8
_METHODS = (_STORED, _DEFLATED)
_REFUSED_FLAGS = _FLAG_ENCRYPTED | _FLAG_STRONG_ENCRYPTION | _FLAG_PATCHED
_BAD_NAME_BYTE = re.compile(rb"[\x00-\x1f\x7f]")


# One central directory entry, as read from raw bytes and checked: its name, flags,
# method, CRC-32, compressed and inflated sizes, local header offset, and the Unix mode in
# its external attributes (0: none given). A plain namedtuple: typing.NamedTuple would
# compile each field's annotation at import, which `foureyes verify` pays for every run.
_Entry = collections.namedtuple("_Entry", "name flags method crc csize usize local mode")


class NotABundle(Exception):
    """The file is missing or not a zip at all: a usage problem (exit 2), not a failed check."""


def _archive_error(message: str) -> InvalidData:
    return InvalidData("archive", message)


def read_bundle_file(path: Path) -> bytes:
    """The bytes of a bundle file, refusing before reading anything too large (SPEC §8).

    Missing, unreadable or not a regular file (a FIFO would block, a device never ends):
    NotABundle. Larger than MAX_BUNDLE_BYTES: an `archive` failure, decided by stat and
    enforced again by a bounded read, so a 1 GiB file costs no more than the limit.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise NotABundle(f"cannot open it: {e.strerror}") from e
    try:
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise NotABundle("it is not a regular file")
            if st.st_size > MAX_BUNDLE_BYTES:
                raise _archive_error(f"the bundle is {st.st_size} bytes; at most "
                                     f"{MAX_BUNDLE_BYTES} allowed")
            data = f.read(MAX_BUNDLE_BYTES + 1)
    except OSError as e:
        raise NotABundle(f"cannot read it: {e.strerror}") from e
    if len(data) > MAX_BUNDLE_BYTES:
        raise _archive_error(f"the bundle is larger than {MAX_BUNDLE_BYTES} bytes")
    return data


def _end_record(data: bytes) -> tuple[int, int, int]:
    """(entry count, directory offset, directory size) from the end record, checked.

    No end record in the last 64 KiB: not a zip at all. Everything after that point is a
    zip that breaks the rules: an `archive` failure.
    """
    start = max(0, len(data) - _END.size - _MAX_COMMENT)
    pos = data.rfind(_END_SIG, start)
    while pos >= 0 and pos + _END.size > len(data):
        pos = data.rfind(_END_SIG, start, pos)
    if pos < 0:
        raise NotABundle("not a zip file (no end of central directory record)")
    (_, disk, cd_disk, n_disk, n_total, cd_size, cd_offset,
     comment_len) = _END.unpack_from(data, pos)
    if pos + _END.size + comment_len != len(data):
        raise _archive_error("there is data after the end of the zip")
    if comment_len:
        raise _archive_error("the zip carries a comment; a bundle has none")
    if pos >= 20 and data[pos - 20:pos - 16] == _ZIP64_LOCATOR_SIG or n_total == 0xFFFF \
            or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
        raise _archive_error("the zip uses zip64 records; a bundle is far too small to need them")
    if disk or cd_disk or n_disk != n_total:
        raise _archive_error("the zip claims to span several disks")
    if n_total > MAX_MEMBERS:
        raise _archive_error(f"the bundle has {n_total} entries; at most {MAX_MEMBERS} allowed")
    if cd_size > MAX_DIRECTORY_BYTES:
        raise _archive_error(f"the zip directory is {cd_size} bytes; at most "
                             f"{MAX_DIRECTORY_BYTES} allowed")
    if cd_offset + cd_size != pos:
        raise _archive_error("there is data before the zip, or between its directory and "
                             "its end record")
    if n_total and not data.startswith(_LOCAL_SIG):
        raise _archive_error("there is data before the first zip entry")
    return n_total, cd_offset, cd_size


def _directory(data: bytes, count: int, offset: int, size: int) -> list[_Entry]:
    """Walk the central directory by hand: every name and feature checked from raw bytes."""
    entries: list[_Entry] = []
    pos, end = offset, offset + size
    for n in range(count):
        if pos + _CENTRAL.size > end or not data.startswith(_CENTRAL_SIG, pos):
            raise _archive_error(f"the zip directory is damaged at entry {n + 1}")
        (_, _made, needed, flags, method, _time, _date, crc, csize, usize, name_len,
         extra_len, comment_len, _disk, _iattr, eattr, local) = _CENTRAL.unpack_from(data, pos)
        extra_at = pos + _CENTRAL.size + name_len
        raw = data[pos + _CENTRAL.size:extra_at]
        pos = extra_at + extra_len + comment_len
        if pos > end:
            raise _archive_error(f"the zip directory is damaged at entry {n + 1}")
        if name_len > MAX_NAME_BYTES or _BAD_NAME_BYTE.search(raw) or not raw.isascii() \
                or needed > MAX_EXTRACT_VERSION or flags & _REFUSED_FLAGS \
                or method not in _METHODS or usize > MAX_MEMBER_BYTES or csize == _ZIP64_MARK \
                or local >= offset:
            _refuse_entry(raw, needed, flags, method, usize, csize, local >= offset)
        if extra_len:
            _check_extra(data[extra_at:extra_at + extra_len], raw)
        entries.append(_Entry(raw.decode("ascii"), flags, method, crc, csize, usize, local,
                              eattr >> 16))
    if pos != end:
        raise _archive_error("the zip directory holds more than its entry count says")
    return entries


def _refuse_entry(raw: bytes, needed: int, flags: int, method: int, usize: int, csize: int,
                  past: bool) -> NoReturn:
    """Why a directory entry is refused, in the order the checks are listed in
    `_directory` (the name first)."""
    shown = _shown(raw)
    if len(raw) > MAX_NAME_BYTES:
        raise _archive_error(f"entry {shown!r}... has a name longer than {MAX_NAME_BYTES} "
                             "bytes")
    if _BAD_NAME_BYTE.search(raw):
        raise _archive_error(f"entry {shown!r} has a control character (NUL, newline, "
                             "...) in its name")
    if not raw.isascii():
        raise _archive_error(f"entry {shown!r} has a non-ASCII name")
    if needed > MAX_EXTRACT_VERSION:
        raise _archive_error(f"entry {shown!r} needs zip version {needed // 10}.{needed % 10}"
                             f"; a bundle needs at most {MAX_EXTRACT_VERSION // 10}."
                             f"{MAX_EXTRACT_VERSION % 10}")
    if flags & (_FLAG_ENCRYPTED | _FLAG_STRONG_ENCRYPTION):
        raise _archive_error(f"entry {shown!r} is encrypted")
    if flags & _FLAG_PATCHED:
        raise _archive_error(f"entry {shown!r} is compressed patch data")
    if method not in _METHODS:
        raise _archive_error(f"entry {shown!r} uses an unsupported compression "
                             f"(method {method})")
    if usize > MAX_MEMBER_BYTES:
        raise _archive_error(f"entry {shown!r} is larger than {MAX_MEMBER_BYTES} bytes")
    if csize == _ZIP64_MARK:
        raise _archive_error(f"entry {shown!r} uses zip64 sizes; a bundle is far too small to "
                             "need them")
    if past:
        raise _archive_error(f"entry {shown!r} points past the zip's entries")
    raise _archive_error(f"entry {shown!r} is refused")  # unreachable: the list above is whole


def _shown(raw: bytes) -> str:
    return raw[:MAX_NAME_BYTES].decode("ascii", "backslashreplace")


def _check_extra(extra: bytes, raw_name: bytes) -> None:
    """The extra field is a list of (id, length, data) records that fits exactly; a record
    running past the field is damage (as `zipfile` has always refused it)."""
    pos = 0
    while len(extra) - pos >= _EXTRA_HEAD.size:
        _, length = _EXTRA_HEAD.unpack_from(extra, pos)
        pos += _EXTRA_HEAD.size + length
        if pos > len(extra):
            raise _archive_error(f"entry {_shown(raw_name)!r} has a damaged extra field")


def _check_names(entries: list[_Entry]) -> None:
    """SPEC §8 names: each once, only the allowed ones, regular files only."""
    seen: set[str] = set()
    for e in entries:
        name = e.name
        if name in seen:
            raise _archive_error(f"entry {name!r} appears twice")
        seen.add(name)
        if name.startswith("/") or "\\" in name or ".." in name.split("/") or name.endswith("/"):
            raise _archive_error(f"entry {name!r} is a directory or an unsafe path")
        if name not in FIXED_NAMES and not DECISION_NAME.fullmatch(name):
            raise _archive_error(f"entry {name!r} is not one a bundle may hold")
        if stat.S_IFMT(e.mode) not in (0, stat.S_IFREG):
            raise _archive_error(f"entry {name!r} is a link or special file")


def _member(data: bytes, e: _Entry, limit: int) -> tuple[bytes, int]:
    """(content, offset just past the member) of one entry, read where the directory says.

    The local header must repeat the directory entry (with a data descriptor, its CRC and
    sizes may be zero, and the descriptor after the data must repeat them instead); the
    member must end by `limit` (the zip directory); the content must have exactly the
    stated size and CRC-32. Decompression is capped one byte past the stated size, so a
    lying size field costs at most MAX_MEMBER_BYTES of output.
    """
    name, e_flags, e_method, e_crc, e_csize, e_usize, pos, _mode = e
    if pos + _LOCAL.size > limit or not data.startswith(_LOCAL_SIG, pos):
        raise _archive_error(f"entry {name!r} has no local header where the directory says")
    (_, _needed, flags, method, _time, _date, crc, csize, usize, name_len,
     extra_len) = _LOCAL.unpack_from(data, pos)
    at = pos + _LOCAL.size
    if name_len != len(name) or not data.startswith(name.encode("ascii"), at):
        raise _archive_error(f"entry {name!r} has another name in its local header")
    if flags != e_flags or method != e_method:
        raise _archive_error(f"entry {name!r}: its local header disagrees with the directory "
                             "(flags or compression)")
    if (crc != e_crc or csize != e_csize or usize != e_usize) and not (
            flags & _FLAG_DATA_DESCRIPTOR and crc == csize == usize == 0):
        raise _archive_error(f"entry {name!r}: its local header disagrees with the directory "
                             "(CRC-32 or sizes)")
    start = at + name_len + extra_len
    end = start + e_csize
    if end > limit:
        raise _archive_error(f"entry {name!r} runs past the zip's entries")
    if flags & _FLAG_DATA_DESCRIPTOR:  # CRC-32 and sizes, after an optional signature
        expected = struct.pack("<3L", e_crc, e_csize, e_usize)
        if data[end:end + 16] == _DESCRIPTOR_SIG + expected and end + 16 <= limit:
            end += 16
        elif data[end:end + 12] == expected and end + 12 <= limit:
            end += 12
        else:
            raise _archive_error(f"entry {name!r}: its data descriptor disagrees with the "
                                 "directory")
    packed = data[start:start + e_csize]
    if e_method == _STORED:
        if e_csize != e_usize:
            raise _archive_error(f"entry {name!r} is stored with two different sizes")
        content = packed
    else:
        inflater = zlib.decompressobj(-15)
        try:
            content = inflater.decompress(packed, e_usize + 1)
        except zlib.error as err:
            raise _archive_error(f"entry {name!r} cannot be inflated: {err}") from err
        if len(content) > e_usize:
            raise _archive_error(f"entry {name!r} inflates past its stated size "
                                 f"({e_usize} bytes)")
        if not inflater.eof or inflater.unused_data or inflater.unconsumed_tail:
            raise _archive_error(f"entry {name!r}: its compressed data does not end where its "
                                 "size says")
        if len(content) != e_usize:
            raise _archive_error(f"entry {name!r} inflates to {len(content)} bytes, not the "
                                 f"{e_usize} it states")
    if zlib.crc32(content) != e_crc:
        raise _archive_error(f"entry {name!r} fails its CRC-32 check")
    return content, end


def read_members(data: bytes) -> dict[str, bytes]:
    """Every member of a bundle by name, after the directory passed every check."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise _archive_error(f"the bundle is larger than {MAX_BUNDLE_BYTES} bytes")
    count, offset, size = _end_record(data)
    entries = _directory(data, count, offset, size)
    _check_names(entries)
    members: dict[str, bytes] = {}
    spans: list[tuple[int, int, str]] = []
    for e in entries:
        members[e.name], end = _member(data, e, offset)
        spans.append((e.local, end, e.name))
    covered = 0
    for start, end, name in sorted(spans):
        if start != covered:
            raise _archive_error(f"entry {name!r} overlaps another" if start < covered else
                                 f"there are bytes in the zip that no entry accounts for, "
                                 f"before entry {name!r}")
        covered = end
    if covered != offset:
        raise _archive_error("there are bytes in the zip that no entry accounts for, before "
                             "its directory")
    for name in REQUIRED:
        if name not in members:
            raise _archive_error(f"required entry {name!r} is missing")
    if ("receipt.json" in members) != ("receipt.json.sig" in members):
        raise _archive_error("receipt.json and receipt.json.sig must come together")
    numbers = sorted(int(m.group(1)) for n in members if (m := DECISION_NAME.fullmatch(n))
                     and not m.group(2))
    if numbers != list(range(1, len(numbers) + 1)):
        raise _archive_error("decisions must be numbered 1, 2, ... without gaps")
    for n in numbers:
        if f"decisions/{n}.json.sig" not in members:
            raise _archive_error(f"decisions/{n}.json has no signature file")
    sigs = [n for n in members if n.endswith(".json.sig") and n.startswith("decisions/")]
    if len(sigs) != len(numbers):
        raise _archive_error("a decision signature has no decision beside it")
    return members


def write_members(members: Mapping[str, bytes]) -> bytes:
    """A deterministic zip: SPEC order, fixed timestamps, regular-file permissions."""
    import zipfile  # writing only: the reader above never uses it

    order = {n: i for i, n in enumerate(FIXED_NAMES)}

    def key(name: str) -> tuple[int, int, str]:
        m = DECISION_NAME.fullmatch(name)
        if m:
            return (2, int(m.group(1)), name)
        return (0 if order[name] < 2 else 4, order[name], name)

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(members, key=key):
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, members[name])
    return out.getvalue()
