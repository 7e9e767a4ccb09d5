"""Warnings about a valid policy that probably does not do what its author meant."""

from __future__ import annotations

from fnmatch import fnmatchcase

from core.policy.model import Policy, Rule
from core.policy.quorum import largest_distinct


def _covers(outer: str, inner: str) -> bool:
    """Conservative: True only when glob ``outer`` surely matches every route ``inner`` does."""
    if not any(ch in inner for ch in "*?"):
        return fnmatchcase(inner, outer)
    if outer == inner or outer == "*":
        return True
    prefix = outer[:-1]
    return outer.endswith("*") and not any(ch in prefix for ch in "*?") and \
        inner.startswith(prefix)


def _shadowed_by(earlier: Rule, later: Rule) -> bool:
    """Only an unconditional rule surely shadows (conditions fail closed, but may be false)."""
    return not earlier.conditions and _covers(earlier.route, later.route)



def lint(policy: Policy) -> list[str]:
    warnings: list[str] = []
    for i, rule in enumerate(policy.rules):
        for earlier in policy.rules[:i]:
            if _shadowed_by(earlier, rule):
                warnings.append(f"rule {rule.index} (line {rule.line}) can never match: "
                                f"rule {earlier.index} always matches first")
                break
        eligible = [a for a in policy.approvers
                    if not rule.groups or set(a.groups) & set(rule.groups)]
        if rule.approvals > len(eligible):
            warnings.append(f"rule {rule.index} (line {rule.line}) needs {rule.approvals} "
                            f"approvals but only {len(eligible)} approvers are eligible")
        elif rule.distinct_groups and rule.approvals > 1:
            most = largest_distinct([frozenset(a.groups) for a in eligible], rule.approvals)
            if most < rule.approvals:
                warnings.append(
                    f"rule {rule.index} (line {rule.line}) can never reach its quorum: "
                    f"distinct_groups needs {rule.approvals} approvers no two of whom share "
                    f"a group, but among the {len(eligible)} eligible approvers at most "
                    f"{most} have no group in common")
        if rule.approvals == 0 and rule.conditions:
            warnings.append(f"rule {rule.index} (line {rule.line}) lets actions run without "
                            "approval under conditions; a missing or mistyped parameter makes "
                            "a condition true, so this rule also matches such actions")
        unknown = [g for g in rule.groups if not any(g in a.groups for a in policy.approvers)]
        if unknown:
            warnings.append(f"rule {rule.index} (line {rule.line}) names group {unknown[0]!r} "
                            "that no approver holds")
    if policy.default == "allow":
        warnings.append('default = "allow": routes no rule matches run without approval')
    if not policy.gates:
        warnings.append("no [[gates]]: no gate may sign receipts, so nothing can execute")
    if not policy.logs:
        warnings.append("no [[logs]]: no checkpoint will count when a bundle is verified")
    return warnings
