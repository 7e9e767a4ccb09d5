"""`foureyes verify BUNDLE`, the work and the report, without click.

The click command in core.cli.verify and the fast start in core.cli.main both run `run`
here. The fast start exists because `foureyes verify` is what an auditor runs once per
bundle, often from a script over many: it reads its few arguments itself when they are
plain (`verify BUNDLE [--trust FILE] [--json]`, in any order) and never imports click; any
other spelling, `--help` included, goes through click, which says what is wrong.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from core.bundle.trust import load_trust
from core.bundle.verify import NotABundle, Report, verify_bundle_file
from core.errors import InvalidData
from core.textsafety import shown  # every value from the bundle is printed through it

EXIT_USAGE = 2
_ANSI = re.compile(r"\033\[[;?0-9]*[a-zA-Z]")  # what click.echo strips when not a terminal

Echo = Callable[..., None]


def render(report: Report) -> str:
    """The human report: what ran, who decided when, each check with a tick or its reason.
    Everything taken from the bundle goes through `shown`."""
    lines: list[str] = []
    p = report.proposal
    if p is not None:
        lines += [f"Proposal  {shown(p.hash)}",
                  f"Action    {shown(p.route)}  (action {shown(p.action_hash)})",
                  f"Job       {shown(p.job_id)}",
                  f"Requested by {shown(p.requester)}, proposed by {shown(p.proposer)}",
                  f"Valid     {shown(p.data['created_at'])} → {shown(p.data['expires_at'])}"]
    if report.policy is not None:
        lines.append(f"Policy    {shown(report.policy.name)}  {shown(report.policy.hash)}")
    if report.timeline:
        lines.append("")
        lines.append("Timeline")
        for item in report.timeline:
            who = f" {shown(item.who)}" if item.who else ""
            lines.append(f"  {item.at:%Y-%m-%d %H:%M:%S}Z  {shown(item.kind):<9}{who}  "
                         f"{shown(item.text)}")
    lines.append("")
    lines.append("Checks")
    for c in report.checks:
        lines.append(f"  {'✓' if c.ok else '✗'} {c.code:<18} {shown(c.message)}")
    lines.append("")
    lines.append(report.verdict)
    return "\n".join(lines)


def run(bundle: Path, trust_path: Path | None, as_json: bool, echo: Echo) -> NoReturn:
    """Verify, print the report with ``echo(text, err=...)``, exit with SPEC §9's code."""
    try:
        trust = load_trust(trust_path) if trust_path is not None else None
    except InvalidData as e:
        echo(f"error: [{e.code}] {shown(e.message)}", err=True)
        sys.exit(EXIT_USAGE)
    try:
        report = verify_bundle_file(bundle, trust)  # stat first, then a bounded read
    except NotABundle as e:
        echo(f"error: {shown(bundle)} is not a proof bundle: {shown(e)}", err=True)
        sys.exit(EXIT_USAGE)
    if as_json:
        # ASCII: JSON escapes C0 controls itself, but not C1 controls or bidi overrides.
        echo(json.dumps(report.to_json(), indent=2, ensure_ascii=True))
    else:
        echo(render(report))
    sys.exit(report.exit_code)


def plain_args(args: list[str]) -> tuple[Path, Path | None, bool] | None:
    """(bundle, trust, json) when ``args`` (after `verify`) are plain enough to read here
    exactly as click would; else None, and click reads them."""
    bundle: str | None = None
    trust: str | None = None
    as_json = False
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--json":
            as_json = True
        elif arg == "--trust" or arg.startswith("--trust="):
            if trust is not None:
                return None
            if arg == "--trust":
                i += 1
                if i == len(args):
                    return None
                trust = args[i]
            else:
                trust = arg[len("--trust="):]
            if not trust or trust.startswith("-"):
                return None
        elif arg.startswith("-") or bundle is not None or not arg:
            return None
        else:
            bundle = arg
        i += 1
    if bundle is None or any(os.path.isdir(p) for p in (bundle, trust) if p is not None):
        return None  # click's own message for a missing argument or a directory
    if not all(_utf8(s) for s in (sys.stdout, sys.stderr)):
        return None  # click re-wraps a stream that cannot write the report's ✓ and →
    return Path(bundle), (Path(trust) if trust is not None else None), as_json


def _utf8(stream: object) -> bool:
    encoding = getattr(stream, "encoding", None) or ""
    return encoding.lower().replace("-", "").replace("_", "") == "utf8"


def echo(message: str, err: bool = False) -> None:
    """What click.echo does with a line of text on a UTF-8 stream: write it and a newline,
    flush, and strip terminal colour codes when the stream is not a terminal."""
    stream = sys.stderr if err else sys.stdout
    if stream is None:
        return
    if not stream.isatty():
        message = _ANSI.sub("", message)
    stream.write(message + "\n")
    stream.flush()
