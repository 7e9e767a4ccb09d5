"""Ed25519 public keys as OpenSSH spells them, and the signer that holds a seed.

Keys are compared by their 32 raw bytes (constant time), never by text, so one key cannot
count twice under two spellings (another comment, other whitespace).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct

import nacl.bindings
import nacl.exceptions
import nacl.signing

from core.errors import InvalidData

KEY_TYPE = "ssh-ed25519"
ED25519_KEY_BYTES = 32
SEED_BYTES = 32
MAX_KEY_LINE_CHARS = 8192


def ssh_string(data: bytes) -> bytes:
    """The SSH wire encoding of a byte string: uint32 length, then the bytes."""
    return struct.pack(">I", len(data)) + data


class PublicKey:
    __slots__ = ("raw",)

    def __init__(self, raw: bytes) -> None:
        if not isinstance(raw, bytes) or len(raw) != ED25519_KEY_BYTES:
            raise InvalidData("key", "an Ed25519 public key is exactly 32 bytes")
        self.raw = raw

    @classmethod
    def from_raw(cls, raw: bytes) -> PublicKey:
        return cls(raw)

    @classmethod
    def from_blob(cls, blob: bytes) -> PublicKey:
        """Parse the SSH wire blob: string "ssh-ed25519", string key (32 bytes), nothing else."""
        from core.signing.wire import Reader

        r = Reader(blob, "public key")
        kind = r.string()
        if kind != KEY_TYPE.encode():
            raise InvalidData("key_type", f"only ssh-ed25519 keys are accepted, not "
                              f"{kind.decode('ascii', 'replace')!r}")
        raw = r.string()
        r.end()
        if len(raw) != ED25519_KEY_BYTES:
            raise InvalidData("key", "an Ed25519 public key is exactly 32 bytes")
        return cls(raw)

    @classmethod
    def from_openssh(cls, line: str) -> PublicKey:
        """Parse `ssh-ed25519 <base64> [comment]`; the comment is ignored."""
        if not isinstance(line, str) or len(line) > MAX_KEY_LINE_CHARS:
            raise InvalidData("key", "a public key must be one OpenSSH line")
        parts = line.strip().split()
        if len(parts) < 2:
            raise InvalidData("key", "a public key looks like: ssh-ed25519 AAAA... [comment]")
        if parts[0] != KEY_TYPE:
            raise InvalidData("key_type", f"only ssh-ed25519 keys are accepted, not {parts[0]!r}")
        try:
            blob = base64.b64decode(parts[1], validate=True)
        except (binascii.Error, ValueError) as e:
            raise InvalidData("key", "the key's base64 part is not valid base64") from e
        return cls.from_blob(blob)

    @property
    def blob(self) -> bytes:
        return ssh_string(KEY_TYPE.encode()) + ssh_string(self.raw)

    @property
    def fingerprint(self) -> str:
        """OpenSSH's `SHA256:` fingerprint, as `ssh-keygen -l` prints it."""
        digest = hashlib.sha256(self.blob).digest()
        return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")

    def openssh(self) -> str:
        return f"{KEY_TYPE} {base64.b64encode(self.blob).decode()}"

    def verify_raw(self, message: bytes, signature: bytes) -> bool:
        """libsodium's Ed25519 check (crypto_sign_open), called without the VerifyKey
        wrapper: the key is already known to be 32 bytes, and the signature must be 64."""
        try:
            if len(signature) != 64:
                return False
            nacl.bindings.crypto_sign_open(bytes(signature) + bytes(message), self.raw)
            return True
        except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, ValueError,
                TypeError):
            return False

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PublicKey):
            return NotImplemented
        return hmac.compare_digest(self.raw, other.raw)  # constant time, in C

    def __hash__(self) -> int:
        return hash(self.raw)

    def __repr__(self) -> str:
        return f"PublicKey({self.fingerprint})"


class Signer:
    """Holds a 32-byte Ed25519 seed; never shows it in repr, logs or errors."""

    __slots__ = ("_key",)

    def __init__(self, seed: bytes) -> None:
        if not isinstance(seed, bytes) or len(seed) != SEED_BYTES:
            raise InvalidData("key", "an Ed25519 seed is exactly 32 bytes")
        self._key = nacl.signing.SigningKey(seed)

    @property
    def public_key(self) -> PublicKey:
        return PublicKey(bytes(self._key.verify_key))

    def sign_raw(self, message: bytes) -> bytes:
        return self._key.sign(message).signature

    def sign(self, message: bytes, namespace: str) -> str:
        """An armored SSHSIG over ``message`` in ``namespace``."""
        from core.signing.sshsig import sign_with

        return sign_with(self, message, namespace)

    def seed_bytes(self) -> bytes:
        """For the key stores only: the one place a seed is allowed to go."""
        return bytes(self._key)

    def __repr__(self) -> str:
        return f"Signer({self.public_key.fingerprint})"


def allowed_signers_line(identity: str, key: PublicKey,
                         namespaces: tuple[str, ...] | None = None) -> str:
    """One line of an OpenSSH allowed_signers file."""
    opts = f' namespaces="{",".join(namespaces)}"' if namespaces else ""
    return f"{identity}{opts} {key.openssh()}"
