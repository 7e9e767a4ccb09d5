"""The log's signing key on disk: 0600, written atomically, refused if others can read it."""

from __future__ import annotations

from pathlib import Path

from core.log.note import LogSigner
from core.signing.keyfile import read_private, write_private


def save_log_key(path: Path, signer: LogSigner) -> None:
    write_private(Path(path), signer.to_text() + "\n")


def load_log_key(path: Path) -> LogSigner:
    return LogSigner.from_text(read_private(Path(path)))


def load_or_create_log_key(path: Path, name: str) -> tuple[LogSigner, bool]:
    """(signer, created): the first start of a server makes its log key."""
    path = Path(path)
    if path.exists():
        return load_log_key(path), False
    signer = LogSigner.generate(name)
    save_log_key(path, signer)
    return signer, True
