"""Operator commands: `foureyes propose`, `foureyes wait`, `foureyes bundle export` and
`foureyes gate run` (execute an approved proposal once and publish its bundle)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from core.cli.common import pick_transport, queue_options, resolve_id
from core.errors import InvalidData, TransportError
from core.textsafety import shown

# `wait` (and `gate run`) exit codes, stable for scripts; 2 is a wrong command line.
EXIT_APPROVED, EXIT_REJECTED, EXIT_EXPIRED, EXIT_PENDING = 0, 1, 3, 4
EXIT_UNREACHABLE, EXIT_UNAUTHORIZED = 5, 6
EXIT_REFUSED = EXIT_REJECTED
UNAUTHORIZED_CODES = frozenset({"unauthenticated", "token_expired", "token_revoked",
                                "forbidden", "proposer", "role_conflict", "login",
                                "not_in_roster"})
WAIT_SLICE = 2.0  # seconds per poll while showing progress on a terminal


def register(group: click.Group) -> None:
    group.add_command(propose)
    group.add_command(wait)
    group.add_command(bundle)
    group.add_command(gate)


def _queue(server: str | None, folder: Path | None, token: str | None,
           gate_state: Path | None, gate_id: str, ca: str | None = None):  # noqa: ANN202
    pick_transport(server, folder)
    if server is not None:
        from core.queue.http import HttpQueue

        if not token:
            raise click.UsageError("--token (or FOUREYES_TOKEN) is needed with --server")
        return HttpQueue(server, token=token, ca=ca)
    if gate_state is None:
        raise click.UsageError("--gate-state STATE is needed with --folder (see folder gate-init)")
    from core.cli.folder import gate_folder_queue

    return gate_folder_queue(folder, gate_state, gate_id)


def report_problems(queue) -> None:  # noqa: ANN001 - a Queue
    """Show the operator what a folder queue refused or skipped, on stderr."""
    take = getattr(queue, "take_problems", None)
    if take is None:
        return
    problems, more = take()
    for problem in problems:
        click.echo(f"warning: [{shown(problem.code)}] {shown(problem.name)}: "
                   f"{shown(problem.message)}", err=True)
    if more:
        click.echo(f"warning: {more} more problems on the folder (see the gate's state)",
                   err=True)


def _transport_options(f):  # noqa: ANN001, ANN202
    f = click.option("--gate", "gate_id", default="gate:prod", show_default=True,
                     help="The gate identity whose keys --gate-state holds (folder queues).")(f)
    f = click.option("--gate-state", type=click.Path(file_okay=False, path_type=Path),
                     help="The gate's keys and private state: needed with --folder, and by "
                     "`gate run` with either queue.")(f)
    f = click.option("--token", envvar="FOUREYES_TOKEN", show_envvar=True,
                     help="Agent, gate or auditor bearer token (`foureyes tokens create`); "
                     "better set FOUREYES_TOKEN than put it on the command line.")(f)
    return queue_options(f)


def _token_identity(queue, role: str, doing: str) -> str:  # noqa: ANN001 - HttpQueue
    """Who the server says this token stands for, if it is a `role` token."""
    have, me = queue.whoami()
    if have != role:
        raise InvalidData("forbidden", f"this is a {have} token ({me}); {doing} needs "
                          f"a{'n' if role[0] in 'aeiou' else ''} {role} token")
    return me


@click.command()
@click.option("--route", required=True, help="The action's route, e.g. payments.transfer.")
@click.option("--params", "params_json", required=True, help="JSON object of parameters.")
@click.option("--summary", "summary_json", required=True,
              help='JSON summary: {"title", "why", "blast_radius", "reversibility", ...}.')
@click.option("--requester", required=True, help="The person who asked for this.")
@click.option("--agent", default=None,
              help="The proposing agent. With --server it is the agent your token stands "
              "for (asked from the server); with --folder, default agent:cli.")
@click.option("--job-id", default=None, help="Your job id (default: a random one).")
@_transport_options
def propose(route: str, params_json: str, summary_json: str, requester: str,
            agent: str | None, job_id: str | None, server, folder, ca, token,  # noqa: ANN001
            gate_state, gate_id) -> None:  # noqa: ANN001
    """Queue a proposal under the queue's active policy and print its hash.

    The action fingerprint reviewers type to approve is printed on stderr.
    """
    from core.formats import now_utc
    from core.gate.sdk import build_proposal
    from core.policy import Policy

    try:
        params, summary = json.loads(params_json), json.loads(summary_json)
    except ValueError as e:
        raise click.UsageError(f"--params and --summary must be JSON: {e}") from e
    if not isinstance(params, dict) or not isinstance(summary, dict):
        raise click.UsageError("--params and --summary must be JSON objects")
    queue = _queue(server, folder, token, gate_state, gate_id, ca)
    if server is not None:
        me = _token_identity(queue, "agent", "proposing")
        if agent is not None and agent != me:
            raise InvalidData("proposer", f"your token stands for {me}, not {agent}; the "
                              "server takes the proposer from the token")
        agent = me
    policy = Policy.from_bytes(queue.policy_bytes())
    proposal = build_proposal(policy, route, params, summary, requester=requester,
                              agent=agent or "agent:cli", job_id=job_id, now=now_utc())
    try:
        queue.submit_proposal(proposal)
    finally:
        report_problems(queue)
    click.echo(f"proposed as {proposal.proposer}; action fingerprint "
               f"{proposal.action_hash[7:15]} (reviewers type it to approve); expires "
               f"{proposal.data['expires_at']}", err=True)
    click.echo(proposal.hash)


def exit_code_of(status: str) -> int:
    return {"approved": EXIT_APPROVED, "executed": EXIT_APPROVED, "claimed": EXIT_APPROVED,
            "pending": EXIT_PENDING, "expired": EXIT_EXPIRED}.get(status, EXIT_REJECTED)


def error_exit_code(e: Exception) -> int:
    from core.errors import TransportError

    if isinstance(e, TransportError):
        return EXIT_UNREACHABLE
    if isinstance(e, InvalidData) and e.code in UNAUTHORIZED_CODES:
        return EXIT_UNAUTHORIZED
    return EXIT_REJECTED


def wait_for(queue, proposal_hash: str, timeout: float):  # noqa: ANN001, ANN201 - ProposalView
    """Wait for an outcome; on a terminal, one line on stderr per state change."""
    import time

    from core.formats import now_utc

    chatty = sys.stderr.isatty()
    deadline = time.monotonic() + timeout
    last = None
    while True:
        left = max(0.0, deadline - time.monotonic())
        view = queue.wait(proposal_hash, min(left, WAIT_SLICE) if chatty else left)
        if chatty and view.status != last:
            click.echo(f"{now_utc():%H:%M:%S} {shown(view.status)}", err=True)
            last = view.status
        if view.status != "pending" or time.monotonic() >= deadline:
            return view


@click.command(epilog="Exit codes: 0 approved (or executed), 1 rejected, 2 wrong command line, "
               "3 expired, 4 still pending at the timeout, 5 queue unreachable, "
               "6 unauthorized (token missing, expired, revoked or of the wrong role).")
@click.argument("proposal_id", metavar="ID")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait at most.")
@_transport_options
def wait(proposal_id: str, timeout: float, server, folder, ca, token,  # noqa: ANN001
         gate_state, gate_id) -> None:  # noqa: ANN001
    """Wait for an outcome of proposal ID (a hash or its first 8+ hex characters).

    On a terminal, a line per state change goes to stderr; piped, only the final
    "HASH STATUS" line is printed.
    """
    try:
        queue = _queue(server, folder, token, gate_state, gate_id, ca)
        try:
            view = wait_for(queue, resolve_id(queue, proposal_id).hash, timeout)
        finally:
            report_problems(queue)
    except (InvalidData, TransportError) as e:
        click.echo(f"error: {e.diagnostics()}", err=True)
        sys.exit(error_exit_code(e))
    click.echo(f"{view.hash} {shown(view.status)}")
    sys.exit(exit_code_of(view.status))


@click.group()
def bundle() -> None:
    """Proof bundles: export one for an auditor (`foureyes verify` checks it)."""


@bundle.command("export")
@click.argument("proposal_id")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the .foureyes bundle.")
@click.option("--identity", default=None, help="Reviewer identity (with --key-file) instead "
              "of a token.")
@click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The reviewer's key file (default: the OS keyring).")
@_transport_options
def export(proposal_id: str, output: Path, identity: str | None, key_file: Path | None,
           server, folder, ca, token, gate_state, gate_id) -> None:  # noqa: ANN001
    """Write the proof bundle of a finished proposal (executed, rejected or expired)."""
    from core.queue.atomic import write_atomic

    if folder is not None and gate_state is None:
        from core.queue.folder import FolderQueue

        queue = FolderQueue(folder, role="reviewer")
    elif identity is not None:
        from core.cli.common import reviewer_queue

        queue, _ = reviewer_queue(server, folder, identity, key_file, ca)
    else:
        queue = _queue(server, folder, token, gate_state, gate_id, ca)
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


@click.group()
def gate() -> None:
    """The gate from the command line: execute an approved proposal once."""


def _run_command(argv: tuple[str, ...], proposal_hash: str):  # noqa: ANN202
    """`execute` for the SDK: the command gets the approved params as JSON on stdin."""
    import os
    import subprocess

    def execute(params: dict) -> str:
        body = json.dumps(params, ensure_ascii=False)
        try:
            done = subprocess.run(list(argv), input=body, text=True, capture_output=True,
                                  check=False, env={**os.environ, "FOUREYES_PARAMS": body,
                                                    "FOUREYES_PROPOSAL": proposal_hash})
        except OSError as e:
            raise CommandFailed(f"cannot run {argv[0]}: {e.strerror or e}") from e
        if done.stdout:
            click.echo(done.stdout, nl=not done.stdout.endswith("\n"))
        if done.stderr:
            click.echo(done.stderr, nl=False, err=True)
        if done.returncode != 0:
            raise CommandFailed(f"{argv[0]} exited with status {done.returncode}")
        return done.stdout

    return execute


class CommandFailed(Exception):
    """The executed command failed: the receipt says "failed"; it never runs again."""


@gate.command("run", epilog="Exit codes: 0 executed, 1 rejected or refused, 2 wrong command "
              "line, 3 expired, 4 still pending at the timeout, 5 queue unreachable, "
              "6 unauthorized, 7 executed but the command failed (receipt: failed).")
@click.argument("proposal_id", metavar="ID")
@click.argument("command", nargs=-1, required=True, metavar="-- COMMAND [ARGS]...")
@click.option("--timeout", default=300.0, show_default=True,
              help="Seconds to wait for the decisions at most.")
@click.option("--policy", "policy_path", type=click.Path(exists=True, dir_okay=False,
                                                        path_type=Path), default=None,
              help="The policy the gate pins (server queues; default: the server's active "
              "policy, which must list this gate's key). A folder gate pins its own.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the proof bundle here once the receipt is recorded.")
@_transport_options
def run(proposal_id: str, command: tuple[str, ...], timeout: float, policy_path: Path | None,
        output: Path | None, server, folder, ca, token, gate_state, gate_id) -> None:  # noqa: ANN001
    """Wait for ID's decisions, verify the quorum from the signatures, run COMMAND once.

    COMMAND gets exactly the approved parameters as JSON on stdin (and in FOUREYES_PARAMS).
    The gate's key is GATE_STATE/gate.key (`foureyes init` or `folder gate-init` made it);
    the one-execution ledger lives in GATE_STATE too. With --server, use a gate token.
    With --folder, the bundle is published on the share (bundles/HASH.foureyes).
    """
    from core.gate import Gate, GateRefused, StillPending
    from core.queue.atomic import write_atomic
    from core.signing import FileKeySource

    if gate_state is None:
        raise click.UsageError("--gate-state STATE is needed: it holds the gate's key")
    try:
        queue = _queue(server, folder, token, gate_state, gate_id, ca)
        if server is not None:
            gate_id = _token_identity(queue, "gate", "executing")
        signer = FileKeySource(gate_state / "gate.key").signer(gate_id)
        policy_bytes = policy_path.read_bytes() if policy_path else queue.policy_bytes()
        runner = Gate(queue, policy_bytes, identity=gate_id, signer=signer, agent="agent:cli",
                      state_dir=gate_state)
        try:
            proposal = resolve_id(queue, proposal_id).proposal
            view = wait_for(queue, proposal.hash, timeout)
            if view.status == "pending":
                raise StillPending(f"no outcome for {proposal.hash} within {timeout:g} s; "
                                   "it may still be decided: run this again")
            try:
                result = runner.execute(proposal, _run_command(command, proposal.hash))
            except CommandFailed as e:
                click.echo(f"error: [failed] {e}; the receipt records the failure and the "
                           "action will not run again", err=True)
                sys.exit(7)
            bundle_bytes = queue.export_bundle(proposal.hash)
        finally:
            report_problems(queue)
            runner.close()
    except GateRefused as e:
        click.echo(f"error: {e.diagnostics()}", err=True)
        sys.exit({"pending": EXIT_PENDING, "expired": EXIT_EXPIRED}.get(e.code, EXIT_REJECTED))
    except (InvalidData, TransportError) as e:
        click.echo(f"error: {e.diagnostics()}", err=True)
        sys.exit(error_exit_code(e))
    receipt = result.receipt.hash if result.receipt else "-"
    click.echo(f"executed {proposal.hash} once; receipt {receipt}", err=True)
    if folder is not None:
        published = folder / "bundles" / (proposal.hash[7:] + ".foureyes")
        click.echo(f"bundle published on the share: {published}", err=True)
    if output is not None:
        write_atomic(output, bundle_bytes, mode=0o644)
        click.echo(f"wrote {output}", err=True)
