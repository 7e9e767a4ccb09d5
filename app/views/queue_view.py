"""The queue: a sortable, filterable table of proposals, one selected at a time.

Single selection is deliberate: there is no way to select two proposals, so there is no way
to approve two at once. The data's age is always on screen, so an offline copy is never
mistaken for the live queue.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QItemSelection, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.display import format_age
from app.models import TIME_LEFT, TITLE, QueueFilter, QueueModel
from app.views.widgets import Banner, plain_label
from core.formats import now_utc
from core.queue.base import ProposalView

AGE_REFRESH_MS = 15_000


class QueueView(QWidget):
    selection_changed = Signal(object)  # ProposalView | None
    sync_requested = Signal()

    def __init__(self, model: QueueModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Queue")
        self.model = model
        self.proxy = QueueFilter(self)
        self.proxy.setSourceModel(model)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.banner = Banner(self)
        layout.addWidget(self.banner)

        bar = QHBoxLayout()
        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText("Filter by route, title, requester or agent")
        self.filter_edit.setAccessibleName("Filter proposals")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.proxy.set_text)
        self.pending_only = QCheckBox("&Waiting for me only", self)
        self.pending_only.setAccessibleName("Show only proposals waiting for me")
        self.pending_only.toggled.connect(self.proxy.set_pending_only)
        self.sync_button = QPushButton("&Sync", self)
        self.sync_button.setAccessibleName("Sync with the queue now")
        self.sync_button.clicked.connect(self.sync_requested)
        bar.addWidget(self.filter_edit, 1)
        bar.addWidget(self.pending_only)
        bar.addWidget(self.sync_button)
        layout.addLayout(bar)

        self.table = QTableView(self)
        self.table.setAccessibleName("Proposals")
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(TIME_LEFT, Qt.SortOrder.AscendingOrder)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # both ends stay visible
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(TITLE, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        self.table.selectionModel().selectionChanged.connect(self._selection)
        layout.addWidget(self.table, 1)

        self.age = plain_label(name="Data age", wrap=True)
        layout.addWidget(self.age)
        self.proxy.modelAboutToBeReset.connect(self.remember_selection)
        self.proxy.modelReset.connect(self._restore)
        self._want: str | None = None
        self._age_state: tuple[datetime | None, bool, str] = (None, False, "")
        self._age_timer = QTimer(self)
        self._age_timer.setInterval(AGE_REFRESH_MS)
        self._age_timer.timeout.connect(self._refresh_age)
        self._age_timer.start()

    # -- selection

    def current(self) -> ProposalView | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.model.view_at(self.proxy.mapToSource(rows[0]).row())

    def select_hash(self, proposal_hash: str) -> bool:
        row = self.model.row_of(proposal_hash)
        if row < 0:
            return False
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if not index.isValid():
            return False
        self.table.selectRow(index.row())
        self.table.scrollTo(index)
        return True

    def step(self, delta: int) -> None:
        """Next (+1) or previous (-1) row in the order shown: J/K and Ctrl+Down/Up."""
        count = self.proxy.rowCount()
        if count == 0:
            return
        rows = self.table.selectionModel().selectedRows()
        current = rows[0].row() if rows else (-1 if delta > 0 else count)
        target = max(0, min(count - 1, current + delta))
        self.table.selectRow(target)
        self.table.scrollTo(self.proxy.index(target, 0))

    def remember_selection(self) -> None:
        view = self.current()
        self._want = view.hash if view else None

    def _restore(self) -> None:
        """After a sync, keep the reviewer on the proposal they were reading."""
        if not (self._want and self.select_hash(self._want)):
            self.selection_changed.emit(self.current())

    def _selection(self, selected: QItemSelection, deselected: QItemSelection) -> None:
        rows = self.table.selectionModel().selectedRows()
        if len(rows) > 1:  # never two at once, however the selection was made
            keep = selected.indexes()[0].row() if selected.indexes() else rows[-1].row()
            self.table.selectRow(keep)  # re-enters with a single row
            return
        self.selection_changed.emit(self.current())

    # -- status line

    def show_age(self, synced_at: datetime | None, offline: bool, error: str = "") -> None:
        self._age_state = (synced_at, offline, error)
        if synced_at is None:
            text = "Never synced." if not error else f"Never synced: {error}"
        else:
            age = format_age((now_utc() - synced_at).total_seconds())
            when = synced_at.astimezone().strftime("%Y-%m-%d %H:%M")
            if offline:
                text = f"Offline copy from {when} ({age}). {error}".strip()
            else:
                text = f"Live queue, synced {age}."
        self.age.setText(text)
        self.age.setAccessibleName(text)

    def _refresh_age(self) -> None:
        self.show_age(*self._age_state)
