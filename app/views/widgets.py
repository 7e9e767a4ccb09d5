"""Small building blocks shared by the views, each safe for untrusted text by construction.

`PlainValue` is how every value reaches the screen: a read-only QPlainTextEdit (plain text is
all it can hold) that wraps anywhere, so a long account number or hash wraps onto the next
line instead of being elided, and sizes itself to its content. `plain_label` is a QLabel
pinned to Qt.TextFormat.PlainText for captions.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QFont, QFontDatabase, QGuiApplication, QResizeEvent, QTextOption
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app import theme


def plain_label(text: str = "", *, name: str = "", wrap: bool = True,
                parent: QWidget | None = None) -> QLabel:
    """A QLabel that can only ever show plain text."""
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(wrap)
    label.setText(text)
    label.setAccessibleName(name or text)
    return label


def heading(text: str, parent: QWidget | None = None) -> QLabel:
    label = plain_label(text, parent=parent)
    font = label.font()
    font.setBold(True)
    font.setPointSizeF(font.pointSizeF() * 1.15)
    label.setFont(font)
    return label


def mono_font() -> QFont:
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)


class PlainValue(QPlainTextEdit):
    """Read-only plain text that wraps anywhere and grows to show every line."""

    def __init__(self, text: str = "", *, name: str, mono: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                     | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setBackgroundVisible(False)
        self.viewport().setAutoFillBackground(False)
        self.color_key = "text"  # a field of theme.Colors: "muted" for secondary text
        self.restyle()
        self.document().setDocumentMargin(2)
        if mono:
            self.setFont(mono_font())
        self.setAccessibleName(name)
        self.setTabChangesFocus(True)
        # Read-only: the mouse may select from it, but Tab goes straight to what acts.
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.set_text(text)

    def restyle(self) -> None:
        """A style sheet freezes the palette it was polished with, so a runtime theme switch
        left dark text on a dark card: the colour is spelled out, and redone on a switch."""
        color = getattr(theme.current(), self.color_key)
        self.setStyleSheet(f"QPlainTextEdit {{ background: transparent; color: {color}; }}")

    def set_color(self, key: str) -> None:
        self.color_key = key
        self.restyle()

    def event(self, e: QEvent) -> bool:
        if e.type() in (QEvent.Type.ApplicationPaletteChange, QEvent.Type.PaletteChange) \
                and f"color: {getattr(theme.current(), self.color_key)};" \
                not in self.styleSheet():
            self.restyle()
        return super().event(e)

    def set_text(self, text: str) -> None:
        self.setPlainText(text)
        self._fit()

    def text(self) -> str:
        return self.toPlainText()

    def _content_height(self) -> int:
        block = self.document().firstBlock()
        total = 0.0
        while block.isValid():
            total += self.blockBoundingRect(block).height()
            block = block.next()
        margins = self.contentsMargins()
        return int(total + 2 * self.document().documentMargin()) + margins.top() + \
            margins.bottom() + 2

    def _fit(self) -> None:
        height = max(self._content_height(), self.fontMetrics().lineSpacing() + 6)
        if self.height() != height:
            self.setFixedHeight(height)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def set_warning(self, warnings: list[str]) -> None:
        """Screen readers hear the warnings with the value, not only sighted reviewers."""
        self.setAccessibleDescription(
            ("Warning: " + "; ".join(warnings)) if warnings else "")

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self._content_height())


class Banner(QFrame):
    """An in-window notice (new proposals when there is no tray; a key not in the roster).

    An optional line (a key line to hand on) is shown in a selectable monospace field with a
    Copy button, so the reviewer sends exactly what is needed.
    """

    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None, *, name: str = "Notice") -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName(name)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        texts = QVBoxLayout()
        self.label = plain_label(name=f"{name} text", parent=self)
        self.line = PlainValue(name=f"{name}: line to send", mono=True, parent=self)
        self.line.hide()
        texts.addWidget(self.label)
        texts.addWidget(self.line)
        self.copy_button = QPushButton("Copy line", self)
        self.copy_button.setAccessibleName("Copy the line to send")
        self.copy_button.clicked.connect(
            lambda: QGuiApplication.clipboard().setText(self.line.text()))
        self.copy_button.hide()
        self.close_button = QPushButton("Dismiss", self)
        self.close_button.setAccessibleName(f"Dismiss {name.lower()}")
        self.close_button.clicked.connect(self._dismiss)
        layout.addLayout(texts, 1)
        layout.addWidget(self.copy_button)
        layout.addWidget(self.close_button)
        self.recolor()
        self.hide()

    def recolor(self) -> None:
        c = theme.current()
        self.setStyleSheet(f"QFrame#banner {{ background: {c.warn_bg}; }} "
                           f"QFrame#banner QLabel, QFrame#banner QPlainTextEdit "
                           f"{{ color: {c.warn_text}; background: transparent; }}")

    def show_message(self, text: str, line: str = "") -> None:
        self.label.setText(text)
        self.label.setAccessibleName(text)
        self.line.set_text(line)
        self.line.setVisible(bool(line))
        self.copy_button.setVisible(bool(line))
        self.show()

    def _dismiss(self) -> None:
        self.hide()
        self.dismissed.emit()
