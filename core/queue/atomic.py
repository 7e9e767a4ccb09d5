"""Atomic file writes: a temporary name in the same folder, fsync, then rename.

Readers (ours and other implementations) ignore temporaries, so a crash or a yanked USB
stick leaves either the old state or the new file, never half a file under a real name.
The temporary file is created O_CREAT|O_EXCL|O_NOFOLLOW in a folder opened without
following a link, and renamed with folder descriptors (see `core.queue.safefs`).
"""

from __future__ import annotations

from pathlib import Path

from core.queue.safefs import TEMP_PREFIX, TEMP_SUFFIX, is_temporary, write_file

__all__ = ["TEMP_PREFIX", "TEMP_SUFFIX", "is_temporary", "write_atomic"]


def write_atomic(path: Path, data: bytes, *, exclusive: bool = False,
                 mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` atomically; with ``exclusive``, never replace a file."""
    write_file(Path(path), data, exclusive=exclusive, mode=mode)
