"""Where a person's or a gate's signing key lives: the OS keyring, or a 0600 key file.

The keyring is the default for people. We check which backend keyring actually chose and
refuse the `fail`/`null` backends and every plaintext or file-based one (keyrings.alt):
with no D-Bus session, keyring can quietly fall back to a file on disk, and a signing seed
must never land there without the user knowing.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Protocol

import nacl.signing

from core.errors import InvalidData, TransportError
from core.signing.keyfile import decode_private_key, encode_private_key, read_private, write_private
from core.signing.keys import PublicKey, Signer

SERVICE = "foureyes"
PREVIOUS_SUFFIX = "#previous"
_INSECURE_MODULE_PREFIXES = ("keyrings.alt", "keyring.backends.fail", "keyring.backends.null")
_FIX = ("Start a Secret Service (for example gnome-keyring inside a D-Bus session), or use "
        "--key-file PATH to keep the key in a 0600 file instead.")


class KeySource(Protocol):
    def exists(self, identity: str) -> bool: ...
    def create(self, identity: str) -> PublicKey: ...
    def public_key(self, identity: str) -> PublicKey: ...
    def signer(self, identity: str) -> Signer: ...
    def rotate(self, identity: str) -> PublicKey: ...
    def previous_public_key(self, identity: str) -> PublicKey | None: ...
    def remove_previous(self, identity: str) -> None: ...
    def describe(self) -> str: ...


def _new_signer() -> Signer:
    return Signer(nacl.signing.SigningKey.generate().encode())


def _backends(kr: object) -> list[object]:
    inner = getattr(kr, "backends", None)
    return list(inner) if inner else [kr]


def check_backend(kr: object) -> None:
    """Refuse a keyring backend that would not keep a seed secret."""
    for backend in _backends(kr):
        module = type(backend).__module__
        name = type(backend).__name__
        priority = getattr(backend, "priority", 0)
        if module.startswith(_INSECURE_MODULE_PREFIXES) or "Plaintext" in name or \
                (isinstance(priority, int | float) and priority < 1):
            raise TransportError("keyring_unavailable",
                                 f"the OS keyring is not usable here (keyring chose "
                                 f"{module}.{name}, which is unavailable or stores secrets "
                                 f"in plain files). {_FIX}")


class KeyringKeySource:
    def __init__(self, service: str = SERVICE) -> None:
        self.service = service

    def describe(self) -> str:
        return f"the OS keyring (service {self.service!r})"

    def _keyring(self):  # noqa: ANN202 - the keyring module
        import keyring

        check_backend(keyring.get_keyring())
        return keyring

    def _get(self, user: str) -> Signer | None:
        import keyring.errors

        kr = self._keyring()
        try:
            text = kr.get_password(self.service, user)
        except keyring.errors.KeyringError as e:
            raise TransportError("keyring_unavailable", f"the OS keyring failed: {e}. {_FIX}") \
                from e
        if text is None:
            return None
        try:
            return Signer(base64.b64decode(text, validate=True))
        except (binascii.Error, ValueError, InvalidData) as e:
            raise InvalidData("key", f"the keyring entry for {user} is not a Foureyes key") from e

    def _set(self, user: str, signer: Signer) -> None:
        import keyring.errors

        kr = self._keyring()
        try:
            kr.set_password(self.service, user, base64.b64encode(signer.seed_bytes()).decode())
        except keyring.errors.KeyringError as e:
            raise TransportError("keyring_unavailable", f"the OS keyring failed: {e}. {_FIX}") \
                from e

    def _delete(self, user: str) -> None:
        import keyring.errors

        kr = self._keyring()
        try:
            kr.delete_password(self.service, user)
        except keyring.errors.PasswordDeleteError:
            pass
        except keyring.errors.KeyringError as e:
            raise TransportError("keyring_unavailable", f"the OS keyring failed: {e}") from e

    def exists(self, identity: str) -> bool:
        return self._get(identity) is not None

    def create(self, identity: str) -> PublicKey:
        if self.exists(identity):
            raise InvalidData("key_exists", f"{identity} already has a key in the OS keyring; "
                              "refusing to overwrite it (use `foureyes keys rotate`)")
        signer = _new_signer()
        self._set(identity, signer)
        return signer.public_key

    def signer(self, identity: str) -> Signer:
        signer = self._get(identity)
        if signer is None:
            raise InvalidData("no_key", f"no key for {identity} in {self.describe()}; create one "
                              f"with `foureyes keys new --identity {identity}`")
        return signer

    def public_key(self, identity: str) -> PublicKey:
        return self.signer(identity).public_key

    def rotate(self, identity: str) -> PublicKey:
        old = self.signer(identity)
        if self._get(identity + PREVIOUS_SUFFIX) is not None:
            raise InvalidData("key_exists", f"{identity} still has a previous key; remove it "
                              "first (`foureyes keys rotate --remove-previous`)")
        self._set(identity + PREVIOUS_SUFFIX, old)
        new = _new_signer()
        self._set(identity, new)
        return new.public_key

    def previous_public_key(self, identity: str) -> PublicKey | None:
        prev = self._get(identity + PREVIOUS_SUFFIX)
        return prev.public_key if prev else None

    def remove_previous(self, identity: str) -> None:
        self._delete(identity + PREVIOUS_SUFFIX)

    def delete(self, identity: str) -> None:
        """Remove both slots (tests and `keys` housekeeping)."""
        self._delete(identity)
        self._delete(identity + PREVIOUS_SUFFIX)


class FileKeySource:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def describe(self) -> str:
        return f"key file {self.path}"

    @property
    def previous_path(self) -> Path:
        return self.path.with_name(self.path.name + ".previous")

    def _load(self, path: Path, identity: str) -> Signer:
        signer, comment = decode_private_key(read_private(path))
        if comment != identity:
            raise InvalidData("identity_mismatch", f"{path} holds the key of {comment!r}, "
                              f"not {identity!r}")
        return signer

    def exists(self, identity: str) -> bool:
        return self.path.exists()

    def create(self, identity: str) -> PublicKey:
        if self.path.exists():
            raise InvalidData("key_exists", f"{self.path} already exists; refusing to overwrite")
        return self.import_signer(identity, _new_signer())

    def import_signer(self, identity: str, signer: Signer) -> PublicKey:
        """Store a given key (demo and tests make worlds whose keys they already hold)."""
        write_private(self.path, encode_private_key(signer, identity))
        return signer.public_key

    def signer(self, identity: str) -> Signer:
        return self._load(self.path, identity)

    def public_key(self, identity: str) -> PublicKey:
        return self.signer(identity).public_key

    def rotate(self, identity: str) -> PublicKey:
        old = self.signer(identity)
        if self.previous_path.exists():
            raise InvalidData("key_exists", f"{self.previous_path} exists; remove the previous "
                              "key first")
        write_private(self.previous_path, encode_private_key(old, identity))
        self.path.unlink()
        return self.create(identity)

    def previous_public_key(self, identity: str) -> PublicKey | None:
        if not self.previous_path.exists():
            return None
        return self._load(self.previous_path, identity).public_key

    def remove_previous(self, identity: str) -> None:
        self.previous_path.unlink(missing_ok=True)


def key_source(key_file: Path | None) -> KeySource:
    """A key file when one is named, else the OS keyring."""
    return FileKeySource(key_file) if key_file is not None else KeyringKeySource()
