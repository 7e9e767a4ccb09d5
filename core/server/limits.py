"""Every size, count and time limit the queue server enforces, named in one place.

An operator tuning the server, or an auditor asking "how long may a login challenge live?",
reads this file; nothing else in the server hides a bare number.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import timedelta

# Request size, checked on the raw byte stream before any parser sees it.
MAX_BODY_BYTES = 256 * 1024

# Long-poll: a wait request never holds a connection longer than this.
MAX_WAIT_SECONDS = 30.0
DEFAULT_WAIT_SECONDS = 10.0
# How often a waiting request looks at the in-memory change counter (not the database).
WAIT_POLL_SECONDS = 0.1

# The background sweeper that marks expired proposals.
SWEEP_SECONDS = 1.0

# Login: a challenge is single use and short-lived; a session is short-lived too.
CHALLENGE_SECONDS = 120.0
SESSION_SECONDS = 15 * 60.0
# Unanswered challenges kept at once; beyond this, asking for one is refused (429).
MAX_OPEN_CHALLENGES = 10_000
# Expired sessions are kept this long before being purged.
EXPIRED_SESSION_KEEP_SECONDS = 24 * 3600.0

# How far a client's clock may be from ours (created_at, decided_at, executed_at).
CLOCK_SKEW = timedelta(minutes=2)

# Reads: one page of log entries, and at most this many proposals in one list.
MAX_ENTRIES_PAGE = 1000
MAX_LIST_PROPOSALS = 1000

# Per-agent flood protection: reviewers' attention is the scarce resource.
DEFAULT_MAX_OPEN_PER_AGENT = 20
DEFAULT_MAX_PER_MINUTE_PER_AGENT = 30
RATE_WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class Limits:
    """The per-agent limits `foureyes serve` makes configurable."""

    max_open_per_agent: int = DEFAULT_MAX_OPEN_PER_AGENT
    max_per_minute_per_agent: int = DEFAULT_MAX_PER_MINUTE_PER_AGENT


def rate_problem(conn: sqlite3.Connection, proposer: str, limits: Limits,
                 now: float) -> str | None:
    """Why ``proposer`` may not queue another proposal right now, or None.

    Runs inside the write transaction that would insert the proposal, so two concurrent
    submissions cannot both slip under the limit.
    """
    (open_count,) = conn.execute(
        "SELECT COUNT(*) FROM proposals WHERE proposer=? AND status IN ('pending','approved')",
        (proposer,)).fetchone()
    if open_count >= limits.max_open_per_agent:
        return (f"{proposer} already has {open_count} open proposals (limit "
                f"{limits.max_open_per_agent}); wait until some are decided or expire")
    (recent,) = conn.execute(
        "SELECT COUNT(*) FROM proposals WHERE proposer=? AND received_at > ?",
        (proposer, now - RATE_WINDOW_SECONDS)).fetchone()
    if recent >= limits.max_per_minute_per_agent:
        return (f"{proposer} queued {recent} proposals in the last minute (limit "
                f"{limits.max_per_minute_per_agent}); try again later")
    return None
