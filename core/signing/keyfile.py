"""Unencrypted OpenSSH private-key files (PROTOCOL.key) for servers, gates and tests.

The same file works with `ssh-keygen -Y sign -f FILE`, so an operator can check our
signatures with their own tools. Files are written 0600 atomically and refused when other
users can read them.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import stat
import struct
import tempfile
from pathlib import Path

from core.errors import InvalidData, TransportError
from core.signing.keys import KEY_TYPE, PublicKey, Signer, ssh_string
from core.signing.wire import Reader

AUTH_MAGIC = b"openssh-key-v1\x00"
BEGIN = "-----BEGIN OPENSSH PRIVATE KEY-----"
END = "-----END OPENSSH PRIVATE KEY-----"
MAX_KEY_FILE_BYTES = 16 * 1024
BLOCK = 8


def encode_private_key(signer: Signer, comment: str) -> str:
    pub = signer.public_key
    check = secrets.randbits(32)
    private = (struct.pack(">II", check, check) + ssh_string(KEY_TYPE.encode())
               + ssh_string(pub.raw) + ssh_string(signer.seed_bytes() + pub.raw)
               + ssh_string(comment.encode()))
    pad = (BLOCK - len(private) % BLOCK) % BLOCK
    private += bytes(range(1, pad + 1))
    blob = (AUTH_MAGIC + ssh_string(b"none") + ssh_string(b"none") + ssh_string(b"")
            + struct.pack(">I", 1) + ssh_string(pub.blob) + ssh_string(private))
    text = base64.b64encode(blob).decode()
    body = "\n".join(text[i:i + 70] for i in range(0, len(text), 70))
    return f"{BEGIN}\n{body}\n{END}\n"


def decode_private_key(text: str) -> tuple[Signer, str]:
    """(signer, comment) from an unencrypted ed25519 OpenSSH private key."""
    lines = [ln.strip() for ln in text.strip().splitlines()]
    if len(lines) < 3 or lines[0] != BEGIN or lines[-1] != END:
        raise InvalidData("key_file", "not an OpenSSH private key file")
    try:
        blob = base64.b64decode("".join(lines[1:-1]), validate=True)
    except (binascii.Error, ValueError) as e:
        raise InvalidData("key_file", "the key file's base64 is damaged") from e
    r = Reader(blob, "key file", code="key_file")
    if r.raw(len(AUTH_MAGIC)) != AUTH_MAGIC:
        raise InvalidData("key_file", "not an openssh-key-v1 file")
    if r.string() != b"none" or r.string() != b"none":
        raise InvalidData("key_file", "encrypted key files are not supported; use the OS "
                          "keyring for keys that need a passphrase")
    r.string()
    if r.uint32() != 1:
        raise InvalidData("key_file", "a key file must hold exactly one key")
    public = PublicKey.from_blob(r.string())
    p = Reader(r.string(), "key file", code="key_file")
    r.end()
    if p.uint32() != p.uint32():
        raise InvalidData("key_file", "the key file's check bytes differ (damaged file)")
    if p.string() != KEY_TYPE.encode():
        raise InvalidData("key_type", "only ssh-ed25519 key files are supported")
    if p.string() != public.raw:
        raise InvalidData("key_file", "the key file's public and private parts disagree")
    secret = p.string()
    comment = p.string().decode("utf-8", "replace")
    if len(secret) != 64 or secret[32:] != public.raw:
        raise InvalidData("key_file", "the key file's private key is malformed")
    signer = Signer(secret[:32])
    if signer.public_key != public:
        raise InvalidData("key_file", "the key file's private key does not match its public key")
    return signer, comment


def write_private(path: Path, content: str) -> None:
    """Write 0600 in the same directory, fsync, then rename into place (never half-written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            raise InvalidData("key_exists", f"{path} already exists; refusing to overwrite a key")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_private(path: Path) -> str:
    """The text of a key file that only its owner can read."""
    try:
        st = path.stat()
    except FileNotFoundError as e:
        raise InvalidData("no_key", f"no key file at {path}; create one with "
                          f"`foureyes keys new --identity ID --key-file {path}`") from e
    except OSError as e:
        raise TransportError("storage", f"cannot read {path}: {e.strerror}") from e
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InvalidData("key_file_permissions", f"{path} can be read by other users; "
                          f"run `chmod 600 {path}`")
    if st.st_size > MAX_KEY_FILE_BYTES:
        raise InvalidData("key_file", f"{path} is too large to be a key file")
    try:
        return path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidData("key_file", f"cannot read {path}: {e}") from e
