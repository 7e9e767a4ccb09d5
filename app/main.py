"""`foureyes-app [BUNDLE]`: the reviewer and auditor desktop app."""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from PySide6.QtWidgets import QApplication

    from app.demo_workspace import create_demo_workspace
    from app.main_window import MainWindow
    from app.settings import Settings, data_dir
    from app.theme import apply_theme
    from app.views.first_run import FirstRunDialog

    args = list(sys.argv[1:] if argv is None else argv)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("Foureyes")
    settings = Settings.load()
    apply_theme(app, settings.theme)
    bundle = Path(args[0]) if args else None
    if bundle is None and not settings.configured:
        dialog = FirstRunDialog(settings)
        if dialog.exec() != FirstRunDialog.DialogCode.Accepted:
            return 0
        if dialog.demo_requested:
            for key, value in create_demo_workspace(data_dir() / "demo").items():
                setattr(settings, key, value)
        settings.save()
    window = MainWindow(settings)
    if bundle is not None:
        window.tabs.setCurrentWidget(window.auditor)
        window.auditor.open_bundle(bundle)
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
