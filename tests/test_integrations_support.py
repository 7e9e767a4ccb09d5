"""Shared set-up for the integration tests (no tests here): one real queue server per
module, a gate configuration file as docs/integrations.md describes it, and reviewers who
decide through the API."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.formats import now_utc
from core.formats.documents import Proposal
from core.policy import Policy
from core.review import make_decision
from core.sample import AGENT, GATE, REQUESTER, SampleWorld
from core.signing import FileKeySource
from tests.server_fixtures import Server

BOB, CAROL, DAVE = "bob@example.com", "carol@example.com", "dave@example.com"
DEAD_SERVER = "http://127.0.0.1:9"  # nothing listens on the discard port

RULES = """\
[[rules]]
route = "mcp.bank.transfer"
approvals = 2
ttl = "1h"

[[rules]]
route = "mcp.bank.slow"
approvals = 2
ttl = "3s"

[[rules]]
route = "mcp.bank.balance"
approvals = 0

[[rules]]
route = "mcp.bank.crash"
approvals = 0

[[rules]]
route = "mcp.bank.resources/read"
approvals = 0

[[rules]]
route = "mcp.bank.prompts/get"
approvals = 2

[[rules]]
route = "exec.short"
approvals = 2
ttl = "3s"

[[rules]]
route = "exec.*"
approvals = 2

[[rules]]
route = "py.short"
approvals = 2
ttl = "3s"

[[rules]]
route = "py.read"
approvals = 0

[[rules]]
route = "py.*"
approvals = 2

[[rules]]
route = "claude-code.*"
approvals = 2

[[rules]]
route = "ci.*"
approvals = 2

[[rules]]
route = "payments.*"
approvals = 2
"""


@dataclass
class Env:
    server: Server
    root: Path

    @property
    def world(self) -> SampleWorld:
        return self.server.world

    def config(self, name: str, *, wait: float = 60, server: str | None = None) -> Path:
        """A gate config file with its own state directory, as the docs show it."""
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "policy.toml").write_bytes(self.world.policy_bytes())
        key = folder / "gate.key"
        if not key.exists():
            FileKeySource(key).import_signer(GATE, self.world.signer(GATE))
        (folder / "agent.token").write_text(self.server.agent_token)
        (folder / "gate.token").write_text(self.server.gate_token)
        path = folder / "gate.toml"
        path.write_text(
            f'server = "{server or self.server.url}"\npolicy = "policy.toml"\n'
            f'gate = "{GATE}"\ngate_key = "gate.key"\nagent = "{AGENT}"\n'
            f'requester = "{REQUESTER}"\nstate = "state"\nagent_token_file = "agent.token"\n'
            f'gate_token_file = "gate.token"\nwait = {wait}\n')
        return path

    def policy(self) -> Policy:
        return Policy.from_bytes(self.world.policy_bytes())

    def proposal(self, proposal_hash: str) -> Proposal:
        return self.server.auditor().get_proposal(proposal_hash).proposal

    def pending(self, route: str, *, known: set[str] = frozenset(), timeout: float = 30
                ) -> Proposal:
        """The newest pending proposal on ``route`` not in ``known``, once it exists."""
        q = self.server.auditor()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for v in q.list_proposals():
                if v.status == "pending" and v.proposal.route == route and v.hash not in known:
                    return v.proposal
            time.sleep(0.1)
        raise AssertionError(f"no pending proposal on {route}")

    def decide(self, proposal: Proposal | str, who: str, verdict: str = "approve") -> None:
        if isinstance(proposal, str):
            proposal = self.proposal(proposal)
        self.server.reviewer(who).submit_decision(proposal.hash, make_decision(
            proposal, verdict=verdict, reason=f"reviewed ({who})", identity=who,
            signer=self.world.signer(who), now=now_utc()))

    def approve(self, proposal: Proposal | str) -> None:
        self.decide(proposal, BOB)
        self.decide(proposal, CAROL)

    def view(self, proposal_hash: str):  # noqa: ANN201 - a ProposalView
        return self.server.auditor().get_proposal(proposal_hash)

    def receipt(self, proposal_hash: str) -> dict:
        import json

        view = self.view(proposal_hash)
        assert view.receipt is not None, view.status
        return json.loads(view.receipt[0])


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("integrations")
    srv = Server(SampleWorld.create(rules=RULES), root / "srv")
    srv.setup()
    srv.start()
    yield Env(srv, root)
    srv.stop()
