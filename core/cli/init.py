"""`foureyes init DIR`: a working deployment in one step, and what to type next.

Everything a first deployment needs is made at once, each secret 0600 in a 0700 folder:
the policy (commented, every key explained), the log key outside the data directory, the
gate's signing and seal keys, agent, gate and auditor tokens (server transport), example
reviewer keys, and the auditors' trust.toml, allowed_signers and release_signers. Nothing
existing is ever overwritten: a non-empty DIR is refused.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path

import click

PRIVATE_DIR_MODE = 0o700
APPROVERS = (("alice@example.com", ("finance",)), ("bob@example.com", ("sre",)),
             ("carol@example.com", ("finance",)))
REQUESTER = "dave@example.com"
AGENT = "agent:deploy-bot"
GATE = "gate:prod"
AUDITOR = "audit@example.com"
EXAMPLE_ROUTE = "payments.transfer"
EXAMPLE_PARAMS = {"amount_minor": 120000, "currency": "USD", "to": "acct-991"}
EXAMPLE_SUMMARY = {"title": "Pay invoice 4411", "why": "Due today",
                   "blast_radius": "one vendor", "reversibility": "irreversible"}

POLICY_TEMPLATE = '''\
# Foureyes policy, made by `foureyes init`. Every key is explained; docs/policy.md has more.
# The policy's hash is over these exact bytes: any edit (a comment too) makes a new policy,
# so hand the new hash (`foureyes policy check policy.toml`) to your auditors' trust.toml.

schema = "foureyes.policy/v1"  # required, always this value
name = "{name}"                # required: a label shown to reviewers and auditors
default = "deny"               # required: a route no rule matches is refused ("allow" runs it)
ttl = "30m"                    # required: how long a proposal waits for decisions (s/m/h/d)

# [[approvers]]: the roster. Only these people can approve or reject. The example keys
# below are key files in reviewers/ so you can try everything at once; for real use,
# each person runs `foureyes keys new --identity THEM` (the key stays in their OS keyring)
# and hands you the public line `foureyes keys show --identity THEM` prints.
{approvers}
# [[gates]]: the executors. A gate checks the signed decisions itself, runs the action
# once and signs a receipt. `seal_key` is needed only with a shared folder: reviewers seal
# their decisions to it so no reviewer can read another's verdict on the share.
{gates}
# [[logs]]: the audit log keys whose signed checkpoints count. The server (or folder gate)
# refuses to run with a log key that is not listed here.
[[logs]]
key = "{log_key}"

# [[rules]]: the first rule whose route (and `when`) matches applies.
# Two-person rule: every payment needs two approvals from the roster.
[[rules]]
route = "payments.*"           # a case-sensitive glob: * and ? only
approvals = 2                  # counted approvals needed; the requester and agent never count
ttl = "2h"                     # optional: this rule's proposals may wait longer

# IAM changes: two approvers who share no group (here one from finance, one from sre).
[[rules]]
route = "iam.*"
approvals = 2
groups = ["finance", "sre"]    # optional: only approvers holding one of these groups count
distinct_groups = true         # optional: no two counted approvers may share a group

# Large refunds only: `when` tests action parameters (eq ne gt gte lt lte in not_in).
# A missing or mistyped parameter makes a condition true, so the stricter rule applies.
[[rules]]
route = "refunds.create"
when = {{ amount_minor = {{ gte = 100000 }} }}
approvals = 2

# Zero approvals: read-only reports run at once, but still through the queue and the log.
[[rules]]
route = "reports.read"
approvals = 0
'''


@dataclass
class Made:
    """Paths `init` made, relative to where the command ran (what the user types)."""

    root: Path
    transport: str
    port: int = 8700

    def p(self, *parts: str) -> str:
        return shlex.quote(str(self.root.joinpath(*parts)))


def register(group: click.Group) -> None:
    group.add_command(init)


def _approver_block(identity: str, key: str, groups: tuple[str, ...]) -> str:
    quoted = ", ".join(f'"{g}"' for g in groups)
    return (f'[[approvers]]\nidentity = "{identity}"\nkey = "{key}"\n'
            f"groups = [{quoted}]            # optional: teams, for `groups` and "
            "`distinct_groups` in rules\n"
            '# valid_after = "2026-01-01T00:00:00Z"   # optional: not before this time\n'
            '# valid_before = "2027-01-01T00:00:00Z"  # optional: not from this time on\n')


def _private_dir(path: Path) -> Path:
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    path.chmod(PRIVATE_DIR_MODE)
    return path


@click.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--transport", type=click.Choice(["server", "folder"]), default="server",
              show_default=True,
              help="server: a queue server reached over HTTP; folder: a shared folder "
              "(network share or USB stick) with a gate that collects decisions.")
@click.option("--name", default="first-deployment", show_default=True,
              help="The policy's name, shown to reviewers.")
@click.option("--port", default=8700, show_default=True, type=click.IntRange(1, 65535),
              help="Port the printed `serve` command uses (server transport).")
@click.option("--log-name", default="localhost/foureyes", show_default=True,
              help="The audit log's origin (and key name), e.g. queue.example.com/foureyes.")
def init(directory: Path, transport: str, name: str, port: int, log_name: str) -> None:
    """Scaffold a working deployment in DIRECTORY and print the next commands.

    Makes policy.toml (commented), the log key (outside the data directory), the gate's
    keys, agent/gate/auditor tokens (server), example reviewer keys, and for auditors
    trust.toml, allowed_signers and release_signers. Refuses a non-empty DIRECTORY.
    """
    from core.bundle.trust import parse_trust
    from core.log.keyfile import save_log_key
    from core.log.note import LogSigner
    from core.policy import Policy
    from core.policy.lint import lint
    from core.signing import FileKeySource, allowed_signers_line

    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise click.UsageError(f"{directory} already exists and is not empty; nothing was "
                               "changed (init never overwrites a deployment)")
    if '"' in name or "\\" in name or "\n" in name or not name.strip():
        raise click.BadParameter("a plain name without quotes", param_hint="--name")
    from core.cli.folder import make_gate_state

    LogSigner.generate(log_name)  # a bad --log-name fails here, before anything is made
    _private_dir(directory)
    made = Made(directory, transport, port)
    reviewers = _private_dir(directory / "reviewers")
    approver_blocks, release_lines = [], []
    for identity, groups in APPROVERS:
        key = FileKeySource(reviewers / f"{identity.split('@')[0]}.key").create(identity)
        approver_blocks.append(_approver_block(identity, key.openssh(), groups))
        release_lines.append(allowed_signers_line(identity, key, ("foureyes-release-v1",)))
    gate_state = directory / "gate"
    if transport == "folder":
        gate = make_gate_state(gate_state, GATE, log_name)  # the log lives with the gate
        log_key_text = gate.log_key
    else:
        gate = make_gate_state(gate_state, GATE, None)
        log = LogSigner.generate(log_name)
        save_log_key(directory / "log.key", log)  # beside data/, never in it
        log_key_text = log.verifier_key
    gates = (f'[[gates]]\nidentity = "{gate.identity}"\nkey = "{gate.key}"\n'
             f'seal_key = "{gate.seal_key}"\n')
    text = POLICY_TEMPLATE.format(name=name, approvers="\n".join(approver_blocks),
                                  gates=gates, log_key=log_key_text)
    policy_path = directory / "policy.toml"
    policy_path.write_text(text, "utf-8")
    policy = Policy.from_bytes(text.encode())
    for warning in lint(policy):  # the tests keep the template free of warnings
        click.echo(f"warning: {warning}", err=True)

    auditor = directory / "auditor"
    auditor.mkdir()
    trust = (f'# What this auditor accepts: the policy hash and the log key.\n'
             f'policies = ["{policy.hash}"]\nlogs = ["{log_key_text}"]\n')
    parse_trust(trust.encode())
    (auditor / "trust.toml").write_text(trust, "utf-8")
    (auditor / "allowed_signers").write_text(
        f"# for ssh-keygen -Y verify; from policy {policy.hash}\n" + policy.allowed_signers(),
        "utf-8")
    (auditor / "release_signers").write_text(
        "# who may sign releases (foureyes release verify --signers); replace with your\n"
        "# release team's `foureyes keys export --namespace foureyes-release-v1` lines\n"
        + "".join(line + "\n" for line in release_lines), "utf-8")

    if transport == "server":
        _tokens(directory, policy_path)
    else:
        from core.cli.folder import init as folder_init

        click.get_current_context().invoke(folder_init, root=directory / "share",
                                           policy_path=policy_path)
    _report(made, policy)


def _tokens(directory: Path, policy_path: Path) -> None:
    from core.cli.tokens import check_fits
    from core.policy import Policy
    from core.server.store import ServerStore
    from core.signing.keyfile import write_private

    policy = Policy.from_bytes(policy_path.read_bytes())
    tokens = _private_dir(directory / "tokens")
    store = ServerStore(directory / "data")
    try:
        for role, identity in (("agent", AGENT), ("gate", GATE), ("auditor", AUDITOR)):
            check_fits(role, identity, policy)
            secret = store.create_token(role, identity, 90 * 86400)
            write_private(tokens / f"{role}.token", secret + "\n")
    finally:
        store.close()


def _report(made: Made, policy) -> None:  # noqa: ANN001 - Policy
    d = made.root
    click.echo(f"Made a {made.transport} deployment in {d}:")
    rows = [("policy.toml", f"the policy {policy.name!r} {policy.hash}"),
            ("reviewers/", "example reviewer keys (alice, bob, carol); real reviewers use "
                           "their OS keyring"),
            ("gate/", "the gate's signing key and seal key (and its private state)"),
            ("auditor/", "trust.toml, allowed_signers and release_signers for auditors")]
    if made.transport == "server":
        rows[2:2] = [("log.key", "the audit log's signing key, outside the data directory"),
                     ("data/", "the server's store, with the tokens below"),
                     ("tokens/", "agent.token, gate.token, auditor.token (0600; pass them "
                                 "in FOUREYES_TOKEN, not on a command line)")]
    else:
        rows[2:3] = [("gate/", "the gate's signing, seal and log keys and its private "
                               "state (keep it off the share)"),
                     ("share/", "the shared folder (copy its role to a network share or "
                                "USB stick)")]
    for path, what in rows:
        click.echo(f"  {path:<13} {what}")
    click.echo("")
    click.echo("Next:")
    for line in next_commands(made):
        click.echo(f"  {line}" if line else "")


def next_commands(made: Made) -> list[str]:
    """The exact commands to reach an executed, verified action; ID and FINGERPRINT are what
    `propose` prints (the proposal hash, and the action fingerprint reviewers type)."""
    p = made.p
    params = shlex.quote(json.dumps(EXAMPLE_PARAMS, separators=(",", ":")))
    summary = shlex.quote(json.dumps(EXAMPLE_SUMMARY, separators=(",", ":")))
    if made.transport == "server":
        url = f"http://127.0.0.1:{made.port}"
        where = f"--server {url}"
        head = [
            "# 1. the server, in its own terminal (Ctrl+C stops it):",
            f"foureyes serve --policy {p('policy.toml')} --data {p('data')} "
            f"--log-key {p('log.key')} --port {made.port}",
            "# 2. the agent proposes (the token comes from the environment):",
            f"export FOUREYES_TOKEN=\"$(cat {p('tokens', 'agent.token')})\"",
        ]
        gate_env = f"FOUREYES_TOKEN=\"$(cat {p('tokens', 'gate.token')})\" "
        bundle_out = "payment.foureyes"
        run_gate = (f"{gate_env}foureyes gate run ID {where} --gate-state {p('gate')} "
                    f"-o {bundle_out} -- cat")
    else:
        where = f"--folder {p('share')}"
        head = ["# 1. the agent's side proposes through the gate's private state:"]
        gate_args = f"--folder {p('share')} --gate-state {p('gate')}"
        bundle_out = "payment.foureyes"
        run_gate = f"foureyes gate run ID {gate_args} -o {bundle_out} -- cat"
    propose_where = where if made.transport == "server" else \
        f"--folder {p('share')} --gate-state {p('gate')}"
    return [
        *head,
        f"foureyes propose {propose_where} --route {EXAMPLE_ROUTE} --params {params} "
        f"--summary {summary} --requester {REQUESTER}",
        "#    it prints the proposal hash (ID) and, on stderr, the action FINGERPRINT",
        "# 3. two reviewers decide (or in the desktop app: foureyes app):",
        f"foureyes review show ID {where} --identity bob@example.com "
        f"--key-file {p('reviewers', 'bob.key')}",
        f"foureyes decide ID --approve --reason 'Checked invoice 4411' {where} "
        f"--identity bob@example.com --key-file {p('reviewers', 'bob.key')} "
        "--yes-i-checked FINGERPRINT",
        f"foureyes decide ID --approve --reason 'Matches the PO' {where} "
        f"--identity carol@example.com --key-file {p('reviewers', 'carol.key')} "
        "--yes-i-checked FINGERPRINT",
        "# 4. the gate checks the signatures itself, runs the command once with the",
        "#    approved parameters on stdin, signs the receipt and writes the proof bundle:",
        run_gate,
        "# 5. an auditor verifies the bundle offline:",
        f"foureyes verify {bundle_out} --trust {p('auditor', 'trust.toml')}",
    ]
