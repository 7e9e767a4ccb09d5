"""The queue: a sortable, filterable table of proposals, one selected at a time.

Single selection is deliberate: there is no way to select two proposals, so there is no way
to approve two at once. The data's age is always on screen, so an offline copy is never
mistaken for the live queue.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from PySide6.QtCore import QIdentityProxyModel, QItemSelection, Qt, QTimer, Signal
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
from app.models import (
    AGENT,
    AMOUNT,
    RECIPIENT,
    REQUESTER,
    REVERSIBILITY,
    ROUTE,
    STATUS,
    TIME_LEFT,
    TITLE,
    WARN,
    QueueModel,
    is_finished,
)
from app.views.widgets import Banner, plain_label
from core.formats import now_utc
from core.queue.base import ProposalView

AGE_REFRESH_MS = 15_000
COUNTDOWN_MS = 1000
# Starting widths in average characters: columns never collapse (the table scrolls
# sideways on a narrow window instead), and nothing measures 10,000 rows to size them.
WIDTHS = {WARN: 3, ROUTE: 18, RECIPIENT: 14, AMOUNT: 14, TITLE: 28, REQUESTER: 18,
          AGENT: 18, REVERSIBILITY: 12, TIME_LEFT: 9, STATUS: 22}
MIN_SECTION_CHARS = 3
MIN_ROWS = 3


class QueueView(QWidget):
    selection_changed = Signal(object)  # ProposalView | None
    sync_requested = Signal()

    def __init__(self, model: QueueModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Queue")
        self.model = model
        # A plain identity proxy (the model sorts and filters itself, see app.models): not a
        # Python subclass, so the table's per-cell calls through it stay in C++.
        self.proxy = QIdentityProxyModel(self)
        self.proxy.setSourceModel(model)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.banner = Banner(self)
        layout.addWidget(self.banner)
        self.notice = Banner(self, name="Roster notice")  # key not in the roster, and so on
        layout.addWidget(self.notice)

        bar = QHBoxLayout()
        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText(
            "Filter (Ctrl+F): route, recipient, parameters, title, requester, agent")
        self.filter_edit.setAccessibleName("Filter proposals")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self._filter_text)
        self.count = plain_label(name="Proposals shown", wrap=False)
        # a fixed size: a label whose text changes asks its parent to lay out again, and
        # that re-lays out (and repaints) the whole window, card included, per keystroke;
        # a label of fixed width and height never does
        self.count.setFixedSize(self.fontMetrics().horizontalAdvance("000000 of 000000") + 4,
                                self.count.sizeHint().height())
        self.count.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.pending_only = QCheckBox("&Waiting for me only", self)
        self.pending_only.setAccessibleName("Show only proposals waiting for me")
        self.pending_only.toggled.connect(self._filter_pending)
        self.sync_button = QPushButton("&Sync", self)
        self.sync_button.setAccessibleName("Sync with the queue now")
        self.sync_button.clicked.connect(self.sync_requested)
        bar.addWidget(self.filter_edit, 1)
        bar.addWidget(self.count)
        bar.addWidget(self.pending_only)
        bar.addWidget(self.sync_button)
        layout.addLayout(bar)

        self.table = QTableView(self)
        self.table.setAccessibleName("Proposals")
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(True)  # the proxy hands sorting to the model
        self.table.sortByColumn(TIME_LEFT, Qt.SortOrder.AscendingOrder)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table for the card
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # both ends stay visible
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        # one line of text a row: the style's default (about two lines) showed half as many
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().lineSpacing() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        char = self.fontMetrics().averageCharWidth()
        header.setMinimumSectionSize(MIN_SECTION_CHARS * char + 8)
        for column, chars in WIDTHS.items():
            self.table.setColumnWidth(column, chars * char + 16)
        header.setStretchLastSection(True)
        # at least MIN_ROWS whole rows under the header and the sideways scroll bar, however
        # small the window (3 * a line, once, left one clipped row at 200 %), and still
        # small enough that the window fits 683x384 (1366x768 at 200 %)
        self.table.setMinimumHeight(
            header.sizeHint().height() + self.table.horizontalScrollBar().sizeHint().height()
            + MIN_ROWS * self.table.verticalHeader().defaultSectionSize()
            + 2 * self.table.frameWidth())
        self.table.selectionModel().selectionChanged.connect(self._selection)
        layout.addWidget(self.table, 1)

        self.age = plain_label(name="Data age", wrap=True)
        layout.addWidget(self.age)
        self.proxy.modelAboutToBeReset.connect(self.remember_selection)
        self.proxy.modelReset.connect(self._restore)
        for signal in (self.proxy.modelReset, self.proxy.rowsInserted, self.proxy.rowsRemoved,
                       self.proxy.layoutChanged):
            signal.connect(self._count)
        self._want: str | None = None
        self._age_state: tuple[datetime | None, bool, str] = (None, False, "")
        self._age_timer = QTimer(self)
        self._age_timer.setInterval(AGE_REFRESH_MS)
        self._age_timer.timeout.connect(self._refresh_age)
        self._age_timer.start()
        self.ticked = 0  # time cells repainted by the countdown so far (tests read it)
        self._countdown = QTimer(self)
        self._countdown.setInterval(COUNTDOWN_MS)
        self._countdown.timeout.connect(self.tick)
        self._countdown.start()
        self._count()

    def height_for_rows(self, rows: int) -> int:
        """The height this view needs to show ``rows`` table rows, banners included even
        while hidden (a banner that appears later must not take the rows away)."""
        chrome = self.height() - self.table.viewport().height()
        for banner in (self.banner, self.notice):
            if banner.isHidden():
                chrome += banner.sizeHint().height() + self.layout().spacing()
        return chrome + rows * self.table.verticalHeader().defaultSectionSize()

    # -- the countdown: only the time cells on screen, only for live rows

    def visible_rows(self) -> range:
        table = self.table
        count = self.proxy.rowCount()
        first = table.rowAt(0)
        if count == 0 or first < 0:
            return range(0)
        last = table.rowAt(table.viewport().height() - 1)
        return range(first, (count - 1 if last < 0 else last) + 1)

    def tick(self) -> None:
        now = self.model.now()
        recently = now - timedelta(seconds=2 * COUNTDOWN_MS / 1000)
        for r in self.visible_rows():
            source = self.proxy.mapToSource(self.proxy.index(r, 0)).row()
            row = self.model.row_at(source)
            if row is None or is_finished(row.view) or row.expires < recently:
                continue  # finished rows stop counting down; expired ones say so already
            self.table.update(self.proxy.index(r, TIME_LEFT))
            self.ticked += 1
            if row.expires <= now:  # it just expired: the status cell changes too
                self.table.update(self.proxy.index(r, STATUS))

    def _count(self, *_args: object) -> None:
        shown, total = self.proxy.rowCount(), self.model.total()
        text = f"{shown} of {total}"
        self.count.setText(text)
        self.count.setAccessibleName(f"{shown} of {total} proposals shown")

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

    def next_waiting(self, after_hash: str | None = None) -> bool:
        """Select the next row (in the order shown, wrapping) waiting for this reviewer."""
        count = self.proxy.rowCount()
        if count == 0:
            return False
        now = self.model.now()
        start = -1
        if after_hash is not None:
            source = self.model.row_of(after_hash)
            if source >= 0:
                start = self.proxy.mapFromSource(self.model.index(source, 0)).row()
        else:
            rows = self.table.selectionModel().selectedRows()
            start = rows[0].row() if rows else -1
        for step in range(1, count + 1):
            r = (start + step) % count
            row = self.model.row_at(self.proxy.mapToSource(self.proxy.index(r, 0)).row())
            if row is not None and row.hash != after_hash and row.waiting(now):
                self.table.selectRow(r)
                self.table.scrollTo(self.proxy.index(r, 0))
                return True
        return False

    # -- filtering

    def _filter_text(self, text: str) -> None:
        self.model.set_filter(text=text)
        self._reveal_selection()

    def _filter_pending(self, on: bool) -> None:
        self.model.set_filter(pending_only=on)
        self._reveal_selection()

    def _reveal_selection(self) -> None:
        """After a filter change (one layout change, no reset) the selection is still on its
        proposal, somewhere else: bring it into view. Or that proposal is filtered out and
        the selection is gone, which Qt does not signal: the card follows either way."""
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.table.scrollTo(rows[0])
        self.selection_changed.emit(self.current())

    def remember_selection(self) -> None:
        view = self.current()
        self._want = view.hash if view else None

    def _restore(self) -> None:
        """After a reset, keep the reviewer on the proposal they were reading."""
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
