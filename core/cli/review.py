"""`foureyes review list|show` and `foureyes decide`: headless reviewing, one at a time."""

from __future__ import annotations

from pathlib import Path

import click

from core.cli.common import identity_options, queue_options, resolve_id, reviewer_queue
from core.formats import now_utc
from core.policy import Policy
from core.review import make_decision, precheck, render_proposal


def register(group: click.Group) -> None:
    group.add_command(review)
    group.add_command(decide)


@click.group()
def review() -> None:
    """See what waits for your decision."""


@review.command("list")
@queue_options
@identity_options
def list_(server: str | None, folder: Path | None, identity: str, key_file: Path | None) -> None:
    """Proposals you may see, newest first."""
    queue, _ = reviewer_queue(server, folder, identity, key_file)
    views = queue.list_proposals()
    for problem in getattr(queue, "problems", []):
        click.echo(f"warning: {problem.name}: {problem.message}", err=True)
    if not views:
        click.echo("Nothing to review.")
    for v in views:
        p = v.proposal
        mine = " (you decided)" if v.my_decision else ""
        click.echo(f"{v.hash[7:19]}  {v.status:<9} {p.route:<24} {p.data['expires_at']}  "
                   f"{render_title(p)}{mine}")


def render_title(p) -> str:  # noqa: ANN001
    from core.textsafety import reveal

    return reveal(p.summary["title"])[0]


@review.command("show")
@click.argument("proposal_id")
@queue_options
@identity_options
def show(proposal_id: str, server: str | None, folder: Path | None, identity: str,
         key_file: Path | None) -> None:
    """Everything about one proposal, as plain text with hidden characters made visible."""
    queue, _ = reviewer_queue(server, folder, identity, key_file)
    view = resolve_id(queue, proposal_id)
    policy = Policy.from_bytes(queue.policy_bytes())
    click.echo(render_proposal(view, policy, now_utc()))


@click.command()
@click.argument("proposal_id")
@click.option("--approve", "verdict", flag_value="approve", help="Approve this exact action.")
@click.option("--reject", "verdict", flag_value="reject", help="Reject it.")
@click.option("--reason", required=True, help="Why, in your own words (kept verbatim).")
@queue_options
@identity_options
def decide(proposal_id: str, verdict: str | None, reason: str, server: str | None,
           folder: Path | None, identity: str, key_file: Path | None) -> None:
    """Sign and submit ONE decision on one proposal."""
    if verdict is None:
        raise click.UsageError("say --approve or --reject")
    queue, signer = reviewer_queue(server, folder, identity, key_file)
    view = resolve_id(queue, proposal_id)
    policy = Policy.from_bytes(queue.policy_bytes())
    now = now_utc()
    precheck(policy, view.proposal, identity, now, signer)
    signed = make_decision(view.proposal, verdict=verdict, reason=reason, identity=identity,
                           signer=signer, now=now)
    ack = queue.submit_decision(view.hash, signed)
    click.echo(f"{verdict} recorded for {view.hash} as {ack.decision_hash}")
