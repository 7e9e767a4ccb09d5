"""The quorum rules of SPEC §5, in one pure function shared by server, gate, verifier and app.

`evaluate` takes the pinned policy, the proposal and its decisions as the signed bytes plus
armored signatures, and an explicit `now`; it does no I/O and trusts nothing it is given.
Every decision comes back either counted or refused with a stable code, in the order given,
so the same input always yields the same verdict everywhere. Messages never mention a
decision's position: a server shows them to reviewers, and "decision 3" would tell a
reviewer that two others had already decided.

Per decision, the first failing step decides its code:
  (0) closed        the counted decisions before it already reached an outcome: an outcome,
                    once reached, is final, and nothing after it counts (SPEC §5)
  (1) format        the decision bytes pass the strict reader
  (2) signature     SSHSIG verifies under foureyes-decision-v1
  (3) not_in_roster the verifying key belongs to a roster entry (identity comes from it)
      reviewer_mismatch  the `reviewer` field names that roster identity
  (4) binding       proposal, action, job_id, policy, expires_at equal the proposal's, and
                    decided_at is not before created_at (no backdating into validity)
  (5) expired       decided_at ≤ expires_at
  (6) key_not_valid the roster entry is valid at decided_at
  (7) self_approval the reviewer is neither proposer nor requester
  (8) not_eligible  the reviewer holds a group the rule names, if it names any
  (9) duplicate_reviewer / duplicate_key  no counted decision has the same person or key
Outcome: one counted reject → rejected; enough counted approves → approved, where with
`distinct_groups` "enough" means `approvals` approvers no two of whom share a group. A group
overlap is a counting rule, never a refusal: refusing a reviewer because a colleague of the
same group already approved would tell them that the colleague decided. Otherwise expired
once now > expires_at, else pending.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from core.errors import InvalidData
from core.formats import Decision, Proposal, sha256_ref
from core.policy.match import match_rule
from core.policy.model import Policy, Rule
from core.signing import PublicKey, verify

DECISION_NAMESPACE = "foureyes-decision-v1"
MAX_DECISIONS = 64
MAX_GROUP_SEARCH = 20_000  # steps of the distinct-groups search; far above any real roster
# Steps (1) and (2) depend on nothing but the decision's bytes and signature, so their
# result is remembered: a server judges each new decision alone and then with the counted
# ones, and the counted ones again at every later decision and receipt. Bounded: at most
# this many entries, each for a document no larger than the second limit.
MAX_CACHED_DECISIONS = 1024
MAX_CACHED_DECISION_BYTES = 16 * 1024  # and as many characters of signature

PENDING, APPROVED, REJECTED, EXPIRED, DENIED, INVALID = (
    "pending", "approved", "rejected", "expired", "denied", "invalid")


@dataclass(frozen=True)
class SignedDecision:
    """A decision as it travels: the exact signed bytes and the armored SSHSIG."""

    document: bytes
    signature: str


@dataclass(frozen=True)
class DecisionCheck:
    position: int  # 1-based, in the order given
    counted: bool
    code: str  # "counted" or the refusal code
    message: str
    decision: Decision | None = None
    reviewer: str | None = None  # from the roster, never from the document alone

    @property
    def verdict(self) -> str | None:
        return self.decision.verdict if self.decision else None


@dataclass(frozen=True)
class Outcome:
    status: str
    message: str
    rule: Rule | None = None
    required: int = 0
    approvals: int = 0
    checks: tuple[DecisionCheck, ...] = field(default_factory=tuple)
    code: str = ""  # for denied/invalid: why

    @property
    def counted(self) -> tuple[DecisionCheck, ...]:
        return tuple(c for c in self.checks if c.counted)

    @property
    def final(self) -> bool:
        return self.status != PENDING


def proposal_problem(policy: Policy, proposal: Proposal) -> tuple[str, str, Rule | None]:
    """('', '', rule) when the proposal stands under this policy, else (code, message, rule)."""
    if proposal.policy != _policy_hash(policy.raw):
        return "policy_hash", "the proposal pins another policy than the one given", None
    rule = match_rule(policy, proposal.route, proposal.params)
    if rule is None and policy.default == "deny":
        return "denied", f"no rule matches route {proposal.route} and the default is deny", None
    ttl = policy.rule_ttl(rule)
    if proposal.expires_at - proposal.created_at > ttl:
        return ("ttl", f"the proposal lives longer than the {ttl} the policy allows "
                f"({'rule ' + str(rule.index) if rule else 'default'})", rule)
    return "", "", rule


@lru_cache(maxsize=8)
def _policy_hash(raw: bytes) -> str:
    """`Policy.hash`, remembered per policy text: a server or verifier asks it of the same
    policy at every call (bytes keep their own hash, so a lookup costs no rehash)."""
    return sha256_ref(raw)


def evaluate(policy: Policy, proposal: Proposal, decisions: Sequence[SignedDecision],
             now: datetime | None = None) -> Outcome:
    """Count the decisions on ``proposal`` under ``policy`` and say where it stands at ``now``."""
    code, message, rule = proposal_problem(policy, proposal)
    if code:
        return Outcome(DENIED if code == "denied" else INVALID, message, rule, code=code)
    required = rule.approvals if rule is not None else 0
    if len(decisions) > MAX_DECISIONS:
        return Outcome(INVALID, f"more than {MAX_DECISIONS} decisions", rule, required,
                       code="format")

    checks: list[DecisionCheck] = []
    counted: list[DecisionCheck] = []
    # APPROVED or REJECTED once the counted decisions decide (at once when none are needed)
    reached: str | None = APPROVED if required == 0 else None
    for pos, sd in enumerate(decisions, start=1):
        if reached is not None:  # (0)
            checks.append(_refuse(pos, "closed", f"the proposal was already {reached}; an "
                                  "outcome, once reached, is final"))
            continue
        check = _check_one(policy, proposal, rule, sd, pos, counted)
        checks.append(check)
        if check.counted:
            counted.append(check)
            reached = _reached(policy, rule, required, counted)

    approves = helping_approvals(policy, rule, counted)
    rejects = [c for c in counted if c.verdict == "reject"]
    if rejects:
        status, msg = REJECTED, f"rejected by {rejects[0].reviewer}"
    elif approves >= required:
        status, msg = APPROVED, f"{approves} of {required} required approvals"
    elif now is not None and now > proposal.expires_at:
        status, msg = EXPIRED, f"expired with {approves} of {required} required approvals"
    else:
        status, msg = PENDING, f"{approves} of {required} required approvals so far"
    return Outcome(status, msg, rule, required, approves, tuple(checks))


def _reached(policy: Policy, rule: Rule | None, required: int,
             counted: Sequence[DecisionCheck]) -> str | None:
    if any(c.verdict == "reject" for c in counted):
        return REJECTED
    return APPROVED if helping_approvals(policy, rule, counted) >= required else None


def helping_approvals(policy: Policy, rule: Rule | None, counted: Sequence[DecisionCheck]) -> int:
    """How many counted approves help the quorum.

    Without `distinct_groups`, every counted approve. With it, the size of the largest set of
    approvers no two of whom share a group (capped at what the rule needs), found by a
    bounded search: rosters are small, and the bound keeps a hostile bundle from costing
    more than MAX_GROUP_SEARCH steps.
    """
    approvers = [c.reviewer for c in counted if c.verdict == "approve" and c.reviewer]
    if rule is None or not rule.distinct_groups:
        return len(approvers)
    groups = [frozenset(policy.approver(who).groups) for who in approvers
              if policy.approver(who) is not None]
    return largest_distinct(groups, rule.approvals)


def largest_distinct(groups: Sequence[frozenset[str]], need: int) -> int:
    """The size (capped at `need`) of the largest set of approvers, given their groups, no two
    of whom share a group. Used by the quorum and by `policy check`, so both count alike.
    Bounded by MAX_GROUP_SEARCH steps; cut short, it counts fewer, never more."""
    best = 0
    steps = 0

    def search(start: int, taken: frozenset[str], size: int) -> bool:
        nonlocal best, steps
        best = max(best, size)
        if best >= need:
            return True
        for i in range(start, len(groups)):
            steps += 1
            if steps > MAX_GROUP_SEARCH:
                return True  # stop: count what was found (fails closed: fewer, never more)
            if not groups[i] & taken and search(i + 1, taken | groups[i], size + 1):
                return True
        return False

    search(0, frozenset(), 0)
    return min(best, need)


def _check(pos: int, counted: bool, code: str, message: str, decision: Decision | None,
           reviewer: str | None) -> DecisionCheck:
    """A DecisionCheck without the frozen dataclass ``__init__`` (one ``object.__setattr__``
    per field): the same instance, every field given."""
    check = object.__new__(DecisionCheck)
    check.__dict__.update(position=pos, counted=counted, code=code, message=message,
                          decision=decision, reviewer=reviewer)
    return check


def _refuse(pos: int, code: str, message: str, decision: Decision | None = None,
            reviewer: str | None = None) -> DecisionCheck:
    return _check(pos, False, code, message, decision, reviewer)


def _read(document: bytes, signature: str) -> tuple[Decision | None, PublicKey | None, str]:
    """Steps (1) and (2): the decision and the key that signed it, or why not."""
    try:  # (1)
        decision = Decision.from_bytes(document)
    except InvalidData as e:
        return None, None, f"the decision is malformed: {e.message}"
    try:  # (2)
        key = verify(signature, document, DECISION_NAMESPACE)
    except InvalidData as e:
        return decision, None, f"the decision's signature is bad: {e.message}"
    return decision, key, ""


_read_cached = lru_cache(maxsize=MAX_CACHED_DECISIONS)(_read)


def _read_signed(sd: SignedDecision) -> tuple[Decision | None, PublicKey | None, str]:
    if type(sd.document) is bytes and type(sd.signature) is str and \
            len(sd.document) <= MAX_CACHED_DECISION_BYTES >= len(sd.signature):
        return _read_cached(sd.document, sd.signature)
    return _read(sd.document, sd.signature)


def warm(sd: SignedDecision) -> None:
    """Read and verify a decision now, so that judging it later (under a store's lock)
    finds the work done."""
    _read_signed(sd)


def clear_caches() -> None:
    """Forget remembered decisions (benchmarks measure the uncached cost with this)."""
    _read_cached.cache_clear()


def _check_one(policy: Policy, proposal: Proposal, rule: Rule | None, sd: SignedDecision,
               pos: int, counted: Sequence[DecisionCheck]) -> DecisionCheck:
    decision, key, problem = _read_signed(sd)
    if decision is None:  # (1)
        return _refuse(pos, "format", problem)
    if key is None:  # (2)
        return _refuse(pos, "signature", problem, decision)
    approver = policy.approver_by_key(key)  # (3)
    if approver is None:
        return _refuse(pos, "not_in_roster",
                       f"the decision is signed by key {key.fingerprint}, "
                       "which is not in the policy's roster", decision)
    who = approver.identity
    if decision.reviewer != who:
        return _refuse(pos, "reviewer_mismatch",
                       f"the decision claims reviewer {decision.reviewer} but is signed "
                       f"with the key of {who}", decision, who)
    data = decision.data
    for name, expected in (("proposal", proposal.hash), ("action", proposal.action_hash),
                           ("job_id", proposal.job_id), ("policy", proposal.policy),
                           ("expires_at", proposal.data["expires_at"])):  # (4)
        if data[name] != expected:
            return _refuse(pos, "binding",
                           f"the decision by {who}: field {name!r} does not match the "
                           "proposal", decision, who)
    if decision.decided_at < proposal.created_at:
        return _refuse(pos, "binding", f"the decision by {who} is dated before the proposal "
                       "existed", decision, who)
    if decision.decided_at > proposal.expires_at:  # (5)
        return _refuse(pos, "expired", f"the decision by {who} was made after the proposal "
                       "expired", decision, who)
    if not approver.valid_at(decision.decided_at):  # (6)
        return _refuse(pos, "key_not_valid", f"{who} was not a valid approver at "
                       f"{decision.data['decided_at']}", decision, who)
    if who in (proposal.proposer, proposal.requester):  # (7)
        return _refuse(pos, "self_approval", f"{who} requested this action and cannot "
                       "decide on it", decision, who)
    if rule is not None and rule.groups and not set(rule.groups) & set(approver.groups):  # (8)
        return _refuse(pos, "not_eligible", f"{who} holds none of the groups rule "
                       f"{rule.index} requires ({', '.join(rule.groups)})", decision, who)
    for other in counted:  # (9)
        if other.reviewer == who:
            return _refuse(pos, "duplicate_reviewer", f"{who} has already decided on this "
                           "proposal; one person counts once", decision, who)
        other_key = policy.approver(other.reviewer or "")
        if other_key is not None and other_key.key == key:
            return _refuse(pos, "duplicate_key", "the decision uses a key that already "
                           "counted", decision, who)
    return _check(pos, True, "counted", f"{decision.verdict} by {who} counted", decision, who)
