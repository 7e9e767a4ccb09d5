"""`foureyes tokens create|list|revoke`: bearer tokens for agents, gates and auditors.

Tokens are stored hashed and expire. A token must fit the active policy: an agent token
names an `agent:` identity, a gate token a gate of the policy, and an auditor token never
an approver (auditors see verdicts; a reviewer must not). The server re-checks all of this
on every request, so a later policy change takes effect at once. Listing shows a token's id
(a prefix of its hash), never its secret.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import click

from core.errors import InvalidData
from core.formats.fields import identity as check_identity
from core.formats.fields import parse_ttl
from core.textsafety import shown

DEFAULT_TOKEN_LIFETIME = "90d"
ROLES = ("agent", "gate", "auditor")

_data_option = click.option("--data", "data_dir", required=True,
                            type=click.Path(file_okay=False, path_type=Path),
                            help="The server's data directory.")


_existing_data_option = click.option("--data", "data_dir", required=True,
                                     type=click.Path(exists=True, file_okay=False,
                                                     path_type=Path),
                                     help="The server's data directory.")


def register(group: click.Group) -> None:
    group.add_command(tokens)


def active_policy(store):  # noqa: ANN001, ANN201 - ServerStore -> Policy | None
    """The policy the server last activated in this store, or None before its first start."""
    from core.formats import Event
    from core.policy import Policy

    for index in range(store.log.size - 1, -1, -1):
        event = Event.from_bytes(store.log.entry(index))
        if event.type == "policy.activated":
            row = store.conn.execute("SELECT body FROM policies WHERE hash=?",
                                     (event.get("policy"),)).fetchone()
            return Policy.from_bytes(bytes(row[0])) if row else None
    return None


def check_fits(role: str, identity: str, policy) -> None:  # noqa: ANN001 - Policy
    """Refuse a token that does not fit its role under `policy`."""
    kinds = {"agent": ("agent",), "gate": ("gate",), "auditor": ("human",)}[role]
    check_identity(identity, "--identity", kinds)
    if role == "gate" and policy.gate(identity) is None:
        raise InvalidData("role", f"{identity} is not a gate of the policy {policy.name}")
    if role == "auditor" and policy.approver(identity) is not None:
        raise InvalidData("role", f"{identity} is an approver in the policy {policy.name}; "
                          "an auditor sees verdicts, so a reviewer cannot be one")


@click.group()
def tokens() -> None:
    """Bearer tokens for agents, gates and auditors (stored hashed, expiring)."""


@tokens.command("create")
@click.option("--role", type=click.Choice(ROLES), required=True,
              help="agent (proposes), gate (claims, records receipts) or auditor (reads "
              "the log and bundles).")
@click.option("--identity", required=True, help="agent:NAME, gate:NAME or a person.")
@_data_option
@click.option("--policy", "policy_path", type=click.Path(exists=True, dir_okay=False,
                                                        path_type=Path), default=None,
              help="The policy the server runs (default: the one it last activated).")
@click.option("--expires-in", default=DEFAULT_TOKEN_LIFETIME, show_default=True,
              help="Lifetime: a number and a unit s, m, h or d.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the token to this new 0600 file instead of printing it; then "
              "only the token's id is printed (for `tokens revoke`).")
def create(role: str, identity: str, data_dir: Path, policy_path: Path | None,
           expires_in: str, output: Path | None) -> None:
    """Create a token and print it once (or write it to -o FILE); only its hash is kept.

    Hand it to the agent, gate or auditor, who passes it as FOUREYES_TOKEN."""
    from core.policy import Policy
    from core.server.store import ServerStore

    lifetime = parse_ttl(expires_in, "--expires-in").total_seconds()
    check_identity(identity, "--identity",
                   {"agent": ("agent",), "gate": ("gate",), "auditor": ("human",)}[role])
    store = ServerStore(data_dir)
    try:
        policy = Policy.from_bytes(policy_path.read_bytes()) if policy_path else \
            active_policy(store)
        if policy is None:
            raise InvalidData("policy", "the server has not run yet; give --policy")
        check_fits(role, identity, policy)
        token = store.create_token(role, identity, lifetime)
    finally:
        store.close()
    from core.server.store import TOKEN_ID_CHARS, token_hash

    token_id = token_hash(token)[:TOKEN_ID_CHARS]
    if output is not None:
        from core.signing.keyfile import write_private

        write_private(output, token + "\n")
        click.echo(f"{role} token {token_id} for {identity}, valid {expires_in}, written to "
                   f"{output}", err=True)
        click.echo(token_id)
        return
    click.echo(f"{role} token {token_id} for {identity}, valid {expires_in} (shown once):")
    click.echo(token)


def _when(t: float | None) -> str:
    if t is None:
        return "-"
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@tokens.command("list")
@_existing_data_option
@click.option("--all", "show_all", is_flag=True, help="Include expired and revoked tokens.")
def list_tokens(data_dir: Path, show_all: bool) -> None:
    """List tokens and reviewer sessions by id; never their secrets."""
    from core.server.store import ServerStore

    store = ServerStore(data_dir)
    try:
        rows = store.list_tokens()
    finally:
        store.close()
    now = time.time()
    click.echo(f"{'ID':<12}  {'ROLE':<8}  {'STATE':<7}  {'EXPIRES':<20}  IDENTITY")
    for t in rows:
        state = t.state(now)
        if show_all or state == "active":
            click.echo(f"{shown(t.id):<12}  {shown(t.role):<8}  {state:<7}  "
                       f"{_when(t.expires_at):<20}  {shown(t.identity)}")


@tokens.command("revoke")
@click.argument("token_id", metavar="ID")
@_existing_data_option
def revoke(token_id: str, data_dir: Path) -> None:
    """Revoke a token (or a reviewer session) by the id `tokens list` shows; at once."""
    from core.server.store import ServerStore

    store = ServerStore(data_dir)
    try:
        row = store.revoke_token(token_id)
    finally:
        store.close()
    click.echo(f"revoked {shown(row.role)} token {shown(row.id)} of {shown(row.identity)}")
