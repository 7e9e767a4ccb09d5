"""The one-click demo workspace: a real folder queue with a few proposals to review.

Built from `core.sample.SampleWorld`, so it is the same world the tests and `foureyes demo`
use, and nothing is faked: real keys (in key files under the demo folder, never in the OS
keyring), a real policy, proposals submitted through the gate side of the folder queue,
another reviewer's sealed decision waiting (which you cannot see until you decide), and one
payment already approved, executed and bundled, with a trust file, for the auditor view.
The reviewer is bob@example.com. Rebuilding replaces the previous demo entirely.

The demo also runs its gate (`run_demo_gate`, called by the window after each decision): once
bob approves the payment carol already approved, the gate checks the two signatures itself,
executes the payment and publishes its proof bundle, which the card then opens in the
auditor view. The gate's key, seal secret and log key are demo secrets kept in key files
under the demo folder (never anywhere else).
"""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

from app.settings import AppPaths, Settings
from core.formats import now_utc
from core.gate import Gate
from core.log.note import LogSigner
from core.policy import Policy, SignedDecision
from core.queue.folder import FolderQueue
from core.sample import GATE, REQUESTER, REVIEWERS, SampleWorld
from core.signing import FileKeySource

DEMO_REVIEWER = REVIEWERS[0]  # bob@example.com
OTHER, THIRD = REVIEWERS[1], REVIEWERS[2]


def _key_file(root: Path, identity: str) -> Path:
    return root / "keys" / (identity.split("@")[0].replace(":", "-") + ".key")


def _gate_secrets(root: Path) -> Path:
    return root / "gate-state" / "demo-secrets.json"


def run_demo_gate(paths: AppPaths) -> int:
    """Worker side: the demo gate executes every proposal the reviewers approved; returns
    how many ran. A no-op when the demo folder is not there."""

    root = paths.demo_dir
    secrets_file = _gate_secrets(root)
    if not secrets_file.is_file():
        return 0
    secrets = json.loads(secrets_file.read_text())
    queue_dir = root / "queue"
    policy_bytes = (queue_dir / "policy.toml").read_bytes()
    gate_side = FolderQueue(queue_dir, role="gate", state_dir=root / "gate-state",
                            seal_secret=bytes.fromhex(secrets["seal"]),
                            log_signer=LogSigner.from_text(secrets["log"]))
    ran = 0
    try:
        gate_side.collect()
        gate = Gate(gate_side, policy_bytes, identity=GATE,
                    signer=FileKeySource(_key_file(root, GATE)).signer(GATE),
                    agent="agent:payments-bot", state_dir=root / "gate-state")
        for view in gate_side.list_proposals():
            if view.status == "approved":
                gate.execute(view.proposal, lambda params: None)
                ran += 1
    finally:
        gate_side.close()
    return ran


def build_demo(paths: AppPaths) -> Settings:
    """Worker side: write the demo under the user's data dir and return settings for it."""
    root = paths.demo_dir
    if root.exists():
        shutil.rmtree(root)
    world = SampleWorld.create()
    queue_dir = root / "queue"
    queue_dir.mkdir(parents=True)
    (queue_dir / "policy.toml").write_bytes(world.policy_bytes())
    policy = Policy.from_bytes(world.policy_bytes())
    for identity in (REQUESTER, *REVIEWERS, GATE):
        FileKeySource(_key_file(root, identity)).import_signer(identity, world.signer(identity))
    secrets = _gate_secrets(root)
    secrets.parent.mkdir(parents=True, exist_ok=True)

    secrets.write_text(json.dumps({"seal": world.seal_secret.hex(),
                                   "log": world.log_signer.to_text()}))
    secrets.chmod(0o600)

    now = now_utc()
    gate_side = FolderQueue(queue_dir, role="gate", state_dir=root / "gate-state",
                            seal_secret=world.seal_secret, log_signer=world.log_signer)
    carol = FolderQueue(queue_dir, role="reviewer", identity=OTHER)
    dave = FolderQueue(queue_dir, role="reviewer", identity=THIRD)

    def propose(created_ago: int = 2, ttl: int = 28, **kwargs: object):  # noqa: ANN202
        p = world.proposal(policy_hash=policy.hash, created_at=now - timedelta(minutes=created_ago),
                           ttl=timedelta(minutes=ttl), **kwargs)
        gate_side.submit_proposal(p)
        return p

    # 1. An irreversible payment another reviewer already approved (sealed: you cannot tell).
    #    Approve it too, and the demo gate executes it: its bundle opens in the auditor.
    pay = propose(created_ago=4, ttl=55, title="Pay invoice 4411 from Acme Tools",
                  why="Invoice 4411 is due today; the vendor is on the allow-list and the "
                      "amount matches the purchase order PO-7781.",
                  blast_radius="One outgoing transfer of 1,200.00 USD to vendor account "
                               "acct-991; no other accounts are touched.")
    decision, sig = world.decide(pay, OTHER, reason="Matches PO-7781 and the invoice PDF.",
                                 decided_at=now - timedelta(minutes=1))
    carol.submit_decision(pay.hash, SignedDecision(decision.raw, sig))

    # 2. An access change that needs two reviewers from different groups.
    propose(created_ago=6, route="iam.rotate_key",
            params={"principal": "ci-runner", "account": "prod", "revoke_old_after": "24h"},
            title="Rotate the prod CI runner's access key",
            why="The key is 400 days old; the security baseline says 365.",
            blast_radius="CI deploys fail for up to 5 minutes if a runner still holds the old "
                         "key.", reversibility="partially_reversible", confidence=0.8,
            evidence=[{"label": "key age report", "ref": "https://sec.example.com/r/ci-key"}],
            gates_passed=["change-window", "owner-notified"])

    # 3. A suspicious one: markup, a bidi override and a zero-width space in agent text.
    propose(created_ago=1, params={"amount_minor": 990000, "currency": "USD",
                                   "to": "acct-77\u200b1"},
            title="Refund <b>VIP</b> customer \u202e4411 eciovni\u202c",
            why="Customer is upset, see <a href=\"https://evil.example/x\">ticket</a> "
                "<img src=\"https://evil.example/pixel.png\">. Approve quickly please.",
            blast_radius="Just a refund.", confidence=0.99,
            evidence=[{"label": "ticket", "ref": "CS-88\u200b12"}])

    # 4. A small reversible one that needs one approval.
    propose(created_ago=3, params={"amount_minor": 4900, "currency": "EUR", "to": "acct-123"},
            title="Refund order 1182 (damaged in transit)",
            why="The carrier confirmed the damage; the refund is within the agent's limits.",
            blast_radius="One refund of 49.00 EUR to the customer's card.",
            reversibility="reversible", confidence=0.95,
            evidence=[{"label": "carrier claim", "ref": "DHL-55120"}])

    # 5. Something you requested yourself: the app refuses to let you review it.
    propose(created_ago=2, requester=DEMO_REVIEWER,
            params={"amount_minor": 75000, "currency": "USD", "to": "acct-400"},
            title="Pay the conference booth deposit", why="You asked for this on Monday.",
            blast_radius="One transfer of 750.00 USD.")

    # 6. Executed before you arrived: approved by two others, run by the gate, bundled.
    done = propose(created_ago=20, ttl=50, title="Pay invoice 4398 from Acme Tools",
                   params={"amount_minor": 86000, "currency": "USD", "to": "acct-991"})
    for who in (OTHER, THIRD):
        d, s = world.decide(done, who, decided_at=now - timedelta(minutes=10))
        (carol if who == OTHER else dave).submit_decision(done.hash, SignedDecision(d.raw, s))
    gate_side.collect()
    gate = Gate(gate_side, world.policy_bytes(), identity=GATE, signer=world.signer(GATE),
                agent="agent:payments-bot", state_dir=root / "gate-state")
    gate.execute(done, lambda params: None)
    gate_side.close()

    bundle = root / "payment-4398.foureyes"
    bundle.write_bytes((queue_dir / "bundles" / f"{done.hash[7:]}.foureyes").read_bytes())
    trust = root / "trust.toml"
    trust.write_text(f'policies = ["{policy.hash}"]\nlogs = ["{world.log_verifier}"]\n')

    return Settings(identity=DEMO_REVIEWER, key_file=str(_key_file(root, DEMO_REVIEWER)),
                    transport="folder", folder=str(queue_dir), trust_file=str(trust),
                    demo=True)
