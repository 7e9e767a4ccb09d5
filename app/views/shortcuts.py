"""The keyboard shortcut overlay (F1 or ?): every key the reviewer can use, in one place."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QGridLayout, QVBoxLayout, QWidget

from app.views.widgets import heading, plain_label

SHORTCUTS = (
    ("J  or  Ctrl+Down", "next proposal in the list"),
    ("K  or  Ctrl+Up", "previous proposal in the list"),
    ("N", "next proposal waiting for you"),
    ("Ctrl+F", "filter the queue (route, recipient, parameters, title, people)"),
    ("Ctrl+Shift+A", "approve the selected proposal (opens the signing dialog)"),
    ("Ctrl+Shift+R", "reject the selected proposal (opens the signing dialog)"),
    ("Ctrl+Enter", "in the signing dialog: sign and submit"),
    ("Esc", "in the signing dialog: cancel without deciding"),
    ("F5", "sync with the queue now"),
    ("Ctrl+O", "open a proof bundle in the auditor"),
    ("Alt+Q / Alt+U / Alt+K", "the Queue, Auditor and Keys tabs"),
    ("F1  or  ?", "this list"),
)


class ShortcutsDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.setAccessibleName("Keyboard shortcuts")
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Keyboard shortcuts"))
        grid = QGridLayout()
        for row, (keys, what) in enumerate(SHORTCUTS):
            key_label = plain_label(keys, wrap=False)
            font = key_label.font()
            font.setBold(True)
            key_label.setFont(font)
            grid.addWidget(key_label, row, 0)
            grid.addWidget(plain_label(what, name=f"{keys}: {what}"), row, 1)
        layout.addLayout(grid)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
