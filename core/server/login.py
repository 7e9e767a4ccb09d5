"""The text a reviewer signs to log in, shared by the server and the HTTP client.

Kept free of web-framework imports so `HttpQueue` can check a challenge before signing it:
a reviewer's key should sign only text that says "log in as me at this server", never
whatever bytes a server hands over. The SSHSIG namespace `foureyes-login-v1` already keeps
a login signature from ever passing as a decision; the origin line keeps one server from
replaying a signature at another.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import InvalidData

LOGIN_NAMESPACE = "foureyes-login-v1"
CHALLENGE_HEADER = "foureyes-login-v1"
MAX_CHALLENGE_CHARS = 1024
NONCE_RE = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class Challenge:
    origin: str
    identity: str
    nonce: str

    def text(self) -> str:
        return f"{CHALLENGE_HEADER}\n{self.origin}\n{self.identity}\n{self.nonce}\n"


def parse_challenge(text: str) -> Challenge:
    """The challenge's parts, or InvalidData("challenge") if it is not one of ours."""
    if not isinstance(text, str) or len(text) > MAX_CHALLENGE_CHARS:
        raise InvalidData("challenge", "that is not a Foureyes login challenge")
    parts = text.split("\n")
    if len(parts) != 5 or parts[0] != CHALLENGE_HEADER or parts[4] != "" \
            or not NONCE_RE.match(parts[3]) or not parts[1] or not parts[2]:
        raise InvalidData("challenge", "that is not a Foureyes login challenge")
    return Challenge(origin=parts[1], identity=parts[2], nonce=parts[3])
