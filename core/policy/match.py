"""Which rule applies to an action: first match in file order (SPEC §3).

Conditions fail closed: a missing path or a value of the wrong type makes the condition
true, so an agent cannot dodge a stricter rule by leaving a parameter out or sending
"120000" where 120000 is expected.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from core.policy.model import Condition, Policy, Rule

_MISSING = object()


def _lookup(params: dict[str, Any], path: str) -> Any:
    value: Any = params
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _same_kind(a: Any, b: Any) -> bool:
    """Numbers compare with numbers, strings with strings; booleans are neither."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    if isinstance(a, int | float) and isinstance(b, int | float):
        return True
    return type(a) is type(b) and isinstance(a, str | type(None))


def condition_holds(cond: Condition, params: dict[str, Any]) -> bool:
    value = _lookup(params, cond.path)
    if value is _MISSING:
        return True
    if cond.op in ("in", "not_in"):
        if not any(_same_kind(value, v) for v in cond.value):
            return True
        inside = any(_same_kind(value, v) and value == v for v in cond.value)
        return inside if cond.op == "in" else not inside
    if not _same_kind(value, cond.value):
        return True
    match cond.op:
        case "eq":
            return value == cond.value
        case "ne":
            return value != cond.value
        case "gt":
            return value > cond.value
        case "gte":
            return value >= cond.value
        case "lt":
            return value < cond.value
        case "lte":
            return value <= cond.value
    return True  # unreachable for a policy that passed the reader


def rule_matches(rule: Rule, route: str, params: dict[str, Any]) -> bool:
    return fnmatchcase(route, rule.route) and all(
        condition_holds(c, params) for c in rule.conditions
    )


def match_rule(policy: Policy, route: str, params: dict[str, Any]) -> Rule | None:
    """The first rule whose route glob and every condition hold, or None."""
    return next((r for r in policy.rules if rule_matches(r, route, params)), None)
