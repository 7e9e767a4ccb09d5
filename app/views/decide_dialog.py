"""Deciding one proposal: a verdict, a reason in the reviewer's own words, and for
irreversible actions the first characters of the action fingerprint typed by hand."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
)

from app.views.common import plain_label
from app.views.decision_card import action_fingerprint
from core.queue.base import ProposalView
from core.textsafety import reveal

CONFIRM_CHARS = 8
MAX_REASON_CHARS = 4000


class DecideDialog(QDialog):
    def __init__(self, view: ProposalView, verdict: str, parent=None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.view = view
        self.verdict = verdict
        p = view.proposal
        word = "Approve" if verdict == "approve" else "Reject"
        self.setWindowTitle(f"{word} this proposal")
        self.setAccessibleName(f"{word} dialog")
        layout = QVBoxLayout(self)
        layout.addWidget(plain_label(f"{word}: {p.route}", "Verdict and route"))
        layout.addWidget(plain_label(reveal(p.summary["title"])[0], "Title (written by the "
                                     "agent)"))
        layout.addWidget(plain_label("Your reason (required, stored verbatim and signed):",
                                     "Reason prompt", selectable=False))
        self.reason = QPlainTextEdit()
        self.reason.setAccessibleName("Reason")
        self.reason.setPlaceholderText("What did you check? Why is this right or wrong?")
        layout.addWidget(self.reason)
        self.confirm: QLineEdit | None = None
        if verdict == "approve" and p.summary["reversibility"] == "irreversible":
            expected = action_fingerprint(view)[:CONFIRM_CHARS]
            layout.addWidget(plain_label(
                f"This cannot be undone. Type the first {CONFIRM_CHARS} characters of the "
                f"action fingerprint ({action_fingerprint(view)}) to confirm:",
                "Irreversible confirmation prompt"))
            self.confirm = QLineEdit()
            self.confirm.setAccessibleName("Action fingerprint confirmation")
            self.confirm.setMaxLength(CONFIRM_CHARS)
            layout.addWidget(self.confirm)
            self.confirm.textChanged.connect(self._update)
            self.expected = expected
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText(f"Sign and {word.lower()}")
        self.ok.setAccessibleName(f"Sign and {word.lower()}")
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName("Cancel")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.reason.textChanged.connect(self._update)
        self._update()
        self.reason.setFocus()

    def reason_text(self) -> str:
        return self.reason.toPlainText()

    def _update(self) -> None:
        text = self.reason_text()
        ok = bool(text.strip()) and len(text) <= MAX_REASON_CHARS
        if self.confirm is not None:
            ok = ok and self.confirm.text() == self.expected
        self.ok.setEnabled(ok)
