"""Render the main views offscreen into docs/screenshots/*.png.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py [--theme dark --suffix -dark]
    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py --scale 2 --suffix -200

Uses the demo workspace in a temporary home, so it never touches your settings or keyring.
Besides the demo's own proposals it renders a hostile one (a line break in the title, a bidi
override in the recipient, a parameter whose 3,000-space run hides a second instruction), on
the card and in the approve dialog, so the safety at signing can be looked at. It then
approves the demo payment carol already approved, lets the demo gate execute it and opens
its bundle in the auditor (the outcome a newcomer sees). `--scale 2` renders at 200 % on a
1366x768 screen (683x384 logical pixels), only the queue.
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
SIZE = (1280, 800)
SMALL_SCREEN = (1366, 768)
WAIT_SECONDS = 30.0
HOSTILE_TITLE = "Refund order 1182\nApproved-by: security@example.com"
HOSTILE_PARAMS = {"amount_minor": 990000, "currency": "USD", "to": "acct-77\u202e199",
                  "memo": "acct-991" + " " * 3000 + "; ALSO transfer 9000000 to acct-666"}


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
    parser.add_argument("--scale", type=float, default=1.0,
                        help="2 renders the queue at 200 %% on a 1366x768 screen")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if args.scale != 1:
        os.environ["QT_SCALE_FACTOR"] = str(args.scale)
    home = tempfile.mkdtemp(prefix="foureyes-shots-")
    os.environ["FOUREYES_APP_HOME"] = home

    from PySide6.QtWidgets import QApplication

    from app import theme
    from app.demo import build_demo
    from app.models import build_rows
    from app.settings import AppPaths
    from app.views.main_window import KEYS_TAB, QUEUE_TAB, MainWindow
    from core.queue.base import ProposalView
    from core.sample import SampleWorld

    app = QApplication([sys.argv[0]])
    theme.apply(app, args.theme)
    paths = AppPaths.default()
    settings = build_demo(paths)
    settings.theme = args.theme
    window = MainWindow(paths, settings, use_tray=False)
    if args.scale != 1:
        window.resize(int(SMALL_SCREEN[0] / args.scale), int(SMALL_SCREEN[1] / args.scale))
    else:
        window.resize(*SIZE)
    window.show()
    wait_until(app, lambda: window.model.rowCount() >= 6 and window.policy is not None)
    OUT.mkdir(parents=True, exist_ok=True)
    sfx = args.suffix
    written: list[str] = []

    def shoot(widget, name: str) -> None:  # noqa: ANN001
        for _ in range(5):
            app.processEvents()
        widget.grab().save(str(OUT / f"{name}{sfx}.png"))
        written.append(f"{name}{sfx}.png")

    def by_title(start: str) -> ProposalView:
        return next(v for v in window.model.views()
                    if v.proposal.summary["title"].startswith(start))

    def select(view: ProposalView) -> None:
        window.queue_view.select_hash(view.hash)
        wait_until(app, lambda: window.card.view is not None
                   and window.card.view.hash == view.hash)

    select(by_title("Pay invoice 4411"))
    shoot(window, "queue")
    if args.scale != 1:
        window.close()
        print("wrote", ", ".join(written))
        return

    select(by_title("Refund <b>VIP"))
    shoot(window, "card")

    # A hostile proposal, shown through the real model, card and dialog.
    hostile = SampleWorld.create().proposal(policy_hash=window.policy.hash, title=HOSTILE_TITLE,
                                            params=HOSTILE_PARAMS)
    views = [*window.model.views(), ProposalView(hostile, "pending")]
    window.model.set_rows(build_rows(views, window.policy, settings.identity))
    hostile_view = views[-1]
    select(hostile_view)
    shoot(window, "hostile-card")
    window.decide("approve")
    wait_until(app, lambda: window.dialog is not None and window.dialog.isVisible())
    window.dialog.resize(760, 720)
    shoot(window.dialog, "hostile-decide")
    window.dialog.reject()
    wait_until(app, lambda: window.dialog is None)

    pay = by_title("Pay invoice 4411")
    select(pay)
    window.decide("approve")
    wait_until(app, lambda: window.dialog is not None and window.dialog.isVisible())
    dialog = window.dialog
    dialog.reason.setPlainText("Matches PO-7781; the vendor account is on the allow-list.")
    dialog.confirm.setText(pay.proposal.action_hash[7:15])
    dialog.resize(760, 720)
    shoot(dialog, "decide")
    dialog.submit()  # signs with the demo key; the demo gate then executes the payment
    wait_until(app, lambda: window.dialog is None)
    wait_until(app, lambda: window.model.row_of(pay.hash) >= 0 and any(
        v.hash == pay.hash and v.status == "executed" for v in window.model.views()))
    select(next(v for v in window.model.views() if v.hash == pay.hash))
    shoot(window, "outcome")
    window.card.bundle_button.click()
    wait_until(app, lambda: window.auditor.result is not None)
    shoot(window, "auditor")

    window.tabs.setCurrentIndex(KEYS_TAB)
    wait_until(app, lambda: window.keys.state is not None)
    shoot(window, "keys")
    window.tabs.setCurrentIndex(QUEUE_TAB)
    window.show_shortcuts()
    wait_until(app, lambda: window.shortcuts_dialog.isVisible())
    shoot(window.shortcuts_dialog, "shortcuts")
    window.shortcuts_dialog.reject()
    window.close()
    print("wrote", ", ".join(written))


if __name__ == "__main__":
    main()
