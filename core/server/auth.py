"""Who is calling: reviewer login by signed challenge, bearer tokens for the other roles.

A reviewer proves their identity by signing a single-use challenge with their roster key;
agents, gates and auditors hold bearer tokens the operator issued. Only token hashes are
stored.

Login is bound to this server: a challenge names the host of the server's public URL (never
the Host header a client sent), and login accepts only a challenge naming that host. A
look-alike server cannot relay a reviewer's signature: the reviewer's client refuses to sign
a challenge for a host it did not connect to, and this server refuses one for any other host.

Every request re-checks the caller against the ACTIVE policy: a reviewer must still be in
the roster and inside their validity window, a gate must still be a gate of the policy, and
an auditor must never be an approver (auditors see verdicts; a reviewer must not).
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx

from core.errors import InvalidData, Refused
from core.formats import now_utc
from core.policy import Policy
from core.server.store import ServerStore, new_token, token_hash
from core.signing import verify

LOGIN_NAMESPACE = "foureyes-login-v1"
CHALLENGE_TTL = 120.0
SESSION_TTL = 15 * 60.0
RATE_WINDOW = 60.0  # seconds over which challenge requests are counted


@dataclass(frozen=True)
class Caller:
    role: str
    identity: str


@dataclass(frozen=True)
class AuthLimits:
    challenges_per_identity: int = 10  # per RATE_WINDOW
    challenges_total: int = 120  # per RATE_WINDOW, all identities together


def audience_of(public_url: str) -> str:
    """The host (and port) a challenge names: computed as the client computes it."""
    try:
        url = httpx.URL(public_url)
    except (httpx.InvalidURL, TypeError) as e:
        raise InvalidData("format", f"not a usable public URL: {public_url!r}") from e
    if url.scheme not in ("http", "https") or not url.host:
        raise InvalidData("format", f"the public URL must be http(s)://host[:port], not "
                          f"{public_url!r}")
    return url.netloc.decode()


class AuthService:
    """Mixed into QueueService: needs `self.store` and `self.policy` (the active policy).
    `configure_auth` names the server's public URL; until then no challenge is issued."""

    store: ServerStore
    policy: Policy
    audience: str | None = None
    auth_limits: AuthLimits = AuthLimits()

    def configure_auth(self, public_url: str, limits: AuthLimits | None = None) -> None:
        self.audience = audience_of(public_url)
        self.auth_limits = limits or AuthLimits()

    def authenticate(self, token: str | None) -> Caller:
        if not token:
            raise Refused("unauthenticated", "log in first (reviewers) or send a bearer token "
                          "(agents, gates, auditors)", 401)
        row = self.store.conn.execute("SELECT role, identity, expires_at, revoked_at FROM tokens "
                                      "WHERE hash=?", (token_hash(token),)).fetchone()
        if row is None:
            raise Refused("unauthenticated", "unknown token", 401)
        role, identity, expires, revoked = row
        if revoked is not None:
            raise Refused("token_revoked", "this token was revoked", 401)
        if expires is None or expires < time.time():
            raise Refused("token_expired", "your token or session has expired", 401)
        self._still_fits(role, identity)
        return Caller(role, identity)

    def _still_fits(self, role: str, identity: str) -> None:
        """The token's identity against the active policy, now (revocation is immediate)."""
        if role == "reviewer":
            approver = self.policy.approver(identity)
            if approver is None or not approver.valid_at(now_utc()):
                raise Refused("key_not_valid", "your reviewer entry is not in the active "
                              "policy or not valid at this time")
        elif role == "gate":
            if self.policy.gate(identity) is None:
                raise Refused("not_a_gate", f"{identity} is not a gate of the active policy")
        elif role == "auditor":
            if self.policy.approver(identity) is not None:
                raise Refused("role_conflict", f"{identity} is an approver in the active "
                              "policy and cannot hold an auditor token")
        elif role == "agent":
            if not identity.startswith("agent:"):
                raise Refused("role", "an agent token must name an agent: identity", 403)
        else:
            raise Refused("forbidden", "unknown role")

    def challenge(self, identity: str) -> dict[str, Any]:
        """A single-use nonce to sign, naming this server's public host."""
        from core.formats.fields import human

        if self.audience is None:
            raise Refused("challenge", "this server has no public URL configured, so it "
                          "issues no login challenges")
        try:
            human(identity, "identity")
        except InvalidData as e:
            raise Refused(e.code, e.message, 400) from e
        if self.policy.approver(identity) is None:  # the roster is public (/v1/policy)
            raise Refused("not_in_roster", f"{identity} is not a reviewer in the active policy")
        nonce = secrets.token_hex(16)
        now = time.time()
        since = now + CHALLENGE_TTL - RATE_WINDOW  # expires_at of one made RATE_WINDOW ago
        with self.store.write() as c:
            c.execute("DELETE FROM challenges WHERE expires_at < ?", (now,))
            mine, = c.execute("SELECT COUNT(*) FROM challenges WHERE identity=? AND "
                              "expires_at > ?", (identity, since)).fetchone()
            total, = c.execute("SELECT COUNT(*) FROM challenges WHERE expires_at > ?",
                               (since,)).fetchone()
            if mine >= self.auth_limits.challenges_per_identity or \
                    total >= self.auth_limits.challenges_total:
                raise Refused("rate_limited", "too many login attempts; wait a minute", 429)
            c.execute("INSERT INTO challenges (nonce, identity, expires_at) VALUES (?,?,?)",
                      (nonce, identity, now + CHALLENGE_TTL))
        return {"challenge": f"foureyes-login\n{self.audience}\n{identity}\n{nonce}\n",
                "namespace": LOGIN_NAMESPACE}

    def login(self, challenge: str, signature: str) -> dict[str, Any]:
        parts = challenge.split("\n") if isinstance(challenge, str) else []
        if len(parts) != 5 or parts[0] != "foureyes-login" or parts[4] != "":
            raise Refused("format", "that is not a login challenge of this server", 400)
        audience, identity, nonce = parts[1], parts[2], parts[3]
        if self.audience is None or not hmac.compare_digest(audience.encode(),
                                                            self.audience.encode()):
            raise Refused("challenge", "that login challenge names another server than "
                          f"{self.audience}; a look-alike server may have relayed it", 401)
        try:
            key = verify(signature, challenge.encode(), LOGIN_NAMESPACE)
        except InvalidData as e:
            raise Refused("signature", e.message, 401) from e
        approver = self.policy.approver_by_key(key)
        if approver is None or approver.identity != identity:
            raise Refused("not_in_roster", "that key is not the roster key of "
                          f"{identity} in the active policy", 403)
        if not approver.valid_at(now_utc()):
            raise Refused("key_not_valid", f"the roster entry of {identity} is not valid at "
                          "this time")
        now = time.time()
        with self.store.write() as c:
            row = c.execute("SELECT identity, expires_at, used FROM challenges WHERE nonce=?",
                            (nonce,)).fetchone()
            if row is None or row[0] != identity:
                raise Refused("challenge", "unknown login challenge; ask for a new one", 401)
            if row[2]:
                raise Refused("replay", "this login challenge was already used", 401)
            if row[1] < now:
                raise Refused("challenge", "the login challenge expired; ask for a new one", 401)
            c.execute("UPDATE challenges SET used=1 WHERE nonce=?", (nonce,))
            c.execute("DELETE FROM tokens WHERE role='reviewer' AND expires_at < ?", (now,))
            token = new_token()
            c.execute("INSERT INTO tokens (hash, role, identity, expires_at, created_at) "
                      "VALUES (?,?,?,?,?)", (token_hash(token), "reviewer", identity,
                                             now + SESSION_TTL, now))
        return {"token": token, "identity": identity, "expires_in": int(SESSION_TTL)}
