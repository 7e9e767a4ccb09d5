"""C2SP signed notes carrying log checkpoints (SPEC §7), Ed25519 only.

A checkpoint body is `<origin>\\n<size>\\n<base64 root>\\n`; signature lines follow a blank
line as `— <key name> <base64(4-byte key hash ‖ 64-byte signature)>`. Verifiers ignore
lines from keys they do not know, refuse the note if a known key's signature fails, and
need at least one good trusted signature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import nacl.exceptions
import nacl.signing

from core.errors import InvalidData

MAX_NOTE_BYTES = 16 * 1024
MAX_SIGNATURE_LINES = 32
ALG_ED25519 = 1
SIG_PREFIX = "\u2014 "
_NAME_RE = re.compile(r"[^\s+]+")
_VERIFIER_RE = re.compile(r"([^\s+]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})")
_SIGNER_RE = re.compile(r"PRIVATE\+KEY\+([^\s+]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})")
_SIZE_RE = re.compile(r"(0|[1-9][0-9]{0,18})")


def _fail(why: str) -> InvalidData:
    return InvalidData("checkpoint", why)


def key_hash(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public).digest()[:4]


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise _fail(f"{what} is not valid base64") from e


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


@dataclass(frozen=True)
class LogVerifier:
    name: str
    public: bytes

    @property
    def hash(self) -> bytes:
        return key_hash(self.name, self.public)

    @property
    def text(self) -> str:
        blob = base64.b64encode(bytes([ALG_ED25519]) + self.public).decode()
        return f"{self.name}+{self.hash.hex()}+{blob}"

    @classmethod
    def from_text(cls, text: str) -> LogVerifier:
        m = _VERIFIER_RE.fullmatch(text) if isinstance(text, str) else None
        if m is None:
            raise _fail("a log verifier key looks like <name>+<8 hex>+<base64>")
        parts = m.groups()
        blob = _b64(parts[2], "the verifier key")
        if len(blob) != 33 or blob[0] != ALG_ED25519:
            raise _fail("the verifier key is not an Ed25519 key")
        key = cls(parts[0], blob[1:])
        if key.hash.hex() != parts[1]:
            raise _fail("the verifier key's hash does not match its name and key")
        return key


class LogSigner:
    """A log's signing key; repr never shows the seed."""

    __slots__ = ("name", "_key")

    def __init__(self, name: str, seed: bytes) -> None:
        if not _NAME_RE.fullmatch(name) or len(seed) != 32:
            raise _fail("a log key needs a name without spaces or '+' and a 32-byte seed")
        self.name = name
        self._key = nacl.signing.SigningKey(seed)

    @classmethod
    def generate(cls, name: str) -> LogSigner:
        return cls(name, nacl.signing.SigningKey.generate().encode())

    @property
    def verifier(self) -> LogVerifier:
        return LogVerifier(self.name, bytes(self._key.verify_key))

    @property
    def verifier_key(self) -> str:
        return self.verifier.text

    def to_text(self) -> str:
        blob = base64.b64encode(bytes([ALG_ED25519]) + bytes(self._key)).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.hash.hex()}+{blob}"

    @classmethod
    def from_text(cls, text: str) -> LogSigner:
        m = _SIGNER_RE.fullmatch(text.strip()) if isinstance(text, str) else None
        if m is None:
            raise _fail("a log signer key looks like PRIVATE+KEY+<name>+<hash>+<base64>")
        name, khash, b64 = m.groups()
        blob = _b64(b64, "the signer key")
        if len(blob) != 33 or blob[0] != ALG_ED25519:
            raise _fail("the signer key is not an Ed25519 key")
        signer = cls(name, blob[1:])
        if signer.verifier.hash.hex() != khash:
            raise _fail("the signer key's hash does not match")
        return signer

    def sign_checkpoint(self, size: int, root: bytes) -> str:
        body = Checkpoint(self.name, size, root).body()
        sig = self._key.sign(body.encode()).signature
        line = base64.b64encode(self.verifier.hash + sig).decode()
        return f"{body}\n{SIG_PREFIX}{self.name} {line}\n"

    def state_tag(self, message: bytes) -> bytes:
        """An HMAC-SHA256 tag over the server's own private state (`core.log.verified`),
        under a key derived from the seed. A MAC, not a signature: SPEC §7 keeps the log
        key for checkpoints alone, and only this key's holder ever checks the tag."""
        key = hmac.new(bytes(self._key), b"foureyes/log-state-tag/v1", hashlib.sha256).digest()
        return hmac.new(key, message, hashlib.sha256).digest()

    def __repr__(self) -> str:
        return f"LogSigner({self.name})"


def _split_note(note: str) -> tuple[str, list[tuple[str, bytes, bytes]]]:
    if not isinstance(note, str):
        raise _fail("a checkpoint is text")
    if len(note.encode("utf-8", "surrogatepass")) > MAX_NOTE_BYTES:
        raise _fail("the checkpoint is too large")
    if "\n\n" not in note or not note.endswith("\n"):
        raise _fail("the checkpoint has no blank line before its signatures")
    body, sigs = note.split("\n\n", 1)
    body += "\n"
    lines = sigs[:-1].split("\n")
    if not lines or len(lines) > MAX_SIGNATURE_LINES:
        raise _fail("the checkpoint has no (or too many) signature lines")
    out = []
    for line in lines:
        if not line.startswith(SIG_PREFIX):
            raise _fail("a signature line must start with an em dash and a space")
        parts = line[len(SIG_PREFIX):].split(" ")
        if len(parts) != 2 or not parts[0]:
            raise _fail("a signature line is '— <name> <base64>'")
        blob = _b64(parts[1], "a signature")
        if len(blob) < 5:
            raise _fail("a signature is too short")
        out.append((parts[0], blob[:4], blob[4:]))
    return body, out


def parse_checkpoint(note: str) -> Checkpoint:
    """The body of a note, strictly parsed (signatures are not checked here)."""
    return _parse(note)[0]


def _parse(note: str) -> tuple[Checkpoint, str, list[tuple[str, bytes, bytes]]]:
    body, sigs = _split_note(note)
    lines = body.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise _fail("the checkpoint body needs origin, size and root lines")
    origin, size, root = lines[0], lines[1], lines[2]
    if not origin or any(ch.isspace() for ch in origin):
        raise _fail("the checkpoint origin is empty or has spaces")
    if not _SIZE_RE.fullmatch(size):
        raise _fail("the checkpoint size is not a plain decimal number")
    raw_root = _b64(root, "the checkpoint root")
    if len(raw_root) != 32:
        raise _fail("the checkpoint root is not 32 bytes")
    return Checkpoint(origin, int(size), raw_root), body, sigs


def verify_checkpoint(note: str, trusted: Iterable[LogVerifier]) -> Checkpoint:
    """The checkpoint, if at least one trusted key signed it and none of theirs failed."""
    try:
        return _verify_checkpoint(note, list(trusted))
    except InvalidData:
        raise
    except (ValueError, TypeError, UnicodeError) as e:
        raise _fail(f"the checkpoint is malformed: {e}") from e


def _verify_checkpoint(note: str, trusted: list[LogVerifier]) -> Checkpoint:
    checkpoint, body, sigs = _parse(note)  # one parse (a log verify checks a million)
    good = 0
    for name, khash, sig in sigs:
        for key in trusted:
            if key.name != name or _key_hash(key) != khash:
                continue
            if key.name != checkpoint.origin:
                raise _fail(f"log key {key.name} signed a checkpoint of another log "
                            f"({checkpoint.origin})")
            try:
                _verify_key(key.public).verify(body.encode(), sig)
            except (nacl.exceptions.BadSignatureError, ValueError) as e:
                raise _fail(f"the signature of trusted log key {name} does not verify") from e
            good += 1
    if good == 0:
        raise _fail("no trusted log key signed this checkpoint")
    return checkpoint


@lru_cache(maxsize=64)
def _key_hash(key: LogVerifier) -> bytes:
    return key.hash


@lru_cache(maxsize=64)
def _verify_key(public: bytes) -> nacl.signing.VerifyKey:
    return nacl.signing.VerifyKey(public)


def split_notes(text: str) -> list[str]:
    """The notes in a checkpoint file: each note (body, blank line, signature lines) as
    written one after another, blank lines between them allowed. Parses nothing: a torn or
    malformed note comes back as it is, for `verify_checkpoint` to refuse."""
    notes: list[str] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        if lines[i] == "":
            i += 1
            continue
        start = i
        while i < len(lines) and lines[i] != "":
            i += 1
        i += 1  # the blank line before the signatures
        while i < len(lines) and lines[i].startswith(SIG_PREFIX):
            i += 1
        notes.append("\n".join(lines[start:i]) + "\n")
    return notes
