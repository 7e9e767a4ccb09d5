"""Approve or reject ONE proposal, with a reason in the reviewer's own words.

The dialog shows what is signed, never less than the card: the signed action (route,
recipient, amount) first and largest, every action parameter in a decoded table with the
same hidden-character warnings as the card, and the agent's title after, as secondary.
Its contents scroll; the buttons stay in view on the smallest screen.

The reason is stored verbatim, and must be a real one: at least MIN_REASON_WORDS words and
MIN_REASON_CHARS characters (the app's settings may raise these, never lower them). Every
approval needs the first characters of the action fingerprint typed back, so a reviewer
confirms the exact action rather than a habit: the agent's `reversibility` is its own
unverified claim, and the policy has no setting for this (SPEC §3 allows no new keys).
`core.review.precheck` runs before anything is signed (refusing self-review, a reviewer not
in the roster, an expired proposal), and again with the real key on the worker.

Signing and submitting run on the queue's worker with a busy state. A transport failure
keeps the signed decision and offers Retry, which resends the very same bytes; a refusal
from the queue is shown in plain words.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app import theme
from app.display import (
    MIN_REASON_CHARS,
    MIN_REASON_WORDS,
    amount_minor,
    confirm_code,
    fingerprint,
    format_amount,
    needs_confirmation,
    plain_refusal,
    reason_problem,
    recipient,
    reveal,
)
from app.session import Session
from app.views.params import ParamsTable
from app.views.widgets import PlainValue, heading, plain_label
from app.workers import TaskRunner
from core.errors import FoureyesError, InvalidData, TransportError
from core.formats import now_utc
from core.policy import Policy, SignedDecision
from core.queue.base import DecisionAck, ProposalView
from core.review import make_decision, precheck

MAX_REASON_CHARS = 8192  # the decision reader's limit for free text


class DecideDialog(QDialog):
    decided = Signal(object)  # the fresh ProposalView after the queue accepted

    def __init__(self, view: ProposalView, policy: Policy, session: Session, runner: TaskRunner,
                 verdict: str = "approve", parent: QWidget | None = None,
                 clock: Callable[[], datetime] = now_utc, min_reason_chars: int = 0,
                 min_reason_words: int = 0) -> None:
        super().__init__(parent)
        self.view = view
        self.policy = policy
        self.session = session
        self.runner = runner
        self.clock = clock
        self.min_reason_chars = max(min_reason_chars, MIN_REASON_CHARS)
        self.min_reason_words = max(min_reason_words, MIN_REASON_WORDS)
        self.signed: SignedDecision | None = None
        self.busy = False
        p = view.proposal
        self.setWindowTitle("Decide on one proposal")
        self.setAccessibleName("Decide on one proposal")
        self.setModal(True)

        outer = QVBoxLayout(self)
        self.heading = heading("")
        self.heading.setAccessibleName("Decision")
        outer.addWidget(self.heading)
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setAccessibleName("What you are deciding")
        content = QWidget()
        layout = QVBoxLayout(content)
        self.scroll.setWidget(content)
        outer.addWidget(self.scroll, 1)
        bad = theme.current().bad
        flagged: list[str] = []

        amount = amount_minor(p.params)
        to = recipient(p.params)
        parts = [p.route] + ([f"to {to}"] if to else []) + \
            ([format_amount(*amount)] if amount else [])
        headline, warnings = reveal("  ·  ".join(parts), single_line=True)
        flagged += warnings
        layout.addWidget(plain_label("You sign this action:", name="Signed action caption"))
        self.headline = PlainValue(headline, name="Signed action: route, recipient and amount")
        self.headline.set_warning(warnings)
        font = self.headline.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.35)
        self.headline.setFont(font)
        layout.addWidget(self.headline)

        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.route = PlainValue(p.route, name="Route", mono=True)
        form.addRow(plain_label("Route", wrap=False), self.route)
        self.params = ParamsTable(name="Every action parameter, decoded")
        flagged += self.params.set_params(p.params)
        form.addRow(plain_label("Parameters", wrap=False), self.params)
        amount_text, warnings = reveal(format_amount(*amount), single_line=True) if amount \
            else ("none", [])
        self.amount = PlainValue(amount_text, name="Amount")
        self.amount.set_warning(warnings)
        form.addRow(plain_label("Amount", wrap=False), self.amount)
        self.requester = PlainValue(p.requester, name="Requester")
        form.addRow(plain_label("Requested by", wrap=False), self.requester)
        self.fp = PlainValue(fingerprint(p.action_hash), name="Action fingerprint", mono=True)
        form.addRow(plain_label("Action fingerprint", wrap=False), self.fp)
        title, title_warnings = reveal(p.summary["title"], single_line=True)
        flagged += title_warnings
        self.title = PlainValue(title, name="Title, written by the agent, unverified")
        self.title.set_warning(title_warnings)
        font = self.title.font()
        font.setItalic(True)
        self.title.setFont(font)
        form.addRow(plain_label("Agent's title (unverified)", wrap=False), self.title)
        layout.addLayout(form)
        self.warning = plain_label(name="Character warning")
        if flagged:
            text = ("⚠ What you are signing contains hidden, look-alike or line-break "
                    "characters (shown as ⟦…⟧ markers above): "
                    + "; ".join(dict.fromkeys(flagged)))
            self.warning.setText(text)
            self.warning.setAccessibleName(text)
            self.warning.setStyleSheet(f"color: {bad}; font-weight: bold;")
            layout.insertWidget(0, self.warning)  # the first thing read
        else:
            self.warning.hide()

        verdicts = QHBoxLayout()
        self.approve_radio = QRadioButton("Approve")
        self.approve_radio.setAccessibleName("Verdict: approve")
        self.reject_radio = QRadioButton("Reject")
        self.reject_radio.setAccessibleName("Verdict: reject")
        self.verdict_group = QButtonGroup(self)
        self.verdict_group.addButton(self.approve_radio)
        self.verdict_group.addButton(self.reject_radio)
        verdicts.addWidget(plain_label("Verdict:", wrap=False))
        verdicts.addWidget(self.approve_radio)
        verdicts.addWidget(self.reject_radio)
        verdicts.addStretch(1)
        layout.addLayout(verdicts)

        layout.addWidget(plain_label("Reason, in your own words (required; it is signed and "
                                     "kept exactly as you type it):", name="Reason caption"))
        self.reason = QPlainTextEdit(self)
        self.reason.setAccessibleName("Reason")
        self.reason.setTabChangesFocus(True)
        self.reason.setPlaceholderText("What did you check, and why is this right or wrong?")
        lines = self.reason.fontMetrics().lineSpacing()
        self.reason.setMinimumHeight(lines * 3)
        self.reason.setMaximumHeight(lines * 8)  # the confirmation below stays in view
        layout.addWidget(self.reason)

        self.confirm_box = QWidget(self)
        confirm = QVBoxLayout(self.confirm_box)
        confirm.setContentsMargins(0, 0, 0, 0)
        self.confirm_caption = plain_label(
            "Every approval confirms the exact action: type the first 8 characters of the "
            "action fingerprint shown above.", name="Confirmation caption")
        self.confirm = QLineEdit(self.confirm_box)
        self.confirm.setAccessibleName("First 8 characters of the action fingerprint")
        self.confirm.setMaxLength(16)
        confirm.addWidget(self.confirm_caption)
        confirm.addWidget(self.confirm)
        layout.addWidget(self.confirm_box)

        layout.addStretch(1)
        self.error = plain_label(name="Problem")
        self.error.setStyleSheet(f"color: {bad};")
        self.error.hide()
        outer.addWidget(self.error)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 0)
        self.progress.setAccessibleName("Signing and submitting")
        self.progress.setTextVisible(False)
        self.progress.hide()
        outer.addWidget(self.progress)

        self.buttons = QDialogButtonBox(self)
        self.submit_button = QPushButton("Sign and submit")
        self.submit_button.setAccessibleName("Sign and submit this decision")
        self.submit_button.setDefault(True)
        self.retry_button = QPushButton("Retry")
        self.retry_button.setAccessibleName("Retry sending the same signed decision")
        self.retry_button.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel without deciding")
        self.buttons.addButton(self.submit_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(self.retry_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.retry_button.hide()  # adding it to the box showed it
        self.submit_button.clicked.connect(self.submit)
        self.retry_button.clicked.connect(self.retry)
        self.cancel_button.clicked.connect(self.reject)
        outer.addWidget(self.buttons)
        QShortcut(QKeySequence("Ctrl+Return"), self, activated=self.submit)

        self.approve_radio.toggled.connect(self._verdict_changed)
        (self.approve_radio if verdict == "approve" else self.reject_radio).setChecked(True)
        self._verdict_changed()
        self.reason.setFocus(Qt.FocusReason.OtherFocusReason)

    # -- state

    @property
    def verdict(self) -> str:
        return "approve" if self.approve_radio.isChecked() else "reject"

    def _verdict_changed(self) -> None:
        word = "Approve" if self.verdict == "approve" else "Reject"
        self.heading.setText(f"{word} this proposal")
        self.confirm_box.setVisible(needs_confirmation(self.view.proposal, self.verdict))

    def _show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setAccessibleName(text or "Problem")
        self.error.setVisible(bool(text))

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.progress.setVisible(busy)
        for w in (self.submit_button, self.retry_button, self.cancel_button, self.reason,
                  self.confirm, self.approve_radio, self.reject_radio):
            w.setEnabled(not busy)
        if self.signed is not None:  # the decision is signed: its verdict and reason are final
            for w in (self.reason, self.confirm, self.approve_radio, self.reject_radio,
                      self.submit_button):
                w.setEnabled(False)

    def reject(self) -> None:
        if not self.busy:  # closing mid-submit would leave the reviewer not knowing
            super().reject()

    # -- the flow

    def check_inputs(self) -> str:
        """Why the form cannot be submitted yet, or ""."""
        reason = self.reason.toPlainText()
        problem = reason_problem(reason, self.min_reason_chars, self.min_reason_words)
        if problem:
            return problem
        if len(reason) > MAX_REASON_CHARS:
            return f"The reason is longer than {MAX_REASON_CHARS} characters."
        if needs_confirmation(self.view.proposal, self.verdict):
            typed = self.confirm.text().replace(" ", "").lower()
            if typed != confirm_code(self.view.proposal):
                return ("Type the first 8 characters of the action fingerprint to confirm this "
                        "action (they are shown above, under Action fingerprint).")
        try:
            precheck(self.policy, self.view.proposal, self.session.identity, self.clock())
        except InvalidData as e:
            return plain_refusal(e.code, e.message)
        return ""

    def submit(self) -> None:
        if self.busy or self.signed is not None:
            return
        problem = self.check_inputs()
        self._show_error(problem)
        if problem:
            return
        proposal, verdict = self.view.proposal, self.verdict
        reason, identity = self.reason.toPlainText(), self.session.identity
        policy, session, clock = self.policy, self.session, self.clock

        def sign() -> SignedDecision:
            signer = session.signer()
            now = clock()
            precheck(policy, proposal, identity, now, signer=signer)
            return make_decision(proposal, verdict=verdict, reason=reason, identity=identity,
                                 signer=signer, now=now)

        self._set_busy(True)
        self.runner.run(sign, self._signed, self._failed)

    def _signed(self, signed: SignedDecision) -> None:
        self.signed = signed
        self._send()

    def retry(self) -> None:
        if self.signed is not None and not self.busy:
            self._show_error("")
            self.retry_button.hide()
            self._send()

    def _send(self) -> None:
        signed, session, proposal = self.signed, self.session, self.view.proposal

        def send() -> tuple[DecisionAck, ProposalView]:
            ack = session.submit(proposal.hash, signed)
            try:
                fresh = session.refresh_one(proposal.hash)
            except FoureyesError:  # accepted; the next sync shows the rest
                fresh = ProposalView(proposal, "pending", signed)
            return ack, fresh

        self._set_busy(True)
        self.runner.run(send, self._sent, self._failed)

    def _sent(self, result: tuple[DecisionAck, ProposalView]) -> None:
        self._set_busy(False)
        self.decided.emit(result[1])
        self.accept()

    def _failed(self, error: object) -> None:
        if isinstance(error, TransportError) and self.signed is not None:
            self._set_busy(False)
            self._show_error(f"Could not hand in your decision: {error.message}\nIt is signed "
                             "and kept; Retry sends exactly the same decision.")
            self.retry_button.show()
            self.retry_button.setFocus()
            return
        self.signed = None
        self._set_busy(False)
        if isinstance(error, FoureyesError):
            self._show_error("Not submitted: " + plain_refusal(error.code, error.message))
        else:
            self._show_error(f"Unexpected problem: {error!r}")
