"""The queue as a Qt model, and the proxy that sorts and filters it.

Blind review is enforced here too, not only by the queue: while this reviewer has not
decided, no role of any index carries another reviewer's verdict or even a hint that one
exists (an "approved" status is shown as pending). Agent text is handed to views as data
for the default delegate, which paints plain text; nothing here is ever a tooltip, because
Qt renders tooltips as rich text when they look like HTML.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
)

from app.display import amount_minor, format_amount, format_left, reveal
from core.errors import InvalidData
from core.formats import Decision, now_utc
from core.queue.base import FINAL_STATUSES, ProposalView

COLUMNS = ("Route", "Title", "Requester", "Agent", "Reversibility", "Amount", "Time left",
           "Status")
ROUTE, TITLE, REQUESTER, AGENT, REVERSIBILITY, AMOUNT, TIME_LEFT, STATUS = range(len(COLUMNS))
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
HASH_ROLE = Qt.ItemDataRole.UserRole + 2
COUNTDOWN_MS = 1000
Index = QModelIndex | QPersistentModelIndex


def visible_status(view: ProposalView) -> str:
    """The status this reviewer may see: never a quorum hint before they decided."""
    if view.my_decision is None and view.status not in FINAL_STATUSES:
        return "pending"
    return view.status


def may_see_others(view: ProposalView) -> bool:
    """Other verdicts become visible once I decided, or once the outcome is final anyway."""
    return view.my_decision is not None or view.status in FINAL_STATUSES


def status_text(view: ProposalView, now: datetime) -> str:
    status = visible_status(view)
    if status == "pending" and now > view.proposal.expires_at:
        status = "expired"
    if view.my_decision is None:
        return "awaiting you" if status == "pending" else status
    try:
        mine = Decision.from_bytes(view.my_decision.document).verdict
    except InvalidData:
        return f"{status} · you decided"
    return f"{status} · you {'approved' if mine == 'approve' else 'rejected'}"


class QueueModel(QAbstractTableModel):
    """Rows are ProposalViews, newest first as the queue gave them."""

    def __init__(self, parent: QObject | None = None,
                 clock: Callable[[], datetime] = now_utc) -> None:
        super().__init__(parent)
        self._rows: list[ProposalView] = []
        self._clock = clock
        self._timer = QTimer(self)
        self._timer.setInterval(COUNTDOWN_MS)
        self._timer.timeout.connect(self.tick)
        self._timer.start()

    # -- data in

    def set_views(self, views: list[ProposalView]) -> None:
        self.beginResetModel()
        self._rows = list(views)
        self.endResetModel()

    def replace(self, view: ProposalView) -> None:
        for n, row in enumerate(self._rows):
            if row.hash == view.hash:
                self._rows[n] = view
                self.dataChanged.emit(self.index(n, 0), self.index(n, len(COLUMNS) - 1))
                return

    def view_at(self, row: int) -> ProposalView | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, proposal_hash: str) -> int:
        return next((n for n, v in enumerate(self._rows) if v.hash == proposal_hash), -1)

    def views(self) -> list[ProposalView]:
        return list(self._rows)

    def tick(self) -> None:
        """The live countdown: only the time-left column changes, once a second."""
        if self._rows:
            self.dataChanged.emit(self.index(0, TIME_LEFT),
                                  self.index(len(self._rows) - 1, TIME_LEFT),
                                  [Qt.ItemDataRole.DisplayRole, SORT_ROLE])

    # -- Qt model API

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role in (
                Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return COLUMNS[section]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        view = self.view_at(index.row()) if index.isValid() else None
        if view is None:
            return None
        if role == HASH_ROLE:
            return view.hash
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._display(view, index.column())
        if role == SORT_ROLE:
            return self._sort_key(view, index.column())
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in (AMOUNT, TIME_LEFT):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _display(self, view: ProposalView, column: int) -> str:
        p = view.proposal
        now = self._clock()
        match column:
            case 0:
                return p.route
            case 1:
                return reveal(p.summary["title"])[0]  # a bidi override must not flip the row
            case 2:
                return p.requester
            case 3:
                return p.proposer
            case 4:
                return p.summary["reversibility"].replace("_", " ")
            case 5:
                amount = amount_minor(view.proposal.params)
                return reveal(format_amount(*amount))[0] if amount else "—"
            case 6:
                return format_left(p.expires_at, now)
            case _:
                return status_text(view, now)

    def _sort_key(self, view: ProposalView, column: int) -> Any:
        if column == AMOUNT:
            amount = amount_minor(view.proposal.params)
            return amount[0] if amount else -1
        if column == TIME_LEFT:
            return view.proposal.expires_at.timestamp()
        return self._display(view, column).casefold()


class QueueFilter(QSortFilterProxyModel):
    """Sorts on raw values (amounts as numbers, time left as instants) and filters rows.

    The text filter looks at route, title, requester and agent; "pending only" hides
    proposals that no longer wait for this reviewer.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self._pending_only = False
        self._text = ""

    def set_text(self, text: str) -> None:
        self.beginFilterChange()
        self._text = text.casefold()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_pending_only(self, on: bool) -> None:
        self.beginFilterChange()
        self._pending_only = on
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        model = self.sourceModel()
        if not isinstance(model, QueueModel):
            return True
        view = model.view_at(source_row)
        if view is None:
            return False
        if self._pending_only and (view.my_decision is not None
                                   or visible_status(view) != "pending"):
            return False
        if not self._text:
            return True
        p = view.proposal
        haystack = "\n".join((p.route, p.summary["title"], p.requester, p.proposer)).casefold()
        return self._text in haystack
