"""`foureyes-app [FILE.foureyes]`: start the reviewer app (or open a bundle to audit).

Settings load before any window; a first run asks who you are and which queue to use (or
opens the demo). Passing a bundle opens it in the auditor view at once, which works with
no identity or queue at all: an auditor needs neither.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

from app import theme
from app.settings import AppPaths, Settings
from app.views.main_window import MainWindow
from app.workers import TaskRunner
from core.errors import FoureyesError

APP_ID = "foureyes"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="foureyes-app",
                                     description="The Foureyes desktop reviewer app.")
    parser.add_argument("bundle", nargs="?", type=Path, metavar="FILE.foureyes",
                        help="a proof bundle to open in the auditor view")
    parser.add_argument("--demo", action="store_true",
                        help="open the demo workspace (rebuilt fresh in your data folder)")
    return parser.parse_args(argv)


def start(argv: list[str]) -> MainWindow:
    """Everything `main` does before the event loop (tests drive the window from here)."""
    args = parse_args(argv)
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else APP_ID])
    app.setApplicationName(APP_ID)
    app.setApplicationDisplayName("Foureyes")
    app.setDesktopFileName("foureyes-app")

    paths = AppPaths.default()
    try:
        settings = Settings.load(paths)
    except FoureyesError as e:
        QMessageBox.warning(None, "Foureyes", f"Your settings could not be read and were "
                            f"not used: {e.message}")
        settings = Settings()
    theme.apply(app, settings.theme)

    if args.demo:
        from app.demo import build_demo

        settings = build_demo(paths)
        settings.save(paths)
    elif not settings.complete and args.bundle is None:
        from app.views.first_run import FirstRunDialog

        runner = TaskRunner()
        dialog = FirstRunDialog(paths, runner, settings)
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.settings is not None:
            settings = dialog.settings
            settings.save(paths)
        runner.wait()

    window = MainWindow(paths, settings)
    window.show()
    if args.bundle is not None:
        window.open_bundle(args.bundle)
    return window


def main(argv: list[str] | None = None) -> int:
    window = start(sys.argv[1:] if argv is None else argv)
    code = QApplication.instance().exec()
    del window
    return code


if __name__ == "__main__":
    sys.exit(main())
