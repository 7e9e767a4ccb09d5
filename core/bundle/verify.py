"""The offline verifier: does this bundle prove the action ran only with a valid quorum?

A function over bytes (the zip, the auditor's trust, an explicit `now`); no network, no
files beyond what the caller read. Steps, against SPEC §5–9, each marked (n) below:
  (1) archive     the zip holds exactly the SPEC §8 entries, safely (core.bundle.archive)
  (2) format      every document passes its strict reader
  (3) policy_hash the proposal pins this policy.toml, and the auditor trusts that hash
  (4) decisions   each decision counts under the one quorum function (per-decision codes:
                  signature, self_approval, duplicate_reviewer, binding, expired, ...)
  (5) quorum      with a receipt, the counted decisions approve; without one, the bundle
                  shows a final outcome (rejected, or expired in the log)
  (6) receipt     signed by a policy gate under foureyes-receipt-v1, bound to the proposal,
                  listing exactly counted approvals, executed within [decisions, expiry]
  (7) checkpoint  the signed note verifies with a log key trusted by the auditor AND listed
                  in the policy
  (8) inclusion   every entry verifies against the checkpoint, and the entries the
                  outcome rests on are there (submitted, each counted decision, receipt)
  (9) log agrees  SPEC §8: what the log says about this proposal matches the files
                  (decision_left_out, second_execution, receipt_left_out; a final
                  outcome without a receipt is step (5), code receipt)
Exit codes: 0 all passed against trust; 1 a check failed; 3 all passed but no trust given.

Work is bounded by named limits, whatever the bundle holds: the archive's (MAX_MEMBERS,
MAX_MEMBER_BYTES, ... in core.bundle.archive), the policy reader's (MAX_RULES, ... in
core.policy.model), MAX_LOG_LINES log entries and MAX_PROOF_HASHES hashes per proof here;
at most MAX_MEMBERS // 2 decisions, so that many signature checks, plus one receipt.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.bundle.archive import NotABundle, read_bundle_file, read_members
from core.bundle.trust import Trust
from core.errors import InvalidData
from core.formats import Event, Proposal, Receipt, parse_json, sha256_ref
from core.formats.documents import RECEIPT_NAMESPACE
from core.log.merkle import leaf_hash, verify_inclusion
from core.log.note import Checkpoint, LogVerifier, verify_checkpoint
from core.policy import APPROVED, REJECTED, Outcome, Policy, SignedDecision, evaluate
from core.signing import verify

MAX_LOG_LINES = 4096  # log/entries.jsonl lines, and log/proofs.json keys
UNEXPECTED = "a document could not be read (unexpected error):"
MAX_PROOF_HASHES = 64  # an RFC 9162 inclusion proof in a tree of < 2^64 leaves
# An auditor checks many bundles of one deployment: the same policy.toml and log keys each
# time. Parsed once per distinct content (keyed by the exact bytes; the parsed objects are
# immutable), at most this many kept.
MAX_CACHED_POLICIES = 8
# Likewise log events and checkpoints: bundles cut from one log share entries (the policy's
# activation, a busy proposal's history) and, with checkpoints signed per batch, the same
# signed note. Kept by exact bytes (events no larger than the second limit), at most:
MAX_CACHED_EVENTS = 1024
MAX_CACHED_EVENT_BYTES = 4096
MAX_CACHED_CHECKPOINTS = 64
_INDEX_RE = re.compile(r"0|[1-9][0-9]{0,14}")  # ASCII digits only: "²".isdigit() is True

__all__ = ["Check", "NotABundle", "Report", "TimelineItem", "verify_bundle",
           "verify_bundle_file"]


@dataclass(frozen=True)
class Check:
    code: str
    ok: bool
    message: str


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    kind: str
    who: str
    text: str


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)
    timeline: list[TimelineItem] = field(default_factory=list)
    proposal: Proposal | None = None
    policy: Policy | None = None
    outcome: Outcome | None = None
    executed: bool = False
    execution_outcome: str | None = None  # the receipt's outcome: succeeded or failed
    trusted: bool = False

    def add(self, code: str, ok: bool, message: str) -> bool:
        check = object.__new__(Check)  # the frozen __init__'s setattr per field, skipped
        check.__dict__.update(code=code, ok=ok, message=message)
        self.checks.append(check)
        return ok

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def exit_code(self) -> int:
        if not self.ok:
            return 1
        return 0 if self.trusted else 3

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    @property
    def verdict(self) -> str:
        if not self.ok:
            return "FAILED: " + "; ".join(f"[{c.code}] {c.message}" for c in self.failures[:3])
        status = self.outcome.status if self.outcome else "unknown"
        what = "executed" if self.executed else status
        if self.executed and self.execution_outcome != "succeeded":
            what = f"executed, outcome {self.execution_outcome}"  # it ran, and failed
        tail = "" if self.trusted else " (no trust file given: checked for consistency only)"
        return f"VALID: {what}{tail}"

    def to_json(self) -> dict[str, Any]:
        p = self.proposal
        return {
            "ok": self.ok, "exit_code": self.exit_code, "trusted": self.trusted,
            "verdict": self.verdict,
            "proposal": p.hash if p else None,
            "route": p.route if p else None,
            "status": ("executed" if self.executed else self.outcome.status)
            if self.outcome else None,
            "execution_outcome": self.execution_outcome if self.executed else None,
            "checks": [{"code": c.code, "ok": c.ok, "message": c.message} for c in self.checks],
            "timeline": [{"at": t.at.strftime("%Y-%m-%dT%H:%M:%SZ"), "kind": t.kind,
                          "who": t.who, "text": t.text} for t in self.timeline],
        }


def verify_bundle(data: bytes, trust: Trust | None, now: datetime | None = None) -> Report:
    """Check a bundle completely; raises only NotABundle (not a zip: exit 2)."""
    report = Report(trusted=trust is not None)
    try:
        _verify(data, trust, now, report)
    except InvalidData as e:  # a step could not go on: record why, never crash
        report.add(e.code if e.code in ("archive", "format") else "format", False, e.message)
    except NotABundle:
        raise
    except (RecursionError, MemoryError) as e:
        report.add("format", False, f"a document is too deeply nested or too large to read "
                   f"({type(e).__name__})")
    except Exception as e:  # noqa: BLE001 - hostile input must end in a report, never a trace
        report.add("format", False, f"{UNEXPECTED} {type(e).__name__}: {e}")
    return report


def verify_bundle_file(path: Path, trust: Trust | None,
                       now: datetime | None = None) -> Report:
    """Read a bundle file within MAX_BUNDLE_BYTES, then verify it; NotABundle as above."""
    try:
        data = read_bundle_file(path)
    except InvalidData as e:
        report = Report(trusted=trust is not None)
        report.add("archive", False, e.message)
        return report
    return verify_bundle(data, trust, now)


def _verify(data: bytes, trust: Trust | None, now: datetime | None, report: Report) -> None:
    members = read_members(data)  # (1)
    report.add("archive", True, f"{len(members)} entries, all allowed in a bundle")

    proposal = Proposal.from_bytes(members["proposal.json"])  # (2)
    report.proposal = proposal
    try:
        policy = _policy(members["policy.toml"])
    except InvalidData as e:
        raise InvalidData("format", f"policy.toml: {e.message}") from e
    report.policy = policy
    decisions = [SignedDecision(members[f"decisions/{n}.json"],
                                _text(members[f"decisions/{n}.json.sig"], "signature"))
                 for n in range(1, 1 + sum(1 for k in members if k.endswith(".json.sig")
                                           and k.startswith("decisions/")))]
    receipt = Receipt.from_bytes(members["receipt.json"]) if "receipt.json" in members else None
    entries = _entries(members["log/entries.jsonl"])
    proofs = _proofs(members["log/proofs.json"])
    note = _text(members["log/checkpoint"], "log/checkpoint")
    report.add("format", True, "every document is well formed and canonical")

    _policy_hash(report, proposal, policy, trust)  # (3)

    outcome = evaluate(policy, proposal, decisions, now)  # (4)
    report.outcome = outcome
    if outcome.code in ("denied", "ttl", "policy_hash"):
        report.add("policy" if outcome.code != "policy_hash" else "policy_hash", False,
                   outcome.message)
    for check in outcome.checks:
        report.add(check.code if not check.counted else "decision", check.counted,
                   check.message)

    events = {index: _event(raw, index) for index, raw in entries.items()}
    mine = [events[i] for i in sorted(events) if events[i].get("proposal") == proposal.hash]
    # SPEC §8: only THIS proposal's expiry is a final outcome; another's proves nothing
    expired_logged = any(e.type == "proposal.expired" for e in mine)
    if receipt is not None:  # (5)
        report.add("quorum", outcome.status == APPROVED,
                   f"quorum met: {outcome.message}" if outcome.status == APPROVED
                   else f"executed without a valid quorum: {outcome.message}")
        _receipt(report, policy, proposal, outcome, receipt,
                 _text(members["receipt.json.sig"], "receipt signature"), decisions)  # (6)
    elif outcome.status == REJECTED:
        report.add("quorum", True, f"not executed: {outcome.message}")
    elif expired_logged:
        report.add("quorum", True, f"not executed: expired ({outcome.message})")
    else:
        foreign = any(e.type == "proposal.expired" for e in events.values())
        report.add("receipt", False, f"no receipt, yet the outcome is not final "
                   f"({outcome.status}: {outcome.message})" + (
                       "; the log's proposal.expired names another proposal" if foreign
                       else ""))

    checkpoint = _checkpoint(report, policy, note, trust)  # (7)
    if checkpoint is not None:  # (8)
        _inclusion(report, checkpoint, entries, proofs, events, proposal, outcome, receipt)
    _log_agrees(report, mine, decisions, receipt)  # (9)
    _timeline(report, events, outcome, receipt, proposal)


@lru_cache(maxsize=MAX_CACHED_POLICIES)
def _policy(raw: bytes) -> Policy:
    return Policy.from_bytes(raw)


@lru_cache(maxsize=MAX_CACHED_POLICIES * 4)
def _log_verifier(text: str) -> LogVerifier:
    return LogVerifier.from_text(text)


@lru_cache(maxsize=MAX_CACHED_CHECKPOINTS)
def _verified_checkpoint(note: str, keys: tuple[str, ...]) -> Checkpoint:
    """The checkpoint if one of these log keys signed ``note``; a refusal is not kept."""
    return verify_checkpoint(note, [_log_verifier(k) for k in keys])


def _text(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidData("format", f"{what} is not UTF-8") from e


def _entries(data: bytes) -> dict[int, bytes]:
    lines = _text(data, "log/entries.jsonl").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) > MAX_LOG_LINES:
        raise InvalidData("format", "log/entries.jsonl has too many lines")
    out: dict[int, bytes] = {}
    for n, line in enumerate(lines, 1):
        obj = parse_json(line.encode(), require_canonical=False, what=f"entries line {n}")
        if not isinstance(obj, dict) or set(obj) != {"index", "entry"} or \
                isinstance(obj["index"], bool) or not isinstance(obj["index"], int) or \
                obj["index"] < 0 or not isinstance(obj["entry"], str):
            raise InvalidData("format", f"log/entries.jsonl line {n} must be "
                              '{"index": <n>, "entry": "<event>"}')
        if obj["index"] in out:
            raise InvalidData("format", f"log index {obj['index']} appears twice")
        out[obj["index"]] = obj["entry"].encode("utf-8")
    return out


def _proofs(data: bytes) -> dict[int, list[bytes]]:
    obj = parse_json(data, require_canonical=False, what="log/proofs.json")
    if not isinstance(obj, dict):
        raise InvalidData("format", "log/proofs.json must be an object")
    out: dict[int, list[bytes]] = {}
    if len(obj) > MAX_LOG_LINES:
        raise InvalidData("format", f"log/proofs.json has more than {MAX_LOG_LINES} proofs")
    for key, hashes in obj.items():
        if not _INDEX_RE.fullmatch(key):
            raise InvalidData("format", f"log/proofs.json key {key!r} is not an index")
        if not isinstance(hashes, list) or len(hashes) > MAX_PROOF_HASHES:
            raise InvalidData("format", f"log/proofs.json[{key}] must be a list of hashes")
        decoded = []
        for h in hashes:
            try:
                raw = base64.b64decode(h, validate=True) if isinstance(h, str) else b""
            except ValueError:
                raw = b""
            if len(raw) != 32:
                raise InvalidData("format", f"log/proofs.json[{key}] holds a bad hash")
            decoded.append(raw)
        out[int(key)] = decoded
    return out


def _policy_hash(report: Report, proposal: Proposal, policy: Policy,
                 trust: Trust | None) -> None:
    if proposal.policy != policy.hash:
        report.add("policy_hash", False, "the proposal pins another policy than policy.toml "
                   f"({proposal.policy} vs {policy.hash})")
    elif trust is not None and policy.hash not in trust.policies:
        report.add("policy_hash", False, f"policy {policy.name!r} ({policy.hash}) is not in "
                   "the trust file")
    else:
        report.add("policy_hash", True, f"policy {policy.name!r} {policy.hash}"
                   + (" is trusted" if trust is not None else " (not checked against trust)"))


def _receipt(report: Report, policy: Policy, proposal: Proposal, outcome: Outcome,
             receipt: Receipt, signature: str, decisions: list[SignedDecision]) -> None:
    problems: list[str] = []
    try:
        key = verify(signature, receipt.raw, RECEIPT_NAMESPACE)
        gate = policy.gate_by_key(key)
        if gate is None:
            problems.append(f"signed by key {key.fingerprint}, which is no gate of the policy")
        elif gate.identity != receipt.gate:
            problems.append(f"claims gate {receipt.gate} but is signed by {gate.identity}")
    except InvalidData as e:
        problems.append(f"receipt signature: {e.message}")
    for name, expected in (("proposal", proposal.hash), ("action", proposal.action_hash),
                           ("job_id", proposal.job_id), ("policy", proposal.policy)):
        if receipt.data[name] != expected:
            problems.append(f"field {name!r} does not match the proposal")
    counted = {c.decision.hash: c for c in outcome.counted if c.decision}
    approvals = {h for h, c in counted.items() if c.verdict == "approve"}
    listed = set(receipt.decisions)
    if not listed <= approvals:
        problems.append("lists a decision that is not a counted approval in this bundle")
    if outcome.status == APPROVED and len(listed & approvals) < outcome.required:
        # when the quorum itself failed, the quorum check already says so
        problems.append(f"lists {len(listed & approvals)} counted approvals; "
                        f"{outcome.required} required")
    times = [counted[h].decision.decided_at for h in listed if h in counted]
    if times and receipt.executed_at < max(times):
        problems.append("executed before a decision it counts was made")
    if receipt.executed_at > proposal.expires_at:
        problems.append("executed after the proposal expired")
    report.executed = not problems
    report.execution_outcome = receipt.outcome
    report.add("receipt", not problems, "; ".join(problems) if problems else
               f"executed once by {receipt.gate} at {receipt.data['executed_at']}, "
               f"outcome {receipt.outcome}")
    del decisions


_event_cached = lru_cache(maxsize=MAX_CACHED_EVENTS)(Event.from_bytes)


def _event(raw: bytes, index: int) -> Event:
    """A log event, strictly; any surprise in a hostile entry is a `format` failure."""
    try:
        if len(raw) <= MAX_CACHED_EVENT_BYTES:
            return _event_cached(raw)
        return Event.from_bytes(raw)
    except InvalidData:
        raise
    except (TypeError, ValueError, KeyError, AttributeError) as e:  # e.g. "type": [...]
        raise InvalidData("format", f"log entry {index} is malformed: {e}") from e


def _log_agrees(report: Report, mine: list[Event], decisions: list[SignedDecision],
                receipt: Receipt | None) -> None:
    """SPEC §8: what the log says about this proposal agrees with the bundle's files."""
    files = {sha256_ref(d.document) for d in decisions}
    left_out = [e.get("reviewer") for e in mine
                if e.type == "decision.recorded" and e.get("decision") not in files]
    if left_out:
        report.add("decision_left_out", False, "the log records a decision by "
                   f"{left_out[0]} that the bundle leaves out")
    receipts = [e.get("receipt") for e in mine if e.type == "receipt.recorded"]
    if receipt is None and receipts:
        report.add("receipt_left_out", False, "the log records an execution (receipt "
                   f"{receipts[0]}) but the bundle holds no receipt")
    elif receipt is not None and (len(receipts) > 1 or
                                  any(r != receipt.hash for r in receipts)):
        report.add("second_execution", False,
                   f"the log records {len(receipts)} receipts for this proposal"
                   if len(receipts) > 1 else "the log records another receipt than "
                   "receipt.json: a second execution")


def _checkpoint(report: Report, policy: Policy, note: str, trust: Trust | None):
    keys = set(policy.logs) if trust is None else set(policy.logs) & set(trust.logs)
    if not keys:
        report.add("checkpoint", False, "no log key is both trusted and listed in the policy"
                   if trust is not None else "the policy lists no log key")
        return None
    try:
        checkpoint = _verified_checkpoint(note, tuple(sorted(keys)))
    except InvalidData as e:
        report.add("checkpoint", False, e.message)
        return None
    report.add("checkpoint", True, f"log {checkpoint.origin} at size {checkpoint.size}, "
               "signed by a " + ("trusted" if trust is not None else "policy") + " log key")
    return checkpoint


def _inclusion(report: Report, checkpoint: Any, entries: dict[int, bytes],
               proofs: dict[int, list[bytes]], events: dict[int, Event], proposal: Proposal,
               outcome: Outcome, receipt: Receipt | None) -> None:
    bad = [i for i in entries if i >= checkpoint.size or i not in proofs or not verify_inclusion(
        leaf_hash(entries[i]), i, checkpoint.size, proofs[i], checkpoint.root)]
    if bad:
        report.add("inclusion", False, f"log entry {sorted(bad)[0]} is not proven in the "
                   "checkpoint")
        return
    mine = [e for e in events.values() if e.get("proposal") == proposal.hash]
    missing = []
    if not any(e.type == "proposal.submitted" for e in mine):
        missing.append("proposal.submitted")
    recorded = {(e.get("decision"), e.get("reviewer")) for e in mine
                if e.type == "decision.recorded"}
    for c in outcome.counted:
        if (c.decision.hash, c.reviewer) not in recorded:
            missing.append(f"decision.recorded for {c.reviewer}")
    if receipt is not None and not any(e.type == "receipt.recorded" and
                                       e.get("receipt") == receipt.hash for e in mine):
        missing.append("receipt.recorded")
    if missing:
        report.add("inclusion", False, "the log lacks " + ", ".join(missing))
    else:
        report.add("inclusion", True, f"{len(entries)} log entries proven in the checkpoint")


def _timeline(report: Report, events: dict[int, Event], outcome: Outcome,
              receipt: Receipt | None, proposal: Proposal) -> None:
    verdicts = {c.decision.hash: c.verdict for c in outcome.checks if c.decision}
    for index in sorted(events):
        e = events[index]
        if e.get("proposal") not in (None, proposal.hash):
            continue
        if e.type == "proposal.submitted":
            item = ("proposed", proposal.proposer,
                    f"{proposal.route} requested by {proposal.requester}")
        elif e.type == "decision.recorded":
            item = (verdicts.get(e.get("decision"), "decision"), e.get("reviewer") or "",
                    "decision recorded")
        elif e.type == "decision.refused":
            item = ("refused", e.get("reviewer") or "", f"refused: {e.get('code')}")
        elif e.type == "receipt.recorded":
            item = ("executed", receipt.gate if receipt else "",
                    f"outcome {receipt.outcome}" if receipt else "receipt recorded")
        elif e.type == "proposal.expired":
            item = ("expired", "", "expired without a final decision")
        else:
            item = (e.type, "", e.type)
        report.timeline.append(TimelineItem(e.at, item[0], item[1], item[2]))
