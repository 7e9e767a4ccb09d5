"""A demo workspace in one click: a shared-folder queue with a few proposals to review.

Made from the same SampleWorld the CLI demo and the tests use; keys are key files in the
workspace, and a gate is run briefly to collect decisions.
"""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

from core.cli.folder import SUBDIRS
from core.formats import now_utc
from core.log.keyfile import save_log_key
from core.policy import Policy
from core.queue.folder import FolderQueue
from core.review import make_decision
from core.sample import GATE, SampleWorld
from core.signing import FileKeySource
from core.signing.keyfile import write_private

REVIEWER = "bob@example.com"


def create_demo_workspace(root: Path) -> dict[str, str]:
    """Build the workspace and return the settings the app should use."""
    if root.exists():
        shutil.rmtree(root)
    world = SampleWorld.create()
    share, keys, gate_state = root / "share", root / "keys", root / "gate"
    for sub in SUBDIRS:
        (share / sub).mkdir(parents=True, exist_ok=True)
    (share / "policy.toml").write_bytes(world.policy_bytes())
    for who in ("bob@example.com", "carol@example.com", "dave@example.com",
                "alice@example.com", GATE):
        FileKeySource(keys / f"{who.replace(':', '-')}.key").import_signer(who,
                                                                          world.signer(who))
    write_private(gate_state / "seal.key", base64.b64encode(world.seal_secret).decode())
    save_log_key(gate_state / "log.key", world.log_signer)
    gate = FolderQueue(share, role="gate", identity=GATE, state_dir=gate_state,
                       seal_secret=world.seal_secret, log_signer=world.log_signer)
    policy = Policy.from_bytes(world.policy_bytes())
    pay = world.proposal(policy_hash=policy.hash)
    iam = world.proposal(policy_hash=policy.hash, route="iam.grant",
                         params={"role": "admin", "user": "mallory"},
                         title="Grant admin to the on-call engineer",
                         reversibility="reversible", requester="carol@example.com")
    tricky = world.proposal(policy_hash=policy.hash,
                            params={"amount_minor": 990000, "currency": "USD",
                                    "to": "acct-1\u200b77"},
                            title="Refund <b>customer</b> \u202eacct", why="Refund request "
                            "from p\u0430yments desk", reversibility="irreversible")
    for p in (pay, iam, tricky):
        gate.submit_proposal(p)
    carol = FolderQueue(share, role="reviewer", identity="carol@example.com",
                        state_dir=root / "state-carol")
    carol.submit_decision(pay.hash, make_decision(pay, verdict="approve",
                                                  reason="Invoice matches the PO",
                                                  identity="carol@example.com",
                                                  signer=world.signer("carol@example.com"),
                                                  now=now_utc()))
    gate.collect()
    gate.close()
    trust = root / "trust.toml"
    trust.write_text(f'policies = ["{policy.hash}"]\nlogs = ["{world.log_verifier}"]\n')
    return {"identity": REVIEWER, "key_file": str(keys / "bob@example.com.key"),
            "folder": str(share), "trust_file": str(trust)}
