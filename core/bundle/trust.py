"""The auditor's trust file: which policies and which log keys they accept (SPEC §9).

Trust never comes from the bundle. A bad trust file is the auditor's own mistake, so it is
refused as a usage error rather than reported as a failed bundle.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from core.errors import InvalidData
from core.policy.model import read_toml

HASH_RE = re.compile(r"sha256:[0-9a-f]{64}")
MAX_TRUST_BYTES = 256 * 1024
MAX_TRUST_ITEMS = 1024  # policies plus logs


@dataclass(frozen=True)
class Trust:
    policies: frozenset[str]
    logs: frozenset[str]


def parse_trust(data: bytes) -> Trust:
    if len(data) > MAX_TRUST_BYTES:
        raise InvalidData("trust", "the trust file is too large")
    doc = read_toml(data, "trust", "the trust file")
    unknown = set(doc) - {"policies", "logs"}
    if unknown:
        raise InvalidData("trust", f"the trust file has unknown key {sorted(unknown)[0]!r}")
    policies = doc.get("policies", [])
    logs = doc.get("logs", [])
    if not isinstance(policies, list) or not all(
        isinstance(p, str) and HASH_RE.fullmatch(p) for p in policies
    ):
        raise InvalidData("trust", "policies must be a list of sha256:<hex> policy hashes")
    if not isinstance(logs, list) or not all(isinstance(k, str) for k in logs):
        raise InvalidData("trust", "logs must be a list of log verifier keys")
    if len(policies) + len(logs) > MAX_TRUST_ITEMS:
        raise InvalidData("trust", f"the trust file lists more than {MAX_TRUST_ITEMS} items")
    return Trust(frozenset(policies), frozenset(logs))


def read_limited(path: Path, limit: int, code: str, what: str) -> bytes:
    """A regular file's bytes, refused by stat before reading when over ``limit``."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise InvalidData(code, f"{what} {path} is not a regular file")
            if st.st_size > limit:
                raise InvalidData(code, f"{what} {path} is larger than {limit} bytes")
            data = f.read(limit + 1)
    except OSError as e:
        raise InvalidData(code, f"cannot read {what} {path}: {e.strerror}") from e
    if len(data) > limit:
        raise InvalidData(code, f"{what} {path} is larger than {limit} bytes")
    return data


def load_trust(path: Path) -> Trust:
    return parse_trust(read_limited(Path(path), MAX_TRUST_BYTES, "trust", "the trust file"))
