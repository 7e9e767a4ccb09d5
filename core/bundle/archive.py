"""Reading and writing the proof-bundle zip (SPEC §8), treating every input as hostile.

The reader checks the whole directory before decompressing a byte: only the names SPEC §8
allows, no duplicates, no paths that climb or start at the root, no links, no encryption,
each member at most 1 MiB and at most 64 of them. Members are then read with a hard cap,
so a lying size field cannot turn into a zip bomb.
"""

from __future__ import annotations

import io
import re
import stat
import zipfile
from collections.abc import Mapping

from core.errors import InvalidData

MAX_MEMBERS = 64
MAX_MEMBER_BYTES = 1024 * 1024
MAX_BUNDLE_BYTES = MAX_MEMBERS * MAX_MEMBER_BYTES + 1024 * 1024
FIXED_NAMES = ("proposal.json", "policy.toml", "receipt.json", "receipt.json.sig",
               "log/checkpoint", "log/entries.jsonl", "log/proofs.json", "allowed_signers")
REQUIRED = ("proposal.json", "policy.toml", "log/checkpoint", "log/entries.jsonl",
            "log/proofs.json")
DECISION_NAME = re.compile(r"decisions/([1-9][0-9]{0,2})\.json(\.sig)?")
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


class NotABundle(Exception):
    """The file is missing or not a zip at all: a usage problem (exit 2), not a failed check."""


def _archive_error(message: str) -> InvalidData:
    return InvalidData("archive", message)


def read_members(data: bytes) -> dict[str, bytes]:
    """Every member of a bundle by name, after the directory passed every check."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise _archive_error(f"the bundle is larger than {MAX_BUNDLE_BYTES} bytes")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise NotABundle("not a zip file")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as e:
        raise NotABundle(f"not a readable zip file: {e}") from e
    if len(infos) > MAX_MEMBERS:
        raise _archive_error(f"the bundle has {len(infos)} entries; at most {MAX_MEMBERS} allowed")
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        if name in seen:
            raise _archive_error(f"entry {name!r} appears twice")
        seen.add(name)
        if name.startswith("/") or "\\" in name or ".." in name.split("/") or name.endswith("/"):
            raise _archive_error(f"entry {name!r} is a directory or an unsafe path")
        if name not in FIXED_NAMES and not DECISION_NAME.fullmatch(name):
            raise _archive_error(f"entry {name!r} is not one SPEC §8 allows")
        kind = stat.S_IFMT(info.external_attr >> 16)
        if kind not in (0, stat.S_IFREG):
            raise _archive_error(f"entry {name!r} is a link or special file")
        if info.flag_bits & 0x1:
            raise _archive_error(f"entry {name!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _archive_error(f"entry {name!r} uses an unsupported compression")
        if info.file_size > MAX_MEMBER_BYTES:
            raise _archive_error(f"entry {name!r} is larger than {MAX_MEMBER_BYTES} bytes")
    members: dict[str, bytes] = {}
    for info in infos:
        try:
            with zf.open(info) as f:
                content = f.read(MAX_MEMBER_BYTES + 1)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError) as e:
            raise _archive_error(f"entry {info.filename!r} cannot be read: {e}") from e
        except Exception as e:  # zlib.error and friends: still a bad archive, never a crash
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
