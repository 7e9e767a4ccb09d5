"""The auditor's trust file: which policies and which log keys they accept (SPEC §9).

Trust never comes from the bundle. A bad trust file is the auditor's own mistake, so it is
refused as a usage error rather than reported as a failed bundle.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from core.errors import InvalidData

HASH_RE = re.compile(r"sha256:[0-9a-f]{64}")
MAX_TRUST_BYTES = 256 * 1024


@dataclass(frozen=True)
class Trust:
    policies: frozenset[str]
    logs: frozenset[str]


def parse_trust(data: bytes) -> Trust:
    if len(data) > MAX_TRUST_BYTES:
        raise InvalidData("trust", "the trust file is too large")
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise InvalidData("trust", f"the trust file is not valid TOML: {e}") from e
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
    return Trust(frozenset(policies), frozenset(logs))


def load_trust(path: Path) -> Trust:
    try:
        return parse_trust(Path(path).read_bytes())
    except OSError as e:
        raise InvalidData("trust", f"cannot read the trust file {path}: {e.strerror}") from e
