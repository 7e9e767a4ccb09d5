"""Atomic file writes: a temporary name in the same folder, fsync, then rename.

Readers (ours and other implementations) ignore temporaries, so a crash or a yanked USB
stick leaves either the old state or the new file, never half a file under a real name.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

TEMP_PREFIX = "."
TEMP_SUFFIX = ".tmp"


def is_temporary(name: str) -> bool:
    return name.startswith(TEMP_PREFIX) or name.endswith(TEMP_SUFFIX)


def write_atomic(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Write ``data`` to ``path`` atomically; with ``exclusive``, never replace a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX + path.name + ".", suffix=TEMP_SUFFIX,
                               dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if exclusive:
            os.link(tmp, path)  # fails if path exists: no silent overwrite
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
