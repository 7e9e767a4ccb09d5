"""SPEC §2: SSHSIG signatures over Ed25519 keys, and where those keys are kept."""

from core.signing.keys import PublicKey, Signer, allowed_signers_line
from core.signing.sshsig import sign, verify

# The key stores are imported when first asked for: verifying needs none of them, and
# `foureyes verify` must not pay for their files, temporary files and keyring (PEP 562).
_LAZY = {"FileKeySource": "core.signing.keysource", "KeySource": "core.signing.keysource",
         "KeyringKeySource": "core.signing.keysource", "key_source": "core.signing.keysource"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "FileKeySource", "KeySource", "KeyringKeySource", "PublicKey", "Signer",
    "allowed_signers_line", "key_source", "sign", "verify",
]
