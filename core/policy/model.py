"""Reading `policy.toml` (SPEC §3) into an immutable model, refusing anything doubtful.

A policy is a security boundary written by hand, so the reader is unforgiving: unknown keys
are errors (``approval = 2`` must never silently mean "no approvals"), duplicate identities or
keys are errors, and every message names the line and field so the author can fix it.
The policy's hash is over the exact file bytes; nothing here re-serialises it.
"""

from __future__ import annotations

import base64
import bisect
import math
import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from core.errors import InvalidData
from core.formats import fields as F
from core.formats.canonical import sha256_ref
from core.signing import PublicKey

POLICY_SCHEMA = "foureyes.policy/v1"
MAX_POLICY_BYTES = 1024 * 1024
MAX_APPROVALS = 32
# Named limits on what a (possibly hostile) policy can make a reader do; docs/formats.md.
MAX_TOML_DEPTH = 8  # tables and arrays inside each other; tomllib itself recurses
MAX_TABLES = {"approvers": 256, "gates": 16, "logs": 16, "rules": 256}
MAX_CONDITIONS = 32  # operators in one rule's `when`
MAX_LIST_VALUES = 256  # values in one `in` / `not_in` list
MAX_SAFE_INTEGER = 2**53 - 1  # SPEC §1: the integers every reader represents alike
MAX_KEY_DOTS_PER_LINE = 16  # dots outside strings on one line: tomllib is quadratic in them
_ARRAY_HEADER_RE = re.compile(r"\s*\[\[\s*([^\]\s]+)\s*\]\]")
_TOML_STRING_RE = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'')
MAX_ROUTE_CHARS = 200
OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in")
LOG_KEY_RE = re.compile(r"([^\s+]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})")
GROUP_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
ROUTE_GLOB_RE = re.compile(r"[A-Za-z0-9_.:/*?-]+")

_TOP = {"schema", "name", "default", "ttl", "approvers", "gates", "logs", "rules"}
_APPROVER = {"identity", "key", "groups", "valid_after", "valid_before"}
_GATE = {"identity", "key", "seal_key"}
_LOG = {"key"}
_RULE = {"route", "when", "approvals", "groups", "distinct_groups", "ttl"}


def read_toml(data: bytes | str, code: str, what: str) -> dict[str, Any]:
    """Parse TOML from an untrusted file; every failure is InvalidData(code), never a crash.

    tomllib recurses once per nested array or inline table, so deep nesting raises
    RecursionError: caught here, and the result is then held to MAX_TOML_DEPTH. NaN and
    infinities are refused anywhere (SPEC §1).
    """
    try:
        text = data.decode("utf-8") if isinstance(data, bytes | bytearray) else data
    except UnicodeDecodeError as e:
        raise InvalidData(code, f"{what} is not valid UTF-8") from e
    # A dotted key a.a.a... costs tomllib time and memory quadratic in its length (600 KB
    # of it exhausts gigabytes): refuse long dotted keys before tomllib sees them.
    for n, line in enumerate(text.split("\n"), 1):
        if line.count(".") > MAX_KEY_DOTS_PER_LINE and _TOML_STRING_RE.sub(
                "", line).split("#", 1)[0].count(".") > MAX_KEY_DOTS_PER_LINE:
            raise InvalidData(code, f"{what} line {n}: more than {MAX_KEY_DOTS_PER_LINE} "
                              "dots outside strings (a dotted key that deep is refused)")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InvalidData(code, f"{what} is not valid TOML: {e}") from e
    except RecursionError as e:
        raise InvalidData(code, f"{what} is nested too deeply (at most {MAX_TOML_DEPTH} "
                          "levels)") from e
    except (ValueError, TypeError, MemoryError) as e:
        raise InvalidData(code, f"{what} cannot be read as TOML: {type(e).__name__}") from e
    stack: list[tuple[Any, int]] = [(doc, 0)]
    while stack:  # iterative: a hostile document must not recurse here either
        value, depth = stack.pop()
        if depth > MAX_TOML_DEPTH:
            raise InvalidData(code, f"{what} is nested deeper than {MAX_TOML_DEPTH} levels")
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidData(code, f"{what} holds {value!r}: NaN and infinities are refused")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return doc


@dataclass(frozen=True)
class Approver:
    identity: str
    key: PublicKey
    groups: tuple[str, ...] = ()
    valid_after: datetime | None = None
    valid_before: datetime | None = None

    def valid_at(self, moment: datetime) -> bool:
        """Inside the roster window: valid_after ≤ moment < valid_before."""
        if self.valid_after is not None and moment < self.valid_after:
            return False
        return not (self.valid_before is not None and moment >= self.valid_before)


@dataclass(frozen=True)
class Gate:
    identity: str
    key: PublicKey
    seal_key: bytes | None = None  # only a shared-folder gate needs one


@dataclass(frozen=True)
class Condition:
    path: str
    op: str
    value: Any


@dataclass(frozen=True)
class Rule:
    index: int  # 1-based position in the file: how people refer to it
    route: str
    approvals: int
    conditions: tuple[Condition, ...] = ()
    groups: tuple[str, ...] = ()
    distinct_groups: bool = False
    ttl: timedelta | None = None
    line: int = 0

    def describe(self) -> str:
        when = ", ".join(f"{c.path} {c.op} {c.value!r}" for c in self.conditions)
        return f"rule {self.index} (route {self.route}{', when ' + when if when else ''})"


@dataclass(frozen=True)
class Policy:
    raw: bytes = field(repr=False)
    name: str
    default: str
    ttl: timedelta
    approvers: tuple[Approver, ...]
    gates: tuple[Gate, ...]
    logs: tuple[str, ...]
    rules: tuple[Rule, ...]

    @property
    def hash(self) -> str:
        return sha256_ref(self.raw)

    def approver_by_key(self, key: PublicKey) -> Approver | None:
        """Roster lookup by the 32 raw key bytes, the only way an identity is established."""
        return next((a for a in self.approvers if a.key == key), None)

    def approver(self, identity: str) -> Approver | None:
        return next((a for a in self.approvers if a.identity == identity), None)

    def gate_by_key(self, key: PublicKey) -> Gate | None:
        return next((g for g in self.gates if g.key == key), None)

    def gate(self, identity: str) -> Gate | None:
        return next((g for g in self.gates if g.identity == identity), None)

    def rule_ttl(self, rule: Rule | None) -> timedelta:
        return rule.ttl if rule is not None and rule.ttl is not None else self.ttl

    def allowed_signers(self) -> str:
        """An allowed_signers file for ssh-keygen: a convenience copy, never trusted."""
        return "".join(
            f'{a.identity} namespaces="foureyes-decision-v1" {a.key.openssh()}\n'
            for a in self.approvers
        ) + "".join(
            f'{g.identity} namespaces="foureyes-receipt-v1" {g.key.openssh()}\n'
            for g in self.gates
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Policy:
        return _Reader(data).read()


class _Reader:
    """One pass over the TOML text; knows where each table starts, to name lines in errors."""

    def __init__(self, data: bytes) -> None:
        if not isinstance(data, bytes | bytearray):
            raise InvalidData("policy", "policy must be bytes")
        if len(data) > MAX_POLICY_BYTES:
            raise InvalidData("policy", f"policy file is larger than {MAX_POLICY_BYTES} bytes")
        self.raw = bytes(data)
        try:
            self.text = self.raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise InvalidData("policy", "policy file is not valid UTF-8") from e
        self.lines = self.text.splitlines()
        # One pass to find every table header, so naming a line is never quadratic.
        self.headers: dict[str, list[int]] = {}
        self.any_header: list[int] = []
        for i, ln in enumerate(self.lines):
            if ln.lstrip().startswith("["):
                self.any_header.append(i)
                m = _ARRAY_HEADER_RE.match(ln)
                if m:
                    self.headers.setdefault(m.group(1), []).append(i)

    def fail(self, message: str, table: str | None = None, index: int = 0,
             key: str | None = None) -> InvalidData:
        line = self.line_of(table, index, key)
        where = f"line {line}: " if line else ""
        return InvalidData("policy", f"policy.toml {where}{message}")

    def line_of(self, table: str | None, index: int, key: str | None) -> int:
        """Best-effort 1-based line of ``key`` inside the ``index``-th ``[[table]]``."""
        start, end = 0, len(self.lines)
        if table is not None:
            headers = self.headers.get(table, [])
            if index < len(headers):
                start = headers[index]
                if key is None:
                    return start + 1
                nxt = bisect.bisect_right(self.any_header, start)
                end = self.any_header[nxt] if nxt < len(self.any_header) else len(self.lines)
        elif key is not None:
            end = self.any_header[0] if self.any_header else len(self.lines)
        if key is None:
            return 0
        for i in range(start, end):
            if re.match(rf"^\s*{re.escape(key)}\s*=", self.lines[i]):
                return i + 1
        return start + 1 if table is not None else 0

    def read(self) -> Policy:
        doc = read_toml(self.text, "policy", "policy.toml")
        for key in doc:
            if key not in _TOP:
                raise self.fail(f"unknown key {key!r} (a typo here must not weaken a rule)",
                                key=key)
        for key in ("schema", "name", "default", "ttl"):
            if key not in doc:
                raise self.fail(f"required key {key!r} is missing")
        if doc["schema"] != POLICY_SCHEMA:
            raise self.fail(f"schema must be {POLICY_SCHEMA!r}", key="schema")
        name = doc["name"]
        if not isinstance(name, str) or not name or len(name) > 200:
            raise self.fail("name must be a non-empty string", key="name")
        if doc["default"] not in ("deny", "allow"):
            raise self.fail('default must be "deny" or "allow"', key="default")
        ttl = self.ttl(doc["ttl"], None, 0, "ttl")

        approvers = tuple(self.approver(a, i) for i, a in enumerate(self.array(doc, "approvers")))
        gates = tuple(self.gate(g, i) for i, g in enumerate(self.array(doc, "gates")))
        logs = tuple(self.log(g, i) for i, g in enumerate(self.array(doc, "logs")))
        rules = tuple(self.rule(r, i) for i, r in enumerate(self.array(doc, "rules")))
        self.cross_checks(approvers, gates, logs)
        return Policy(raw=self.raw, name=name, default=doc["default"], ttl=ttl,
                      approvers=approvers, gates=gates, logs=logs, rules=rules)

    def array(self, doc: dict[str, Any], name: str) -> list[dict[str, Any]]:
        value = doc.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(f"{name} must be an array of tables [[{name}]]", key=name)
        if len(value) > MAX_TABLES[name]:
            raise self.fail(f"more than {MAX_TABLES[name]} [[{name}]] tables", key=name)
        return value

    def known(self, obj: dict[str, Any], allowed: set[str], table: str, i: int,
              required: tuple[str, ...]) -> None:
        for key in obj:
            if key not in allowed:
                raise self.fail(f"[[{table}]] #{i + 1}: unknown key {key!r}", table, i, key)
        for key in required:
            if key not in obj:
                raise self.fail(f"[[{table}]] #{i + 1}: required key {key!r} is missing",
                                table, i)

    def ttl(self, value: Any, table: str | None, i: int, key: str) -> timedelta:
        try:
            return F.parse_ttl(value, key)
        except InvalidData as e:
            raise self.fail(e.message, table, i, key) from e

    def key(self, value: Any, table: str, i: int) -> PublicKey:
        if not isinstance(value, str):
            raise self.fail(f"[[{table}]] #{i + 1}: key must be a string", table, i, "key")
        try:
            return PublicKey.from_openssh(value)
        except InvalidData as e:
            raise self.fail(f"[[{table}]] #{i + 1}: {e.message}", table, i, "key") from e

    def groups(self, value: Any, table: str, i: int) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(
            isinstance(g, str) and GROUP_RE.fullmatch(g) for g in value
        ):
            raise self.fail(f"[[{table}]] #{i + 1}: groups must be a list of lowercase names",
                            table, i, "groups")
        if len(set(value)) != len(value):
            raise self.fail(f"[[{table}]] #{i + 1}: a group is listed twice", table, i, "groups")
        return tuple(value)

    def approver(self, a: dict[str, Any], i: int) -> Approver:
        self.known(a, _APPROVER, "approvers", i, ("identity", "key"))
        try:
            ident = F.human(a["identity"], "identity")
        except InvalidData as e:
            raise self.fail(f"[[approvers]] #{i + 1}: {e.message}", "approvers", i,
                            "identity") from e
        times: dict[str, datetime | None] = {}
        for k in ("valid_after", "valid_before"):
            if k in a:
                try:
                    times[k] = F.parse_time(a[k], k)
                except InvalidData as e:
                    raise self.fail(f"[[approvers]] #{i + 1}: {e.message} (quote it as a string)",
                                    "approvers", i, k) from e
            else:
                times[k] = None
        if times["valid_after"] and times["valid_before"] and \
                times["valid_after"] >= times["valid_before"]:
            raise self.fail(f"[[approvers]] #{i + 1}: valid_after must be before valid_before",
                            "approvers", i, "valid_before")
        return Approver(ident, self.key(a["key"], "approvers", i),
                        self.groups(a.get("groups", []), "approvers", i),
                        times["valid_after"], times["valid_before"])

    def gate(self, g: dict[str, Any], i: int) -> Gate:
        self.known(g, _GATE, "gates", i, ("identity", "key"))
        try:
            ident = F.identity(g["identity"], "identity", ("gate",))
        except InvalidData as e:
            raise self.fail(f"[[gates]] #{i + 1}: {e.message}", "gates", i, "identity") from e
        if "seal_key" not in g:
            return Gate(ident, self.key(g["key"], "gates", i), None)
        try:
            seal = base64.b64decode(g["seal_key"], validate=True)
        except (ValueError, TypeError) as e:
            raise self.fail(f"[[gates]] #{i + 1}: seal_key must be base64", "gates", i,
                            "seal_key") from e
        if len(seal) != 32:
            raise self.fail(f"[[gates]] #{i + 1}: seal_key must be a 32-byte X25519 key",
                            "gates", i, "seal_key")
        return Gate(ident, self.key(g["key"], "gates", i), seal)

    def log(self, entry: dict[str, Any], i: int) -> str:
        self.known(entry, _LOG, "logs", i, ("key",))
        text = entry["key"]
        if not isinstance(text, str) or not LOG_KEY_RE.fullmatch(text):
            raise self.fail(f"[[logs]] #{i + 1}: key must be a verifier key name+hash+base64",
                            "logs", i, "key")
        try:
            blob = base64.b64decode(LOG_KEY_RE.fullmatch(text).group(3), validate=True)
        except ValueError as e:
            raise self.fail(f"[[logs]] #{i + 1}: key is not valid base64", "logs", i, "key") from e
        if len(blob) != 33 or blob[0] != 1:
            raise self.fail(f"[[logs]] #{i + 1}: key must be an Ed25519 verifier key",
                            "logs", i, "key")
        from core.log.note import LogVerifier

        try:  # the 8 hex digits must be the hash of this name and key: a typo fails here
            LogVerifier.from_text(text)
        except InvalidData as e:
            raise self.fail(f"[[logs]] #{i + 1}: {e.message}", "logs", i, "key") from e
        return text

    def rule(self, r: dict[str, Any], i: int) -> Rule:
        self.known(r, _RULE, "rules", i, ("route", "approvals"))
        route = r["route"]
        if not isinstance(route, str) or not route or len(route) > MAX_ROUTE_CHARS \
                or not ROUTE_GLOB_RE.fullmatch(route):
            raise self.fail(f"[[rules]] #{i + 1}: route must be an ASCII glob using * and ?",
                            "rules", i, "route")
        approvals = r["approvals"]
        if isinstance(approvals, bool) or not isinstance(approvals, int) \
                or not 0 <= approvals <= MAX_APPROVALS:
            raise self.fail(f"[[rules]] #{i + 1}: approvals must be an integer 0..{MAX_APPROVALS}",
                            "rules", i, "approvals")
        distinct = r.get("distinct_groups", False)
        if not isinstance(distinct, bool):
            raise self.fail(f"[[rules]] #{i + 1}: distinct_groups must be true or false",
                            "rules", i, "distinct_groups")
        ttl = self.ttl(r["ttl"], "rules", i, "ttl") if "ttl" in r else None
        return Rule(index=i + 1, route=route, approvals=approvals,
                    conditions=self.conditions(r.get("when", {}), i),
                    groups=self.groups(r.get("groups", []), "rules", i),
                    distinct_groups=distinct, ttl=ttl, line=self.line_of("rules", i, None))

    def conditions(self, when: Any, i: int) -> tuple[Condition, ...]:
        if not isinstance(when, dict):
            raise self.fail(f"[[rules]] #{i + 1}: when must be a table", "rules", i, "when")
        out: list[Condition] = []
        for path, ops in when.items():
            if not isinstance(ops, dict) or not ops:
                raise self.fail(f"[[rules]] #{i + 1}: when.{path} must be a table of operators",
                                "rules", i, "when")
            for op, value in ops.items():
                if len(out) >= MAX_CONDITIONS:
                    raise self.fail(f"[[rules]] #{i + 1}: more than {MAX_CONDITIONS} "
                                    "conditions in when", "rules", i, "when")
                self.threshold(value, path, op, i)
                if op not in OPERATORS:
                    raise self.fail(f"[[rules]] #{i + 1}: when.{path} has unknown operator "
                                    f"{op!r} (use {', '.join(OPERATORS)})", "rules", i, "when")
                if op in ("in", "not_in") and not isinstance(value, list):
                    raise self.fail(f"[[rules]] #{i + 1}: when.{path}.{op} needs a list",
                                    "rules", i, "when")
                if op in ("gt", "gte", "lt", "lte") and (
                    isinstance(value, bool) or not isinstance(value, int | float | str)
                ):
                    raise self.fail(f"[[rules]] #{i + 1}: when.{path}.{op} needs a number or "
                                    "string", "rules", i, "when")
                if isinstance(value, dict | datetime) or (
                    isinstance(value, list) and any(isinstance(v, dict | list) for v in value)
                ):
                    raise self.fail(f"[[rules]] #{i + 1}: when.{path}.{op} has an unsupported "
                                    "value", "rules", i, "when")
                out.append(Condition(path, op, value))
        return tuple(out)

    def threshold(self, value: Any, path: str, op: str, i: int) -> None:
        """No float (NaN, inf or 0.1) and no integer beyond ±(2^53-1) in a condition."""
        values = value if isinstance(value, list) else [value]
        if isinstance(value, list) and len(value) > MAX_LIST_VALUES:
            raise self.fail(f"[[rules]] #{i + 1}: when.{path}.{op} lists more than "
                            f"{MAX_LIST_VALUES} values", "rules", i, "when")
        for v in values:
            if isinstance(v, float):
                raise self.fail(f"[[rules]] #{i + 1}: when.{path}.{op} is the float {v!r}; "
                                "thresholds are integers (minor units) or strings",
                                "rules", i, "when")
            if isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_SAFE_INTEGER:
                raise self.fail(f"[[rules]] #{i + 1}: when.{path}.{op} is beyond ±(2^53-1)",
                                "rules", i, "when")

    def cross_checks(self, approvers: tuple[Approver, ...], gates: tuple[Gate, ...],
                     logs: tuple[str, ...]) -> None:
        """One person or key counted twice, or one key with two jobs, voids the policy."""
        seen_ids: set[str] = set()
        seen_keys: dict[bytes, str] = {}
        for i, a in enumerate(approvers):
            if a.identity in seen_ids:
                raise self.fail(f"approver {a.identity} appears twice", "approvers", i,
                                "identity")
            if a.key.raw in seen_keys:
                raise self.fail(f"approver {a.identity} has the same key as "
                                f"{seen_keys[a.key.raw]}: one key cannot count twice",
                                "approvers", i, "key")
            seen_ids.add(a.identity)
            seen_keys[a.key.raw] = a.identity
        gate_ids: set[str] = set()
        for i, g in enumerate(gates):
            if g.identity in gate_ids:
                raise self.fail(f"gate {g.identity} appears twice", "gates", i, "identity")
            gate_ids.add(g.identity)
            if g.key.raw in seen_keys:
                raise self.fail(f"gate {g.identity} uses the key of {seen_keys[g.key.raw]}: "
                                "an approver can not also be a gate", "gates", i, "key")
            seen_keys[g.key.raw] = g.identity
        for i, text in enumerate(logs):
            pub = base64.b64decode(LOG_KEY_RE.fullmatch(text).group(3))[1:]
            if pub in seen_keys:
                raise self.fail(f"log key is also the key of {seen_keys[pub]}: a log key is "
                                "used for nothing else", "logs", i, "key")
        if len(set(logs)) != len(logs):
            raise self.fail("a log key is listed twice", "logs")
