"""A complete sample world: people, a gate, a log key and a policy that binds them.

Used by `foureyes demo`, by the app's demo workspace and by the tests, so all three exercise
the same realistic setup rather than three hand-made ones. Keys are random per world;
nothing here is a fixed secret.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import nacl.public
import nacl.signing

from core.formats import Decision, Proposal, format_time, now_utc
from core.log.note import LogSigner
from core.signing import PublicKey, Signer

REVIEWERS = ("bob@example.com", "carol@example.com", "dave@example.com")
REQUESTER = "alice@example.com"
AGENT = "agent:payments-bot"
GATE = "gate:prod"
LOG_ORIGIN = "localhost/foureyes-demo"

_GROUPS = {"alice@example.com": ["finance"], "bob@example.com": ["sre"],
           "carol@example.com": ["finance", "sre"], "dave@example.com": ["sre"]}

DEFAULT_RULES = """\
[[rules]]
route = "payments.*"
when = { amount_minor = { gte = 50000 } }
approvals = 2
ttl = "1h"

[[rules]]
route = "iam.*"
approvals = 2
groups = ["sre"]
distinct_groups = true

[[rules]]
route = "payments.*"
approvals = 1

[[rules]]
route = "reports.read"
approvals = 0
"""


@dataclass
class SampleWorld:
    """Seeds for every actor, and the policy text that names their public keys."""

    signers: dict[str, Signer] = field(default_factory=dict)
    seal_secret: bytes = b""
    log_signer: LogSigner | None = None
    rules: str = DEFAULT_RULES
    default: str = "deny"
    ttl: str = "30m"
    extra_approvers: str = ""

    @classmethod
    def create(cls, **kwargs: Any) -> SampleWorld:
        world = cls(**kwargs)
        for ident in (REQUESTER, *REVIEWERS, GATE):
            world.signers.setdefault(ident, Signer(nacl.signing.SigningKey.generate().encode()))
        world.seal_secret = bytes(nacl.public.PrivateKey.generate())
        world.log_signer = world.log_signer or LogSigner.generate(LOG_ORIGIN)
        return world

    def signer(self, identity: str) -> Signer:
        return self.signers[identity]

    def key(self, identity: str) -> PublicKey:
        return self.signer(identity).public_key

    @property
    def seal_public(self) -> bytes:
        return bytes(nacl.public.PrivateKey(self.seal_secret).public_key)

    @property
    def log_verifier(self) -> str:
        return self.log_signer.verifier_key

    def policy_text(self) -> str:
        lines = ['schema = "foureyes.policy/v1"', 'name = "demo-payments"',
                 f'default = "{self.default}"', f'ttl = "{self.ttl}"', ""]
        for ident in (REQUESTER, *REVIEWERS):
            groups = ", ".join(f'"{g}"' for g in _GROUPS[ident])
            lines += ["[[approvers]]", f'identity = "{ident}"',
                      f'key = "{self.key(ident).openssh()}"', f"groups = [{groups}]", ""]
        if self.extra_approvers:
            lines.append(self.extra_approvers)
        lines += ["[[gates]]", f'identity = "{GATE}"', f'key = "{self.key(GATE).openssh()}"',
                  f'seal_key = "{base64.b64encode(self.seal_public).decode()}"', "",
                  "[[logs]]", f'key = "{self.log_verifier}"', "", self.rules]
        return "\n".join(lines)

    def policy_bytes(self) -> bytes:
        return self.policy_text().encode()

    def proposal(self, *, policy_hash: str, route: str = "payments.transfer",
                 params: dict[str, Any] | None = None, created_at: datetime | None = None,
                 ttl: timedelta = timedelta(minutes=30), title: str = "Pay invoice 4411",
                 requester: str = REQUESTER, proposer: str = AGENT,
                 job_id: str | None = None, **summary: Any) -> Proposal:
        created = created_at or now_utc()
        params = {"amount_minor": 120000, "currency": "USD", "to": "acct-991"} \
            if params is None else params
        return Proposal.from_obj({
            "schema": "foureyes.proposal/v1", "id": str(uuid.uuid4()),
            "job_id": job_id or f"job-{uuid.uuid4().hex[:8]}",
            "proposer": proposer, "requester": requester,
            "action": {"route": route, "params": params},
            "summary": {"title": title, "why": summary.get("why", "Invoice due today"),
                        "blast_radius": summary.get("blast_radius", "one vendor account"),
                        "reversibility": summary.get("reversibility", "irreversible"),
                        "cost_impact_minor": params.get("amount_minor")
                        if isinstance(params.get("amount_minor"), int) else None,
                        "confidence": summary.get("confidence", 0.9),
                        "evidence": summary.get("evidence",
                                                [{"label": "invoice", "ref": "inv-4411"}]),
                        "gates_passed": summary.get("gates_passed", ["vendor-allowlist"])},
            "policy": policy_hash, "created_at": format_time(created),
            "expires_at": format_time(created + ttl),
        })

    def decide(self, proposal: Proposal, reviewer: str, verdict: str = "approve",
               reason: str | None = None, decided_at: datetime | None = None,
               signer_identity: str | None = None) -> tuple[Decision, str]:
        """A decision by ``reviewer``, signed by ``signer_identity``'s key (default: theirs)."""
        decision = Decision.for_proposal(
            proposal, verdict=verdict, reason=reason or f"Checked invoice ({reviewer})",
            reviewer=reviewer, decided_at=decided_at or proposal.created_at + timedelta(minutes=1))
        signature = self.signer(signer_identity or reviewer).sign(decision.raw,
                                                                    "foureyes-decision-v1")
        return decision, signature

