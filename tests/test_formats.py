"""SPEC §1 and §4–7 readers: what they accept, what they refuse, and that they never crash."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import InvalidData
from core.formats import Decision, Event, Proposal, Receipt, canonical, parse_json, sha256_ref
from core.formats import fields as F

PROPOSAL_HASH = "sha256:3e49aad51409acb3e1ced945314caa8ab86da3733e868115f3611a06dab8d871"
ACTION_HASH = "sha256:e776f6d5efbff1efba7e8ee5d3021a677ada874a7678ca3f5c2fbbb6e82ee67f"


def test_vector_hashes(vector_members):
    p = Proposal.from_bytes(vector_members["proposal.json"])
    assert p.hash == PROPOSAL_HASH
    assert p.action_hash == ACTION_HASH
    assert sha256_ref(vector_members["policy.toml"]) == (
        "sha256:1a5580b2a0e20b46ec668ab8636c54d25ce7a53ff4bbbc8ff441325a5d538139")


@pytest.mark.parametrize("name", ["proposal.json", "decisions/1.json", "decisions/2.json",
                                  "receipt.json"])
def test_vector_members_round_trip(vector_members, name):
    cls = {"proposal": Proposal, "decisions": Decision, "receipt": Receipt}[
        name.split("/")[0].split(".")[0]]
    doc = cls.from_bytes(vector_members[name])
    assert canonical(json.loads(vector_members[name])) == vector_members[name]
    assert cls.from_obj(doc.data).raw == vector_members[name]


def test_vector_log_entries_parse(vector_members):
    lines = vector_members["log/entries.jsonl"].decode().splitlines()
    kinds = [Event.from_bytes(json.loads(line)["entry"].encode()).type for line in lines]
    assert kinds == ["proposal.submitted", "decision.recorded", "decision.recorded",
                     "receipt.recorded"]


def _mutate(raw: bytes, **changes) -> bytes:
    obj = json.loads(raw)
    for key, value in changes.items():
        if value is ...:
            del obj[key]
        else:
            obj[key] = value
    return canonical(obj)


@pytest.mark.parametrize("data, code, needle", [
    (b'{"a":1,"a":2}', "format", "duplicate key"),
    (b'{"a": 1}', "format", "canonical"),
    (b'{"a":NaN}', "format", "NaN"),
    (b'{"a":9007199254740992}', "format", "2^53"),
    (b'{"a":"\\ud800"}', "format", "surrogate"),
    (b"\xff\xfe", "format", "UTF-8"),
    (b"[" * 100 + b"]" * 100, "format", "deeper"),
    (b"x" * (1024 * 1024 + 1), "format", "larger"),
])
def test_parse_json_refusals(data, code, needle):
    with pytest.raises(InvalidData) as e:
        parse_json(data)
    assert e.value.code == code and needle in e.value.message


@pytest.mark.parametrize("changes, code, field", [
    ({"schema": "foureyes.proposal/v2"}, "schema", "schema"),
    ({"extra": 1}, "format", "extra"),
    ({"job_id": ...}, "format", "job_id"),
    ({"created_at": "2026-11-24T09:00:00.5Z"}, "time", "created_at"),
    ({"created_at": "2026-11-24T09:00:00+00:00"}, "time", "created_at"),
    ({"created_at": "2026-02-30T09:00:00Z"}, "time", "created_at"),
    ({"requester": "Alice@example.com"}, "identity", "requester"),
    ({"proposer": "alice@example.com"}, "identity", "proposer"),
    ({"policy": "sha256:ABC"}, "format", "policy"),
    ({"id": 7}, "format", "id"),
    ({"expires_at": "2026-11-24T09:00:00Z"}, "format", "expires_at"),
])
def test_proposal_refusals_name_the_field(vector_members, changes, code, field):
    with pytest.raises(InvalidData) as e:
        Proposal.from_bytes(_mutate(vector_members["proposal.json"], **changes))
    assert e.value.code == code
    assert field in e.value.message


def test_money_as_float_is_refused(vector_members):
    obj = json.loads(vector_members["proposal.json"])
    obj["action"]["params"]["amount_minor"] = 1200.5
    with pytest.raises(InvalidData, match="money"):
        Proposal.from_bytes(canonical(obj))
    obj = json.loads(vector_members["proposal.json"])
    obj["summary"]["cost_impact_minor"] = 10.5
    with pytest.raises(InvalidData, match="cost_impact_minor"):
        Proposal.from_bytes(canonical(obj))


def test_unicode_lookalike_route_is_refused(vector_members):
    obj = json.loads(vector_members["proposal.json"])
    obj["action"]["route"] = "p\u0430yments.transfer"  # Cyrillic a
    with pytest.raises(InvalidData, match="route"):
        Proposal.from_bytes(canonical(obj))


@pytest.mark.parametrize("changes, code", [
    ({"verdict": "maybe"}, "format"),
    ({"reason": ""}, "format"),
    ({"reason": "   "}, "format"),
    ({"reviewer": "bob@Example.com"}, "identity"),
    ({"decided_at": "2026-11-24 09:05:00Z"}, "time"),
    ({"note": "x"}, "format"),
])
def test_decision_refusals(vector_members, changes, code):
    with pytest.raises(InvalidData) as e:
        Decision.from_bytes(_mutate(vector_members["decisions/1.json"], **changes))
    assert e.value.code == code


def test_receipt_refusals(vector_members):
    raw = vector_members["receipt.json"]
    with pytest.raises(InvalidData, match="gate"):
        Receipt.from_bytes(_mutate(raw, gate="prod"))
    dup = json.loads(raw)["decisions"][0]
    with pytest.raises(InvalidData, match="twice"):
        Receipt.from_bytes(_mutate(raw, decisions=[dup, dup]))
    with pytest.raises(InvalidData, match="outcome"):
        Receipt.from_bytes(_mutate(raw, outcome="ok"))


def test_event_refusals():
    at = "2026-11-24T09:00:00Z"
    ok = {"schema": "foureyes.event/v1", "type": "proposal.submitted", "at": at,
          "proposal": PROPOSAL_HASH}
    Event.from_bytes(canonical(ok))
    with pytest.raises(InvalidData, match="unknown type"):
        Event.from_bytes(canonical({**ok, "type": "proposal.approved"}))
    with pytest.raises(InvalidData, match="unknown field"):
        Event.from_bytes(canonical({**ok, "reviewer": "bob@example.com"}))
    refused = {"schema": "foureyes.event/v1", "type": "decision.refused", "at": at,
               "proposal": PROPOSAL_HASH, "reviewer": "alice@example.com",
               "code": "self_approval"}
    assert Event.from_bytes(canonical(refused)).get("code") == "self_approval"
    with pytest.raises(InvalidData):
        Event.from_bytes(canonical({**refused, "code": "Self Approval"}))


def test_ttl_and_identities():
    assert F.parse_ttl("30m", "ttl").total_seconds() == 1800
    for bad in ("0m", "30", "1w", "-1h", "1.5h", "9999999d"):
        with pytest.raises(InvalidData):
            F.parse_ttl(bad, "ttl")
    assert F.identity("gate:prod", "g", ("gate",)) == "gate:prod"
    for bad in ("Bob@x", "bob@X.com", "bob", "agent:Bot", "gate:", " bob@x"):
        with pytest.raises(InvalidData):
            F.identity(bad, "who")


# ----------------------------------------------------------------- property tests

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@given(json_values)
@settings(max_examples=300)
def test_canonical_round_trip(value):
    raw = canonical(value)
    assert parse_json(raw) == value
    assert canonical(parse_json(raw)) == raw


@given(st.binary(max_size=400))
@settings(max_examples=400)
def test_readers_raise_only_our_error_on_bytes(data):
    for reader in (Proposal.from_bytes, Decision.from_bytes, Receipt.from_bytes,
                   Event.from_bytes, parse_json):
        with contextlib.suppress(InvalidData):
            reader(data)


@given(st.data())
@settings(max_examples=300)
def test_mutated_documents_raise_only_our_error(vector_members, data):
    name = data.draw(st.sampled_from(["proposal.json", "decisions/1.json", "receipt.json"]))
    raw = bytearray(vector_members[name])
    pos = data.draw(st.integers(0, len(raw) - 1))
    raw[pos] = data.draw(st.integers(0, 255))
    cls = {"proposal.json": Proposal, "decisions/1.json": Decision, "receipt.json": Receipt}[name]
    try:
        doc = cls.from_bytes(bytes(raw))
    except InvalidData:
        return
    assert doc.raw == bytes(raw)  # anything accepted is kept byte for byte


@given(st.dictionaries(st.sampled_from(["title", "why", "job_id", "reason", "x"]),
                       json_values, max_size=3))
@settings(max_examples=200)
def test_proposal_with_arbitrary_fields_never_crashes(vector_members, extra):
    obj = json.loads(vector_members["proposal.json"])
    obj["summary"].update(extra)
    with contextlib.suppress(InvalidData):
        Proposal.from_bytes(canonical(obj))


def test_readers_give_every_field_of_their_document(vector_members):
    """The readers build documents without the dataclass __init__: each must still set
    every field, equal to what the dataclass would build from them."""
    import dataclasses

    lines = vector_members["log/entries.jsonl"].decode().splitlines()
    docs = [Proposal.from_bytes(vector_members["proposal.json"]),
            Decision.from_bytes(vector_members["decisions/1.json"]),
            Receipt.from_bytes(vector_members["receipt.json"]),
            Event.from_bytes(json.loads(lines[0])["entry"].encode())]
    for doc in docs:
        values = {f.name: getattr(doc, f.name) for f in dataclasses.fields(doc)}
        assert type(doc)(**values) == doc
        assert set(values) <= set(vars(doc))


@settings(max_examples=150, deadline=None)
@given(params=st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53 - 1), 2**53 - 1) | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=4), max_leaves=12))
def test_action_bytes_are_the_canonical_action(vector_members, params):
    """Read from a slice of the proposal's own bytes; must equal canonical(action)."""
    obj = json.loads(vector_members["proposal.json"])
    obj["action"]["params"] = {"x": params, "é😀": [params]}
    with contextlib.suppress(InvalidData):  # e.g. a float where money goes
        p = Proposal.from_obj(obj)
        assert p.action_bytes == canonical(obj["action"])
        assert p.action_hash == sha256_ref(canonical(obj["action"]))
