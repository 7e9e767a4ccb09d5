"""SPEC §3 and §5: reading policy.toml, matching rules, and the one quorum function."""

from core.policy.match import match_rule
from core.policy.model import Approver, Gate, Policy, Rule
from core.policy.quorum import (
    APPROVED,
    DENIED,
    EXPIRED,
    INVALID,
    PENDING,
    REJECTED,
    DecisionCheck,
    Outcome,
    SignedDecision,
    evaluate,
    proposal_problem,
)

__all__ = [
    "APPROVED", "DENIED", "EXPIRED", "INVALID", "PENDING", "REJECTED", "Approver",
    "DecisionCheck", "Gate", "Outcome", "Policy", "Rule", "SignedDecision", "evaluate",
    "match_rule", "proposal_problem",
]
