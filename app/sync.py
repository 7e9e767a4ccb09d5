"""What a sync prepares on the worker: rows, the model's update plan, and who to notify.

Everything here runs off the GUI thread (`app.workers`): parse the policy, build every row
once (reusing the rows of the last sync whose proposal did not change), plan the model's
update against the rows shown when the sync began, and work out which proposals wait for
this reviewer and which of those expire soon. The GUI thread then only applies the plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from PySide6.QtCore import Qt

from app.models import Row, SyncPlan, build_rows, plan_sync
from app.session import Pull, parse_policy
from core.formats import now_utc
from core.policy import Policy

EXPIRY_NOTICE = timedelta(minutes=5)  # "about to expire" for a proposal waiting for you


@dataclass(frozen=True)
class Prepared:
    """One sync (or the offline copy), turned into rows on the worker."""

    pull: Pull
    policy: Policy | None
    rows: list[Row]
    waiting: frozenset[str]  # waiting for this reviewer (eligible, undecided, live)
    expiring: frozenset[str]  # of those, expiring within EXPIRY_NOTICE
    plan: SyncPlan | None = None  # the diff against the rows shown when the sync began


def prepare(pull: Pull, identity: str, fallback: Policy | None,
            base: dict[str, Row] | None = None,
            order: tuple[int, Qt.SortOrder] | None = None) -> Prepared:
    """Worker side: parse the policy, build every row once, and plan the model update
    (rows sorted in ``order``, the model's sort when the sync began)."""
    policy = parse_policy(pull.policy) or fallback
    now = now_utc()
    same_policy = policy is not None and fallback is not None and policy.hash == fallback.hash
    rows = build_rows(pull.views, policy, identity, now, base if same_policy else None)
    waiting = frozenset(r.hash for r in rows if r.waiting(now))
    expiring = frozenset(r.hash for r in rows
                         if r.hash in waiting and r.expires - now <= EXPIRY_NOTICE)
    plan = plan_sync(base or {}, rows, now, order)
    return Prepared(pull, policy, rows, waiting, expiring, plan)
