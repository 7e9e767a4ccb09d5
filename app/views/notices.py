"""Telling the reviewer what arrived: new proposals, ones about to expire, and what the
offline copy left out.

A desktop notification when a system tray exists, else the banner in the window. Only live
data ever notifies (an offline copy may be stale), counts come from the live pull, and a
notification never carries agent text (routes and counts only).
"""

from __future__ import annotations

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QStyle, QSystemTrayIcon, QWidget

from app.sync import EXPIRY_NOTICE, Prepared
from app.views.widgets import Banner

NOTIFY_MS = 8000


def make_tray(window: QWidget) -> QSystemTrayIcon | None:
    """The tray icon, when the desktop has a tray; clicking it brings the window back."""
    if not QSystemTrayIcon.isSystemTrayAvailable():
        return None
    icon = window.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxInformation)
    tray = QSystemTrayIcon(QIcon(icon), window)
    tray.setToolTip("Foureyes reviewer")
    tray.activated.connect(lambda _reason: (window.showNormal(), window.activateWindow()))
    tray.show()
    return tray


class Notices:
    """What has been announced so far, and where announcements go."""

    def __init__(self, banner: Banner, tray: QSystemTrayIcon | None) -> None:
        self.banner = banner
        self.tray = tray
        self.seen: set[str] | None = None  # proposals already announced; None before data
        self.warned: set[str] = set()  # proposals already announced as about to expire

    def reset(self) -> None:
        """A new identity or queue: nothing has been announced yet."""
        self.seen = None
        self.warned = set()

    def announce(self, prepared: Prepared) -> None:
        """After a live pull: new proposals waiting for you, and ones about to expire."""
        waiting, expiring = prepared.waiting, prepared.expiring - self.warned
        self.warned |= expiring
        parts: list[str] = []
        if self.seen is None:
            self.seen = set(waiting)
            if waiting:
                parts.append(f"{len(waiting)} proposal(s) wait for your review.")
        else:
            new = waiting - self.seen
            self.seen |= waiting
            if new:
                routes = sorted({r.view.proposal.route for r in prepared.rows
                                 if r.hash in new})
                parts.append(f"{len(new)} new proposal(s) to review: {', '.join(routes)}")
        if expiring:
            parts.append(f"{len(expiring)} proposal(s) waiting for you expire within "
                         f"{int(EXPIRY_NOTICE.total_seconds() // 60)} minutes.")
        if parts:
            self.notify(" ".join(parts))
        elif self.banner.isVisible():  # a count on screen follows the live data
            self.banner.show_message(
                f"{len(waiting)} proposal(s) wait for your review." if waiting
                else "Nothing waits for your review.")

    def notify(self, text: str) -> None:
        """Tray message when there is a tray, else the in-window banner."""
        if self.tray is not None and self.tray.supportsMessages():
            self.tray.showMessage("Foureyes", text, QSystemTrayIcon.MessageIcon.Information,
                                  NOTIFY_MS)
        else:
            self.banner.show_message(text)


def left_out(count: int, waiting: int = 0) -> str:
    """What the offline copy left out to stay within its size limit, in plain words."""
    if not count:
        return ""
    kept = (f" {waiting} of them were waiting for you (the ones expiring soonest are kept)."
            if waiting else " Everything waiting for you is kept.")
    return (f" The offline copy left out {count} proposal(s) to stay within its size limit; "
            "finished ones and ones that do not wait for you go first." + kept)
