"""Table models: one per list (queue, verification checks), never a widget per row."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from core.formats import now_utc
from core.queue.base import ProposalView
from core.textsafety import reveal

Index = QModelIndex | QPersistentModelIndex
ViewRole = Qt.ItemDataRole.UserRole + 1
SortRole = Qt.ItemDataRole.UserRole + 2


def time_left(expires: datetime, now: datetime) -> str:
    seconds = int((expires - now).total_seconds())
    if seconds <= 0:
        return "expired"
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h {m:02d}m" if h else f"{m}m {s:02d}s"


def amount(view: ProposalView) -> str:
    params = view.proposal.params
    value = params.get("amount_minor")
    if not isinstance(value, int) or isinstance(value, bool):
        return ""
    currency = params.get("currency", "")
    return f"{value / 100:,.2f} {reveal(str(currency))[0]}".strip()


class _Table(QAbstractTableModel):
    """Row/column counts and headers shared by every flat table here."""

    COLUMNS: tuple[str, ...] = ()

    def _rows(self) -> list:
        raise NotImplementedError

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows())

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.COLUMNS[section]
        return None


class QueueModel(_Table):
    COLUMNS = ("Route", "Title", "Requester", "Agent", "Reversibility", "Amount", "Time left",
               "Status")
    TIME_COLUMN = 6

    def __init__(self, clock: Callable[[], datetime] = now_utc) -> None:
        super().__init__()
        self.views: list[ProposalView] = []
        self.clock = clock

    def set_views(self, views: list[ProposalView]) -> None:
        self.beginResetModel()
        self.views = list(views)
        self.endResetModel()

    def tick(self) -> None:
        """Only the countdown column changes with time."""
        if self.views:
            self.dataChanged.emit(self.index(0, self.TIME_COLUMN),
                                  self.index(len(self.views) - 1, self.TIME_COLUMN),
                                  [Qt.ItemDataRole.DisplayRole])

    def _rows(self) -> list:
        return self.views

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        view = self.views[index.row()]
        p = view.proposal
        col = index.column()
        if role == ViewRole:
            return view
        if role == SortRole:
            if col == 5:
                v = p.params.get("amount_minor")
                return v if isinstance(v, int) else -1
            if col == 6:
                return p.expires_at.timestamp()
        if role in (Qt.ItemDataRole.DisplayRole, SortRole):
            values = (p.route, reveal(p.summary["title"])[0], p.requester, p.proposer,
                      p.summary["reversibility"], amount(view),
                      time_left(p.expires_at, self.clock()),
                      view.status + (" (you decided)" if view.my_decision else ""))
            return values[col]
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{self.COLUMNS[col]}: {self.data(index)}"
        return None


class ChecksModel(_Table):
    COLUMNS = ("", "Check", "Result")

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[bool, str, str]] = []

    def set_rows(self, rows: list[tuple[bool, str, str]]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def _rows(self) -> list:
        return self.rows

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        ok, code, message = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return ("✓" if ok else "✗", code, message)[index.column()]
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{code} {'passed' if ok else 'failed'}: {message}"
        return None
