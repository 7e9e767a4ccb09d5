"""The thin main window: tabs for Queue, Audit and Keys, a status bar, shortcuts, sync."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QMainWindow,
    QMessageBox,
    QSystemTrayIcon,
    QTabWidget,
)

from app.cache import QueueCache
from app.models import QueueModel
from app.settings import Settings, data_dir
from app.theme import apply_theme
from app.views.auditor_view import AuditorView
from app.views.common import plain_label
from app.views.decide_dialog import DecideDialog
from app.views.keys_view import KeysView
from app.views.queue_view import QueueView
from app.workers import run_task
from core.errors import FoureyesError
from core.formats import now_utc
from core.policy import Policy
from core.queue.base import ProposalView, Queue
from core.review import make_decision, precheck
from core.signing import KeySource, key_source

SYNC_SECONDS = 30


def make_queue(settings: Settings, source: KeySource) -> Queue:
    if settings.server:
        from core.queue.http import HttpQueue

        return HttpQueue(settings.server, identity=settings.identity,
                         signer=source.signer(settings.identity))
    from core.queue.folder import FolderQueue

    return FolderQueue(Path(settings.folder), role="reviewer", identity=settings.identity,
                       state_dir=data_dir() / "state")


class MainWindow(QMainWindow):
    def __init__(self, settings: Settings, cache_path: Path | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.setWindowTitle("Foureyes")
        self.resize(1280, 800)
        self.model = QueueModel()
        self.queue_view = QueueView(self.model)
        self.auditor = AuditorView(settings.trust_file)
        self.keys = KeysView()
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Sections")
        self.tabs.addTab(self.queue_view, "&Queue")
        self.tabs.addTab(self.auditor, "&Audit")
        self.tabs.addTab(self.keys, "&Keys")
        self.setCentralWidget(self.tabs)
        self.status = plain_label("", "Status", selectable=False)
        self.status.setAccessibleName("Status")
        self.statusBar().addWidget(self.status, 1)
        self.cache = QueueCache(cache_path or data_dir() / "queue-cache.sqlite")
        self.policy: Policy | None = None
        self.queue: Queue | None = None
        self.source: KeySource | None = None
        self.busy = False
        self.seen: set[str] = set()
        self.tray = QSystemTrayIcon(self) if QSystemTrayIcon.isSystemTrayAvailable() else None
        self.queue_view.decide_requested.connect(self.start_decision)
        self._shortcuts()
        self.tick = QTimer(self)
        self.tick.timeout.connect(self._tick)
        self.tick.start(1000)
        self.auto = QTimer(self)
        self.auto.timeout.connect(self.sync)
        self.auto.start(SYNC_SECONDS * 1000)
        self.synced_at = self.cache.synced_at()
        self.configure()

    # ------------------------------------------------------------------ setup

    def _shortcuts(self) -> None:
        pairs = [("J", lambda: self.queue_view.move(1)), ("K", lambda: self.queue_view.move(-1)),
                 ("Ctrl+Down", lambda: self.queue_view.move(1)),
                 ("Ctrl+Up", lambda: self.queue_view.move(-1)),
                 ("Ctrl+Shift+A", lambda: self.queue_view._decide("approve")),
                 ("Ctrl+Shift+R", lambda: self.queue_view._decide("reject")),
                 ("Ctrl+O", self._open_bundle), ("F5", self.sync),
                 ("Ctrl+Shift+D", self.toggle_theme)]
        self._keys = []
        for seq, fn in pairs:
            sc = QShortcut(QKeySequence(seq), self)
            sc.activated.connect(fn)
            self._keys.append(sc)

    def _open_bundle(self) -> None:
        self.tabs.setCurrentWidget(self.auditor)
        self.auditor.choose_bundle()

    def toggle_theme(self) -> None:
        self.settings.theme = "dark" if self.settings.theme == "light" else "light"
        apply_theme(QApplication.instance(), self.settings.theme)

    def configure(self) -> None:
        """(Re)build the queue from settings; show cached data at once, then sync."""
        self.auditor.trust_file = self.settings.trust_file
        self.auditor.trust_label.setText(self.auditor._trust_text())
        if not self.settings.configured:
            self.status.setText("Not connected: choose a server or a shared folder.")
            return
        self.source = key_source(Path(self.settings.key_file) if self.settings.key_file
                                 else None)
        self.keys.set_source(self.source, self.settings.identity)
        cached = self.cache.load()
        if cached:
            self.model.set_views(cached)
        self.queue = None
        self.sync()

    # ------------------------------------------------------------------ sync

    def sync(self) -> None:
        if not self.settings.configured or self.busy:
            return
        settings, source = self.settings, self.source

        def work():  # noqa: ANN202 - runs on a worker thread
            queue = self.queue or make_queue(settings, source)
            return queue, queue.policy_bytes(), queue.list_proposals()

        self.status.setText("Syncing…")
        self._sync_task = run_task(work, self._synced, self._sync_failed)

    def _synced(self, result) -> None:  # noqa: ANN001
        self.queue, policy_bytes, views = result
        self.policy = Policy.from_bytes(policy_bytes)
        self.queue_view.policy = self.policy
        keep = self.queue_view.current()
        self.model.set_views(views)
        self.queue_view.refresh_selection(keep.hash if keep else None)
        self.cache.store(views)
        self.synced_at = time.time()
        new = [v for v in views if v.status == "pending" and v.hash not in self.seen
               and v.my_decision is None]
        if self.seen and new:
            self.notify(f"{len(new)} new proposal(s) waiting for your review")
        self.seen |= {v.hash for v in views}
        self._status_text()

    def _sync_failed(self, code: str, message: str) -> None:
        self.status.setText(f"Offline ({code}): {message}. Showing the last synced queue"
                            f"{self._age()}.")

    def notify(self, message: str) -> None:
        if self.tray is not None:
            self.tray.showMessage("Foureyes", message)
        self.statusBar().showMessage(message, 10_000)

    def _age(self) -> str:
        if self.synced_at is None:
            return " (never synced)"
        return f" from {int(time.time() - self.synced_at)} s ago"

    def _status_text(self) -> None:
        where = self.settings.server or self.settings.folder
        self.status.setText(f"{self.settings.identity} · {where} · synced{self._age()}")

    def _tick(self) -> None:
        self.model.tick()

    # ------------------------------------------------------------------ deciding

    def start_decision(self, view: ProposalView, verdict: str) -> None:
        if self.busy or self.policy is None:
            return
        try:
            precheck(self.policy, view.proposal, self.settings.identity, now_utc())
        except FoureyesError as e:
            QMessageBox.warning(self, "Cannot decide", e.message)
            return
        dialog = DecideDialog(view, verdict, self)
        self._dialog = dialog
        if dialog.exec() != DecideDialog.DialogCode.Accepted:
            return
        self.submit(view, verdict, dialog.reason_text())

    def submit(self, view: ProposalView, verdict: str, reason: str) -> None:
        """Sign and send off the GUI thread; busy until it answers; offer a retry."""
        queue, source, identity, policy = self.queue, self.source, self.settings.identity, \
            self.policy

        def work():  # noqa: ANN202 - worker thread
            signer = source.signer(identity)
            now = now_utc()
            precheck(policy, view.proposal, identity, now, signer)
            signed = make_decision(view.proposal, verdict=verdict, reason=reason,
                                   identity=identity, signer=signer, now=now)
            return queue.submit_decision(view.hash, signed)

        self.busy = True
        self.queue_view.approve.setEnabled(False)
        self.queue_view.reject.setEnabled(False)
        self.status.setText("Signing and sending your decision…")

        def done(ack) -> None:  # noqa: ANN001
            self.busy = False
            self.status.setText(f"Your {verdict} was recorded ({ack.decision_hash[:19]}…).")
            self.sync()

        def failed(code: str, message: str) -> None:
            self.busy = False
            self.status.setText(f"Not recorded [{code}]: {message}")
            box = QMessageBox(QMessageBox.Icon.Warning, "Decision not recorded",
                              f"The queue refused or could not be reached:\n{message}",
                              QMessageBox.StandardButton.Retry
                              | QMessageBox.StandardButton.Close, self)
            self._error_box = box
            if code in ("unreachable", "storage", "error") and \
                    box.exec() == QMessageBox.StandardButton.Retry:
                self.submit(view, verdict, reason)
            self.queue_view._enable(view)

        self._submit_task = run_task(work, done, failed)
