"""SPEC §5, rule by rule: the one quorum function every component uses."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.policy import Policy, SignedDecision, evaluate
from core.sample import AGENT, REQUESTER, SampleWorld
from core.signing import Signer


def _setup(world: SampleWorld, rules: str | None = None, **proposal_kw):
    if rules is not None:
        world.rules = rules
    policy = Policy.from_bytes(world.policy_bytes())
    proposal = world.proposal(policy_hash=policy.hash, **proposal_kw)
    return policy, proposal


def _signed(world, proposal, *specs):
    out = []
    for spec in specs:
        decision, sig = world.decide(proposal, **spec)
        out.append(SignedDecision(decision.raw, sig))
    return out


BOB, CAROL, DAVE = "bob@example.com", "carol@example.com", "dave@example.com"


def test_two_approvals_approve(world):
    policy, proposal = _setup(world)
    outcome = evaluate(policy, proposal, _signed(world, proposal, {"reviewer": BOB},
                                                 {"reviewer": CAROL}))
    assert outcome.status == "approved" and outcome.required == 2 and outcome.approvals == 2
    assert [c.code for c in outcome.checks] == ["counted", "counted"]


def test_one_approval_is_pending_then_expired(world):
    policy, proposal = _setup(world)
    decisions = _signed(world, proposal, {"reviewer": BOB})
    assert evaluate(policy, proposal, decisions, now=proposal.created_at).status == "pending"
    later = proposal.expires_at + timedelta(seconds=1)
    assert evaluate(policy, proposal, decisions, now=later).status == "expired"


def test_one_reject_rejects(world):
    policy, proposal = _setup(world)
    outcome = evaluate(policy, proposal, _signed(
        world, proposal, {"reviewer": BOB},
        {"reviewer": DAVE, "verdict": "reject", "reason": "wrong vendor"},
        {"reviewer": CAROL}))
    assert outcome.status == "rejected" and "dave" in outcome.message
    assert [c.code for c in outcome.checks] == ["counted", "counted", "closed"]


def test_an_outcome_once_reached_is_final(world):
    """The attack: a reject after quorum, while the gate executes, erased the execution.
    A late decision never changes an outcome (SPEC §5): it is refused `closed`."""
    policy, proposal = _setup(world)
    outcome = evaluate(policy, proposal, _signed(
        world, proposal, {"reviewer": BOB}, {"reviewer": CAROL},
        {"reviewer": DAVE, "verdict": "reject", "reason": "too late"}))
    assert outcome.status == "approved"
    assert [c.code for c in outcome.checks] == ["counted", "counted", "closed"]


def test_a_decision_dated_before_the_proposal_is_refused(world):
    """A reviewer whose valid_before has passed must not backdate into validity."""
    policy, proposal = _setup(world)
    early = proposal.created_at - timedelta(days=30)
    outcome = evaluate(policy, proposal, _signed(world, proposal,
                                                 {"reviewer": BOB, "decided_at": early}))
    assert outcome.checks[0].code == "binding" and not outcome.checks[0].counted


def test_vector_decisions_count(vector_members):
    from core.formats import Proposal

    policy = Policy.from_bytes(vector_members["policy.toml"])
    proposal = Proposal.from_bytes(vector_members["proposal.json"])
    decisions = [SignedDecision(vector_members[f"decisions/{n}.json"],
                                vector_members[f"decisions/{n}.json.sig"].decode())
                 for n in (1, 2)]
    outcome = evaluate(policy, proposal, decisions, now=proposal.created_at)
    assert outcome.status == "approved"
    assert [c.reviewer for c in outcome.counted] == ["bob@example.com", "carol@example.com"]


# Each row: decision specs, then the expected code of the LAST decision.
REFUSALS = [
    pytest.param([{"reviewer": REQUESTER}], "self_approval", id="requester-approves"),
    pytest.param([{"reviewer": BOB}, {"reviewer": BOB, "reason": "again"}],
                 "duplicate_reviewer", id="same-reviewer-twice"),
    pytest.param([{"reviewer": BOB}, {"reviewer": BOB, "verdict": "reject", "reason": "no"}],
                 "duplicate_reviewer", id="reviewer-changes-mind"),
    pytest.param([{"reviewer": "erin@example.com", "signer_identity": "erin@example.com"}],
                 "not_in_roster", id="unknown-key"),
    pytest.param([{"reviewer": CAROL, "signer_identity": BOB}], "reviewer_mismatch",
                 id="claims-another-identity"),
    pytest.param([{"reviewer": BOB, "decided_at": "late"}], "expired", id="decided-after-expiry"),
]


@pytest.mark.parametrize("specs, code", REFUSALS)
def test_refusal_codes(world, specs, code):
    world.signers["erin@example.com"] = Signer(bytes(range(32)))
    policy, proposal = _setup(world)
    for spec in specs:
        if spec.get("decided_at") == "late":
            spec["decided_at"] = proposal.expires_at + timedelta(seconds=1)
    outcome = evaluate(policy, proposal, _signed(world, proposal, *specs))
    assert outcome.checks[-1].code == code
    assert not outcome.checks[-1].counted
    assert outcome.checks[-1].message


def test_requester_who_is_also_an_approver_cannot_count(world):
    """alice is in the roster (finance), yet as requester she can never decide."""
    policy, proposal = _setup(world)
    assert policy.approver(REQUESTER) is not None
    outcome = evaluate(policy, proposal, _signed(world, proposal, {"reviewer": REQUESTER},
                                                 {"reviewer": BOB}))
    assert outcome.checks[0].code == "self_approval"
    assert outcome.status == "pending"
    # and a rejection by the requester does not reject either
    outcome = evaluate(policy, proposal, _signed(
        world, proposal, {"reviewer": REQUESTER, "verdict": "reject", "reason": "x"}))
    assert outcome.status == "pending"


def test_proposer_cannot_approve(world):
    """An agent identity can never be a roster entry, so its 'approval' is refused."""
    policy, proposal = _setup(world, requester=BOB)
    outcome = evaluate(policy, proposal, _signed(world, proposal, {"reviewer": BOB}))
    assert outcome.checks[0].code == "self_approval"
    assert proposal.proposer == AGENT


@pytest.mark.parametrize("field, value", [
    ("proposal", "sha256:" + "0" * 64), ("action", "sha256:" + "1" * 64),
    ("job_id", "job-other"), ("policy", "sha256:" + "2" * 64),
    ("expires_at", "2099-01-01T00:00:00Z"),
])
def test_binding(world, field, value):
    from core.formats import Decision, canonical

    policy, proposal = _setup(world)
    decision, _ = world.decide(proposal, BOB)
    forged = Decision.from_bytes(canonical({**decision.data, field: value}))
    sig = world.signer(BOB).sign(forged.raw, "foureyes-decision-v1")
    outcome = evaluate(policy, proposal, [SignedDecision(forged.raw, sig)])
    assert outcome.checks[0].code == "binding" and field in outcome.checks[0].message


def test_signature_failures(world):
    policy, proposal = _setup(world)
    decision, sig = world.decide(proposal, BOB)
    tampered = decision.raw.replace(b"Checked", b"Checkee")
    outcome = evaluate(policy, proposal, [SignedDecision(tampered, sig)])
    assert outcome.checks[0].code == "signature"
    wrong_ns = world.signer(BOB).sign(decision.raw, "foureyes-receipt-v1")
    outcome = evaluate(policy, proposal, [SignedDecision(decision.raw, wrong_ns)])
    assert outcome.checks[0].code == "signature"
    outcome = evaluate(policy, proposal, [SignedDecision(b"{}", sig)])
    assert outcome.checks[0].code == "format"


def test_key_not_valid_outside_window(world):
    world.extra_approvers = ""
    text = world.policy_text().replace(
        'identity = "bob@example.com"',
        'identity = "bob@example.com"\nvalid_before = "2020-01-01T00:00:00Z"')
    policy = Policy.from_bytes(text.encode())
    proposal = world.proposal(policy_hash=policy.hash)
    outcome = evaluate(policy, proposal, _signed(world, proposal, {"reviewer": BOB}))
    assert outcome.checks[0].code == "key_not_valid"


def test_groups_and_distinct_groups(world):
    # iam.* needs sre, distinct groups: bob(sre), dave(sre), carol(finance,sre) all share sre:
    # each approve is recorded (never refused: a refusal would reveal a colleague decided)
    # and none helps a second one reach the quorum.
    policy, proposal = _setup(world, route="iam.grant", params={"role": "admin"})
    outcome = evaluate(policy, proposal, _signed(
        world, proposal, {"reviewer": BOB}, {"reviewer": DAVE}, {"reviewer": CAROL}))
    assert [c.code for c in outcome.checks] == ["counted", "counted", "counted"]
    assert outcome.status == "pending" and outcome.approvals == 1
    world2 = SampleWorld.create()
    policy, proposal = _setup(world2, route="iam.grant", params={"role": "admin"},
                              requester="bob@example.com")
    outcome = evaluate(policy, proposal, _signed(world2, proposal,
                                                 {"reviewer": REQUESTER}))
    assert outcome.checks[0].code == "not_eligible"


DISTINCT = """\
[[rules]]
route = "iam.*"
approvals = 2
distinct_groups = true
"""


def test_distinct_groups_is_a_counting_rule(world):
    # bob(sre) then dave(sre): pending; carol(finance,sre) shares sre with both: pending;
    # alice is the requester elsewhere, so use a proposal requested by someone else.
    policy, proposal = _setup(world, DISTINCT, route="iam.grant", params={},
                              requester="erin@example.com")
    same = _signed(world, proposal, {"reviewer": BOB}, {"reviewer": DAVE})
    out = evaluate(policy, proposal, same)
    assert out.status == "pending" and all(c.counted for c in out.checks)
    # alice (finance) with bob (sre): two approvers with no shared group → approved
    both = _signed(world, proposal, {"reviewer": BOB}, {"reviewer": DAVE},
                   {"reviewer": REQUESTER})
    assert evaluate(policy, proposal, both).status == "approved"


def test_a_same_group_reject_always_counts(world):
    policy, proposal = _setup(world, route="iam.grant", params={"role": "admin"})
    out = evaluate(policy, proposal, _signed(
        world, proposal, {"reviewer": BOB},
        {"reviewer": DAVE, "verdict": "reject", "reason": "not now"}))
    assert out.status == "rejected"


def test_policy_level_outcomes(world):
    policy, proposal = _setup(world, route="unknown.route")
    assert evaluate(policy, proposal, []).status == "denied"
    policy, proposal = _setup(world, params={"amount_minor": 10})
    assert evaluate(policy, proposal, []).required == 1
    policy, proposal = _setup(world, route="reports.read", params={})
    assert evaluate(policy, proposal, []).status == "approved"
    policy, proposal = _setup(world, ttl=timedelta(hours=2))
    assert evaluate(policy, proposal, []).code == "ttl"
    other = world.proposal(policy_hash="sha256:" + "9" * 64)
    assert evaluate(policy, other, []).code == "policy_hash"


def test_counted_list_is_order_independent_for_the_status(world):
    policy, proposal = _setup(world)
    a = _signed(world, proposal, {"reviewer": BOB}, {"reviewer": CAROL},
                {"reviewer": REQUESTER})
    assert evaluate(policy, proposal, a).status == evaluate(policy, proposal, a[::-1]).status
