"""Reviewer-side helpers shared by the CLI and the desktop app.

`precheck` refuses, before anything is signed, what the queue would refuse anyway: a
reviewer who is the proposer or requester, who is not in the roster (or not valid now), or
a proposal that has expired. Failing here is failing closed, and it keeps the reviewer's
key from signing something that can only be evidence of a mistake.
"""

from __future__ import annotations

from datetime import datetime

from core.errors import InvalidData
from core.formats import Decision, Proposal
from core.policy import Policy, SignedDecision
from core.signing import Signer

DECISION_NAMESPACE = "foureyes-decision-v1"


def precheck(policy: Policy, proposal: Proposal, identity: str, now: datetime,
             signer: Signer | None = None) -> None:
    if identity in (proposal.proposer, proposal.requester):
        raise InvalidData("self_approval", f"you ({identity}) requested this action; someone "
                          "else must review it")
    approver = policy.approver(identity)
    if approver is None:
        raise InvalidData("not_in_roster", f"{identity} is not an approver in policy "
                          f"{policy.name!r}")
    if signer is not None and signer.public_key != approver.key:
        raise InvalidData("not_in_roster", f"your key {signer.public_key.fingerprint} is not "
                          f"the one the policy lists for {identity}")
    if not approver.valid_at(now):
        raise InvalidData("key_not_valid", f"{identity} is not a valid approver right now")
    if now > proposal.expires_at:
        raise InvalidData("expired", "this proposal has expired and can no longer be decided")
    if proposal.policy != policy.hash:
        raise InvalidData("policy_hash", "this proposal pins another policy than the queue's")


def make_decision(proposal: Proposal, *, verdict: str, reason: str, identity: str,
                  signer: Signer, now: datetime) -> SignedDecision:
    """Build the decision from the proposal's own bytes and sign it."""
    decision = Decision.for_proposal(proposal, verdict=verdict, reason=reason, reviewer=identity,
                                     decided_at=now)
    return SignedDecision(decision.raw, signer.sign(decision.raw, DECISION_NAMESPACE))


def render_proposal(view, policy: Policy, now: datetime) -> str:  # noqa: ANN001 - ProposalView
    """Plain text for a terminal: agent text is labelled unverified and made visible.

    What the queue sent (the status, the policy's name, the agent's text, reviewers'
    reasons) goes through `shown`: one line each, no control reaches the terminal. The
    agent's multi-line fields keep their line breaks, indented under their label, so no
    line they draw starts where this report's own lines start."""
    from core.formats import canonical
    from core.policy import match_rule
    from core.textsafety import reveal, shown, shown_lines

    p = view.proposal
    rule = match_rule(policy, p.route, p.params)
    left = p.expires_at - now
    lines = [f"Proposal   {p.hash}", f"Status     {shown(view.status)}",
             f"Route      {p.route}", f"Action     {p.action_hash}",
             f"Fingerprint {p.action_hash[7:15]}  (type it to approve)",
             f"Requester  {p.requester}    Proposer {p.proposer}    Job {shown(p.job_id)}",
             f"Expires    {p.data['expires_at']} "
             f"({'expired' if left.total_seconds() < 0 else f'{int(left.total_seconds())} s left'})",
             f"Policy     {shown(policy.name)} {policy.hash}",
             f"Rule       {shown(rule.describe()) if rule else 'none (default ' + policy.default + ')'}"
             f", needs {rule.approvals if rule else 0} approvals",
             "", "Exact action (canonical JSON):"]
    action, warn = reveal(canonical(p.action).decode())
    lines.append("  " + action)
    warnings = list(warn)
    lines += ["", "Written by the agent (unverified):"]
    s = p.summary
    for label, key in (("Title", "title"), ("Why", "why"), ("Blast radius", "blast_radius"),
                       ("Reversibility", "reversibility"), ("Cost (minor)", "cost_impact_minor"),
                       ("Confidence", "confidence")):
        one_line = key != "why" and key != "blast_radius"
        warnings += reveal(str(s.get(key)), single_line=one_line)[1]
        text = shown(s.get(key)) if one_line else shown_lines(s.get(key), " " * 17)
        lines.append(f"  {label + ':':<15}{text}")
    for e in s.get("evidence", []):
        warnings += reveal(f"{e['label']}: {e['ref']}", single_line=True)[1]
        lines.append(f"  {'Evidence:':<15}{shown(e['label'] + ': ' + e['ref'])}")
    for g in s.get("gates_passed", []):
        warnings += reveal(g, single_line=True)[1]
        lines.append(f"  {'Gate passed:':<15}{shown(g)}")
    if view.decisions:
        lines += ["", "Decisions:"]
        for d in view.decisions:
            from core.formats import Decision

            doc = Decision.from_bytes(d.document)
            lines.append(f"  {doc.data['decided_at']}  {doc.reviewer}: {doc.verdict} — "
                         f"{shown(doc.reason)}")
    for w in dict.fromkeys(warnings):
        lines.append(f"WARNING: {w}")
    return "\n".join(lines)
