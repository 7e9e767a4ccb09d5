"""The queue as a Qt model (sorting and filtering itself), and the proxy the table uses.

Blind review is enforced here too, not only by the queue: while this reviewer has not
decided, no role of any index carries another reviewer's verdict or even a hint that one
exists (an "approved" status is shown as pending). Agent text is handed to views as data
for the default delegate, which paints plain text; nothing here is ever a tooltip, because
Qt renders tooltips as rich text when they look like HTML.

Scale (10,000 rows): everything a row shows, sorts or filters on is computed once per sync,
on the worker, into a `Row` (`build_rows`, reusing unchanged rows), and the sync's diff is
planned there too (`plan_sync`); `data()` only looks values up. The model sorts itself (a
Python sort over precomputed keys, then one `layoutChanged`) and filters itself (one Python
pass over lower-case haystacks, then a reset of the shown rows): a proxy sort or a
`filterAcceptsRow` override calls back from C++ into Python per comparison or per row, so
the `QSortFilterProxyModel` stays a pass-through. With no filter on, a sync is applied as
removals, changed rows and block insertions, never a reset, so selection and scroll position
stay; with a filter on it resets the shown rows and the view puts the selection back. The
countdown repaints only the visible time cells (`app.views.queue_view`); the model emits
nothing once a second.
"""

from __future__ import annotations

import gc
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor

from app import theme
from app.display import (
    amount_minor,
    format_amount,
    format_left,
    param_text,
    recipient,
    reveal,
)
from core.errors import InvalidData
from core.formats import Decision, Proposal, now_utc
from core.policy import Policy
from core.queue.base import FINAL_STATUSES, ProposalView
from core.textsafety import is_plain

COLUMNS = ("⚠", "Route", "Recipient", "Amount", "Title (agent's)", "Requester", "Agent",
           "Reversibility", "Time left", "Status")
(WARN, ROUTE, RECIPIENT, AMOUNT, TITLE, REQUESTER, AGENT, REVERSIBILITY, TIME_LEFT,
 STATUS) = range(len(COLUMNS))
COLUMN_NAMES = ("Character warning", *COLUMNS[1:])
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
HASH_ROLE = Qt.ItemDataRole.UserRole + 2
# "closed" comes with the distinct-groups bypass fix; a status the app does not know yet is
# treated as finished too, so nothing unknown ever counts as waiting for a reviewer.
FINISHED = frozenset(FINAL_STATUSES) | {"closed"}
WAITING = "awaiting you"
REQUESTED_BY_ME = "requested by you"
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_ACCESSIBLE = int(Qt.ItemDataRole.AccessibleTextRole)
_ALIGN = int(Qt.ItemDataRole.TextAlignmentRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_SORT, _HASH = int(SORT_ROLE), int(HASH_ROLE)
_ROLES = frozenset((_DISPLAY, _ACCESSIBLE, _ALIGN, _FOREGROUND, _SORT, _HASH))
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
BULK_INSERT = 64  # more new rows than this in one sync: append and sort once
Index = QModelIndex | QPersistentModelIndex


def is_finished(view: ProposalView) -> bool:
    return view.status in FINISHED or view.status not in ("pending", "approved")


def visible_status(view: ProposalView) -> str:
    """The status this reviewer may see: never a quorum hint before they decided."""
    if view.my_decision is None and not is_finished(view):
        return "pending"
    return view.status


def may_see_others(view: ProposalView) -> bool:
    """Other verdicts become visible once I decided, or once the outcome is final anyway."""
    return view.my_decision is not None or is_finished(view)


def _roster_standing(policy: Policy | None, identity: str, now: datetime) -> str:
    """The part of `standing` that is the same for every proposal (computed once a sync)."""
    if policy is None:
        return ""
    approver = policy.approver(identity)
    if approver is None:
        return "not eligible: you are not in the policy's roster"
    if not approver.valid_at(now):
        return "not eligible: your roster entry is not valid now"
    return ""


def standing(proposal: Proposal, policy: Policy | None, identity: str, now: datetime,
             _roster: str | None = None, _policy_hash: str | None = None) -> str:
    """Why this reviewer may not decide at all ("" when they may): known before any click."""
    if identity in (proposal.proposer, proposal.requester):
        return REQUESTED_BY_ME
    if policy is None:
        return ""
    roster = _roster_standing(policy, identity, now) if _roster is None else _roster
    if roster:
        return roster
    if proposal.policy != (_policy_hash or policy.hash):  # .hash hashes the policy bytes
        return "not eligible: it pins another policy"
    return ""


def my_verdict(view: ProposalView) -> str | None:
    if view.my_decision is None:
        return None
    try:
        return Decision.from_bytes(view.my_decision.document).verdict
    except InvalidData:
        return "decided"


def status_text(view: ProposalView, now: datetime, stand: str = "",
                mine: str | None = None) -> str:
    """One status sentence, used by the row and the card alike (so they always agree)."""
    status = visible_status(view)
    if status == "pending" and now > view.proposal.expires_at:
        status = "expired"
    if view.my_decision is not None:
        mine = mine or my_verdict(view)
        word = {"approve": "approved", "reject": "rejected"}.get(mine or "", "decided")
        return f"{status} · you {word}"
    if status != "pending":
        return status
    return stand or WAITING


@dataclass(slots=True)
class Row:
    """Everything one row shows, sorts and filters on, computed once per sync."""

    view: ProposalView
    hash: str
    texts: tuple[str, ...]  # display text per column (time left and status are live)
    keys: tuple[Any, ...]  # sort value per column
    warnings: tuple[str, ...]  # which fields carry flagged characters
    haystack: str  # what the filter searches, lower-cased
    expires: datetime
    stand: str
    mine: str | None
    final: bool  # the queue says finished (executed, rejected, expired, closed, unknown)
    exp: float  # expires_at as a POSIX timestamp, for cheap comparisons

    @property
    def flagged(self) -> bool:
        return bool(self.warnings)

    def finished(self, now: datetime) -> bool:
        return self.final or now > self.expires

    def status(self, now: datetime) -> str:
        return status_text(self.view, now, self.stand, self.mine)

    def waiting(self, now: datetime) -> bool:
        return self.status(now) == WAITING


def build_row(view: ProposalView, policy: Policy | None, identity: str, now: datetime,
              roster: str | None = None, policy_hash: str | None = None) -> Row:
    p = view.proposal
    s = p.summary
    proposal_hash = p.hash  # a property that hashes the bytes: once per row
    exp = p.expires_at.timestamp()
    params = p.params
    to = recipient(params)
    amount = amount_minor(params)
    amount_raw = format_amount(*amount) if amount else "—"
    pairs = [(str(k), param_text(v)) for k, v in params.items()]
    one_line = [s["title"], to, amount_raw, *(k for k, _ in pairs), *(v for _, v in pairs)]
    agent_text = "\n".join((s["why"], s["blast_radius"], p.job_id,
                            *(f"{e['label']} {e['ref']}" for e in s.get("evidence", [])),
                            *s.get("gates_passed", [])))
    warnings: list[str] = []
    if is_plain(" ".join(one_line), single_line=True) and is_plain(agent_text):
        title, to_text, amount_text = s["title"], to or "—", amount_raw  # the common case
    else:  # something is flagged: find out which fields, for the row's warning mark
        title, w = reveal(s["title"], single_line=True)
        if w:
            warnings.append("title")
        to_text, w = reveal(to, single_line=True) if to else ("—", [])
        if w:
            warnings.append("recipient")
        amount_text, w = reveal(amount_raw, single_line=True)
        if w:
            warnings.append("amount")
        if not all(is_plain(t, single_line=True) for t in one_line[3:]):
            warnings.append("parameters")
        if not is_plain(agent_text):
            warnings.append("summary")
    params_text = "\n".join(f"{k}={v}" for k, v in pairs)
    stand = standing(p, policy, identity, now, roster, policy_hash)
    mine = my_verdict(view)
    reversibility = s["reversibility"].replace("_", " ")
    texts = ("⚠" if warnings else "", p.route, to_text, amount_text, title, p.requester,
             p.proposer, reversibility, "", "")
    keys = (len(warnings), p.route.casefold(), to_text.casefold(),
            amount[0] if amount else -1, title.casefold(), p.requester, p.proposer,
            reversibility, exp, status_text(view, now, stand, mine))
    haystack = "\n".join((p.route, s["title"], title, p.requester, p.proposer, to, to_text,
                          params_text, proposal_hash)).casefold()
    return Row(view, proposal_hash, texts, keys, tuple(warnings), haystack, p.expires_at, stand,
               mine, is_finished(view), exp)


def build_rows(views: Iterable[ProposalView], policy: Policy | None, identity: str,
               now: datetime | None = None, reuse: dict[str, Row] | None = None) -> list[Row]:
    """Worker side: pure Python, no Qt objects touched.

    ``reuse``: the rows of the previous sync under the same policy and identity; a proposal
    whose state did not change keeps its row (a resync of 10,000 rebuilds only what moved).
    """
    now = now or now_utc()
    roster = _roster_standing(policy, identity, now)
    policy_hash = policy.hash if policy is not None else None
    if not reuse:
        # tens of thousands of small acyclic objects: the cycle collector would walk the
        # whole heap several times over while they are made, for nothing
        paused = gc.isenabled()
        gc.disable()
        try:
            return [build_row(v, policy, identity, now, roster, policy_hash) for v in views]
        finally:
            if paused:
                gc.enable()
    out: list[Row] = []
    for v in views:
        old = reuse.get(v.proposal.hash)
        if old is not None and old.view.status == v.status and \
                old.view.my_decision == v.my_decision and old.view.decisions == v.decisions \
                and old.view.receipt == v.receipt:
            out.append(old)
        else:
            out.append(build_row(v, policy, identity, now, roster, policy_hash))
    return out


@dataclass(frozen=True)
class SyncPlan:
    """What one sync changes, worked out on the worker against the rows the model held."""

    base: dict[str, Row]  # the model's rows by hash when the sync started
    rows: list[Row]
    gone: frozenset[str]  # removed, or moved between live and finished (re-added below)
    changed: dict[str, Row]  # same place, new state
    added: list[Row]
    by_hash: dict[str, Row]


def plan_sync(base: dict[str, Row], rows: list[Row], now: datetime) -> SyncPlan:
    """Worker side: the diff a sync needs, so the GUI thread only applies it."""
    ts = now.timestamp()
    fresh = {r.hash: r for r in rows}
    gone: set[str] = set()
    changed: dict[str, Row] = {}
    for h, old in base.items():
        new = fresh.get(h)
        if new is None or (old.final or ts > old.exp) != (new.final or ts > new.exp):
            gone.add(h)
        elif _changed(old, new):
            changed[h] = new
    added = [r for r in rows if r.hash not in base or r.hash in gone]
    return SyncPlan(base, rows, frozenset(gone), changed, added, fresh)


class _Desc:
    """Reverses the order of any sort value (strings cannot be negated)."""

    __slots__ = ("v",)

    def __init__(self, v: Any) -> None:
        self.v = v

    def __lt__(self, other: _Desc) -> bool:
        return other.v < self.v

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and other.v == self.v


class QueueModel(QAbstractTableModel):
    """Rows are `Row`s, kept in the order the reviewer chose (live first, then finished)."""

    def __init__(self, parent: QObject | None = None,
                 clock: Callable[[], datetime] = now_utc) -> None:
        super().__init__(parent)
        self._all: list[Row] = []  # every row, in order
        self._rows: list[Row] = self._all  # the rows shown: `_all` itself when no filter
        self._where: dict[str, int] = {}
        self._by_hash: dict[str, Row] = {}  # replaced, never mutated: workers read it
        self._text = ""
        self._pending_only = False
        self._clock = clock
        self.sort_column = TIME_LEFT
        self.sort_order = Qt.SortOrder.AscendingOrder

    # -- data in

    @property
    def filtering(self) -> bool:
        return bool(self._text) or self._pending_only

    def _filtered(self) -> list[Row]:
        if not self.filtering:
            return self._all
        text, now = self._text, self._clock()
        return [r for r in self._all if text in r.haystack
                and (not self._pending_only or r.waiting(now))]

    def set_filter(self, text: str | None = None, pending_only: bool | None = None) -> None:
        if text is not None:
            self._text = text.casefold()
        if pending_only is not None:
            self._pending_only = pending_only
        self.beginResetModel()
        self._rows = self._filtered()
        self._reindex()
        self.endResetModel()

    def total(self) -> int:
        return len(self._all)

    def snapshot(self) -> dict[str, Row]:
        """The rows by hash, for `plan_sync` on a worker (never mutated in place)."""
        return self._by_hash

    def apply(self, plan: SyncPlan) -> None:
        """Apply a sync planned on the worker; only the changed rows cost anything here."""
        if plan.base is not self._by_hash or self.filtering or not self._all \
                or not plan.rows:
            self.set_rows(plan.rows)  # the model moved on meanwhile, or a filter is on
            return
        now = self._clock()
        gone = sorted(self._where[h] for h in plan.gone)
        for start, end in reversed(_ranges(gone)):
            self.beginRemoveRows(QModelIndex(), start, end)
            del self._rows[start:end + 1]
            self.endRemoveRows()
        if gone:
            self._reindex()
        changed = sorted(self._where[h] for h in plan.changed)
        for n in changed:
            self._rows[n] = plan.changed[self._rows[n].hash]
        for start, end in _ranges(changed):
            self.dataChanged.emit(self.index(start, 0), self.index(end, len(COLUMNS) - 1))
        self._insert(plan.added, now)
        self._by_hash = plan.by_hash

    def _insert(self, added: list[Row], now: datetime) -> None:
        if len(added) > BULK_INSERT:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(added) - 1)
            self._rows.extend(added)
            self.endInsertRows()
            self.sort(self.sort_column, self.sort_order)
        elif added:
            # bisect calls the key about log2(n) times, not n; rows landing at the same
            # place go in as one block (a sync's newly finished rows all join the end)
            def key(r: Row) -> tuple[bool, Any]:
                return self._key(r, now)

            ordered = sorted(added, key=key)
            places = [bisect_right(self._rows, key(r), key=key) for r in ordered]
            shift, i = 0, 0
            while i < len(ordered):
                j = i
                while j + 1 < len(ordered) and places[j + 1] == places[i]:
                    j += 1
                at = places[i] + shift
                self.beginInsertRows(QModelIndex(), at, at + j - i)
                self._rows[at:at] = ordered[i:j + 1]
                self.endInsertRows()
                shift += j - i + 1
                i = j + 1
            self._reindex()

    def set_rows(self, rows: list[Row]) -> None:
        """Apply one sync: changed rows in place, removed rows out, new rows in order."""
        if not self._all or not rows or self.filtering:
            self.beginResetModel()
            self._all = self._sorted(rows)
            self._rows = self._filtered()
            self._reindex()
            self._by_hash = {r.hash: r for r in self._all}
            self.endResetModel()
            return
        fresh = {r.hash: r for r in rows}
        now = self._clock()
        ts = now.timestamp()
        # a row that became finished moves after the live ones: out here, back in below
        gone = [n for n, r in enumerate(self._rows) if (f := fresh.get(r.hash)) is None
                or (r.final or ts > r.exp) != (f.final or ts > f.exp)]
        for start, end in reversed(_ranges(gone)):
            self.beginRemoveRows(QModelIndex(), start, end)
            del self._rows[start:end + 1]
            self.endRemoveRows()
        self._reindex()
        changed: list[int] = []
        for n, old in enumerate(self._rows):
            new = fresh[old.hash]
            if _changed(old, new):
                self._rows[n] = new
                changed.append(n)
        for start, end in _ranges(changed):
            self.dataChanged.emit(self.index(start, 0), self.index(end, len(COLUMNS) - 1))
        self._insert([r for r in rows if r.hash not in self._where], now)
        self._by_hash = {r.hash: r for r in self._all}

    def set_views(self, views: list[ProposalView], policy: Policy | None = None,
                  identity: str = "") -> None:
        """Build rows here, on the GUI thread: only for a handful of views (tests)."""
        self.set_rows(build_rows(views, policy, identity, self._clock()))

    def replace(self, row: Row) -> None:
        self._by_hash = {**self._by_hash, row.hash: row}  # a new dict: plans see the change
        if self._rows is not self._all:
            for n, old in enumerate(self._all):
                if old.hash == row.hash:
                    self._all[n] = row
        n = self._where.get(row.hash, -1)
        if n >= 0:
            self._rows[n] = row
            self.dataChanged.emit(self.index(n, 0), self.index(n, len(COLUMNS) - 1))

    def _reindex(self) -> None:
        self._where = {r.hash: n for n, r in enumerate(self._rows)}

    def view_at(self, row: int) -> ProposalView | None:
        return self._rows[row].view if 0 <= row < len(self._rows) else None

    def row_at(self, row: int) -> Row | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, proposal_hash: str) -> int:
        return self._where.get(proposal_hash, -1)

    def views(self) -> list[ProposalView]:
        """Every proposal, filtered out or not."""
        return [r.view for r in self._all]

    def rows(self) -> list[Row]:
        return list(self._all)

    def now(self) -> datetime:
        return self._clock()

    # -- sorting (here, not in the proxy: see the module docstring)

    def _key(self, row: Row, now: datetime | None = None) -> tuple[bool, Any]:
        value = row.keys[self.sort_column] if self.sort_column != STATUS else \
            row.status(now or self._clock())
        if self.sort_order == Qt.SortOrder.DescendingOrder:
            value = _Desc(value)
        return row.finished(now or self._clock()), value

    def _sorted(self, rows: list[Row]) -> list[Row]:
        """Sorted on the chosen column, then live rows before finished ones (stable)."""
        now = self._clock()
        column = self.sort_column
        ts = now.timestamp()
        if column == STATUS:  # the status at build time, unless it has expired since
            ordered = sorted(rows, key=lambda r: "expired" if not r.final and ts > r.exp
                             else r.keys[STATUS],
                             reverse=self.sort_order == Qt.SortOrder.DescendingOrder)
        else:
            ordered = sorted(rows, key=lambda r: r.keys[column],
                             reverse=self.sort_order == Qt.SortOrder.DescendingOrder)
        live = [r for r in ordered if not (r.final or ts > r.exp)]
        if len(live) == len(ordered):
            return live
        return live + [r for r in ordered if r.final or ts > r.exp]

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(COLUMNS):
            return
        self.sort_column, self.sort_order = column, order
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        hashes = [self._rows[i.row()].hash if 0 <= i.row() < len(self._rows) else None
                  for i in persistent]
        self._all = self._sorted(self._all)
        self._rows = self._filtered()
        self._reindex()
        self.changePersistentIndexList(persistent, [
            self.index(self._where[h], i.column()) if h in self._where else QModelIndex()
            for h, i in zip(hashes, persistent, strict=True)])
        self.layoutChanged.emit()

    # -- Qt model API

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return COLUMN_NAMES[section]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # called for every visible cell and role on each paint: plain ints, early exits
        role = int(role)
        if role not in _ROLES:
            return None
        n = index.row()
        if not index.isValid() or n >= len(self._rows):
            return None
        row = self._rows[n]
        column = index.column()
        if role == _DISPLAY:
            return self._display(row, column)
        if role == _ACCESSIBLE:
            if column == WARN:
                return ("hidden, look-alike or line-break characters in: "
                        + ", ".join(row.warnings)) if row.warnings else "no character warning"
            return self._display(row, column)
        if role == _HASH:
            return row.hash
        if role == _SORT:
            return row.keys[column]
        if role == _ALIGN:
            return _RIGHT if column in (AMOUNT, TIME_LEFT) else None
        if role == _FOREGROUND and column == WARN and row.warnings:
            return QColor(theme.current().bad)
        return None

    def _display(self, row: Row, column: int) -> str:
        if column == TIME_LEFT:
            if is_finished(row.view):
                return "finished"
            return format_left(row.expires, self._clock())
        if column == STATUS:
            return row.status(self._clock())
        return row.texts[column]


def _changed(old: Row, new: Row) -> bool:
    """Cheap: the proposal bytes cannot change under the same hash; its state can."""
    a, b = old.view, new.view
    return (a.status != b.status or a.my_decision != b.my_decision
            or a.decisions != b.decisions or a.receipt != b.receipt or old.stand != new.stand)


def _ranges(numbers: list[int]) -> list[tuple[int, int]]:
    """[1, 2, 3, 7] -> [(1, 3), (7, 7)] (sorted input)."""
    out: list[tuple[int, int]] = []
    for n in numbers:
        if out and out[-1][1] == n - 1:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return out


class QueueFilter(QSortFilterProxyModel):
    """The view's model: a pass-through whose filtering and sorting the QueueModel does.

    The text filter looks at route, title, requester, agent, recipient and every parameter
    (name and value), and the proposal hash; "waiting for me only" keeps the rows waiting
    for this reviewer. Neither calls back into Python per row (see the module docstring).
    """

    def _model(self) -> QueueModel | None:
        model = self.sourceModel()
        return model if isinstance(model, QueueModel) else None

    def set_text(self, text: str) -> None:
        if (model := self._model()) is not None:
            model.set_filter(text=text)

    def set_pending_only(self, on: bool) -> None:
        if (model := self._model()) is not None:
            model.set_filter(pending_only=on)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if (model := self._model()) is not None:
            model.sort(column, order)
