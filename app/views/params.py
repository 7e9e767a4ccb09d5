"""The exact action parameters as a decoded table, one row per parameter.

Shown on the card and again in the approve dialog, so what a reviewer signs is never less
than what they read. Keys and values are agent-written: each passes through
`core.textsafety.reveal` in one-line mode (a line break or a run of spaces becomes a visible
marker), wraps instead of eliding, and carries its warnings under it and in its accessible
description. Values that are not strings are shown as canonical JSON.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from app import theme
from app.display import param_text, reveal
from app.views.widgets import PlainValue, plain_label

KEY_MAX_PX = 200  # a longer parameter name wraps


class ParamsTable(QWidget):
    def __init__(self, parent: QWidget | None = None, *, name: str = "Action parameters") -> None:
        super().__init__(parent)
        self.setAccessibleName(name)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(12)
        self.grid.setVerticalSpacing(2)
        self.grid.setColumnStretch(1, 1)
        self.keys: list[PlainValue] = []
        self.values: list[PlainValue] = []
        self.warnings: list[QLabel] = []

    def set_params(self, params: dict[str, Any]) -> list[str]:
        """Show ``params``; returns every warning raised."""
        for widget in (*self.keys, *self.values, *self.warnings):
            self.grid.removeWidget(widget)
            widget.hide()  # deleteLater waits for the event loop: never paint stale rows
            widget.setParent(None)
            widget.deleteLater()
        self.keys, self.values, self.warnings = [], [], []
        flagged: list[str] = []
        row = 0
        if not params:
            params = {}
            empty = PlainValue("no parameters", name="Parameters")
            self.values.append(empty)
            self.grid.addWidget(empty, 0, 0, 1, 2)
        for key, value in params.items():
            key_text, key_warn = reveal(str(key), single_line=True)
            value_text, value_warn = reveal(param_text(value), single_line=True)
            warnings = [f"name: {w}" for w in key_warn] + value_warn
            k = PlainValue(key_text, name=f"Parameter name {key_text}", mono=True)
            k.setFixedWidth(min(k.fontMetrics().horizontalAdvance(key_text) + 16, KEY_MAX_PX))
            v = PlainValue(value_text, name=f"Parameter {key_text}", mono=True)
            v.set_warning(warnings)
            k.set_warning(key_warn)
            self.grid.addWidget(k, row, 0, Qt.AlignmentFlag.AlignTop)
            self.grid.addWidget(v, row, 1)
            self.keys.append(k)
            self.values.append(v)
            row += 1
            if warnings:
                label = plain_label("⚠ " + "; ".join(warnings),
                                    name=f"Parameter {key_text}: character warning")
                label.setStyleSheet(f"color: {theme.current().bad};")
                self.grid.addWidget(label, row, 1)
                self.warnings.append(label)
                row += 1
                flagged += warnings
        return flagged

    def value_of(self, key: str) -> str:
        """The text shown for parameter ``key`` (tests and screen-reader checks)."""
        for k, v in zip(self.keys, self.values, strict=False):
            if k.text() == key:
                return v.text()
        raise KeyError(key)
