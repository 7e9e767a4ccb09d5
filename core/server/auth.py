"""Who is calling: reviewers by a signed login challenge, everyone else by operator tokens.

A reviewer's identity is never taken from what they claim: the server verifies the SSHSIG
over its own single-use challenge and looks the verifying key up in the active policy's
roster, exactly as a decision's reviewer is established (SPEC §1). Agents, gates and
auditors use bearer tokens an operator made with `foureyes tokens create`; the store keeps
only their SHA-256.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.errors import InvalidData
from core.formats.fields import human
from core.policy import Policy
from core.server.errors import Refused
from core.server.limits import (
    CHALLENGE_SECONDS,
    EXPIRED_SESSION_KEEP_SECONDS,
    MAX_OPEN_CHALLENGES,
    SESSION_SECONDS,
)
from core.server.login import LOGIN_NAMESPACE, Challenge, parse_challenge
from core.server.store import ServerStore, new_token, token_hash
from core.signing import verify

REVIEWER, AGENT, GATE, AUDITOR = "reviewer", "agent", "gate", "auditor"
ROLES = (REVIEWER, AGENT, GATE, AUDITOR)
# Roles an operator hands out with `foureyes tokens create`, and the identity kind each needs.
TOKEN_ROLES: dict[str, tuple[str, ...]] = {AGENT: ("agent",), GATE: ("gate",),
                                            AUDITOR: ("human",)}
NONCE_BYTES = 16


@dataclass(frozen=True)
class Caller:
    role: str
    identity: str


def require(caller: Caller, *roles: str) -> None:
    if caller.role not in roles:
        raise Refused("forbidden", f"a {caller.role} token may not do this (needs "
                      f"{' or '.join(roles)})")


def bearer(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer ...`` header, if there is one."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


class Auth:
    def __init__(self, store: ServerStore, policy: Callable[[], Policy], origin: str) -> None:
        self.store = store
        self.policy = policy
        self.origin = origin

    def authenticate(self, token: str | None) -> Caller:
        if not token:
            raise Refused("unauthenticated", "log in first (reviewers) or send the bearer "
                          "token an operator gave you (agents, gates, auditors)")
        with self.store.read() as c:
            row = c.execute("SELECT role, identity, expires_at FROM tokens WHERE hash=?",
                            (token_hash(token),)).fetchone()
        if row is None:
            raise Refused("unauthenticated", "this token is not known to the server")
        role, identity, expires = row
        if expires is not None and expires < time.time():
            raise Refused("token_expired", "your session has expired; log in again")
        if role == REVIEWER and self.policy().approver(identity) is None:
            # The roster may have changed since the login (a restart with a new policy).
            raise Refused("token_expired", f"{identity} is no longer in the active policy's "
                          "roster; log in again")
        return Caller(role, identity)

    def challenge(self, identity: Any) -> dict[str, Any]:
        """A fresh single-use challenge for ``identity`` to sign with their roster key."""
        try:
            human(identity, "identity")
        except InvalidData as e:
            raise Refused(e.code, e.message) from e
        now = time.time()
        challenge = Challenge(self.origin, identity, secrets.token_hex(NONCE_BYTES))
        with self.store.write() as c:
            c.execute("DELETE FROM challenges WHERE expires_at < ?", (now,))
            (open_count,) = c.execute("SELECT COUNT(*) FROM challenges").fetchone()
            if open_count >= MAX_OPEN_CHALLENGES:
                raise Refused("rate_limited", "too many login attempts are in flight; try "
                              "again in a minute")
            c.execute("INSERT INTO challenges (nonce, identity, expires_at) VALUES (?,?,?)",
                      (challenge.nonce, identity, now + CHALLENGE_SECONDS))
        return {"challenge": challenge.text(), "namespace": LOGIN_NAMESPACE,
                "expires_in": int(CHALLENGE_SECONDS)}

    def login(self, text: str, signature: str) -> dict[str, Any]:
        """Trade a signed challenge for a short-lived reviewer session token.

        The nonce is spent by any attempt that names it, good or bad: a challenge can be
        answered once, so a captured login request cannot be replayed.
        """
        try:
            challenge = parse_challenge(text)
        except InvalidData as e:
            raise Refused(e.code, e.message) from e
        now = time.time()
        with self.store.write() as c:
            row = c.execute("SELECT identity, expires_at, used FROM challenges WHERE nonce=?",
                            (challenge.nonce,)).fetchone()
            if row is not None:
                c.execute("UPDATE challenges SET used=1 WHERE nonce=?", (challenge.nonce,))
        if row is None or row[0] != challenge.identity or challenge.origin != self.origin:
            raise Refused("challenge", "this server did not issue that challenge; ask for a "
                          "new one")
        if row[2]:
            raise Refused("replay", "that login challenge was already used; ask for a new one")
        if row[1] < now:
            raise Refused("challenge_expired", "that login challenge expired; ask for a new "
                          "one")
        try:
            key = verify(signature, text.encode(), LOGIN_NAMESPACE)
        except InvalidData as e:
            raise Refused("signature", f"the login signature does not verify: {e.message}",
                          401) from e
        approver = self.policy().approver_by_key(key)
        if approver is None or approver.identity != challenge.identity:
            raise Refused("not_in_roster", f"key {key.fingerprint} is not the roster key of "
                          f"{challenge.identity} in the active policy")
        token = new_token()
        with self.store.write() as c:
            c.execute("INSERT INTO tokens (hash, role, identity, created_at, expires_at) "
                      "VALUES (?,?,?,?,?)", (token_hash(token), REVIEWER, approver.identity,
                                             now, now + SESSION_SECONDS))
            # Expired sessions linger a while so their owner hears "expired", not "unknown".
            c.execute("DELETE FROM tokens WHERE expires_at IS NOT NULL AND expires_at < ?",
                      (now - EXPIRED_SESSION_KEEP_SECONDS,))
        return {"token": token, "identity": approver.identity,
                "expires_in": int(SESSION_SECONDS)}
