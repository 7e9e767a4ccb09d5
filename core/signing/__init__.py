"""SPEC §2: SSHSIG signatures over Ed25519 keys, and where those keys are kept."""

from core.signing.keys import PublicKey, Signer, allowed_signers_line
from core.signing.keysource import FileKeySource, KeyringKeySource, KeySource, key_source
from core.signing.sshsig import sign, verify

__all__ = [
    "FileKeySource", "KeySource", "KeyringKeySource", "PublicKey", "Signer",
    "allowed_signers_line", "key_source", "sign", "verify",
]
