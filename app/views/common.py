"""Small widget helpers that keep agent text plain and every control named."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QFormLayout, QLabel, QLayout, QPlainTextEdit, QWidget


def plain_label(text: str = "", name: str = "", *, selectable: bool = True,
                wrap: bool = True) -> QLabel:
    """A QLabel that can only ever show plain text (never rich text, never HTML)."""
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(text)
    label.setWordWrap(wrap)
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                      | Qt.TextInteractionFlag.TextSelectableByKeyboard)
    if name:
        label.setAccessibleName(name)
    return label


def plain_block(text: str, name: str) -> QPlainTextEdit:
    """Read-only monospace text that wraps anywhere, so the end of a long value is never cut."""
    box = QPlainTextEdit()
    box.setReadOnly(True)
    box.setPlainText(text)
    box.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
    box.setWordWrapMode(box.wordWrapMode().WrapAnywhere)
    font = QFont("monospace")
    font.setStyleHint(QFont.StyleHint.Monospace)
    box.setFont(font)
    box.setAccessibleName(name)
    box.setMaximumHeight(110)
    return box


def add_row(form: QFormLayout, label: str, field: QWidget | QLayout) -> None:
    """A form row whose label is plain text too (QFormLayout's own labels are AutoText)."""
    form.addRow(plain_label(label, selectable=False), field)


def heading(text: str) -> QLabel:
    label = plain_label(text, text, selectable=False)
    font = label.font()
    font.setBold(True)
    font.setPointSizeF(font.pointSizeF() * 1.1)
    label.setFont(font)
    return label


def all_text(widget: QWidget) -> str:
    """Every string a person or a screen reader could get from a widget tree (for tests)."""
    parts: list[str] = []
    for w in [widget, *widget.findChildren(QWidget)]:
        for getter in ("text", "toPlainText", "toolTip", "accessibleName",
                       "accessibleDescription", "windowTitle", "placeholderText"):
            fn = getattr(w, getter, None)
            if callable(fn):
                try:
                    value = fn()
                except TypeError:
                    continue
                if isinstance(value, str) and value:
                    parts.append(value)
    return "\n".join(parts)
