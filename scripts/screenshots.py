"""Render the app's main views offscreen into docs/screenshots/ (run: python scripts/screenshots.py).

Uses a fresh demo workspace in a temporary directory, so the pictures show real data.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "screenshots"


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="foureyes-shots-"))
    tmp = tmp.rename(tmp.parent / "demo-user") if not (tmp.parent / "demo-user").exists() \
        else tmp
    os.environ["XDG_DATA_HOME"] = str(tmp / "data")
    os.environ["XDG_CONFIG_HOME"] = str(tmp / "config")
    os.environ["XDG_STATE_HOME"] = str(tmp / "state")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.demo_workspace import create_demo_workspace
    from app.main_window import MainWindow
    from app.settings import Settings
    from app.theme import apply_theme
    from app.views.decide_dialog import DecideDialog

    app = QApplication([])
    apply_theme(app, "light")
    settings = Settings(**create_demo_workspace(tmp / "demo"))
    window = MainWindow(settings, cache_path=tmp / "cache.sqlite")
    window.resize(1280, 800)
    window.show()
    deadline = 200
    while window.policy is None and deadline:
        app.processEvents()
        QTimer.singleShot(20, lambda: None)
        app.processEvents()
        import time

        time.sleep(0.02)
        deadline -= 1
    OUT.mkdir(parents=True, exist_ok=True)
    qv = window.queue_view
    # select the tricky refund to show the warnings
    for row in range(qv.proxy.rowCount()):
        if "Refund" in qv.proxy.index(row, 1).data():
            qv.table.selectRow(row)
    app.processEvents()
    window.grab().save(str(OUT / "queue.png"))
    qv.card.grab().save(str(OUT / "card.png"))
    dialog = DecideDialog(qv.current(), "approve", window)
    dialog.reason.setPlainText("Matches ticket REF-2231; amount confirmed with the desk.")
    dialog.resize(560, 360)
    dialog.show()
    app.processEvents()
    dialog.grab().save(str(OUT / "decide.png"))
    dialog.close()
    window.tabs.setCurrentWidget(window.auditor)
    import shutil

    vectors = ROOT.parent / "shared" / "vectors"  # the independent implementation's bundle
    audit = Path("/tmp/auditor")
    audit.mkdir(exist_ok=True)
    for name in ("trust.toml", "payment-2of4.foureyes"):
        shutil.copy(vectors / name, audit / name)
    window.auditor.trust_file = str(audit / "trust.toml")
    window.auditor.trust_label.setText(window.auditor._trust_text())
    window.auditor.open_bundle(audit / "payment-2of4.foureyes")
    app.processEvents()
    window.grab().save(str(OUT / "auditor.png"))
    print(f"screenshots written to {OUT}")


if __name__ == "__main__":
    main()
