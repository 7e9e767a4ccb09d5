"""Light and dark palettes on the Fusion style, so the app looks the same on every OS.

"system" follows the desktop's colour scheme when Qt can tell; colours are chosen for
contrast (WCAG AA on text), and the warning colours stay readable on both backgrounds.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication


@dataclass(frozen=True)
class Colors:
    window: str
    base: str
    alt_base: str
    text: str
    muted: str
    button: str
    highlight: str
    highlight_text: str
    link: str
    ok: str
    bad: str
    warn_bg: str
    warn_text: str


LIGHT = Colors(window="#f4f5f7", base="#ffffff", alt_base="#eef0f3", text="#1b1f24",
               muted="#505a66", button="#e6e8eb", highlight="#2557a7",
               highlight_text="#ffffff", link="#1a4d99", ok="#176b2c", bad="#b00020",
               warn_bg="#fff4d6", warn_text="#5c3d00")
DARK = Colors(window="#1f2227", base="#16181c", alt_base="#23262c", text="#e8eaed",
              muted="#a9b1bb", button="#2c3037", highlight="#4c8dff",
              highlight_text="#0b0d10", link="#8ab4ff", ok="#6fd08c", bad="#ff7b86",
              warn_bg="#3d3216", warn_text="#ffe2a3")

_current = LIGHT


def current() -> Colors:
    """The colours in use, for the few widgets that colour text themselves."""
    return _current


def resolve(mode: str) -> Colors:
    if mode == "dark":
        return DARK
    if mode == "light":
        return LIGHT
    hints = QGuiApplication.styleHints()
    scheme = hints.colorScheme() if hints is not None else Qt.ColorScheme.Unknown
    return DARK if scheme == Qt.ColorScheme.Dark else LIGHT


def palette(c: Colors) -> QPalette:
    p = QPalette()
    role = QPalette.ColorRole
    for r, value in ((role.Window, c.window), (role.WindowText, c.text), (role.Base, c.base),
                     (role.AlternateBase, c.alt_base), (role.Text, c.text),
                     (role.Button, c.button), (role.ButtonText, c.text),
                     (role.ToolTipBase, c.base), (role.ToolTipText, c.text),
                     (role.PlaceholderText, c.muted), (role.Highlight, c.highlight),
                     (role.HighlightedText, c.highlight_text), (role.Link, c.link),
                     (role.BrightText, c.bad)):
        p.setColor(r, QColor(value))
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, r, QColor(c.muted))
    return p


def apply(app: QApplication, mode: str) -> Colors:
    """Set Fusion and the palette for ``mode`` ("system", "light" or "dark")."""
    global _current
    _current = resolve(mode)
    app.setStyle("Fusion")
    app.setPalette(palette(_current))
    return _current
