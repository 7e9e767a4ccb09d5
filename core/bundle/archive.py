"""Reading and writing the proof-bundle zip (SPEC §8), treating every input as hostile.

The reader never lets `zipfile` near a directory it has not checked itself: it reads the
end-of-central-directory record and walks the central directory by hand first, so a
bundle that claims 1.4 million entries, needs a zip feature newer than deflate, hides a
NUL in a name, or carries bytes before or after the zip is refused before any list is
built or any byte decompressed. Only then does `zipfile` read the members, each with a
hard cap, so a lying size field cannot turn into a zip bomb.

Named limits (also listed in docs/formats.md):
  MAX_BUNDLE_BYTES     the whole file; checked with stat before reading, then read bounded
  MAX_MEMBERS          entries in the central directory (SPEC §8: 64)
  MAX_MEMBER_BYTES     one member, inflated (SPEC §8: 1 MiB)
  MAX_DIRECTORY_BYTES  the central directory itself
  MAX_NAME_BYTES       one entry name
  MAX_EXTRACT_VERSION  the newest zip feature level a bundle may need (2.0: deflate)
"""

from __future__ import annotations

import io
import os
import re
import stat
import struct
import zipfile
from collections.abc import Mapping
from pathlib import Path

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
_END = struct.Struct("<4s4H2LH")  # end of central directory record, 22 bytes
_CENTRAL = struct.Struct("<4s6H3L5H2L")  # central directory header, 46 bytes
_MAX_COMMENT = 0xFFFF
_FLAG_ENCRYPTED = 0x0001
_FLAG_STRONG_ENCRYPTION = 0x0040
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


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


def _directory_names(data: bytes, count: int, offset: int, size: int) -> list[str]:
    """Walk the central directory by hand: every name and feature checked from raw bytes."""
    names: list[str] = []
    pos, end = offset, offset + size
    for n in range(count):
        if pos + _CENTRAL.size > end or data[pos:pos + 4] != _CENTRAL_SIG:
            raise _archive_error(f"the zip directory is damaged at entry {n + 1}")
        (_, _made, needed, flags, method, _time, _date, _crc, _csize, usize, name_len,
         extra_len, comment_len, _disk, _iattr, _eattr, local) = _CENTRAL.unpack_from(data, pos)
        raw = data[pos + _CENTRAL.size:pos + _CENTRAL.size + name_len]
        pos += _CENTRAL.size + name_len + extra_len + comment_len
        if pos > end:
            raise _archive_error(f"the zip directory is damaged at entry {n + 1}")
        shown = raw[:MAX_NAME_BYTES].decode("ascii", "backslashreplace")
        if name_len > MAX_NAME_BYTES:
            raise _archive_error(f"entry {shown!r}... has a name longer than {MAX_NAME_BYTES} "
                                 "bytes")
        if any(b < 0x20 or b == 0x7F for b in raw):
            raise _archive_error(f"entry {shown!r} has a control character (NUL, newline, "
                                 "...) in its name")
        if any(b > 0x7F for b in raw):
            raise _archive_error(f"entry {shown!r} has a non-ASCII name")
        if needed > MAX_EXTRACT_VERSION:
            raise _archive_error(f"entry {shown!r} needs zip version {needed // 10}.{needed % 10}"
                                 f"; a bundle needs at most {MAX_EXTRACT_VERSION // 10}."
                                 f"{MAX_EXTRACT_VERSION % 10}")
        if flags & (_FLAG_ENCRYPTED | _FLAG_STRONG_ENCRYPTION):
            raise _archive_error(f"entry {shown!r} is encrypted")
        if method not in _METHODS:
            raise _archive_error(f"entry {shown!r} uses an unsupported compression "
                                 f"(method {method})")
        if usize > MAX_MEMBER_BYTES:
            raise _archive_error(f"entry {shown!r} is larger than {MAX_MEMBER_BYTES} bytes")
        if local >= offset:
            raise _archive_error(f"entry {shown!r} points past the zip's entries")
        names.append(raw.decode("ascii"))
    if pos != end:
        raise _archive_error("the zip directory holds more than its entry count says")
    return names


def _open_checked(data: bytes) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """Hand the checked directory to zipfile; any error of its own is an `archive` failure."""
    count, offset, size = _end_record(data)
    names = _directory_names(data, count, offset, size)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except Exception as e:  # zipfile's errors (BadZipFile, NotImplementedError, ...), once
        raise _archive_error(f"the zip cannot be read: {e}") from e
    if [i.filename for i in infos] != names:
        raise _archive_error("the zip directory reads differently than it is written")
    return zf, infos


def read_members(data: bytes) -> dict[str, bytes]:
    """Every member of a bundle by name, after the directory passed every check."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise _archive_error(f"the bundle is larger than {MAX_BUNDLE_BYTES} bytes")
    zf, infos = _open_checked(data)
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        if name in seen:
            raise _archive_error(f"entry {name!r} appears twice")
        seen.add(name)
        if name.startswith("/") or "\\" in name or ".." in name.split("/") or name.endswith("/"):
            raise _archive_error(f"entry {name!r} is a directory or an unsafe path")
        if name not in FIXED_NAMES and not DECISION_NAME.fullmatch(name):
            raise _archive_error(f"entry {name!r} is not one a bundle may hold")
        kind = stat.S_IFMT(info.external_attr >> 16)
        if kind not in (0, stat.S_IFREG):
            raise _archive_error(f"entry {name!r} is a link or special file")
    members: dict[str, bytes] = {}
    for info in infos:
        try:
            with zf.open(info) as f:
                content = f.read(MAX_MEMBER_BYTES + 1)
        except Exception as e:  # BadZipFile, zlib.error, EOFError...: a bad archive, never a crash
            raise _archive_error(f"entry {info.filename!r} cannot be read: {e}") from e
        if len(content) > MAX_MEMBER_BYTES:
            raise _archive_error(f"entry {info.filename!r} inflates past {MAX_MEMBER_BYTES} bytes")
        members[info.filename] = content
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
