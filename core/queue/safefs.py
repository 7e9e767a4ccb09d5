"""File access on a share that people the gate does not trust can write to (SPEC §10).

Every path below the share root is walked one component at a time from a descriptor of the
root, each folder opened ``O_DIRECTORY|O_NOFOLLOW`` relative to its parent's descriptor, so a
symbolic link anywhere below the root is refused, never followed. Readers open only regular
files: ``O_NOFOLLOW|O_NONBLOCK`` (a FIFO can neither be followed nor block the open), then
``fstat`` on the opened descriptor must say "regular file", and at most ``limit`` bytes are
read from that descriptor. Writers create a temporary file ``O_CREAT|O_EXCL|O_NOFOLLOW`` in a
verified folder descriptor and link (exclusive) or rename (replace) it into place with
folder descriptors, so the gate only ever writes a file it created itself, inside the share.

Errors: `Unsafe` (code ``unreadable``) for anything that is not what it must be (a link, a
FIFO, a device, a file where a folder belongs, too large, unreadable); `Taken` (code
``share_blocked``) when a name the gate must create exclusively already exists.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from core.errors import InvalidData, TransportError

TEMP_PREFIX = "."
TEMP_SUFFIX = ".tmp"
SHARED_FILE_MODE = 0o644  # other share users (reviewers, auditors) must read what the gate publishes
SHARED_DIR_MODE = 0o755
READ_CHUNK = 64 * 1024

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | _CLOEXEC
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _CLOEXEC


class Unsafe(InvalidData):
    """A share path is not what it must be; the caller reports it and skips it."""

    def __init__(self, message: str) -> None:
        super().__init__("unreadable", message)


class Taken(InvalidData):
    """A name the gate must create exclusively already exists on the share."""

    def __init__(self, message: str) -> None:
        super().__init__("share_blocked", message)


@dataclass(frozen=True)
class Entry:
    """One name in a share folder, typed without following links."""

    name: str
    kind: str  # "file", "dir", "link" or "other" (FIFO, socket, device)
    mtime_ns: int
    size: int
    ino: int

    @property
    def fingerprint(self) -> str:
        """Identifies this exact file, so a bad one is reported once and a new one looked at."""
        return f"{self.kind}:{self.ino}:{self.mtime_ns}:{self.size}"


def is_temporary(name: str) -> bool:
    return name.startswith(TEMP_PREFIX) or name.endswith(TEMP_SUFFIX)


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    return "other"


_KIND_TEXT = {"link": "a symbolic link", "dir": "a folder", "other": "a FIFO, socket or device"}


_KIND_NAME = {"link": "a symbolic link", "dir": "a folder", "file": "a file",
              "other": "a FIFO, socket or device"}


def _why(e: OSError, dir_fd: int | None = None, name: str | None = None) -> str:
    """Why an open failed, naming what actually sits there (looked at without following)."""
    if dir_fd is not None and name is not None and e.errno in (errno.ELOOP, errno.ENOTDIR,
                                                                errno.EMLINK):
        try:
            kind = _kind(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
            return f"is {_KIND_NAME[kind]}"
        except OSError:
            pass
    if e.errno in (errno.ELOOP, errno.EMLINK):
        return "is a symbolic link"
    if e.errno == errno.ENOTDIR:
        return "is not a folder"
    return f"cannot be opened ({e.strerror})"


def _open_dir(parent_fd: int, name: str, *, create: bool) -> int:
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    except FileNotFoundError:
        if not create:
            raise
    with suppress(FileExistsError):  # made concurrently, or a dangling link: open decides
        os.mkdir(name, SHARED_DIR_MODE, dir_fd=parent_fd)
    return os.open(name, _DIR_FLAGS, dir_fd=parent_fd)


def _check_name(name: str) -> None:
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        raise Unsafe(f"{name!r} is not a plain file name")


def read_fd_regular(dir_fd: int, name: str, limit: int, shown: str) -> bytes:
    """The bytes of regular file ``name`` in folder ``dir_fd``; FileNotFoundError if absent."""
    _check_name(name)
    try:
        fd = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        raise
    except OSError as e:
        raise Unsafe(f"{shown} {_why(e, dir_fd, name)}; not read") from e
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Unsafe(f"{shown} is {_KIND_TEXT.get(_kind(st.st_mode), 'not a file')}; "
                         "not read")
        if st.st_size > limit:
            raise Unsafe(f"{shown} is larger than {limit} bytes; not read")
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            chunk = os.read(fd, min(READ_CHUNK, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise Unsafe(f"{shown} grew past {limit} bytes while read; not read")
        return b"".join(chunks)
    except OSError as e:
        raise Unsafe(f"{shown} cannot be read ({e.strerror})") from e
    finally:
        os.close(fd)


def _write_in(dir_fd: int, name: str, data: bytes, *, exclusive: bool, mode: int,
              shown: str) -> None:
    """Create ``name`` in ``dir_fd`` from a fresh exclusive temporary file."""
    _check_name(name)
    tmp = f"{TEMP_PREFIX}{name}.{secrets.token_hex(8)}{TEMP_SUFFIX}"
    fd = os.open(tmp, _CREATE_FLAGS, mode, dir_fd=dir_fd)
    try:
        try:
            os.fchmod(fd, mode)  # the umask must not decide who may read a shared file
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        if exclusive:
            try:
                os.link(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
            except FileExistsError as e:
                raise Taken(f"{shown} already exists; the gate writes it only once") from e
            os.unlink(tmp, dir_fd=dir_fd)
        else:
            os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        os.fsync(dir_fd)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise


def write_file(path: Path, data: bytes, *, exclusive: bool = False, mode: int = 0o600) -> None:
    """Atomically write a local file: verified parent folder, exclusive no-follow temp file.

    The parent folder is the caller's own (a local path the operator chose, so a link in it
    is theirs to make, e.g. /tmp on macOS); it is opened once as a folder descriptor, the
    temporary file is created O_EXCL|O_NOFOLLOW in it and renamed (or, with ``exclusive``,
    linked so an existing name is never replaced) using that same descriptor. Share files
    go through `ShareRoot.write`, which follows no link at all.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC)
    try:
        try:
            _write_in(dir_fd, path.name, data, exclusive=exclusive, mode=mode, shown=str(path))
        except Taken as e:
            raise FileExistsError(errno.EEXIST, e.message, str(path)) from e
    finally:
        os.close(dir_fd)


class ShareRoot:
    """Safe access to the files below one share root (the root path itself is the operator's).

    Parts are file and folder names relative to the root, e.g. ``("receipts", "ab.json")``.
    """

    def __init__(self, root: Path) -> None:
        self.path = Path(root)

    @contextmanager
    def folder(self, parts: Sequence[str], *, create: bool = False) -> Iterator[int]:
        """A descriptor of the folder ``parts``, walked without following any link."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC)
        except OSError as e:
            raise TransportError("unreachable", f"cannot open the folder {self.path}: "
                                 f"{e.strerror}; is the share or stick mounted?") from e
        try:
            for i, name in enumerate(parts):
                _check_name(name)
                try:
                    nxt = _open_dir(fd, name, create=create)
                except FileNotFoundError:
                    raise
                except OSError as e:
                    raise Unsafe(f"{'/'.join(parts[:i + 1])} {_why(e, fd, name)}, where a "
                                 "folder belongs; not used") from e
                os.close(fd)
                fd = nxt
            yield fd
        finally:
            os.close(fd)

    def read(self, parts: Sequence[str], limit: int) -> bytes | None:
        """A regular file's bytes, None if it (or a folder on the way) does not exist."""
        shown = "/".join(parts)
        try:
            with self.folder(parts[:-1]) as fd:
                return read_fd_regular(fd, parts[-1], limit, shown)
        except FileNotFoundError:
            return None

    def entries(self, parts: Sequence[str]) -> list[Entry] | None:
        """The names in a folder, typed without following links; None if it does not exist."""
        shown = "/".join(parts) or "."
        try:
            with self.folder(parts) as fd:
                out = []
                try:
                    names = os.listdir(fd)
                except OSError as e:
                    raise Unsafe(f"{shown} cannot be listed ({e.strerror})") from e
                for name in names:
                    try:
                        st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                    except FileNotFoundError:
                        continue
                    except OSError as e:
                        raise Unsafe(f"{shown}/{name} cannot be examined ({e.strerror})") from e
                    out.append(Entry(name, _kind(st.st_mode), st.st_mtime_ns, st.st_size,
                                     st.st_ino))
                return out
        except FileNotFoundError:
            return None

    def present(self, parts: Sequence[str]) -> bool:
        """Whether anything at all (a link or FIFO too) has this name."""
        try:
            with self.folder(parts[:-1]) as fd:
                os.stat(parts[-1], dir_fd=fd, follow_symlinks=False)
                return True
        except FileNotFoundError:
            return False
        except Unsafe:
            return True  # something is in the way: treat it as present, never as absent

    def write(self, parts: Sequence[str], data: bytes, *, exclusive: bool,
              mode: int = SHARED_FILE_MODE) -> None:
        """Create a file the gate (or a reviewer) writes, without following any link.

        ``exclusive``: never replace an existing name (raises `Taken`). Otherwise the new file
        replaces the name by rename, which replaces a planted link itself, never its target.
        """
        shown = "/".join(parts)
        with self.folder(parts[:-1], create=True) as fd:
            try:
                _write_in(fd, parts[-1], data, exclusive=exclusive, mode=mode, shown=shown)
            except InvalidData:
                raise
            except OSError as e:
                raise Unsafe(f"{shown} cannot be written ({e.strerror})") from e

    def make_folders(self, names: Sequence[str]) -> None:
        for name in names:
            with self.folder((name,), create=True):
                pass
