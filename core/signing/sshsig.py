"""OpenSSH SSHSIG (PROTOCOL.sshsig), Ed25519 and SHA-512 only: small enough to audit.

The signed data is the SSH encoding of
    MAGIC "SSHSIG" ‖ string namespace ‖ string reserved ‖ string hash_alg ‖ string H(message)
and the armored blob is
    MAGIC ‖ uint32 version=1 ‖ string publickey ‖ string namespace ‖ string reserved
          ‖ string hash_alg ‖ string signature(string "ssh-ed25519" ‖ string sig64).
Anything else (another namespace, hash, key type, version, extra bytes) is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from functools import lru_cache

from core.errors import InvalidData
from core.signing.keys import KEY_TYPE, PublicKey, Signer, ssh_string
from core.signing.wire import Reader

MAGIC = b"SSHSIG"
VERSION = 1
HASH_ALG = "sha512"
BEGIN = "-----BEGIN SSH SIGNATURE-----"
END = "-----END SSH SIGNATURE-----"
_ARMOR_HEAD, _ARMOR_TAIL = BEGIN + "\n", "\n" + END + "\n"
MAX_ARMORED_BYTES = 8 * 1024
LINE_WIDTH = 70


def _signed_data(message: bytes, namespace: str) -> bytes:
    return _signed_head(namespace) + hashlib.sha512(message).digest()


@lru_cache(maxsize=16)
def _signed_head(namespace: str) -> bytes:
    """What precedes H(message) in the signed data: the same for every message."""
    return (MAGIC + ssh_string(namespace.encode()) + ssh_string(b"")
            + ssh_string(HASH_ALG.encode()) + struct.pack(">I", hashlib.sha512().digest_size))


def sign_with(signer: Signer, message: bytes, namespace: str) -> str:
    if not namespace:
        raise InvalidData("signature", "a signature needs a namespace")
    sig = signer.sign_raw(_signed_data(message, namespace))
    blob = (MAGIC + struct.pack(">I", VERSION) + ssh_string(signer.public_key.blob)
            + ssh_string(namespace.encode()) + ssh_string(b"") + ssh_string(HASH_ALG.encode())
            + ssh_string(ssh_string(KEY_TYPE.encode()) + ssh_string(sig)))
    text = base64.b64encode(blob).decode()
    body = "\n".join(text[i:i + LINE_WIDTH] for i in range(0, len(text), LINE_WIDTH))
    return f"{BEGIN}\n{body}\n{END}\n"


def sign(seed: bytes, message: bytes, namespace: str) -> str:
    return sign_with(Signer(seed), message, namespace)


def _fail(why: str) -> InvalidData:
    return InvalidData("signature", why)


_ARMOR_BODY = re.compile(r"[A-Za-z0-9+/=\n]+")


def _unarmor(armored: str | bytes) -> bytes:
    if type(armored) is str and len(armored) <= MAX_ARMORED_BYTES \
            and armored.startswith(_ARMOR_HEAD) and armored.endswith(_ARMOR_TAIL):
        # The common spelling (ours, ssh-keygen's): header, base64 lines, footer, newline.
        # The reader below reads it alike: its lines need no stripping, empty ones add
        # nothing, so the base64 is the body without its newlines.
        body = armored[len(_ARMOR_HEAD):-len(_ARMOR_TAIL)]
        if _ARMOR_BODY.fullmatch(body):
            try:
                return base64.b64decode(body.replace("\n", ""), validate=True)
            except (binascii.Error, ValueError) as e:
                raise _fail("the signature's base64 is damaged") from e
    if isinstance(armored, bytes):
        try:
            armored = armored.decode("ascii")
        except UnicodeDecodeError as e:
            raise _fail("the signature is not ASCII armor") from e
    if not isinstance(armored, str) or len(armored) > MAX_ARMORED_BYTES:
        raise _fail("the signature is missing or too large")
    lines = [ln.strip() for ln in armored.strip().splitlines()]
    if len(lines) < 3 or lines[0] != BEGIN or lines[-1] != END:
        raise _fail("the signature is not an armored SSH signature")
    try:
        return base64.b64decode("".join(lines[1:-1]), validate=True)
    except (binascii.Error, ValueError) as e:
        raise _fail("the signature's base64 is damaged") from e


_KEY_TYPE_STRING = ssh_string(KEY_TYPE.encode())
# The one layout an Ed25519 SSHSIG from ssh-keygen (or from us) has, up to the key bytes.
_FIXED_HEAD = (MAGIC + struct.pack(">I", VERSION) + struct.pack(">I", len(_KEY_TYPE_STRING) + 36)
               + _KEY_TYPE_STRING + struct.pack(">I", 32))


@lru_cache(maxsize=16)
def _fixed_tail(namespace: str) -> bytes:
    """After the key: namespace, empty reserved, sha512, and the signature's own header."""
    return (ssh_string(namespace.encode()) + ssh_string(b"") + ssh_string(HASH_ALG.encode())
            + struct.pack(">I", len(_KEY_TYPE_STRING) + 68) + _KEY_TYPE_STRING
            + struct.pack(">I", 64))


def _fixed_layout(blob: bytes, namespace: str) -> tuple[bytes, bytes] | None:
    """(key, signature) when the blob is exactly the common layout, byte for byte; else None
    and the strict reader below takes it apart field by field (and says what is wrong). The
    strict reader accepts every blob this accepts, with the same key and signature."""
    head, tail = len(_FIXED_HEAD), _fixed_tail(namespace)
    if len(blob) != head + 32 + len(tail) + 64 or not blob.startswith(_FIXED_HEAD) \
            or blob[head + 32:head + 32 + len(tail)] != tail:
        return None
    return blob[head:head + 32], blob[-64:]


def verify(armored: str | bytes, message: bytes, namespace: str) -> PublicKey:
    """The key that made this signature over ``message`` in ``namespace``, or InvalidData.

    The caller decides whether that key may sign (roster lookup by raw bytes).
    """
    blob = _unarmor(armored)
    fixed = _fixed_layout(blob, namespace) if namespace else None
    if fixed is not None:
        key = PublicKey(fixed[0])
        if not key.verify_raw(_signed_data(message, namespace), fixed[1]):
            raise _fail("the signature does not match the data (altered, or another key)")
        return key
    r = Reader(blob, "signature", code="signature")
    if r.raw(len(MAGIC)) != MAGIC:
        raise _fail("not an SSHSIG signature (bad magic)")
    if r.uint32() != VERSION:
        raise _fail("unsupported SSHSIG version")
    try:
        key = PublicKey.from_blob(r.string())
    except InvalidData as e:
        raise _fail(f"signature key: {e.message}") from e
    got_ns = r.string()
    if got_ns != namespace.encode():
        raise _fail(f"signature is for namespace {got_ns.decode('utf-8', 'replace')!r}, "
                    f"not {namespace!r}")
    r.string()  # reserved: ignored, as OpenSSH does
    hash_alg = r.string()
    if hash_alg != HASH_ALG.encode():
        raise _fail(f"signature uses hash {hash_alg.decode('ascii', 'replace')!r}, "
                    "only sha512 is accepted")
    inner = Reader(r.string(), "signature", code="signature")
    r.end()
    if inner.string() != KEY_TYPE.encode():
        raise _fail("only ssh-ed25519 signatures are accepted")
    sig = inner.string()
    inner.end()
    if len(sig) != 64:
        raise _fail("an Ed25519 signature is exactly 64 bytes")
    if not key.verify_raw(_signed_data(message, namespace), sig):
        raise _fail("the signature does not match the data (altered, or another key)")
    return key
