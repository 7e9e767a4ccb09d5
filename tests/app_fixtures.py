"""Helpers for driving the real app widgets against real queues."""

from __future__ import annotations

from pathlib import Path

from app.main_window import MainWindow
from app.models import ViewRole
from app.settings import Settings
from core.sample import SampleWorld
from core.signing import FileKeySource

TIMEOUT_MS = 15_000


def key_file(world: SampleWorld, identity: str, tmp: Path) -> Path:
    path = tmp / f"{identity.replace(':', '-')}.key"
    if not path.exists():
        FileKeySource(path).import_signer(identity, world.signer(identity))
    return path


def open_window(qtbot, tmp: Path, **settings) -> MainWindow:
    window = MainWindow(Settings(**settings), cache_path=tmp / "cache.sqlite")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.policy is not None or "Offline" in window.status.text(),
                    timeout=TIMEOUT_MS)
    return window


def select(window: MainWindow, proposal_hash: str) -> None:
    qv = window.queue_view
    for row in range(qv.proxy.rowCount()):
        view = qv.proxy.data(qv.proxy.index(row, 0), ViewRole)
        if view.hash == proposal_hash:
            qv.table.selectRow(row)
            return
    raise AssertionError("proposal not in the table")


def model_strings(model) -> str:  # noqa: ANN001
    """Every string any role of any cell of a model gives out."""
    from PySide6.QtCore import Qt

    out = []
    for r in range(model.rowCount()):
        for c in range(model.columnCount()):
            for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole,
                         Qt.ItemDataRole.AccessibleTextRole, Qt.ItemDataRole.StatusTipRole,
                         Qt.ItemDataRole.WhatsThisRole):
                v = model.data(model.index(r, c), role)
                if v is not None:
                    out.append(str(v))
    return "\n".join(out)
