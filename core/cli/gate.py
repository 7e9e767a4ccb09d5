"""Operator commands: `foureyes propose`, `foureyes wait`, `foureyes bundle export`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from core.cli.common import pick_transport, queue_options, resolve_id
from core.errors import InvalidData

EXIT_APPROVED, EXIT_REFUSED, EXIT_PENDING = 0, 1, 4


def register(group: click.Group) -> None:
    group.add_command(propose)
    group.add_command(wait)
    group.add_command(bundle)


def _queue(server: str | None, folder: Path | None, token: str | None,
           gate_state: Path | None, gate_id: str):  # noqa: ANN202
    pick_transport(server, folder)
    if server is not None:
        from core.queue.http import HttpQueue

        if not token:
            raise click.UsageError("--token (or FOUREYES_TOKEN) is needed with --server")
        return HttpQueue(server, token=token)
    if gate_state is None:
        raise click.UsageError("--gate-state STATE is needed with --folder (see folder gate-init)")
    from core.cli.folder import gate_folder_queue

    return gate_folder_queue(folder, gate_state, gate_id)


def report_problems(queue) -> None:  # noqa: ANN001 - a Queue
    """Show the operator what a folder queue refused or skipped (SPEC §10), on stderr."""
    take = getattr(queue, "take_problems", None)
    if take is None:
        return
    problems, more = take()
    for problem in problems:
        click.echo(f"warning: [{problem.code}] {problem.name}: {problem.message}", err=True)
    if more:
        click.echo(f"warning: {more} more problems on the folder (see the gate's state)",
                   err=True)


def _transport_options(f):  # noqa: ANN001, ANN202
    f = click.option("--gate", "gate_id", default="gate:prod", show_default=True)(f)
    f = click.option("--gate-state", type=click.Path(file_okay=False, path_type=Path),
                     help="Gate keys and private state (folder queues).")(f)
    f = click.option("--token", envvar="FOUREYES_TOKEN", help="Agent/gate bearer token.")(f)
    return queue_options(f)


@click.command()
@click.option("--route", required=True)
@click.option("--params", "params_json", required=True, help="JSON object of parameters.")
@click.option("--summary", "summary_json", required=True,
              help='JSON summary: {"title", "why", "blast_radius", "reversibility", ...}.')
@click.option("--requester", required=True, help="The person who asked for this.")
@click.option("--agent", default="agent:cli", show_default=True)
@click.option("--job-id", default=None)
@_transport_options
def propose(route: str, params_json: str, summary_json: str, requester: str, agent: str,
            job_id: str | None, server, folder, token, gate_state, gate_id) -> None:  # noqa: ANN001
    """Queue a proposal under the queue's active policy and print its hash."""
    from core.formats import now_utc
    from core.gate.sdk import build_proposal
    from core.policy import Policy

    try:
        params, summary = json.loads(params_json), json.loads(summary_json)
    except ValueError as e:
        raise click.UsageError(f"--params and --summary must be JSON: {e}") from e
    queue = _queue(server, folder, token, gate_state, gate_id)
    policy = Policy.from_bytes(queue.policy_bytes())
    proposal = build_proposal(policy, route, params, summary, requester=requester,
                              agent=agent, job_id=job_id, now=now_utc())
    try:
        queue.submit_proposal(proposal)
    finally:
        report_problems(queue)
    click.echo(proposal.hash)


@click.command()
@click.argument("proposal_id")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait at most.")
@_transport_options
def wait(proposal_id: str, timeout: float, server, folder, token, gate_state,  # noqa: ANN001
         gate_id) -> None:
    """Wait for an outcome: exit 0 approved/executed, 1 rejected/expired, 4 still pending."""
    queue = _queue(server, folder, token, gate_state, gate_id)
    try:
        view = queue.wait(resolve_id(queue, proposal_id).hash, timeout)
    finally:
        report_problems(queue)
    click.echo(f"{view.hash} {view.status}")
    sys.exit({"approved": EXIT_APPROVED, "executed": EXIT_APPROVED,
              "pending": EXIT_PENDING}.get(view.status, EXIT_REFUSED))


@click.group()
def bundle() -> None:
    """Proof bundles."""


@bundle.command("export")
@click.argument("proposal_id")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--identity", default=None, help="Reviewer identity (with --key-file) instead "
              "of a token.")
@click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path), default=None)
@_transport_options
def export(proposal_id: str, output: Path, identity: str | None, key_file: Path | None,
           server, folder, token, gate_state, gate_id) -> None:  # noqa: ANN001
    """Write the proof bundle of a finished proposal (executed, rejected or expired)."""
    from core.queue.atomic import write_atomic

    if folder is not None and gate_state is None:
        from core.queue.folder import FolderQueue

        queue = FolderQueue(folder, role="reviewer")
    elif identity is not None:
        from core.cli.common import reviewer_queue

        queue, _ = reviewer_queue(server, folder, identity, key_file)
    else:
        queue = _queue(server, folder, token, gate_state, gate_id)
    try:
        view = resolve_id(queue, proposal_id)
        data = queue.export_bundle(view.hash)
    finally:
        report_problems(queue)
    write_atomic(output, data, mode=0o644)
    note = {"executed": "", "rejected": " (rejected: no receipt)",
            "expired": " (expired: no receipt)"}.get(view.status, "")
    click.echo(f"wrote {output}{note}")
    if not data:
        raise InvalidData("not_final", "empty bundle")
