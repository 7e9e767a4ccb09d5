"""The queue: a sortable, filterable table beside the decision card, and the two buttons."""

from __future__ import annotations

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.models import QueueModel, SortRole, ViewRole
from app.views.decision_card import DecisionCard
from core.queue.base import ProposalView

COLUMN_WIDTHS = (125, 190, 135, 145, 95, 100, 80, 120)


class QueueView(QWidget):
    decide_requested = Signal(object, str)  # view, verdict

    def __init__(self, model: QueueModel) -> None:
        super().__init__()
        self.setAccessibleName("Queue view")
        self.model = model
        self.proxy = QSortFilterProxyModel()
        self.proxy.setSourceModel(model)
        self.proxy.setSortRole(SortRole)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(-1)
        layout = QVBoxLayout(self)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter by route, title, requester, status…")
        self.filter.setAccessibleName("Filter proposals")
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        layout.addWidget(self.filter)
        split = QSplitter()
        self.table = QTableView()
        self.table.setAccessibleName("Proposals")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(QueueModel.TIME_COLUMN, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)  # no bulk
        self.table.verticalHeader().hide()
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # both ends stay visible
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate(COLUMN_WIDTHS):
            self.table.setColumnWidth(column, width)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._selected())
        split.addWidget(self.table)
        right = QWidget()
        rl = QVBoxLayout(right)
        self.card = DecisionCard()
        rl.addWidget(self.card)
        buttons = QHBoxLayout()
        self.approve = QPushButton("Approve… (Ctrl+Shift+A)")
        self.approve.setAccessibleName("Approve selected proposal")
        self.reject = QPushButton("Reject… (Ctrl+Shift+R)")
        self.reject.setAccessibleName("Reject selected proposal")
        self.approve.clicked.connect(lambda: self._decide("approve"))
        self.reject.clicked.connect(lambda: self._decide("reject"))
        buttons.addStretch()
        buttons.addWidget(self.reject)
        buttons.addWidget(self.approve)
        rl.addLayout(buttons)
        split.addWidget(right)
        split.setSizes([560, 720])
        layout.addWidget(split)
        self.policy = None
        self._enable(None)

    def current(self) -> ProposalView | None:
        index = self.table.currentIndex()
        return self.proxy.data(index, ViewRole) if index.isValid() else None

    def _selected(self) -> None:
        view = self.current()
        if view is None:
            self.card.show_empty()
        else:
            self.card.show_view(view, self.policy)
        self._enable(view)

    def _enable(self, view: ProposalView | None) -> None:
        can = view is not None and view.status == "pending" and view.my_decision is None
        self.approve.setEnabled(can)
        self.reject.setEnabled(can)

    def refresh_selection(self, keep_hash: str | None) -> None:
        for row in range(self.proxy.rowCount()):
            view = self.proxy.data(self.proxy.index(row, 0), ViewRole)
            if view.hash == keep_hash:
                self.table.selectRow(row)
                self._selected()
                return
        self._selected()

    def move(self, step: int) -> None:
        rows = self.proxy.rowCount()
        if rows:
            row = max(0, min(rows - 1, self.table.currentIndex().row() + step))
            self.table.selectRow(row)

    def _decide(self, verdict: str) -> None:
        view = self.current()
        if view is not None:
            self.decide_requested.emit(view, verdict)
