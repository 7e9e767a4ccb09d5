"""Signed releases (SPEC §11): SHA256SUMS plus one SSHSIG per release signer, and a
threshold of distinct signers. Foureyes applies its own rule to itself: one signature is
never enough for an installer to count.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import InvalidData
from core.formats.fields import human
from core.queue.atomic import write_atomic
from core.signing import PublicKey, Signer, verify

RELEASE_NAMESPACE = "foureyes-release-v1"
SUMS = "SHA256SUMS"
MAX_SUMS_BYTES = 1024 * 1024
MAX_SIGNERS_BYTES = 256 * 1024
_LINE = re.compile(r"([0-9a-f]{64}) [ *](\S(?:.*\S)?)")
_SIG_NAME = re.compile(r"SHA256SUMS\.(.+)\.sig")
CHUNK = 1024 * 1024


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def parse_sums(data: bytes) -> dict[str, str]:
    """name → hex, strictly: sha256sum format, relative names, no duplicates."""
    if len(data) > MAX_SUMS_BYTES:
        raise InvalidData("sums", "SHA256SUMS is too large")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidData("sums", "SHA256SUMS is not UTF-8") from e
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        m = _LINE.fullmatch(line)
        if not m:
            raise InvalidData("sums", f"SHA256SUMS line {n} is not '<sha256>  <file>'")
        digest, name = m.groups()
        if name.startswith("/") or ".." in name.split("/") or "\\" in name:
            raise InvalidData("sums", f"SHA256SUMS line {n} names an unsafe path {name!r}")
        if name in out:
            raise InvalidData("sums", f"SHA256SUMS lists {name!r} twice")
        out[name] = digest
    if not out:
        raise InvalidData("sums", "SHA256SUMS lists no files")
    return out


def write_sums(directory: Path, names: list[str]) -> Path:
    lines = "".join(f"{file_sha256(directory / n)}  {n}\n" for n in sorted(names))
    path = directory / SUMS
    write_atomic(path, lines.encode())
    return path


def parse_signers(data: bytes, excluded: dict[PublicKey, str] | None = None
                  ) -> dict[PublicKey, str]:
    """allowed_signers lines → key → identity; one key under two names is refused.
    Keys whose namespaces= leaves out releases go to ``excluded``, to be named as such."""
    if len(data) > MAX_SIGNERS_BYTES:
        raise InvalidData("signers", "release_signers is too large")
    roster: dict[PublicKey, str] = {}
    for n, raw in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        who = parts[0]
        rest = parts[1:]
        if rest and rest[0].startswith("namespaces="):
            allowed = rest[0].removeprefix("namespaces=").strip('"').split(",")
            if RELEASE_NAMESPACE not in allowed:
                if excluded is not None and len(rest) >= 3:
                    with contextlib.suppress(InvalidData):
                        excluded[PublicKey.from_openssh(f"{rest[1]} {rest[2]}")] = who
                continue  # this key may not sign releases
            rest = rest[1:]
        if len(rest) < 2:
            raise InvalidData("signers", f"release_signers line {n} is malformed")
        try:
            human(who, "signer")
            key = PublicKey.from_openssh(f"{rest[0]} {rest[1]}")
        except InvalidData as e:
            raise InvalidData("signers", f"release_signers line {n}: {e.message}") from e
        if key in roster and roster[key] != who:
            raise InvalidData("signers", f"release_signers gives one key to {roster[key]} "
                              f"and {who}")
        roster[key] = who
    return roster


def sign_release(directory: Path, identity: str, signer: Signer) -> Path:
    data = (directory / SUMS).read_bytes()
    parse_sums(data)
    path = directory / f"{SUMS}.{identity}.sig"
    write_atomic(path, signer.sign(data, RELEASE_NAMESPACE).encode())
    return path


@dataclass
class ReleaseReport:
    threshold: int
    valid_signers: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (code, sentence)
    missing: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        bad_files = any(code in ("file_missing", "file_mismatch", "sums") for code, _ in
                        self.problems)
        return not bad_files and len(self.valid_signers) >= self.threshold


def verify_release(directory: Path, signers_file: Path, threshold: int) -> ReleaseReport:
    if threshold < 1:
        raise InvalidData("threshold", "the threshold must be at least 1")
    report = ReleaseReport(threshold)
    excluded: dict[PublicKey, str] = {}
    roster = parse_signers(signers_file.read_bytes(), excluded)
    try:
        sums_bytes = (directory / SUMS).read_bytes()
        sums = parse_sums(sums_bytes)
    except (OSError, InvalidData) as e:
        report.problems.append(("sums", f"SHA256SUMS: {e}"))
        return report
    for name, digest in sums.items():
        path = directory / name
        if not path.is_file():
            report.problems.append(("file_missing", f"{name} is listed but missing"))
        elif file_sha256(path) != digest:
            report.problems.append(("file_mismatch", f"{name} does not match SHA256SUMS"))
    counted: set[bytes] = set()
    for sig_path in sorted(directory.glob(f"{SUMS}.*.sig")):
        claimed = _SIG_NAME.fullmatch(sig_path.name).group(1)
        try:
            key = verify(sig_path.read_bytes(), sums_bytes, RELEASE_NAMESPACE)
        except InvalidData as e:
            report.problems.append(("invalid_signature", f"{sig_path.name}: {e.message}"))
            continue
        who = roster.get(key)
        if who is None and key in excluded:
            report.problems.append(("namespace_not_allowed", f"{sig_path.name} is signed by "
                                    f"{excluded[key]}'s key, but release_signers does not "
                                    f"allow it the namespace {RELEASE_NAMESPACE}"))
        elif who is None:
            report.problems.append(("unknown_key", f"{sig_path.name} is signed by "
                                    f"{key.fingerprint}, which is not in release_signers"))
        elif who != claimed:
            report.problems.append(("wrong_identity", f"{sig_path.name} is signed by {who}'s "
                                    "key, not by the signer its name claims"))
        elif key.raw in counted:
            report.problems.append(("duplicate_signer", f"{who} signed more than once; "
                                    "counted once"))
        else:
            counted.add(key.raw)
            report.valid_signers.append(who)
    report.missing = sorted(set(roster.values()) - set(report.valid_signers))
    return report
