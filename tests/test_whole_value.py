"""Every pattern guards the whole value (SPEC §1).

The attack: Python's `$` matches before a final newline, so `"alice@example.com\\n"` passed
as a requester, then alice approved her own request (she is not *that* string) and the
verifier called it VALID. `\\d` also accepted non-ASCII digits. Each reader is fed a good
value with a hostile tail and must refuse it.
"""

from __future__ import annotations

import json

import pytest

from core.bundle.trust import parse_trust
from core.errors import InvalidData
from core.formats import Decision, Event, Proposal, canonical
from core.formats import fields as F
from core.log.note import LogSigner, LogVerifier
from core.policy import Policy, SignedDecision, evaluate
from core.sample import REQUESTER, SampleWorld

TAILS = ["\n", "\r", "\u2028", "\r\n", " ", "\x00"]
ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _refused(fn, value):
    with pytest.raises(InvalidData):
        fn(value)


@pytest.mark.parametrize("tail", TAILS)
@pytest.mark.parametrize("fn, good", [
    (lambda v: F.human(v, "x"), "alice@example.com"),
    (lambda v: F.identity(v, "x", ("agent",)), "agent:bot"),
    (lambda v: F.identity(v, "x", ("gate",)), "gate:prod"),
    (lambda v: F.parse_time(v, "x"), "2026-11-24T09:30:00Z"),
    (lambda v: F.hash_ref(v, "x"), "sha256:" + "a" * 64),
    (lambda v: F.uuid_text(v, "x"), "123e4567-e89b-12d3-a456-426614174000"),
    (lambda v: F.parse_ttl(v, "x"), "30m"),
    (lambda v: LogVerifier.from_text(v), None),
])
def test_every_field_pattern_refuses_a_tail(fn, good, tail):
    if good is None:
        good = LogSigner.generate("example.com/log").verifier_key
    fn(good)  # the good value passes
    _refused(fn, good + tail)


@pytest.mark.parametrize("fn, good", [
    (lambda v: F.parse_time(v, "x"), "2026-11-24T09:30:00Z"),
    (lambda v: F.parse_ttl(v, "x"), "30m"),
    (lambda v: F.human(v, "x"), "a1@example.com"),
])
def test_non_ascii_digits_are_refused(fn, good):
    fn(good)
    _refused(fn, good.translate(ARABIC_DIGITS))


def _proposal_obj(world: SampleWorld) -> dict:
    p = world.proposal(policy_hash=Policy.from_bytes(world.policy_bytes()).hash)
    return json.loads(p.raw)


@pytest.mark.parametrize("tail", TAILS)
@pytest.mark.parametrize("path", ["requester", "proposer", "policy", "id", "created_at",
                                  "action.route"])
def test_proposal_fields_refuse_a_tail(world, path, tail):
    obj = _proposal_obj(world)
    target, key = (obj["action"], "route") if path == "action.route" else (obj, path)
    target[key] = target[key] + tail
    with pytest.raises(InvalidData):
        Proposal.from_bytes(canonical(obj))


@pytest.mark.parametrize("tail", TAILS)
def test_event_and_decision_refuse_a_tail(tail):
    ev = {"schema": "foureyes.event/v1", "type": "decision.refused",
          "at": "2026-11-24T09:30:00Z", "proposal": "sha256:" + "a" * 64,
          "reviewer": "bob@example.com", "code": "self_approval" + tail}
    with pytest.raises(InvalidData):
        Event.from_bytes(canonical(ev))
    ev["code"] = "self_approval"
    ev["reviewer"] = "bob@example.com" + tail
    with pytest.raises(InvalidData):
        Event.from_bytes(canonical(ev))


@pytest.mark.parametrize("tail", TAILS)
@pytest.mark.parametrize("needle, replace", [
    ('identity = "bob@example.com"', 'identity = "bob@example.com{tail}"'),
    ('route = "iam.*"', 'route = "iam.*{tail}"'),
    ('groups = ["sre"]', 'groups = ["sre{tail}"]'),
    ('ttl = "1h"', 'ttl = "1h{tail}"'),
])
def test_policy_fields_refuse_a_tail(world, needle, replace, tail):
    text = world.policy_bytes().decode()
    assert needle in text
    toml_tail = json.dumps(tail)[1:-1]  # a TOML basic string escape of the tail
    bad = text.replace(needle, replace.format(tail=toml_tail), 1)
    with pytest.raises(InvalidData):
        Policy.from_bytes(bad.encode())


@pytest.mark.parametrize("tail", TAILS)
def test_trust_file_refuses_a_tail(tail):
    good = 'policies = ["sha256:' + "a" * 64 + '"]\n'
    parse_trust(good.encode())
    bad = 'policies = ["sha256:' + "a" * 64 + json.dumps(tail)[1:-1] + '"]\n'
    with pytest.raises(InvalidData):
        parse_trust(bad.encode())


def test_requester_with_trailing_newline_cannot_approve_her_own_request(world):
    """The attack end to end at the quorum: the proposal itself never reads."""
    policy = Policy.from_bytes(world.policy_bytes())
    obj = _proposal_obj(world)
    obj["requester"] = REQUESTER + "\n"
    with pytest.raises(InvalidData) as e:
        Proposal.from_bytes(canonical(obj))
    assert e.value.code == "identity"
    # and a well-formed proposal by alice refuses alice's approval
    p = world.proposal(policy_hash=policy.hash)
    d = Decision.for_proposal(p, verdict="approve", reason="fine", reviewer=REQUESTER,
                              decided_at=p.created_at)
    sd = SignedDecision(d.raw, world.signer(REQUESTER).sign(d.raw, "foureyes-decision-v1"))
    out = evaluate(policy, p, [sd], p.created_at)
    assert out.checks[0].code in ("self_approval", "not_eligible")
    assert not out.checks[0].counted
