"""SPEC §3: reading policy.toml strictly, matching rules, and `foureyes policy check`."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from core.cli.main import cli
from core.errors import InvalidData
from core.policy import Policy, match_rule
from core.policy.lint import lint
from core.sample import SampleWorld


def test_vector_policy_reads(vector_members):
    policy = Policy.from_bytes(vector_members["policy.toml"])
    assert policy.name == "prod-agents"
    assert [a.identity for a in policy.approvers] == [
        "alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com"]
    assert policy.hash == "sha256:1a5580b2a0e20b46ec668ab8636c54d25ce7a53ff4bbbc8ff441325a5d538139"
    rule = match_rule(policy, "payments.transfer", {"amount_minor": 120000})
    assert rule.index == 1 and rule.approvals == 2 and rule.ttl.total_seconds() == 3600
    assert match_rule(policy, "payments.transfer", {"amount_minor": 100}).approvals == 0
    assert match_rule(policy, "iam.grant", {}) is None


def _policy(world: SampleWorld, rules: str, **kw) -> Policy:
    world.rules = rules
    for k, v in kw.items():
        setattr(world, k, v)
    return Policy.from_bytes(world.policy_bytes())


@pytest.mark.parametrize("params, expected", [
    ({"amount_minor": 50000, "currency": "USD"}, 1),
    ({"amount_minor": 49999, "currency": "USD"}, 2),
    ({"currency": "USD"}, 1),                         # missing path → condition true
    ({"amount_minor": "100", "currency": "USD"}, 1),  # wrong type → condition true
    ({"amount_minor": True, "currency": "USD"}, 1),   # a bool is not a number
    ({"amount_minor": 10, "currency": "GBP"}, 2),
    ({"amount_minor": 60000, "currency": 5}, 1),      # wrong type in `in` → true
    ({"amount_minor": 10, "currency": "USD", "meta": {"risk": 9}}, 2),  # dotted path
    ({"amount_minor": 10, "currency": "USD", "meta": {"risk": 1}}, 3),
])
def test_when_conditions_fail_closed(world, params, expected):
    policy = _policy(world, """
[[rules]]
route = "payments.*"
when = { amount_minor = { gte = 50000 }, currency = { in = ["USD", "EUR"] } }
approvals = 2

[[rules]]
route = "payments.*"
when = { "meta.risk" = { gt = 5 } }
approvals = 3

[[rules]]
route = "payments.*"
approvals = 1
""")
    # rule 2 (meta.risk) also matches when meta.risk is missing: a missing path is true
    assert match_rule(policy, "payments.transfer", params).index == expected


@pytest.mark.parametrize("op, value, param, holds", [
    ("eq", "USD", "USD", True), ("eq", "USD", "EUR", False),
    ("ne", "USD", "EUR", True), ("ne", "USD", "USD", False),
    ("gt", 5, 6, True), ("gt", 5, 5, False), ("lt", 5, 4, True), ("lte", 5, 5, True),
    ("in", ["a", "b"], "a", True), ("in", ["a", "b"], "c", False),
    ("not_in", ["a", "b"], "c", True), ("not_in", ["a", "b"], "a", False),
])
def test_operators(world, op, value, param, holds):
    literal = f'"{value}"' if isinstance(value, str) else str(value).replace("'", '"')
    policy = _policy(world, f"""
[[rules]]
route = "x.*"
when = {{ v = {{ {op} = {literal} }} }}
approvals = 2

[[rules]]
route = "x.*"
approvals = 1
""")
    assert (match_rule(policy, "x.y", {"v": param}).index == 1) is holds


def test_route_glob_is_case_sensitive_and_first_match_wins(world):
    policy = _policy(world, """
[[rules]]
route = "db.drop?"
approvals = 2

[[rules]]
route = "db.*"
approvals = 1
""")
    assert match_rule(policy, "db.drop1", {}).index == 1
    assert match_rule(policy, "db.drop12", {}).index == 2
    assert match_rule(policy, "DB.drop1", {}) is None


@pytest.mark.parametrize("mutation, needle", [
    (lambda t: t.replace("approvals = 2", "approval = 2", 1), "unknown key 'approval'"),
    (lambda t: t.replace('default = "deny"', 'default = "maybe"'), "default"),
    (lambda t: t.replace('ttl = "30m"', 'ttl = "30 minutes"', 1), "ttl"),
    (lambda t: t + "\nfoo = 1\n", "unknown key 'foo'"),
    (lambda t: t.replace('schema = "foureyes.policy/v1"', 'schema = "v2"'), "schema"),
    (lambda t: t.replace("gte = 50000", "between = 50000"), "unknown operator"),
    (lambda t: t.replace('identity = "bob@example.com"', 'identity = "Bob@example.com"'),
     "identity"),
    (lambda t: t.replace("[[gates]]", "[[gates]]\nextra = true"), "unknown key 'extra'"),
    (lambda t: t.replace('route = "payments.*"', 'route = "payments.[ab]"', 1), "glob"),
    (lambda t: t + "\n[[rules]]\nroute = \"x\"\napprovals = -1\n", "approvals"),
    (lambda t: t + "\n[[rules]]\nroute = \"x\"\napprovals = true\n", "approvals"),
    (lambda t: t.replace("= [", "= [[", 1), "not valid TOML"),
])
def test_policy_refusals_name_line_and_field(world, mutation, needle):
    text = mutation(world.policy_text())
    with pytest.raises(InvalidData) as e:
        Policy.from_bytes(text.encode())
    assert e.value.code == "policy"
    assert needle in e.value.message
    assert "line" in e.value.message


def test_unknown_key_error_points_at_its_line(world):
    text = world.policy_text().replace("approvals = 2", "approval = 2", 1)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if ln.startswith("approval ="))
    with pytest.raises(InvalidData, match=f"line {line}:"):
        Policy.from_bytes(text.encode())


def test_one_key_for_two_identities_is_invalid(world):
    """A reviewer with two identities sharing one key would count twice: the policy is void."""
    world.extra_approvers = (f'[[approvers]]\nidentity = "bobby@example.com"\n'
                             f'key = "{world.key("bob@example.com").openssh()}"\n')
    with pytest.raises(InvalidData, match="same key"):
        Policy.from_bytes(world.policy_bytes())


def test_same_key_spelled_differently_is_still_the_same_key(world):
    line = world.key("bob@example.com").openssh()
    world.extra_approvers = (f'[[approvers]]\nidentity = "bobby@example.com"\n'
                             f'key = "{line} another-comment"\n')
    with pytest.raises(InvalidData, match="same key"):
        Policy.from_bytes(world.policy_bytes())


def test_duplicate_identity_and_gate_key_reuse_are_invalid(world):
    world.extra_approvers = (f'[[approvers]]\nidentity = "bob@example.com"\n'
                             f'key = "{world.key("alice@example.com").openssh()}"\n')
    with pytest.raises(InvalidData, match="twice"):
        Policy.from_bytes(world.policy_bytes())
    world.extra_approvers = ""
    text = world.policy_text().replace(world.key("gate:prod").openssh(),
                                       world.key("bob@example.com").openssh())
    with pytest.raises(InvalidData, match="also be a gate"):
        Policy.from_bytes(text.encode())


def test_valid_window_parses_and_must_be_quoted(world):
    world.extra_approvers = ('[[approvers]]\nidentity = "erin@example.com"\n'
                             'key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMqTrBcFGHBx1nuDx/8O/oEI6OxFMFdddyaHkzPb2r58"\n'
                             'valid_after = "2026-01-01T00:00:00Z"\nvalid_before = "2027-01-01T00:00:00Z"\n')
    policy = Policy.from_bytes(world.policy_bytes())
    assert policy.approver("erin@example.com").valid_after.year == 2026
    bad = world.policy_text().replace('"2026-01-01T00:00:00Z"', "2026-01-01T00:00:00Z")
    with pytest.raises(InvalidData, match="valid_after"):
        Policy.from_bytes(bad.encode())


def test_lint_warns_on_shadowed_and_impossible_rules(world):
    policy = _policy(world, """
[[rules]]
route = "payments.*"
approvals = 1

[[rules]]
route = "payments.transfer"
approvals = 2

[[rules]]
route = "iam.*"
approvals = 5
groups = ["sre"]
""")
    warnings = lint(policy)
    assert any(w.startswith("rule 2 ") and "never match" in w for w in warnings)
    assert any("rule 3" in w and "eligible" in w for w in warnings)
    assert not any(w.startswith("rule 1 ") for w in warnings)


def test_policy_check_cli(tmp_path, world):
    path = tmp_path / "policy.toml"
    path.write_bytes(world.policy_bytes())
    result = CliRunner().invoke(cli, ["policy", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == Policy.from_bytes(path.read_bytes()).hash
    path.write_text(world.policy_text().replace("approvals = 2", "approval = 2", 1))
    result = CliRunner().invoke(cli, ["policy", "check", str(path)])
    assert result.exit_code != 0
