"""The signed and logged documents of SPEC §4–7: proposal, decision, receipt, log event.

Each document keeps the exact canonical bytes it was read from (`raw`) and its `hash`;
everything shown, compared or signed is derived from those bytes, never from a second copy.
`from_bytes` is the only way in from outside and refuses anything SPEC §1 forbids;
`create` builds a new document by writing canonical bytes and reading them back, so what
we write always passes our own reader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, lru_cache
from typing import Any, ClassVar

from core.errors import InvalidData
from core.formats import fields as F
from core.formats.canonical import canonical, parse_json, scan_value, sha256_ref

PROPOSAL_SCHEMA = "foureyes.proposal/v1"
DECISION_SCHEMA = "foureyes.decision/v1"
RECEIPT_SCHEMA = "foureyes.receipt/v1"
RECEIPT_NAMESPACE = "foureyes-receipt-v1"  # the SSHSIG namespace a gate signs receipts in
EVENT_SCHEMA = "foureyes.event/v1"

MAX_TEXT_CHARS = 8192
MAX_SHORT_CHARS = 256
MAX_LIST_ITEMS = 64
MAX_DECISIONS_IN_RECEIPT = 64
ROUTE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,199}")
REVERSIBILITY = ("irreversible", "partially_reversible", "reversible")
VERDICTS = ("approve", "reject")
OUTCOMES = ("succeeded", "failed")
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "proposal.submitted": ("proposal",),
    "decision.recorded": ("proposal", "decision", "reviewer"),
    "decision.refused": ("proposal", "reviewer", "code"),
    "proposal.expired": ("proposal",),
    "receipt.recorded": ("proposal", "receipt"),
    "policy.activated": ("policy",),
}
REFUSAL_CODE_RE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_ACTION_AT = '{"action":'


# ---------------------------------------------------------------------------- helpers


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidData("format", f"{what} must be a JSON object")
    return value


def _exact_keys(obj: dict[str, Any], what: str, required: tuple[str, ...],
                optional: tuple[str, ...] = ()) -> None:
    """Unknown fields are errors (a typo must never pass) and required ones must be there."""
    if not optional and len(obj) == len(required) and obj.keys() == _key_set(required):
        return  # exactly the required keys: the common case, checked in C
    missing = [k for k in required if k not in obj]
    if missing:
        raise InvalidData("format", f"{what} is missing required field {missing[0]!r}")
    unknown = sorted(set(obj) - set(required) - set(optional))
    if unknown:
        raise InvalidData("format", f"{what} has unknown field {unknown[0]!r}")


@lru_cache(maxsize=32)
def _key_set(keys: tuple[str, ...]) -> frozenset[str]:
    return frozenset(keys)


def _build(cls: type, values: dict[str, Any]) -> Any:
    """A document made without its dataclass ``__init__``, which sets each field through
    ``object.__setattr__`` (frozen) and cost a tenth of reading a small document. The same
    instance: the readers below give every field (tests/test_formats.py checks that), and
    no document has a ``__post_init__``."""
    doc = object.__new__(cls)
    doc.__dict__.update(values)
    return doc


def _schema(obj: dict[str, Any], expected: str, what: str) -> None:
    if obj.get("schema") != expected:
        raise InvalidData("schema", f"{what} has schema {obj.get('schema')!r}, expected {expected!r}")


def _text(value: Any, fld: str, *, limit: int = MAX_TEXT_CHARS, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidData("format", f"field {fld!r} must be a string")
    if not empty and value == "":
        raise InvalidData("format", f"field {fld!r} must not be empty")
    if len(value) > limit:
        raise InvalidData("format", f"field {fld!r} is longer than {limit} characters")
    return value


def _choice(value: Any, fld: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise InvalidData("format", f"field {fld!r} must be one of {', '.join(choices)}")
    return value


def _money_fields(value: Any, path: str) -> None:
    """Minor units are integers: a float where money goes is an error, not a rounding."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k.endswith("_minor") and isinstance(v, float):
                raise InvalidData(
                    "format", f"field {path}.{k} is money: give integer minor units, not a float"
                )
            _money_fields(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _money_fields(v, f"{path}[{i}]")


def _int_or_null(value: Any, fld: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidData("format", f"field {fld!r} must be an integer (minor units) or null")
    return value


@dataclass(frozen=True)
class Document:
    """Common part: the canonical bytes and the hash that names them."""

    raw: bytes = field(repr=False)
    data: dict[str, Any] = field(repr=False, compare=False)
    SCHEMA: ClassVar[str] = ""

    @cached_property
    def hash(self) -> str:
        # Cached on the instance: `raw` never changes (frozen), and the hash is asked for
        # at every binding check, log event and receipt.
        return sha256_ref(self.raw)

    @classmethod
    def from_bytes(cls, data: bytes) -> Document:  # pragma: no cover - overridden
        raise NotImplementedError

    @classmethod
    def from_obj(cls, obj: dict[str, Any]):  # noqa: ANN206 - returns cls
        """Write ``obj`` canonically and read it back through the strict reader."""
        return cls.from_bytes(canonical(obj))


# ---------------------------------------------------------------------------- proposal


@dataclass(frozen=True)
class Proposal(Document):
    SCHEMA: ClassVar[str] = PROPOSAL_SCHEMA

    id: str = ""
    job_id: str = ""
    proposer: str = ""
    requester: str = ""
    route: str = ""
    params: dict[str, Any] = field(default_factory=dict, compare=False)
    policy: str = ""
    created_at: datetime | None = None
    expires_at: datetime | None = None

    @property
    def action(self) -> dict[str, Any]:
        return self.data["action"]

    @cached_property
    def action_bytes(self) -> bytes:
        """What gets executed, as canonical bytes: its hash is the action hash."""
        return canonical(self.data["action"])

    @cached_property
    def action_hash(self) -> str:
        return sha256_ref(self.action_bytes)

    @property
    def summary(self) -> dict[str, Any]:
        return self.data["summary"]

    @classmethod
    def from_bytes(cls, data: bytes) -> Proposal:
        obj = _object(parse_json(data, what="proposal"), "proposal")
        _schema(obj, PROPOSAL_SCHEMA, "proposal")
        _exact_keys(obj, "proposal", ("schema", "id", "job_id", "proposer", "requester",
                                      "action", "summary", "policy", "created_at", "expires_at"))
        action = _object(obj["action"], "field 'action'")
        _exact_keys(action, "field 'action'", ("route", "params"))
        route = _text(action["route"], "action.route", limit=200)
        if not ROUTE_RE.fullmatch(route):
            raise InvalidData(
                "format", "field 'action.route' must be ASCII letters, digits and _ . : / -"
            )
        params = _object(action["params"], "field 'action.params'")
        _money_fields(params, "action.params")
        _check_summary(obj["summary"])
        created = F.parse_time(obj["created_at"], "created_at")
        expires = F.parse_time(obj["expires_at"], "expires_at")
        if expires <= created:
            raise InvalidData("format", "field 'expires_at' must be after 'created_at'")
        proposal = _build(cls, dict(
            raw=bytes(data), data=obj,
            id=F.uuid_text(obj["id"], "id"),
            job_id=_text(obj["job_id"], "job_id", limit=MAX_SHORT_CHARS),
            proposer=F.identity(obj["proposer"], "proposer", ("agent",)),
            requester=F.human(obj["requester"], "requester"),
            route=route, params=params,
            policy=F.hash_ref(obj["policy"], "policy"),
            created_at=created, expires_at=expires,
        ))
        # The action's canonical bytes are a slice of the proposal's own: parse_json held
        # them to RFC 8785, which writes a nested value exactly as it writes it alone, and
        # "action" sorts first of the proposal's keys (tests/test_formats.py compares).
        text = proposal.raw.decode("utf-8")
        if text.startswith(_ACTION_AT):
            _, end = scan_value(text, len(_ACTION_AT))
            proposal.__dict__["action_bytes"] = text[len(_ACTION_AT):end].encode("utf-8")
        return proposal


def _check_summary(value: Any) -> None:
    s = _object(value, "field 'summary'")
    _exact_keys(s, "field 'summary'", ("title", "why", "blast_radius", "reversibility"),
                ("cost_impact_minor", "confidence", "evidence", "gates_passed"))
    _text(s["title"], "summary.title", limit=MAX_SHORT_CHARS)
    _text(s["why"], "summary.why")
    _text(s["blast_radius"], "summary.blast_radius")
    _choice(s["reversibility"], "summary.reversibility", REVERSIBILITY)
    if "cost_impact_minor" in s:
        _int_or_null(s["cost_impact_minor"], "summary.cost_impact_minor")
    conf = s.get("confidence")
    if conf is not None and (isinstance(conf, bool) or not isinstance(conf, int | float)
                             or not 0 <= conf <= 1):
        raise InvalidData("format", "field 'summary.confidence' must be a number from 0 to 1, or null")
    evidence = s.get("evidence", [])
    if not isinstance(evidence, list) or len(evidence) > MAX_LIST_ITEMS:
        raise InvalidData("format", f"field 'summary.evidence' must be a list of at most {MAX_LIST_ITEMS}")
    for i, item in enumerate(evidence):
        item = _object(item, f"summary.evidence[{i}]")
        _exact_keys(item, f"summary.evidence[{i}]", ("label", "ref"))
        _text(item["label"], f"summary.evidence[{i}].label", limit=MAX_SHORT_CHARS)
        _text(item["ref"], f"summary.evidence[{i}].ref")
    gates = s.get("gates_passed", [])
    if not isinstance(gates, list) or len(gates) > MAX_LIST_ITEMS:
        raise InvalidData("format", f"field 'summary.gates_passed' must be a list of at most {MAX_LIST_ITEMS}")
    for i, g in enumerate(gates):
        _text(g, f"summary.gates_passed[{i}]", limit=MAX_SHORT_CHARS)


# ---------------------------------------------------------------------------- decision


@dataclass(frozen=True)
class Decision(Document):
    SCHEMA: ClassVar[str] = DECISION_SCHEMA

    proposal: str = ""
    action: str = ""
    job_id: str = ""
    policy: str = ""
    expires_at: datetime | None = None
    verdict: str = ""
    reason: str = ""
    reviewer: str = ""
    decided_at: datetime | None = None

    @classmethod
    def from_bytes(cls, data: bytes) -> Decision:
        obj = _object(parse_json(data, what="decision"), "decision")
        _schema(obj, DECISION_SCHEMA, "decision")
        _exact_keys(obj, "decision", ("schema", "proposal", "action", "job_id", "policy",
                                      "expires_at", "verdict", "reason", "reviewer", "decided_at"))
        return _build(cls, dict(
            raw=bytes(data), data=obj,
            proposal=F.hash_ref(obj["proposal"], "proposal"),
            action=F.hash_ref(obj["action"], "action"),
            job_id=_text(obj["job_id"], "job_id", limit=MAX_SHORT_CHARS),
            policy=F.hash_ref(obj["policy"], "policy"),
            expires_at=F.parse_time(obj["expires_at"], "expires_at"),
            verdict=_choice(obj["verdict"], "verdict", VERDICTS),
            reason=_reason(obj["reason"]),
            reviewer=F.human(obj["reviewer"], "reviewer"),
            decided_at=F.parse_time(obj["decided_at"], "decided_at"),
        ))

    @classmethod
    def for_proposal(cls, proposal: Proposal, *, verdict: str, reason: str, reviewer: str,
                     decided_at: datetime) -> Decision:
        """A decision that repeats the proposal's bound fields, as SPEC §5 requires."""
        return cls.from_obj({
            "schema": DECISION_SCHEMA, "proposal": proposal.hash, "action": proposal.action_hash,
            "job_id": proposal.job_id, "policy": proposal.policy,
            "expires_at": proposal.data["expires_at"], "verdict": verdict, "reason": reason,
            "reviewer": reviewer, "decided_at": F.format_time(decided_at),
        })


def _reason(value: Any) -> str:
    text = _text(value, "reason")
    if not text.strip():
        raise InvalidData("format", "field 'reason' must say something, not only spaces")
    return text


# ---------------------------------------------------------------------------- receipt


@dataclass(frozen=True)
class Receipt(Document):
    SCHEMA: ClassVar[str] = RECEIPT_SCHEMA

    proposal: str = ""
    action: str = ""
    job_id: str = ""
    policy: str = ""
    decisions: tuple[str, ...] = ()
    gate: str = ""
    executed_at: datetime | None = None
    outcome: str = ""

    @classmethod
    def from_bytes(cls, data: bytes) -> Receipt:
        obj = _object(parse_json(data, what="receipt"), "receipt")
        _schema(obj, RECEIPT_SCHEMA, "receipt")
        _exact_keys(obj, "receipt", ("schema", "proposal", "action", "job_id", "policy",
                                     "decisions", "gate", "executed_at", "outcome", "result"))
        decisions = obj["decisions"]
        if not isinstance(decisions, list) or len(decisions) > MAX_DECISIONS_IN_RECEIPT:
            raise InvalidData("format", "field 'decisions' must be a list of decision hashes")
        refs = tuple(F.hash_ref(d, f"decisions[{i}]") for i, d in enumerate(decisions))
        if len(set(refs)) != len(refs):
            raise InvalidData("format", "field 'decisions' lists one decision twice")
        return _build(cls, dict(
            raw=bytes(data), data=obj,
            proposal=F.hash_ref(obj["proposal"], "proposal"),
            action=F.hash_ref(obj["action"], "action"),
            job_id=_text(obj["job_id"], "job_id", limit=MAX_SHORT_CHARS),
            policy=F.hash_ref(obj["policy"], "policy"),
            decisions=refs,
            gate=F.identity(obj["gate"], "gate", ("gate",)),
            executed_at=F.parse_time(obj["executed_at"], "executed_at"),
            outcome=_choice(obj["outcome"], "outcome", OUTCOMES),
        ))

    @property
    def result(self) -> Any:
        return self.data["result"]


# ---------------------------------------------------------------------------- log event


@dataclass(frozen=True)
class Event(Document):
    SCHEMA: ClassVar[str] = EVENT_SCHEMA

    type: str = ""
    at: datetime | None = None

    def get(self, name: str) -> str | None:
        return self.data.get(name)

    @classmethod
    def from_bytes(cls, data: bytes) -> Event:
        obj = _object(parse_json(data, what="log event"), "log event")
        _schema(obj, EVENT_SCHEMA, "log event")
        kind = obj.get("type")
        if kind not in EVENT_FIELDS:
            raise InvalidData("format", f"log event has unknown type {kind!r}")
        extra = EVENT_FIELDS[kind]
        _exact_keys(obj, f"{kind} event", ("schema", "type", "at", *extra))
        for name in extra:
            if name == "reviewer":
                F.identity(obj[name], name)
            elif name == "code":
                if not isinstance(obj[name], str) or not REFUSAL_CODE_RE.fullmatch(obj[name]):
                    raise InvalidData("format", "field 'code' must be a refusal code like self_approval")
            else:
                F.hash_ref(obj[name], name)
        return _build(cls, dict(raw=bytes(data), data=obj, type=kind,
                                at=F.parse_time(obj["at"], "at")))

    @classmethod
    def make(cls, kind: str, at: datetime, **values: str) -> Event:
        return cls.from_obj({"schema": EVENT_SCHEMA, "type": kind, "at": F.format_time(at),
                             **values})
