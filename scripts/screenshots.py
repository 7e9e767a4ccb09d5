"""Render the main views offscreen at 1280x800 into docs/screenshots/*.png.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py [--scale 2]

Uses the demo workspace in a temporary home, so it never touches your settings or keyring.
The auditor view shows the independent vector from ../shared/vectors when it is there.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "screenshots"
VECTORS = ROOT.parent / "shared" / "vectors"
SIZE = (1280, 800)
WAIT_SECONDS = 20.0


def wait_until(app, cond: Callable[[], bool]) -> None:  # noqa: ANN001 - QApplication
    deadline = time.monotonic() + WAIT_SECONDS
    while not cond():
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for the view")
        app.processEvents()
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--suffix", default="", help="appended to each file name")
    parser.add_argument("--theme", default="light", choices=("light", "dark"))
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    home = tempfile.mkdtemp(prefix="foureyes-shots-")
    os.environ["FOUREYES_APP_HOME"] = home

    from PySide6.QtWidgets import QApplication

    from app import theme
    from app.demo import build_demo
    from app.settings import AppPaths
    from app.views.main_window import AUDITOR_TAB, QUEUE_TAB, MainWindow

    app = QApplication([sys.argv[0]])
    theme.apply(app, args.theme)
    paths = AppPaths.default()
    settings = build_demo(paths)
    settings.theme = args.theme
    window = MainWindow(paths, settings, use_tray=False)
    window.resize(*SIZE)
    window.show()
    wait_until(app, lambda: window.model.rowCount() >= 6 and window.policy is not None)
    OUT.mkdir(parents=True, exist_ok=True)
    sfx = args.suffix

    window.queue_view.select_hash(next(v.hash for v in window.model.views()
                                       if v.proposal.summary["title"].startswith("Pay invoice 4411")))
    wait_until(app, lambda: window.card.view is not None)
    app.processEvents()
    window.grab().save(str(OUT / f"queue{sfx}.png"))

    suspicious = next(v for v in window.model.views() if "VIP" in v.proposal.summary["title"])
    window.queue_view.select_hash(suspicious.hash)
    wait_until(app, lambda: window.card.view is not None and window.card.view.hash == suspicious.hash)
    app.processEvents()
    window.grab().save(str(OUT / f"card{sfx}.png"))

    window.queue_view.select_hash(next(v.hash for v in window.model.views()
                                       if v.proposal.summary["title"].startswith("Pay invoice 4411")))
    window.decide("approve")
    wait_until(app, lambda: window.dialog is not None and window.dialog.isVisible())
    dialog = window.dialog
    dialog.reason.setPlainText("Matches PO-7781; the vendor account is on the allow-list.")
    dialog.resize(720, 560)
    app.processEvents()
    dialog.grab().save(str(OUT / f"decide{sfx}.png"))
    dialog.reject()
    wait_until(app, lambda: window.dialog is None)

    window.tabs.setCurrentIndex(AUDITOR_TAB)
    if (VECTORS / "payment-2of4.foureyes").exists():
        window.auditor.set_trust(str(VECTORS / "trust.toml"))
        window.auditor.open_bundle(VECTORS / "payment-2of4.foureyes")
    else:
        window.auditor.open_bundle(paths.demo_dir / "payment-4398.foureyes")
    wait_until(app, lambda: window.auditor.result is not None)
    app.processEvents()
    window.grab().save(str(OUT / f"auditor{sfx}.png"))

    window.tabs.setCurrentIndex(QUEUE_TAB + 2)
    wait_until(app, lambda: window.keys.state is not None)
    app.processEvents()
    window.grab().save(str(OUT / f"keys{sfx}.png"))
    window.close()
    print("wrote", ", ".join(f"{name}{sfx}.png" for name in
                             ("queue", "card", "decide", "auditor", "keys")))


if __name__ == "__main__":
    main()
