"""`foureyes stats`: staffing and rubber-stamp signals, read from the audit log.

Works on a server's data directory or a folder gate's private state: both keep the same
Merkle log (`log_entries`) and the signed decision documents it names. Read-only.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations
from pathlib import Path
from typing import Any

import click

from core.errors import InvalidData, TransportError

SERVER_DB = "server.sqlite"
FOLDER_DB = "folder-gate.sqlite"


def register(group: click.Group) -> None:
    group.add_command(stats)


@dataclass
class Reviewer:
    decisions: int = 0
    approves: int = 0
    rejects: int = 0
    refused: int = 0
    seconds: list[float] = field(default_factory=list)

    def row(self, who: str) -> dict[str, Any]:
        return {"reviewer": who, "decisions": self.decisions, "approves": self.approves,
                "rejects": self.rejects, "refused": self.refused,
                "approval_rate": round(self.approves / self.decisions, 3)
                if self.decisions else None,
                "median_seconds_to_decide": statistics.median(self.seconds)
                if self.seconds else None}


def _open(path: Path) -> tuple[sqlite3.Connection, str]:
    """The store in a server data directory or folder gate state, opened read-only."""
    for name, kind in ((SERVER_DB, "server"), (FOLDER_DB, "folder")):
        db = path / name
        if db.is_file():
            try:
                conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
                conn.execute("SELECT count(*) FROM log_entries").fetchone()
            except sqlite3.Error as e:
                raise TransportError("storage", f"cannot read the log in {db}: {e}") from e
            return conn, kind
    raise InvalidData("not_found", f"{path} holds no Foureyes log: give a server's --data "
                      "directory or a folder gate's --gate-state")


def _time(text: str) -> datetime:
    from core.formats.fields import parse_time

    return parse_time(text, "time")


def collect(path: Path) -> dict[str, Any]:
    """Every figure `stats` shows, as one JSON-able object."""
    from core.formats import Decision, Event, Proposal

    conn, kind = _open(path)
    try:
        bodies: dict[str, bytes] = {}
        table = ("SELECT body FROM decisions" if kind == "server"
                 else "SELECT body FROM counted")
        for (body,) in conn.execute(table):
            decision = Decision.from_bytes(bytes(body))
            bodies[decision.hash] = bytes(body)
        proposals: dict[str, Proposal] = {}
        table = ("SELECT body FROM proposals" if kind == "server"
                 else "SELECT raw FROM proposals")
        for (body,) in conn.execute(table):
            p = Proposal.from_bytes(bytes(body))
            proposals[p.hash] = p
        events = [Event.from_bytes(bytes(e)) for (e,) in
                  conn.execute("SELECT entry FROM log_entries ORDER BY idx")]
    except sqlite3.Error as e:
        raise TransportError("storage", f"cannot read {path}: {e}") from e
    finally:
        conn.close()

    reviewers: dict[str, Reviewer] = defaultdict(Reviewer)
    deciders: dict[str, set[str]] = defaultdict(set)
    approvals: dict[str, list[datetime]] = defaultdict(list)
    expired: list[dict[str, Any]] = []
    for event in events:
        if event.type == "decision.recorded":
            body = bodies.get(event.get("decision"))
            if body is None:
                continue
            d = Decision.from_bytes(body)
            r = reviewers[d.reviewer]
            r.decisions += 1
            if d.verdict == "approve":
                r.approves += 1
                approvals[d.data["proposal"]].append(d.decided_at)
            else:
                r.rejects += 1
            p = proposals.get(d.data["proposal"])
            if p is not None:
                created = _time(p.data["created_at"])
                r.seconds.append((d.decided_at - created).total_seconds())
            deciders[d.data["proposal"]].add(d.reviewer)
        elif event.type == "decision.refused":
            reviewers[event.get("reviewer")].refused += 1
        elif event.type == "proposal.expired":
            p = proposals.get(event.get("proposal"))
            expired.append({"proposal": event.get("proposal"),
                            "route": p.route if p else None,
                            "requester": p.requester if p else None,
                            "created_at": p.data["created_at"] if p else None,
                            "expires_at": p.data["expires_at"] if p else None})
    per_person: dict[str, set[str]] = defaultdict(set)
    for proposal, people in deciders.items():
        for who in people:
            per_person[who].add(proposal)
    pairs = []
    for a, b in combinations(sorted(per_person), 2):
        together = len(per_person[a] & per_person[b])
        if together:
            pairs.append({"pair": [a, b], "together": together,
                          "always": per_person[a] == per_person[b]})
    gaps = {h: (sorted(ts)[1] - sorted(ts)[0]).total_seconds()
            for h, ts in approvals.items() if len(ts) >= 2}
    return {
        "source": kind, "log_entries": len(events), "proposals": len(proposals),
        "reviewers": [reviewers[w].row(w) for w in sorted(reviewers)],
        "pairs": pairs,
        "first_to_second_approval_seconds": {
            "median": statistics.median(gaps.values()) if gaps else None,
            "max": max(gaps.values()) if gaps else None, "by_proposal": gaps},
        "expired": expired,
    }


def _dur(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def render(report: dict[str, Any]) -> str:
    """The table; every name and text from the log goes through `shown` (a refused
    decision's reviewer is whatever its writer claimed)."""
    from core.textsafety import shown

    lines = [f"{report['log_entries']} log entries, {report['proposals']} proposals "
             f"({report['source']} log)", "",
             f"{'REVIEWER':<28} {'DECIDED':>7} {'APPROVE%':>8} {'REJECTS':>7} "
             f"{'REFUSED':>7} {'MEDIAN TIME':>11}"]
    for r in report["reviewers"]:
        rate = "-" if r["approval_rate"] is None else f"{100 * r['approval_rate']:.0f}%"
        lines.append(f"{shown(r['reviewer']):<28} {r['decisions']:>7} {rate:>8} {r['rejects']:>7} "
                     f"{r['refused']:>7} {_dur(r['median_seconds_to_decide']):>11}")
    if not report["reviewers"]:
        lines.append("(no decisions yet)")
    lines += ["", "Pairs deciding on the same proposals:"]
    for p in report["pairs"]:
        flag = "  <- always together" if p["always"] else ""
        lines.append(f"  {shown(p['pair'][0])} + {shown(p['pair'][1])}: {p['together']}{flag}")
    if not report["pairs"]:
        lines.append("  (none)")
    gap = report["first_to_second_approval_seconds"]
    lines += ["", f"First to second approval: median {_dur(gap['median'])}, "
              f"max {_dur(gap['max'])}", "",
              "Expired proposals (for the team's review; never retried):"]
    for e in report["expired"]:
        lines.append(f"  {shown(e['proposal'][:19])}  {shown(e['route'] or '?'):<24} "
                     f"requested by {shown(e['requester'] or '?')}  "
                     f"expired {shown(e['expires_at'] or '?')}")
    if not report["expired"]:
        lines.append("  (none)")
    return "\n".join(lines)


@click.command("stats")
@click.option("--data", "data_dir", type=click.Path(exists=True, file_okay=False,
                                                    path_type=Path), default=None,
              help="A queue server's data directory.")
@click.option("--gate-state", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="A folder gate's private state directory.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a "
              "table.")
def stats(data_dir: Path | None, gate_state: Path | None, as_json: bool) -> None:
    """Per-reviewer decisions, approval rate, median time to decide and rejects; pairs that
    always decide together; time from first to second approval; expired proposals."""
    if (data_dir is None) == (gate_state is None):
        raise click.UsageError("give exactly one of --data DIR or --gate-state DIR")
    report = collect(data_dir or gate_state)
    click.echo(json.dumps(report, indent=2, ensure_ascii=True) if as_json else render(report))
