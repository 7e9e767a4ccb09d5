"""The queue as a Qt model that sorts and filters itself.

Blind review is enforced here too, not only by the queue: while this reviewer has not
decided, no role of any index carries another reviewer's verdict or even a hint that one
exists (an "approved" status is shown as pending). Agent text is handed to views as data
for the default delegate, which paints plain text; nothing here is ever a tooltip, because
Qt renders tooltips as rich text when they look like HTML.

Scale (10,000 rows): what a row sorts and filters on is computed once per sync, on the
worker, into a `Row` (`build_rows`, reusing unchanged rows); its display text waits until
the table shows it. The sync's diff is planned on the worker too, and a first load comes
sorted (`plan_sync`). The model sorts itself (a Python sort over precomputed keys) and
filters itself (one pass over lower-case haystacks, the substring test in C; a filter that
only narrows searches only the rows shown): a proxy sort or a `filterAcceptsRow` override
calls back from C++ into Python per comparison or per row, so the view's proxy is a plain
`QIdentityProxyModel`. Sorting and filtering swap the shown rows inside one layout change
that moves the persistent indexes, never a reset: the selection stays on its proposal, and
a keystroke that leaves the same rows shown emits nothing. With no filter on, a sync is
applied as removals, changed rows and block insertions. The countdown repaints only the
visible time cells (`app.views.queue_view`); the model emits nothing once a second.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import compress, repeat
from operator import attrgetter, contains
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
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
from app.gc_pause import paused_collection
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
_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
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


class Row:
    """One proposal as the queue holds it: what every row needs at once, the rest on demand.

    Built on the worker, once per sync (`build_rows`): the hash, the expiry, whether the
    queue says it is finished, this reviewer's standing and verdict, the character-warning
    flags and the lower-case filter haystack (whichever row a filter or a sort may touch).
    and the sort values (references and a few lower-cased strings). The display text is only
    made when the table asks for it (`texts`): a 10,000-row load formats the rows on screen,
    not every row. It is a pure function of the proposal bytes, so making it twice (GUI
    thread and worker at once) is harmless.
    """

    __slots__ = ("view", "hash", "expires", "exp", "final", "stand", "mine", "warnings",
                 "keys", "haystack", "_texts")

    def __init__(self, view: ProposalView, proposal_hash: str, exp: float, final: bool,
                 stand: str, mine: str | None, warnings: tuple[str, ...],
                 keys: tuple[Any, ...], haystack: str,
                 texts: tuple[str, ...] | None = None) -> None:
        self.view = view
        self.hash = proposal_hash
        self.expires: datetime = view.proposal.expires_at
        self.exp = exp  # expires_at as a POSIX timestamp, for cheap comparisons
        self.final = final  # the queue says finished (executed, rejected, closed, unknown)
        self.stand = stand
        self.mine = mine
        self.warnings = warnings  # which fields carry flagged characters
        self.keys = keys  # sort value per column (status is live: see `sort_key`)
        self.haystack = haystack  # what the filter searches, lower-cased
        self._texts = texts

    @property
    def flagged(self) -> bool:
        return bool(self.warnings)

    @property
    def texts(self) -> tuple[str, ...]:
        """Display text per column (time left and status are live, so blank here)."""
        texts = self._texts
        if texts is None:
            texts = self._texts = _row_texts(self.view.proposal, self.warnings)
        return texts

    def sort_key(self, column: int, now: datetime) -> Any:
        """The value ``column`` sorts on (status: at this moment, "expired" included)."""
        return self.status(now) if column == STATUS else self.keys[column]

    def finished(self, now: datetime) -> bool:
        return self.final or now > self.expires

    def status(self, now: datetime) -> str:
        return status_text(self.view, now, self.stand, self.mine)

    def waiting(self, now: datetime) -> bool:
        return self.status(now) == WAITING


def _one_line_fields(p: Proposal) -> tuple[str, str, str]:
    """(title, recipient, amount) as raw text: what the row's own columns show."""
    to = recipient(p.params)
    amount = amount_minor(p.params)
    return p.summary["title"], to, format_amount(*amount) if amount else "—"


def _row_texts(p: Proposal, warnings: tuple[str, ...]) -> tuple[str, ...]:
    title, to, amount = _one_line_fields(p)
    if warnings:  # something is flagged: show every one-line field revealed
        title = reveal(title, single_line=True)[0]
        to = reveal(to, single_line=True)[0] if to else ""
        amount = reveal(amount, single_line=True)[0]
    return ("⚠" if warnings else "", p.route, to or "—", amount, title, p.requester,
            p.proposer, p.summary["reversibility"].replace("_", " "), "", "")


def _flagged_fields(p: Proposal, params_flat: str, agent_text: str) -> tuple[str, ...]:
    """Which fields carry flagged characters (only asked when the quick check failed)."""
    title, to, amount = _one_line_fields(p)
    out: list[str] = []
    for name, text in (("title", title), ("recipient", to), ("amount", amount)):
        if text and not is_plain(text, single_line=True):
            out.append(name)
    if not is_plain(params_flat, single_line=True):
        out.append("parameters")
    if not is_plain(agent_text):
        out.append("summary")
    return tuple(out)


def build_row(view: ProposalView, policy: Policy | None, identity: str, now: datetime,
              roster: str | None = None, policy_hash: str | None = None) -> Row:
    """Only what every row needs now; see `Row` for what waits until it is shown.

    Runs 10,000 times a load: one loop over the parameters feeds the character check and
    the filter haystack both, and the common case (nothing flagged) calls nothing else.
    """
    p = view.proposal
    s = p.summary
    params = p.params
    title = s["title"]
    one_line = [title]  # the one-line fields: title, parameter names and values
    hay = [p.route, title, p.requester, p.proposer]
    for k, v in params.items():
        text = v if type(v) is str else param_text(v)
        one_line += (k, text)
        hay.append(f"{k}={text}")
    agent = [s["why"], s["blast_radius"], p.job_id]
    if evidence := s.get("evidence"):
        agent += [f"{e['label']} {e['ref']}" for e in evidence]
    if gates := s.get("gates_passed"):
        agent += gates
    agent_text = "\n".join(agent)
    warnings: tuple[str, ...] = ()
    texts = None
    if not (is_plain(" ".join(one_line), single_line=True) and is_plain(agent_text)):
        warnings = _flagged_fields(p, " ".join(one_line[1:]), agent_text)
    proposal_hash = p.hash  # a cached property: hashed once per proposal
    exp = p.expires_at.timestamp()
    amount = params.get("amount_minor")
    if warnings:  # revealed text sorts, and its markers can be searched
        texts = _row_texts(p, warnings)
        to_key, title_key = texts[RECIPIENT].casefold(), texts[TITLE].casefold()
        hay += texts[RECIPIENT:TITLE + 1]
    else:
        to_key, title_key = (recipient(params) or "—").casefold(), title.casefold()
    hay.append(proposal_hash)
    keys = (len(warnings), p.route.casefold(), to_key, amount if type(amount) is int else -1,
            title_key, p.requester, p.proposer, s["reversibility"].replace("_", " "), exp, "")
    return Row(view, proposal_hash, exp, is_finished(view),
               standing(p, policy, identity, now, roster, policy_hash), my_verdict(view),
               warnings, keys, "\n".join(hay).casefold(), texts)


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
        with paused_collection():  # thousands of small long-lived objects: see app.gc_pause
            return [build_row(v, policy, identity, now, roster, policy_hash) for v in views]
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
    rows: list[Row]  # every row, in `order` when that is set
    gone: frozenset[str]  # removed, or moved between live and finished (re-added below)
    changed: dict[str, Row]  # same place, new state
    added: list[Row]
    by_hash: dict[str, Row]
    order: tuple[int, Qt.SortOrder] | None = None  # the sort `rows` are already in


def plan_sync(base: dict[str, Row], rows: list[Row], now: datetime,
              order: tuple[int, Qt.SortOrder] | None = None) -> SyncPlan:
    """Worker side: the diff a sync needs, so the GUI thread only applies it.

    With ``order`` (the model's sort when the sync began) a first load comes sorted too, so
    it costs the GUI thread no sort either; a diff against rows shown needs no sort.
    """
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
    if order is None or base:  # a diff is applied in place: no sort needed (nor made)
        return SyncPlan(base, rows, frozenset(gone), changed, added, fresh)
    return SyncPlan(base, sort_rows(rows, order[0], order[1], now), frozenset(gone), changed,
                    added, fresh, order)


class _Desc:
    """Reverses the order of any sort value (strings cannot be negated)."""

    __slots__ = ("v",)

    def __init__(self, v: Any) -> None:
        self.v = v

    def __lt__(self, other: _Desc) -> bool:
        return other.v < self.v

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and other.v == self.v


def sort_rows(rows: list[Row], column: int, order: Qt.SortOrder, now: datetime) -> list[Row]:
    """Sorted on ``column``, then live rows before finished ones (stable). Worker-safe."""
    ts = now.timestamp()
    descending = order == Qt.SortOrder.DescendingOrder
    if column == TIME_LEFT:
        ordered = sorted(rows, key=_EXP, reverse=descending)
    else:  # one key per row and sort (status: at this moment, "expired" included)
        ordered = sorted(rows, key=lambda r: r.sort_key(column, now), reverse=descending)
    live = [r for r in ordered if not (r.final or ts > r.exp)]
    if len(live) == len(ordered):
        return live
    return live + [r for r in ordered if r.final or ts > r.exp]


_EXP = attrgetter("exp")
_HAYSTACK = attrgetter("haystack")


class QueueModel(QAbstractTableModel):
    """Rows are `Row`s, kept in the order the reviewer chose (live first, then finished).

    `_all` holds every row in order; `_rows` the ones shown (`_all` itself when no filter is
    on). The table only ever sees `_rows`. A filter change swaps `_rows` inside one layout
    change that moves the persistent indexes (the selection) by hash: no reset, so nothing
    is re-laid out from scratch and the selected proposal stays selected when still shown.
    `rows_searched` and `layout_changes` count the work, for the tests.
    """

    def __init__(self, parent: QObject | None = None,
                 clock: Callable[[], datetime] = now_utc) -> None:
        super().__init__(parent)
        self._all: list[Row] = []  # every row, in order
        self._rows: list[Row] = self._all  # the rows shown: `_all` itself when no filter
        self._where_cache: dict[str, int] | None = {}  # hash -> shown position, made lazily
        self._by_hash: dict[str, Row] = {}  # replaced, never mutated: workers read it
        self._text = ""
        self._pending_only = False
        self._clock = clock
        self.sort_column = TIME_LEFT
        self.sort_order = Qt.SortOrder.AscendingOrder
        self.rows_searched = 0  # rows the filter looked at, since the start
        self.layout_changes = 0

    # -- filtering (here, not in the proxy: see the module docstring)

    @property
    def filtering(self) -> bool:
        return bool(self._text) or self._pending_only

    def _matching(self, rows: list[Row]) -> list[Row]:
        """The rows of ``rows`` the filter keeps: one pass, the text test in C."""
        if not self.filtering:
            return self._all
        self.rows_searched += len(rows)
        if self._text:
            rows = list(compress(rows, map(contains, map(_HAYSTACK, rows),
                                           repeat(self._text))))
        if self._pending_only:
            now = self._clock()
            rows = [r for r in rows if r.waiting(now)]
        return rows

    def set_filter(self, text: str | None = None, pending_only: bool | None = None) -> None:
        old_text, old_pending = self._text, self._pending_only
        if text is not None:
            self._text = text.casefold()
        if pending_only is not None:
            self._pending_only = pending_only
        if (self._text, self._pending_only) == (old_text, old_pending):
            return
        # A filter that only narrows (more text typed, or "waiting for me" turned on) can
        # only hide rows shown now: search those, not all of them.
        narrows = old_text in self._text and (self._pending_only or not old_pending)
        self._show(self._matching(self._rows if narrows else self._all))

    def _show(self, rows: list[Row], same_rows: bool = True) -> None:
        """Show ``rows`` in one layout change; the selection follows its proposal.

        ``same_rows``: ``rows`` are the model's own `Row` objects (a filter or a sort), so a
        persistent index finds its row again by identity, a C-speed scan for the few there
        are; after a sync the rows are new objects and are found by hash.
        """
        if rows is self._rows or (len(rows) == len(self._rows) and rows == self._rows):
            return  # the same rows (Row has no __eq__: identity, compared in C)
        self.layoutAboutToBeChanged.emit()
        old = self._rows
        persistent = self.persistentIndexList()
        moved = [old[i.row()] if 0 <= i.row() < len(old) else None for i in persistent]
        self._rows = rows
        self._where_cache = None
        if same_rows:
            where = self._position
        else:
            index = self._where()
            where = lambda row: -1 if row is None else index.get(row.hash, -1)  # noqa: E731
        self.changePersistentIndexList(persistent, [
            self.index(n, i.column()) if (n := where(row)) >= 0 else QModelIndex()
            for row, i in zip(moved, persistent, strict=True)])
        self.layout_changes += 1
        self.layoutChanged.emit()

    def _position(self, row: Row | None) -> int:
        """Where ``row`` (this very object) is shown, or -1."""
        if row is None:
            return -1
        try:
            return self._rows.index(row)  # identity compares first: no __eq__ on Row
        except ValueError:
            return -1

    def _where(self) -> dict[str, int]:
        if self._where_cache is None:
            self._where_cache = {r.hash: n for n, r in enumerate(self._rows)}
        return self._where_cache

    def total(self) -> int:
        return len(self._all)

    # -- data in

    def snapshot(self) -> dict[str, Row]:
        """The rows by hash, for `plan_sync` on a worker (never mutated in place)."""
        return self._by_hash

    def order(self) -> tuple[int, Qt.SortOrder]:
        return self.sort_column, self.sort_order

    def apply(self, plan: SyncPlan) -> None:
        """Apply a sync planned on the worker; only the changed rows cost anything here."""
        if not self._all or not plan.rows or plan.base is not self._by_hash or self.filtering:
            # first load, emptied, the model moved on meanwhile, or a filter is on
            presorted = plan.rows if plan.order == self.order() else None
            self.set_rows(plan.rows, presorted=presorted, by_hash=plan.by_hash)
            return
        now = self._clock()
        where = self._where()
        gone = sorted(where[h] for h in plan.gone)
        changed = sorted(where[h] for h in plan.changed)
        for start, end in reversed(_ranges(gone)):
            self.beginRemoveRows(QModelIndex(), start, end)
            del self._rows[start:end + 1]
            self.endRemoveRows()
        self._where_cache = None
        # positions of the changed rows, shifted by the removals before them
        changed = [n - bisect_right(gone, n) for n in changed]
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
            self._where_cache = None
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
                self._where_cache = None
                self.endInsertRows()
                shift += j - i + 1
                i = j + 1

    def set_rows(self, rows: list[Row], *, presorted: list[Row] | None = None,
                 by_hash: dict[str, Row] | None = None) -> None:
        """Show these rows: a reset when the table was empty (or is emptied), else one
        layout change (the selection stays on its proposal). ``presorted``: ``rows``
        already in the model's order (sorted on the worker)."""
        ordered = presorted if presorted is not None else self._sorted(rows)
        by_hash = by_hash if by_hash is not None else {r.hash: r for r in ordered}
        if not self._all or not ordered:
            self.beginResetModel()
            self._all = ordered
            self._rows = self._matching(self._all)
            self._where_cache = None
            self._by_hash = by_hash
            self.endResetModel()
            return
        self._all = ordered
        self._by_hash = by_hash
        self._show(self._matching(self._all), same_rows=False)

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
        n = self.row_of(row.hash)
        if n >= 0:
            self._rows[n] = row
            self.dataChanged.emit(self.index(n, 0), self.index(n, len(COLUMNS) - 1))

    def view_at(self, row: int) -> ProposalView | None:
        return self._rows[row].view if 0 <= row < len(self._rows) else None

    def row_at(self, row: int) -> Row | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, proposal_hash: str) -> int:
        return self._where().get(proposal_hash, -1)

    def views(self) -> list[ProposalView]:
        """Every proposal, filtered out or not."""
        return [r.view for r in self._all]

    def rows(self) -> list[Row]:
        return list(self._all)

    def now(self) -> datetime:
        return self._clock()

    # -- sorting (here, not in the proxy: see the module docstring)

    def _key(self, row: Row, now: datetime | None = None) -> tuple[bool, Any]:
        now = now or self._clock()
        value = row.sort_key(self.sort_column, now)
        if self.sort_order == Qt.SortOrder.DescendingOrder:
            value = _Desc(value)
        return row.finished(now), value

    def _sorted(self, rows: list[Row]) -> list[Row]:
        return sort_rows(rows, self.sort_column, self.sort_order, self._clock())

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(COLUMNS):
            return
        self.sort_column, self.sort_order = column, order
        self._all = self._sorted(self._all)
        # a stable sort of the shown rows puts them in the order they have in `_all`
        self._show(self._sorted(self._rows) if self.filtering else self._all)

    # -- Qt model API

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        role = int(role)
        if role not in (_DISPLAY, _ACCESSIBLE) or not 0 <= section < len(COLUMNS) \
                or orientation != Qt.Orientation.Horizontal:
            return None
        return COLUMNS[section] if role == _DISPLAY else COLUMN_NAMES[section]

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return _FLAGS

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
            return row.sort_key(column, self._clock())
        if role == _ALIGN:
            return _RIGHT if column in (AMOUNT, TIME_LEFT) else None
        if role == _FOREGROUND and column == WARN and row.warnings:
            return QColor(theme.current().bad)
        return None

    def _display(self, row: Row, column: int) -> str:
        if column == TIME_LEFT:
            if row.final:
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
