"""`foureyes verify BUNDLE`: the auditor's offline check, with the exit codes of SPEC §9."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from core.bundle.trust import load_trust
from core.bundle.verify import NotABundle, Report, verify_bundle_file
from core.errors import InvalidData

EXIT_USAGE = 2


def register(group: click.Group) -> None:
    group.add_command(verify_command)


def render(report: Report) -> str:
    """The human report: what ran, who decided when, each check with a tick or its reason."""
    lines: list[str] = []
    p = report.proposal
    if p is not None:
        lines += [f"Proposal  {p.hash}", f"Action    {p.route}  (action {p.action_hash})",
                  f"Job       {p.job_id}", f"Requested by {p.requester}, proposed by {p.proposer}",
                  f"Valid     {p.data['created_at']} → {p.data['expires_at']}"]
    if report.policy is not None:
        lines.append(f"Policy    {report.policy.name}  {report.policy.hash}")
    if report.timeline:
        lines.append("")
        lines.append("Timeline")
        for item in report.timeline:
            who = f" {item.who}" if item.who else ""
            lines.append(f"  {item.at:%Y-%m-%d %H:%M:%S}Z  {item.kind:<9}{who}  {item.text}")
    lines.append("")
    lines.append("Checks")
    for c in report.checks:
        lines.append(f"  {'✓' if c.ok else '✗'} {c.code:<18} {c.message}")
    lines.append("")
    lines.append(report.verdict)
    return "\n".join(lines)


@click.command("verify")
@click.argument("bundle", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--trust", "trust_path", type=click.Path(dir_okay=False, path_type=Path),
              help="trust.toml with the policy hashes and log keys you accept.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON report object.")
def verify_command(bundle: Path, trust_path: Path | None, as_json: bool) -> None:
    """Verify a .foureyes proof bundle offline (exit 0 valid, 1 failed, 2 unusable, 3 no trust)."""
    try:
        trust = load_trust(trust_path) if trust_path is not None else None
    except InvalidData as e:
        click.echo(f"error: [{e.code}] {e.message}", err=True)
        sys.exit(EXIT_USAGE)
    try:
        report = verify_bundle_file(bundle, trust)  # stat first, then a bounded read
    except NotABundle as e:
        click.echo(f"error: {bundle} is not a proof bundle: {e}", err=True)
        sys.exit(EXIT_USAGE)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        click.echo(render(report))
    sys.exit(report.exit_code)
