"""Fixtures for the desktop app tests: real widgets over a real folder queue (or server).

Every test gets its own app home (FOUREYES_APP_HOME under tmp_path), so settings, cache and
own-decision state never touch the real user's files. `WAIT_MS` is the one timeout every
qtbot wait shares. `visible_strings` walks every QObject of every top-level window and every
item model (all rows, columns and roles): the blind-review tests search it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QAbstractItemModel, QModelIndex, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from app.settings import AppPaths, Settings
from core.formats import Proposal
from core.policy import Policy, SignedDecision
from core.queue.folder import FolderQueue
from core.sample import GATE, REVIEWERS, SampleWorld
from core.signing import FileKeySource

WAIT_MS = 10_000
# The modifiers of the window's Approve (Ctrl+Shift+A) and Reject (Ctrl+Shift+R) shortcuts.
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
# A Qt warning fails the test (qutebrowser's logfail habit), except the offscreen platform's
# note that it cannot propagate size hints, which says nothing about our code.
QT_STRICT = [pytest.mark.qt_log_level_fail("WARNING"),
             pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints")]
BOB, CAROL, DAVE = REVIEWERS
ROLES = list(range(0, 16)) + [int(Qt.ItemDataRole.UserRole) + i for i in range(8)]
VECTORS = Path(__file__).resolve().parents[2] / "shared" / "vectors"


@pytest.fixture
def app_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppPaths:
    home = tmp_path / "home"
    monkeypatch.setenv("FOUREYES_APP_HOME", str(home))
    return AppPaths.default()


@dataclass
class FolderWorld:
    """A shared-folder queue with the sample policy, the gate side, and bob's key file."""

    world: SampleWorld
    root: Path
    gate_state: Path
    key_file: Path
    policy: Policy
    proposals: list[Proposal] = field(default_factory=list)

    def gate(self) -> FolderQueue:
        return FolderQueue(self.root, role="gate", state_dir=self.gate_state,
                           seal_secret=self.world.seal_secret, log_signer=self.world.log_signer)

    def submit(self, **kwargs: Any) -> Proposal:
        p = self.world.proposal(policy_hash=self.policy.hash, **kwargs)
        gate = self.gate()
        try:
            gate.submit_proposal(p)
        finally:
            gate.close()
        self.proposals.append(p)
        return p

    def decide_as(self, identity: str, proposal: Proposal, verdict: str = "approve",
                  reason: str | None = None) -> None:
        """Another reviewer's sealed decision, made with their own key."""
        d, sig = self.world.decide(proposal, identity, verdict, reason,
                                   decided_at=proposal.created_at + timedelta(seconds=30))
        FolderQueue(self.root, role="reviewer", identity=identity).submit_decision(
            proposal.hash, SignedDecision(d.raw, sig))

    def settings(self, identity: str = BOB) -> Settings:
        return Settings(identity=identity, key_file=str(self.key_file), transport="folder",
                        folder=str(self.root), sync_seconds=3600)


@pytest.fixture
def folder_world(tmp_path: Path) -> FolderWorld:
    world = SampleWorld.create()
    root = tmp_path / "share"
    root.mkdir()
    (root / "policy.toml").write_bytes(world.policy_bytes())
    key_file = tmp_path / "keys" / "bob.key"
    FileKeySource(key_file).import_signer(BOB, world.signer(BOB))
    return FolderWorld(world, root, tmp_path / "gate-state", key_file,
                       Policy.from_bytes(world.policy_bytes()))


def make_window(qtbot: Any, paths: AppPaths, settings: Settings, rows: int) -> Any:
    from app.views.main_window import MainWindow

    window = MainWindow(paths, settings, use_tray=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.model.rowCount() >= rows and window.policy is not None,
                    timeout=WAIT_MS)
    return window


def close_window(window: Any) -> None:
    window.close()


@pytest.fixture
def window_factory(qtbot: Any, app_paths: AppPaths) -> Iterator[Any]:
    made: list[Any] = []

    def make(settings: Settings, rows: int = 1) -> Any:
        w = make_window(qtbot, app_paths, settings, rows)
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()


def select(window: Any, proposal: Proposal, qtbot: Any) -> None:
    assert window.queue_view.select_hash(proposal.hash)
    qtbot.waitUntil(lambda: window.card.view is not None
                    and window.card.view.hash == proposal.hash, timeout=WAIT_MS)


# ------------------------------------------------------------------ walking the UI

def _model_strings(model: QAbstractItemModel, parent: QModelIndex | None = None) -> list[str]:
    out: list[str] = []
    parent = parent or QModelIndex()
    for column in range(model.columnCount(parent)):
        for role in ROLES:
            value = model.headerData(column, Qt.Orientation.Horizontal, role)
            if value is not None:
                out.append(str(value))
    for row in range(model.rowCount(parent)):
        for column in range(model.columnCount(parent)):
            index = model.index(row, column, parent)
            for role in ROLES:
                value = model.data(index, role)
                if value is not None:
                    out.append(str(value))
            if column == 0 and model.rowCount(index) > 0:
                out += _model_strings(model, index)
    return out


def _object_strings(obj: QObject) -> list[str]:
    out = [obj.objectName()]
    if isinstance(obj, QWidget):
        out += [obj.toolTip(), obj.accessibleName(), obj.accessibleDescription(),
                obj.windowTitle(), obj.statusTip(), obj.whatsThis()]
    if isinstance(obj, QLabel | QAbstractButton | QLineEdit):
        out.append(obj.text())
    if isinstance(obj, QLineEdit):
        out.append(obj.placeholderText())
    if isinstance(obj, QPlainTextEdit | QTextEdit):
        out += [obj.toPlainText(), obj.placeholderText()]
    if isinstance(obj, QComboBox):
        out += [obj.itemText(i) for i in range(obj.count())]
    if isinstance(obj, QAbstractItemModel):
        out += _model_strings(obj)
    for name in ("text", "iconText", "toolTip", "statusTip"):  # QAction and friends
        getter = getattr(obj, name, None)
        if callable(getter) and not isinstance(obj, QWidget):
            try:
                value = getter()
            except TypeError:
                continue
            if isinstance(value, str):
                out.append(value)
    return [s for s in out if s]


def visible_strings() -> str:
    """Every string any QObject of the application exposes, joined (one big haystack)."""
    out: list[str] = []
    seen: set[int] = set()
    roots: list[QObject] = list(QApplication.topLevelWidgets())
    app = QApplication.instance()
    if app is not None:
        roots.append(app)
    for root in roots:
        for obj in [root, *root.findChildren(QObject)]:
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            out += _object_strings(obj)
    return "\n".join(out)


__all__ = ["BOB", "CAROL", "DAVE", "GATE", "QT_STRICT", "VECTORS", "WAIT_MS", "FolderWorld", "app_paths",
           "close_window", "folder_world", "make_window", "select", "visible_strings",
           "window_factory"]
