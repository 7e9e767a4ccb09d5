"""The main window: wires the views to the session, the workers and each other. No logic.

Queue tab: the table above, the decision card below. Auditor and Keys tabs.
Syncing runs on the queue worker on a timer and on demand, and the rows are built and the
model's update planned there too (`app.sync`), so a 10,000-item sync costs the GUI thread
only applying the plan. The last pull is cached for offline use. What a live pull brings is
announced by `app.views.notices` (tray or banner; never from an offline copy).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QGuiApplication,
    QKeySequence,
    QShortcut,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QSplitter,
    QTabWidget,
)

from app import theme
from app.cache import CachedQueue
from app.gc_pause import paused_collection
from app.models import QueueModel, build_rows
from app.session import Pull, Session, plain_pull_error
from app.settings import AppPaths, Settings
from app.sync import Prepared, prepare
from app.views.auditor_view import AuditorView
from app.views.decide_dialog import DecideDialog
from app.views.decision_card import DecisionCard
from app.views.first_run import FirstRunDialog
from app.views.keys_view import KeysView, roster_problem
from app.views.notices import NOTIFY_MS, Notices, left_out, make_tray
from app.views.queue_view import QueueView
from app.views.shortcuts import ShortcutsDialog
from app.views.widgets import PlainValue
from app.workers import TaskRunner
from core.policy import Policy
from core.queue.base import ProposalView

QUEUE_TAB, AUDITOR_TAB, KEYS_TAB = range(3)
TABLE_SHARE = 0.42  # of the queue tab's height, on first show
TABLE_ROWS = 6  # rows the queue shows at least, when the window has the height for it
DEFAULT_SIZE = (1280, 800)


class MainWindow(QMainWindow):
    def __init__(self, paths: AppPaths, settings: Settings, *, use_tray: bool = True) -> None:
        super().__init__()
        self.paths = paths
        self.settings = settings
        self.session: Session | None = None
        self.policy: Policy | None = None
        self.live = False  # the rows shown come from a live pull (not the offline copy)
        self.syncing = False
        self.dialog: DecideDialog | None = None
        self.setWindowTitle("Foureyes reviewer")
        self.setAccessibleName("Foureyes reviewer")

        self.queue_runner = TaskRunner(self)  # one thread: the queue client is used serially
        self.aux_runner = TaskRunner(self, max_threads=2)  # verification, keys, demo

        self.model = QueueModel(self)
        self.queue_view = QueueView(self.model)
        self.card = DecisionCard()
        split = QSplitter(Qt.Orientation.Vertical)  # every column fits; the card gets two
        split.addWidget(self.queue_view)
        split.addWidget(self.card)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        self.split = split
        self._sized = False
        split.setChildrenCollapsible(False)
        self.auditor = AuditorView(self.aux_runner, settings.trust_file)
        self.keys = KeysView(self.aux_runner)
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Views")
        self.tabs.addTab(split, "&Queue")
        self.tabs.addTab(self.auditor, "A&uditor")
        self.tabs.addTab(self.keys, "&Keys")
        self.setCentralWidget(self.tabs)
        self.who = QLabel()
        self.who.setTextFormat(Qt.TextFormat.PlainText)
        self.who.setAccessibleName("Identity and queue")
        self.statusBar().addPermanentWidget(self.who)

        self.queue_view.selection_changed.connect(self._selected)
        self.queue_view.sync_requested.connect(self.sync)
        self.card.approve_requested.connect(lambda: self.decide("approve"))
        self.card.reject_requested.connect(lambda: self.decide("reject"))
        self.auditor.trust_chosen.connect(self._trust_chosen)
        self.keys.key_changed.connect(self._key_changed)
        self.keys.rendered.connect(self._roster_notice)
        self.card.open_bundle_requested.connect(self._open_final_bundle)

        self.sync_timer = QTimer(self)
        self.sync_timer.timeout.connect(self.sync)
        self.tray = make_tray(self) if use_tray else None
        self.notices = Notices(self.queue_view.banner, self.tray)
        self._menus()
        self._shortcuts()
        self.fit_to_screen()
        self.apply_settings(settings)

    # -- set-up

    def _menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.open_action = QAction("&Open bundle…", self)
        self.open_action.setShortcut(QKeySequence("Ctrl+O"))
        self.open_action.triggered.connect(self.open_bundle_dialog)
        setup = QAction("&Set up identity and queue…", self)
        setup.triggered.connect(self.run_first_run)
        demo = QAction("Open the &demo workspace", self)
        demo.triggered.connect(self.open_demo)
        sync = QAction("S&ync now", self)
        sync.setShortcut(QKeySequence("F5"))
        sync.triggered.connect(self.sync)
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        for action in (self.open_action, setup, demo, sync, quit_action):
            file_menu.addAction(action)
        decide_menu = bar.addMenu("&Decide")
        self.approve_action = QAction("&Approve selected…", self)
        self.approve_action.setShortcut(QKeySequence("Ctrl+Shift+A"))
        self.approve_action.triggered.connect(lambda: self.decide("approve"))
        self.reject_action = QAction("&Reject selected…", self)
        self.reject_action.setShortcut(QKeySequence("Ctrl+Shift+R"))
        self.reject_action.triggered.connect(lambda: self.decide("reject"))
        self.next_action = QAction("&Next waiting for me", self)
        self.next_action.setShortcut(QKeySequence("N"))
        self.next_action.triggered.connect(self.next_waiting)
        decide_menu.addAction(self.approve_action)
        decide_menu.addAction(self.reject_action)
        decide_menu.addAction(self.next_action)
        view_menu = bar.addMenu("&View")
        themes = QActionGroup(self)
        for mode in ("system", "light", "dark"):
            action = QAction(f"{mode.capitalize()} theme", self, checkable=True)
            action.setChecked(mode == self.settings.theme)
            action.triggered.connect(lambda _=False, m=mode: self.set_theme(m))
            themes.addAction(action)
            view_menu.addAction(action)
        help_menu = bar.addMenu("&Help")
        self.shortcuts_action = QAction("&Keyboard shortcuts", self)
        self.shortcuts_action.setShortcuts([QKeySequence("F1"), QKeySequence("?")])
        self.shortcuts_action.triggered.connect(self.show_shortcuts)
        help_menu.addAction(self.shortcuts_action)

    def _shortcuts(self) -> None:
        for keys, delta in (("J", 1), ("Ctrl+Down", 1), ("K", -1), ("Ctrl+Up", -1)):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.activated.connect(lambda d=delta: self.step(d))
        self.find_shortcut = QShortcut(QKeySequence(QKeySequence.StandardKey.Find), self)
        self.find_shortcut.activated.connect(self.focus_filter)

    def fit_to_screen(self) -> None:
        """1280x800 when it fits; otherwise the screen's available area (200 % on a small
        display leaves ~680x380 logical pixels), so Approve and Reject are never off-screen."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        area = screen.availableGeometry() if screen is not None else None
        width, height = DEFAULT_SIZE
        if area is not None:
            width, height = min(width, area.width()), min(height, area.height())
        self.resize(width, height)

    def focus_filter(self) -> None:
        self.tabs.setCurrentIndex(QUEUE_TAB)
        self.queue_view.filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.queue_view.filter_edit.selectAll()

    def next_waiting(self) -> None:
        if self.tabs.currentIndex() == QUEUE_TAB and self.dialog is None and \
                not self.queue_view.next_waiting():
            self.statusBar().showMessage("Nothing else is waiting for you.", NOTIFY_MS)

    def show_shortcuts(self) -> None:
        dialog = ShortcutsDialog(self)
        dialog.finished.connect(dialog.deleteLater)
        self.shortcuts_dialog = dialog
        dialog.open()

    def apply_settings(self, settings: Settings) -> None:
        """Start (or restart) the session these settings describe."""
        self.settings = settings
        if self.session is not None:
            self.queue_runner.wait()
            self.session.close()
        self.session = Session(settings, self.paths) if settings.complete else None
        self.policy = None
        self.notices.reset()
        self.live = False
        self.queue_view.notice.hide()
        self.model.set_rows([])
        self.card.set_view(None, None, settings.identity)
        self.auditor.set_trust(settings.trust_file)
        where = f"{settings.transport} {settings.source}" if self.session else "no queue set up"
        if settings.demo:  # its folder is an implementation detail (and screenshots show it)
            where = "folder queue"
        demo = " (demo workspace)" if settings.demo else ""
        self.who.setText(f"{settings.identity or 'no identity'} · {where}{demo}")
        self.keys.set_source(self.session.key_source() if self.session else None,
                             settings.identity,
                             "a key file in the demo workspace (demo keys are not secret)"
                             if settings.demo else "")
        self.keys.set_policy(None)
        self.sync_timer.stop()
        if self.session is None:
            self.queue_view.show_age(None, True, "set up an identity and a queue (File menu)")
            return
        self.sync_timer.start(settings.sync_seconds * 1000)
        session = self.session
        identity = settings.identity

        order = self.model.order()

        def cached() -> tuple[Prepared, CachedQueue]:
            with paused_collection():
                copy = session.load_cache()
                pull = Pull(copy.views, copy.policy, copy.synced_at, offline=True)
                return prepare(pull, identity, None, None, order), copy

        self.queue_runner.run(cached, self._cached, lambda _e: None)
        self.sync()

    # -- syncing

    def sync(self) -> None:
        if self.session is None or self.syncing:
            return
        self.syncing = True
        self.queue_view.sync_button.setEnabled(False)
        session, identity, policy = self.session, self.settings.identity, self.policy
        base, order = self.model.snapshot(), self.model.order()

        def pull() -> Prepared:
            with paused_collection():  # a pull parses every proposal anew: see app.gc_pause
                return prepare(session.pull(), identity, policy, base, order)

        self.queue_runner.run(pull, self._pulled, self._pull_failed)

    def _cached(self, result: tuple[Prepared, CachedQueue]) -> None:
        prepared, copy = result
        if copy.synced_at is None or not self.syncing:
            return  # no copy yet, or the live pull already arrived
        self._show(prepared, live=False)
        self.queue_view.show_age(copy.synced_at, True,
                                 "Syncing…" + left_out(copy.left_out, copy.left_waiting))

    def _pulled(self, prepared: Prepared) -> None:
        self.syncing = False
        self.queue_view.sync_button.setEnabled(True)
        pull = prepared.pull
        self._show(prepared, live=not pull.offline)
        self.queue_view.show_age(pull.synced_at, pull.offline,
                                 pull.error + left_out(pull.left_out, pull.left_waiting))

    def _pull_failed(self, error: object) -> None:
        self.syncing = False
        self.queue_view.sync_button.setEnabled(True)
        self.queue_view.show_age(None, True, plain_pull_error(error, self.settings))

    def _show(self, prepared: Prepared, *, live: bool) -> None:
        if prepared.policy is not None:
            self.policy = prepared.policy
            self.keys.set_policy(prepared.policy)
        self.live = live
        if prepared.plan is not None:
            self.model.apply(prepared.plan)
        else:
            self.model.set_rows(prepared.rows)
        current = self.queue_view.current()
        if current != self.card.view:  # a sync changed the proposal being read
            self.card.set_view(current, self.policy, self.settings.identity)
        elif current is None:
            self.card.set_view(None, self.policy, self.settings.identity)
        if live:  # an offline copy may be stale: it never notifies, and never counts
            self.notices.announce(prepared)

    def _roster_notice(self) -> None:
        key = self.keys.state.current if self.keys.state is not None else None
        problem = roster_problem(self.policy, self.settings.identity, key)
        if problem and self.session is not None:
            self.queue_view.notice.show_message(problem, self.keys.line())
        else:
            self.queue_view.notice.hide()

    # -- selection and deciding

    def _selected(self, view: ProposalView | None) -> None:
        if view is self.card.view:
            return  # re-selected after a filter change or a sync: the card is already right
        self.card.set_view(view, self.policy, self.settings.identity)

    def step(self, delta: int) -> None:
        if self.tabs.currentIndex() == QUEUE_TAB and self.dialog is None:
            self.queue_view.step(delta)

    def decide(self, verdict: str) -> None:
        view = self.card.view
        if self.tabs.currentIndex() != QUEUE_TAB or view is None or self.dialog is not None:
            return
        if self.session is None or self.policy is None or not self.card.can_decide():
            self.statusBar().showMessage(self.card.blocked.text(), NOTIFY_MS)
            return
        self.dialog = DecideDialog(view, self.policy, self.session, self.queue_runner,
                                   verdict, self,
                                   min_reason_chars=self.settings.min_reason_chars,
                                   min_reason_words=self.settings.min_reason_words)
        area = self.screen().availableGeometry() if self.screen() else None
        if area is not None:  # the buttons sit below the scrolling part: keep them on screen
            hint = self.dialog.sizeHint()
            self.dialog.resize(min(max(hint.width(), 720), area.width()),
                               min(max(hint.height(), 600), area.height()))
        self.dialog.decided.connect(self._decided)
        self.dialog.finished.connect(self._dialog_closed)
        self.dialog.open()
        self.dialog.activateWindow()

    def _dialog_closed(self) -> None:
        if self.dialog is not None:
            self.dialog.deleteLater()
        self.dialog = None

    def _decided(self, view: ProposalView) -> None:
        self.model.replace(build_rows([view], self.policy, self.settings.identity)[0])
        self.card.set_view(view, self.policy, self.settings.identity)
        # on to the next proposal waiting for this reviewer; the one just decided stays
        # selected when nothing else waits, so its outcome is in view
        moved = self.queue_view.next_waiting(after_hash=view.hash)
        self.statusBar().showMessage("Your decision was signed and handed in."
                                     + ("" if moved else " Nothing else is waiting for you."),
                                     NOTIFY_MS)
        if self.session is not None and self.settings.demo:
            self._run_demo_gate()
        else:
            self.sync()  # live counts, and whatever the decision changed

    def _run_demo_gate(self) -> None:
        """Demo only: the demo's gate runs what the reviewers approved, then we sync."""
        from app.demo import run_demo_gate

        paths = self.paths
        self.aux_runner.run(lambda: run_demo_gate(paths), lambda _n: self.sync(),
                            lambda e: self.statusBar().showMessage(f"Demo gate: {e}"))

    def _open_final_bundle(self) -> None:
        view = self.card.view
        path = self.session.bundle_path(view.hash) if self.session and view else None
        if path is None:
            self.statusBar().showMessage("No proof bundle for this proposal here yet.",
                                         NOTIFY_MS)
            return
        self.open_bundle(path)

    # -- auditor, keys, settings

    def open_bundle(self, path: Path) -> None:
        self.tabs.setCurrentIndex(AUDITOR_TAB)
        self.auditor.open_bundle(path)

    def open_bundle_dialog(self) -> None:
        self.tabs.setCurrentIndex(AUDITOR_TAB)
        self.auditor.choose_bundle()

    def _trust_chosen(self, path: str) -> None:
        self.settings.trust_file = path
        self.settings.save(self.paths)

    def _key_changed(self) -> None:
        if self.session is not None:  # a server login signs with the key: start afresh
            self.apply_settings(self.settings)

    def set_theme(self, mode: str) -> None:
        self.settings.theme = mode
        theme.apply(QApplication.instance(), mode)
        for value in self.findChildren(PlainValue):
            value.restyle()
        self.queue_view.banner.recolor()
        self.queue_view.notice.recolor()
        self.card.set_view(self.card.view, self.policy, self.settings.identity)
        if self.settings.complete:
            self.settings.save(self.paths)

    def run_first_run(self) -> None:
        dialog = FirstRunDialog(self.paths, self.aux_runner, self.settings, self)
        dialog.finished.connect(lambda _r: self._first_run_done(dialog))
        dialog.open()

    def _first_run_done(self, dialog: FirstRunDialog) -> None:
        if dialog.settings is not None:
            dialog.settings.theme = self.settings.theme
            dialog.settings.save(self.paths)
            self.apply_settings(dialog.settings)
        dialog.deleteLater()

    def open_demo(self) -> None:
        from app.demo import build_demo

        paths = self.paths
        self.statusBar().showMessage("Building the demo workspace…")

        def ready(settings: Settings) -> None:
            settings.theme = self.settings.theme
            settings.save(self.paths)
            self.apply_settings(settings)
            self.statusBar().showMessage("Demo workspace ready: you are bob@example.com.",
                                         NOTIFY_MS)

        self.aux_runner.run(lambda: build_demo(paths), ready,
                            lambda e: self.statusBar().showMessage(f"Demo failed: {e}"))

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._sized:  # sizes only mean something once the window has its size
            self._sized = True
            self.size_split()

    def size_split(self) -> None:
        """The queue gets its share, and at least room for `TABLE_ROWS` rows (a 200 %
        display left it one clipped row); the card keeps room for its buttons and a few
        lines, and scrolls."""
        height = max(self.split.height(), 1)
        card_min = self.card.minimumSizeHint().height() + 4 * self.fontMetrics().height()
        table = max(int(height * TABLE_SHARE),
                    min(self.queue_view.height_for_rows(TABLE_ROWS), height - card_min))
        self.split.setSizes([table, height - table])

    def closeEvent(self, event: QCloseEvent) -> None:
        self.sync_timer.stop()
        self.queue_runner.wait()
        self.aux_runner.wait()
        if self.session is not None:
            self.session.close()
        if self.tray is not None:
            self.tray.hide()
        super().closeEvent(event)
