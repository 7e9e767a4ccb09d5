"""A complete agent-side gate: propose a payment, wait for two humans, verify, pay once.

Run it against the deployment `foureyes init` made (its server running):

    python docs/examples/gate_payment.py deploy http://127.0.0.1:8700

then approve it as two reviewers (the command prints the `foureyes decide` lines). The
script exits 0 once the payment ran and the receipt is recorded.

What comes from where:
- the agent token (deploy/tokens/agent.token) proposes; the server takes the proposer
  from that token, so the `agent=` given to Gate must be the token's identity:
  `HttpQueue.whoami()` returns it;
- the gate token (deploy/tokens/gate.token) claims the proposal, reads the proposal's
  log entries and records the receipt;
- the gate signer is the gate's private key file (deploy/gate/gate.key), whose public
  line the policy lists under [[gates]] for "gate:prod";
- the policy bytes are pinned by the gate: it counts signatures under them, never under
  whatever the queue says later.
"""

from __future__ import annotations

import sys
from pathlib import Path

from core.gate import (
    AlreadyExecuted,  # this proposal already ran (here or on another gate): never twice
    DeniedByPolicy,  # no rule allows the route and the policy's default is deny
    Expired,  # nobody decided before the proposal's expiry; it will never run
    Gate,
    InvalidData,  # anything else the queue or the gate refused, with a stable .code
    NoQuorum,  # the queue said "approved" but the signatures do not make a quorum
    QueueUnreachable,  # the server could not be reached (a TransportError): retry later
    Rejected,  # a reviewer rejected it
    StillPending,  # the timeout passed; it may still be decided: wait again later
    TransportError,  # network or storage trouble other than the above
)
from core.queue.http import HttpQueue
from core.signing import FileKeySource


def pay(params: dict) -> str:
    """The dangerous tool. It receives a fresh copy of exactly the approved parameters."""
    return f"paid {params['amount_minor'] / 100:.2f} {params['currency']} to {params['to']}"


def main(deploy: Path, url: str) -> int:
    agent_queue = HttpQueue(url, token=(deploy / "tokens" / "agent.token").read_text().strip())
    gate_queue = HttpQueue(url, token=(deploy / "tokens" / "gate.token").read_text().strip())
    _role, agent = agent_queue.whoami()  # e.g. "agent:deploy-bot"
    gate_signer = FileKeySource(deploy / "gate" / "gate.key").signer("gate:prod")
    gate = Gate(agent_queue, (deploy / "policy.toml").read_bytes(), identity="gate:prod",
                signer=gate_signer, agent=agent, state_dir=deploy / "gate",
                receipts=gate_queue)
    params = {"amount_minor": 120000, "currency": "USD", "to": "acct-991"}
    summary = {"title": "Pay invoice 4411", "why": "Due today", "blast_radius": "one vendor",
               "reversibility": "irreversible"}
    try:
        # gate.run(...) does these three steps in one call (gate.arun for asyncio).
        proposal = gate.propose("payments.transfer", params, summary,
                                requester="dave@example.com")
        print(f"proposed {proposal.hash}; waiting for two reviewers:", flush=True)
        for who in ("bob", "carol"):
            print(f"  foureyes decide {proposal.hash[7:19]} --approve --reason ok "
                  f"--server {url} --identity {who}@example.com "
                  f"--key-file {deploy}/reviewers/{who}.key "
                  f"--yes-i-checked {proposal.action_hash[7:15]}", flush=True)
        gate.wait(proposal, timeout=600)
        result = gate.execute(proposal, pay)
    except (DeniedByPolicy, Rejected, Expired, NoQuorum, AlreadyExecuted) as e:
        print(f"not run: [{e.code}] {e.message}", file=sys.stderr)
        return 1
    except StillPending as e:
        print(f"still pending: {e.message}", file=sys.stderr)
        return 4
    except (QueueUnreachable, TransportError) as e:
        print(f"queue trouble: [{e.code}] {e.message}", file=sys.stderr)
        return 5
    except InvalidData as e:
        print(f"refused: [{e.code}] {e.message}", file=sys.stderr)
        return 1
    finally:
        gate.close()
    print(result.value)
    print(f"receipt {result.receipt.hash}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: gate_payment.py DEPLOY_DIR SERVER_URL")
    sys.exit(main(Path(sys.argv[1]), sys.argv[2]))
