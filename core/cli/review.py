"""`foureyes review list|show` and `foureyes decide`: headless reviewing, one at a time."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from core.cli.common import identity_options, queue_options, resolve_id, reviewer_queue
from core.formats import now_utc
from core.policy import Policy
from core.review import make_decision, render_proposal
from core.textsafety import shown


def register(group: click.Group) -> None:
    group.add_command(review)
    group.add_command(decide)


@click.group()
def review() -> None:
    """See what waits for your decision."""


@review.command("list")
@queue_options
@identity_options
def list_(server: str | None, folder: Path | None, ca: str | None, identity: str,
          key_file: Path | None) -> None:
    """Proposals you may see, newest first."""
    queue, _ = reviewer_queue(server, folder, identity, key_file, ca)
    views = queue.list_proposals()
    for problem in getattr(queue, "problems", []):
        click.echo(f"warning: {shown(problem.name)}: {shown(problem.message)}", err=True)
    if not views:
        click.echo("Nothing to review.")
    for v in views:
        p = v.proposal
        mine = " (you decided)" if v.my_decision else ""
        click.echo(f"{v.hash[7:19]}  {shown(v.status):<9} {p.route:<24} "
                   f"{p.data['expires_at']}  {render_title(p)}{mine}")


def render_title(p) -> str:  # noqa: ANN001
    """The agent's title as one line: a line break in it must not draw a row of its own."""
    return shown(p.summary["title"])


@review.command("show")
@click.argument("proposal_id", metavar="ID")
@queue_options
@identity_options
def show(proposal_id: str, server: str | None, folder: Path | None, ca: str | None,
         identity: str, key_file: Path | None) -> None:
    """Everything about one proposal, as plain text with hidden characters made visible."""
    queue, _ = reviewer_queue(server, folder, identity, key_file, ca)
    view = resolve_id(queue, proposal_id)
    policy = Policy.from_bytes(queue.policy_bytes())
    click.echo(render_proposal(view, policy, now_utc()))


def fingerprint(proposal) -> str:  # noqa: ANN001 - Proposal
    """What a reviewer types to show they read the action: the start of its hash, as the
    app shows it. It names the exact bytes that will run, not the agent's words."""
    return proposal.action_hash[7:15]


@click.command()
@click.argument("proposal_id")
@click.option("--approve", is_flag=True, help="Approve this exact action.")
@click.option("--reject", is_flag=True, help="Reject it.")
@click.option("--reason", required=True, help="Why, in your own words (kept verbatim).")
@click.option("--yes-i-checked", "checked", metavar="FINGERPRINT", default=None,
              help="The action's fingerprint (shown by `review show`), to approve without "
              "the prompt, e.g. in a runbook.")
@queue_options
@identity_options
def decide(proposal_id: str, approve: bool, reject: bool, reason: str, checked: str | None,
           server: str | None, folder: Path | None, ca: str | None, identity: str,
           key_file: Path | None) -> None:
    """Sign and submit ONE decision on one proposal.

    Approving asks you to type the action's fingerprint (or pass --yes-i-checked), because
    a signed approval cannot be taken back. The queue judges the decision and logs any
    refusal, so even a refused attempt leaves evidence.
    """
    if approve == reject:
        raise click.UsageError("say exactly one of --approve or --reject")
    verdict = "approve" if approve else "reject"
    queue, signer = reviewer_queue(server, folder, identity, key_file, ca)
    view = resolve_id(queue, proposal_id)
    if approve:
        expected = fingerprint(view.proposal)
        if checked is None:
            click.echo(render_proposal(view, Policy.from_bytes(queue.policy_bytes()),
                                       now_utc()))
            if not sys.stdin.isatty():
                raise click.UsageError("approving needs the action's fingerprint: run "
                                       "interactively, or pass --yes-i-checked FINGERPRINT")
            checked = click.prompt("Type the action fingerprint shown above to approve")
        if checked.strip() != expected:
            raise click.UsageError("that is not this action's fingerprint; nothing was signed")
    now = now_utc()
    signed = make_decision(view.proposal, verdict=verdict, reason=reason, identity=identity,
                           signer=signer, now=now)
    ack = queue.submit_decision(view.hash, signed)
    click.echo(f"{verdict} recorded for {view.hash} as {shown(ack.decision_hash)}")
