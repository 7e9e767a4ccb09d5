"""Who is calling: reviewer login by signed challenge, bearer tokens for the other roles.

A reviewer proves their identity by signing a single-use challenge with their roster key;
agents, gates and auditors hold bearer tokens the operator issued. Only token hashes are
stored.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from core.errors import InvalidData, Refused
from core.policy import Policy
from core.server.store import ServerStore, new_token, token_hash
from core.signing import verify

LOGIN_NAMESPACE = "foureyes-login-v1"
CHALLENGE_TTL = 120.0
SESSION_TTL = 15 * 60.0


@dataclass(frozen=True)
class Caller:
    role: str
    identity: str


class AuthService:
    """Mixed into QueueService: needs `self.store` and `self.policy` (the active policy)."""

    store: ServerStore
    policy: Policy

    def authenticate(self, token: str | None) -> Caller:
        if not token:
            raise Refused("unauthenticated", "log in first (reviewers) or send a bearer token "
                          "(agents, gates, auditors)", 401)
        row = self.store.conn.execute("SELECT role, identity, expires_at FROM tokens "
                                      "WHERE hash=?", (token_hash(token),)).fetchone()
        if row is None:
            raise Refused("unauthenticated", "unknown token", 401)
        role, identity, expires = row
        if expires is not None and expires < time.time():
            raise Refused("token_expired", "your session has expired; log in again", 401)
        return Caller(role, identity)

    def challenge(self, identity: str, audience: str) -> dict[str, Any]:
        """A single-use nonce to sign. It names the server the client asked (`audience`, the
        Host it connected to), so a look-alike server cannot relay it to a reviewer: the
        reviewer's client refuses to sign a challenge for a host it did not connect to."""
        from core.formats.fields import human

        try:
            human(identity, "identity")
        except InvalidData as e:
            raise Refused(e.code, e.message, 400) from e
        nonce = secrets.token_hex(16)
        expires = time.time() + CHALLENGE_TTL
        with self.store.write() as c:
            c.execute("DELETE FROM challenges WHERE expires_at < ?", (time.time(),))
            c.execute("INSERT INTO challenges (nonce, identity, expires_at) VALUES (?,?,?)",
                      (nonce, identity, expires))
        return {"challenge": f"foureyes-login\n{audience}\n{identity}\n{nonce}\n",
                "namespace": LOGIN_NAMESPACE}

    def login(self, challenge: str, signature: str) -> dict[str, Any]:
        parts = challenge.split("\n") if isinstance(challenge, str) else []
        if len(parts) != 5 or parts[0] != "foureyes-login" or parts[4] != "":
            raise Refused("format", "that is not a login challenge of this server", 400)
        identity, nonce = parts[2], parts[3]
        try:
            key = verify(signature, challenge.encode(), LOGIN_NAMESPACE)
        except InvalidData as e:
            raise Refused("signature", e.message, 401) from e
        approver = self.policy.approver_by_key(key)
        if approver is None or approver.identity != identity:
            raise Refused("not_in_roster", "that key is not the roster key of "
                          f"{identity} in the active policy", 403)
        with self.store.write() as c:
            row = c.execute("SELECT identity, expires_at, used FROM challenges WHERE nonce=?",
                            (nonce,)).fetchone()
            if row is None or row[0] != identity:
                raise Refused("challenge", "unknown login challenge; ask for a new one", 401)
            if row[2]:
                raise Refused("replay", "this login challenge was already used", 401)
            if row[1] < time.time():
                raise Refused("challenge", "the login challenge expired; ask for a new one", 401)
            c.execute("UPDATE challenges SET used=1 WHERE nonce=?", (nonce,))
            token = new_token()
            c.execute("INSERT INTO tokens (hash, role, identity, expires_at) VALUES (?,?,?,?)",
                      (token_hash(token), "reviewer", identity, time.time() + SESSION_TTL))
        return {"token": token, "identity": identity, "expires_in": int(SESSION_TTL)}
