"""The decision card: everything a reviewer needs to decide one proposal, and nothing more.

Every value comes from the proposal's own bytes (`Proposal.raw`, parsed once into `.data`),
the exact bytes whose hash the decision will bind: there is no second copy that could say
something else. Agent-written fields sit under a caption saying so, pass through
`core.textsafety.reveal` (hidden and look-alike characters made visible, with a warning),
and are shown in plain-text widgets that wrap instead of eliding.

Blind review: until this reviewer has decided, the card holds no other verdict, and no
hint that one exists. The decisions box is empty and hidden, not merely hidden.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app import theme
from app.display import (
    amount_minor,
    fingerprint,
    format_amount,
    format_left,
    format_when,
    plain_refusal,
    recipient,
    reveal,
)
from app.models import is_finished, may_see_others, standing, status_text
from app.views.params import ParamsTable
from app.views.widgets import PlainValue, plain_label
from core.errors import InvalidData
from core.formats import Decision, Proposal, now_utc
from core.policy import Policy, SignedDecision, evaluate, proposal_problem
from core.queue.base import ProposalView
from core.review import precheck

UNVERIFIED = "Written by the agent, unverified"
TICK_MS = 1000
WIDE_PX = 900


def block_reason(view: ProposalView | None, policy: Policy | None, identity: str,
                 now: datetime) -> str:
    """Why this reviewer cannot decide this proposal now; "" when they can."""
    if view is None:
        return "Select a proposal."
    if view.my_decision is not None:
        return "You have decided on this proposal."
    if is_finished(view):
        return f"This proposal is {view.status}; it can no longer be decided."
    if policy is None:
        return "The queue's policy has not been loaded yet; sync first."
    try:
        precheck(policy, view.proposal, identity, now)
    except InvalidData as e:
        return plain_refusal(e.code, e.message)
    return ""


class _Field:
    """A labelled value plus the warning line shown under it when something was flagged."""

    def __init__(self, form: QFormLayout, caption: str, *, mono: bool = False) -> None:
        self.value = PlainValue(name=caption, mono=mono)
        self.warning = plain_label(name=f"{caption}: character warning")
        self.warning.hide()
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.value)
        layout.addWidget(self.warning)
        self.caption = plain_label(caption, wrap=False)
        form.addRow(self.caption, box)

    def set(self, text: str, *, agent: bool = False, single_line: bool = False) -> list[str]:
        warnings: list[str] = []
        if agent:
            text, warnings = reveal(text, single_line=single_line)
        self.value.set_text(text)
        self.value.set_warning(warnings)
        if warnings:
            self.warning.setText("⚠ " + "; ".join(warnings))
            self.warning.setStyleSheet(f"color: {theme.current().bad};")
            self.warning.show()
        else:
            self.warning.clear()
            self.warning.hide()
        return warnings


def _form(box: QGroupBox) -> QFormLayout:
    form = QFormLayout(box)
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    return form


class DecisionCard(QWidget):
    approve_requested = Signal()
    reject_requested = Signal()
    open_bundle_requested = Signal()

    def __init__(self, parent: QWidget | None = None,
                 clock: Callable[[], datetime] = now_utc) -> None:
        super().__init__(parent)
        self.setAccessibleName("Decision card")
        self._clock = clock
        self._view: ProposalView | None = None
        self._policy: Policy | None = None
        self._identity = ""

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setAccessibleName("Decision card contents")
        self.scroll.setMinimumHeight(2 * self.fontMetrics().height())
        outer.addWidget(self.scroll, 1)

        content = QWidget()
        body = QVBoxLayout(content)
        self.scroll.setWidget(content)

        self.empty = plain_label("Select a proposal in the queue to see its decision card.",
                                 name="No proposal selected")
        body.addWidget(self.empty)

        self.details = QWidget()
        details = QVBoxLayout(self.details)
        details.setContentsMargins(0, 0, 0, 0)
        body.addWidget(self.details)
        body.addStretch(1)

        # What is signed comes first and largest; the agent's own words come after, smaller.
        self.char_banner = plain_label(name="Hidden characters warning")
        details.addWidget(self.char_banner)
        self.headline_caption = plain_label(
            "The signed action: exactly what runs if the quorum is met",
            name="Signed action caption")
        self.headline = PlainValue(name="Signed action: route, recipient and amount")
        font = self.headline.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.45)
        self.headline.setFont(font)
        self.headline_warning = plain_label(name="Signed action: character warning")
        details.addWidget(self.headline_caption)
        details.addWidget(self.headline)
        details.addWidget(self.headline_warning)
        self.title_caption = plain_label(f"The agent's title ({UNVERIFIED.lower()})",
                                         name="Title caption")
        self.title = PlainValue(name="Title, written by the agent, unverified")
        self.title.set_color("muted")  # secondary: the agent's words, not the action
        font = self.title.font()
        font.setItalic(True)
        font.setPointSizeF(font.pointSizeF() * 0.95)
        self.title.setFont(font)
        self.title_warning = plain_label(name="Title: character warning")
        details.addWidget(self.title_caption)
        details.addWidget(self.title)
        details.addWidget(self.title_warning)

        state = QHBoxLayout()
        self.status = plain_label(name="Status", wrap=False)
        self.time_left = plain_label(name="Time left", wrap=False)
        state.addWidget(self.status)
        state.addStretch(1)
        state.addWidget(self.time_left)
        details.addLayout(state)

        self.grid = QGridLayout()
        self.grid.setContentsMargins(0, 0, 0, 0)
        details.addLayout(self.grid)
        self._wide: bool | None = None

        action_box = self.action_box = QGroupBox("What exactly runs (the signed action)")
        action_box.setAccessibleName("What exactly runs")
        form = _form(action_box)
        self.route = _Field(form, "Route", mono=True)
        self.amount = _Field(form, "Amount (from the parameters)")
        self.params = ParamsTable(name="Action parameters, decoded")
        form.addRow(plain_label("Parameters", wrap=False), self.params)
        self.action_json = _Field(form, "Action, canonical JSON", mono=True)
        self.action_fp = _Field(form, "Action fingerprint", mono=True)
        self.action_hash = _Field(form, "Action hash", mono=True)

        summary_box = self.summary_box = QGroupBox(f"The agent's summary: {UNVERIFIED.lower()}")
        summary_box.setAccessibleName("The agent's summary, written by the agent, unverified")
        form = _form(summary_box)
        self.why = _Field(form, "Why")
        self.blast = _Field(form, "Blast radius")
        self.reversibility = _Field(form, "Reversibility")
        self.cost = _Field(form, "Cost impact")
        self.confidence = _Field(form, "Confidence")
        self.evidence = _Field(form, "Evidence")
        self.gates = _Field(form, "Gates passed")

        request_box = self.request_box = QGroupBox("Request")
        request_box.setAccessibleName("Request")
        form = _form(request_box)
        self.requester = _Field(form, "Requester")
        self.proposer = _Field(form, "Agent")
        self.job = _Field(form, "Job id")
        self.created = _Field(form, "Created")
        self.expires = _Field(form, "Expires")
        self.proposal_hash = _Field(form, "Proposal hash", mono=True)

        policy_box = self.policy_box = QGroupBox("Policy")
        policy_box.setAccessibleName("Policy")
        form = _form(policy_box)
        self.policy_name = _Field(form, "Policy")
        self.policy_hash = _Field(form, "Policy hash", mono=True)
        self.rule = _Field(form, "Rule that applies")
        self.needed = _Field(form, "Approvals needed")

        self.decisions_box = QGroupBox("Decisions")
        self.decisions_box.setAccessibleName("Decisions")
        decisions = QVBoxLayout(self.decisions_box)
        self.decisions = PlainValue(name="Decisions so far")
        decisions.addWidget(self.decisions)
        self._arrange()

        buttons = QHBoxLayout()
        self.blocked = plain_label(name="Why deciding is not possible")
        self.approve_button = QPushButton("&Approve…")
        self.approve_button.setAccessibleName("Approve this proposal")
        self.reject_button = QPushButton("&Reject…")
        self.reject_button.setAccessibleName("Reject this proposal")
        self.approve_button.clicked.connect(self.approve_requested)
        self.reject_button.clicked.connect(self.reject_requested)
        self.bundle_button = QPushButton("Open its proof &bundle")
        self.bundle_button.setAccessibleName("Open this proposal's proof bundle in the auditor")
        self.bundle_button.clicked.connect(self.open_bundle_requested)
        self.bundle_button.hide()
        buttons.addWidget(self.blocked, 1)
        buttons.addWidget(self.bundle_button)
        buttons.addWidget(self.reject_button)
        buttons.addWidget(self.approve_button)
        outer.addLayout(buttons)

        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        self.set_view(None, None, "")

    # -- layout

    def _arrange(self) -> None:
        """Two columns when there is room (1280 px wide windows), one column otherwise."""
        wide = self.width() >= WIDE_PX
        if wide == self._wide:
            return
        self._wide = wide
        for box in (self.action_box, self.policy_box, self.decisions_box, self.summary_box,
                    self.request_box):
            self.grid.removeWidget(box)
        if wide:
            placement = ((self.action_box, 0, 0), (self.policy_box, 1, 0),
                         (self.decisions_box, 2, 0), (self.summary_box, 0, 1),
                         (self.request_box, 1, 1))
        else:
            placement = ((self.action_box, 0, 0), (self.summary_box, 1, 0),
                         (self.request_box, 2, 0), (self.policy_box, 3, 0),
                         (self.decisions_box, 4, 0))
        for box, row, column in placement:
            self.grid.addWidget(box, row, column, Qt.AlignmentFlag.AlignTop)
        self.grid.setColumnStretch(0, 1)
        self.grid.setColumnStretch(1, 1 if wide else 0)
        self.grid.setRowStretch(4, 1)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._arrange()

    # -- public

    @property
    def view(self) -> ProposalView | None:
        return self._view

    def can_decide(self) -> bool:
        return not block_reason(self._view, self._policy, self._identity, self._clock())

    def set_view(self, view: ProposalView | None, policy: Policy | None, identity: str) -> None:
        self._view, self._policy, self._identity = view, policy, identity
        self._clear_decisions()
        self.empty.setVisible(view is None)
        self.details.setVisible(view is not None)
        if view is not None:
            self._fill(view.proposal)
            if may_see_others(view):
                self._fill_decisions(view)
        self._tick()
        self.scroll.verticalScrollBar().setValue(0)

    # -- filling

    def _fill(self, p: Proposal) -> None:
        s = p.summary
        flagged: list[str] = []
        bad = theme.current().bad
        amount = amount_minor(p.params)
        to = recipient(p.params)
        parts = [p.route]
        if to:
            parts.append(f"to {to}")
        if amount:
            parts.append(format_amount(*amount))
        headline, warnings = reveal("  ·  ".join(parts), single_line=True)
        self.headline.set_text(headline)
        self.headline.set_warning(warnings)
        self.headline_warning.setVisible(bool(warnings))
        self.headline_warning.setText("⚠ " + "; ".join(warnings) if warnings else "")
        self.headline_warning.setStyleSheet(f"color: {bad};")
        flagged += warnings

        title, warnings = reveal(s["title"], single_line=True)
        self.title.set_text(title)
        self.title.set_warning(warnings)
        self.title_warning.setVisible(bool(warnings))
        self.title_warning.setText("⚠ " + "; ".join(warnings) if warnings else "")
        self.title_warning.setStyleSheet(f"color: {bad};")
        self.title_warning.setAccessibleName(
            "Title: character warning: " + "; ".join(warnings) if warnings else
            "Title: character warning")
        flagged += warnings

        self.route.set(p.route)
        flagged += self.amount.set(format_amount(*amount) if amount else
                                   "none in the parameters", agent=True, single_line=True)
        flagged += self.params.set_params(p.params)
        flagged += self.action_json.set(p.action_bytes.decode(), agent=True, single_line=True)
        self.action_fp.set(fingerprint(p.action_hash))
        self.action_hash.set(p.action_hash)

        flagged += self.why.set(s["why"], agent=True)
        flagged += self.blast.set(s["blast_radius"], agent=True)
        self.reversibility.set(s["reversibility"].replace("_", " "))
        cost = s.get("cost_impact_minor")
        currency = amount[1] if amount else ""
        flagged += self.cost.set("not given" if cost is None else format_amount(cost, currency),
                                 agent=True)
        conf = s.get("confidence")
        self.confidence.set("not given" if conf is None else f"{conf:.0%}")
        evidence = s.get("evidence", [])
        flagged += self.evidence.set("\n".join(f"{e['label']}: {e['ref']}" for e in evidence)
                                     or "none given", agent=True)
        flagged += self.gates.set("\n".join(s.get("gates_passed", [])) or "none given",
                                  agent=True)

        self.requester.set(p.requester)
        self.proposer.set(p.proposer)
        flagged += self.job.set(p.job_id, agent=True, single_line=True)
        self.created.set(format_when(p.created_at))
        self.expires.set(format_when(p.expires_at))
        self.proposal_hash.set(p.hash)
        self._fill_policy(p)

        if flagged:
            text = ("⚠ This proposal contains hidden, direction-changing, look-alike or "
                    "line-break characters. They are shown visibly below; read the flagged "
                    "fields with care.")
            self.char_banner.setText(text)
            self.char_banner.setAccessibleName("Hidden characters warning")
            self.char_banner.setAccessibleDescription(
                text + " Found: " + "; ".join(dict.fromkeys(flagged)))
            self.char_banner.setStyleSheet(f"color: {bad}; font-weight: bold;")
            self.char_banner.show()
        else:
            self.char_banner.clear()
            self.char_banner.setAccessibleDescription("")
            self.char_banner.hide()
        self.setAccessibleDescription(self.char_banner.accessibleDescription())

    def _fill_policy(self, p: Proposal) -> None:
        policy = self._policy
        if policy is None:
            self.policy_name.set("not loaded yet (sync with the queue)")
            self.policy_hash.set(p.policy)
            self.rule.set("unknown")
            self.needed.set("unknown")
            return
        self.policy_name.set(policy.name)
        self.policy_hash.set(p.policy)
        code, message, rule = proposal_problem(policy, p)
        if code:
            self.rule.set(f"⚠ {message}")
        else:
            self.rule.set(f"rule {rule.index}: {rule.describe()}" if rule else
                          "no rule matches; the policy's default allows it")
        if rule is None:
            self.needed.set("0")
        else:
            groups = f" from groups {', '.join(rule.groups)}" if rule.groups else ""
            distinct = ", each from a different group" if rule.distinct_groups else ""
            self.needed.set(f"{rule.approvals} distinct reviewers{groups}{distinct}; "
                            "one reject rejects")

    def _fill_decisions(self, view: ProposalView) -> None:
        docs: list[SignedDecision] = list(view.decisions)
        if view.my_decision is not None and view.my_decision not in docs:
            docs.insert(0, view.my_decision)
        lines: list[str] = []
        counted: dict[bytes, str] = {}
        if self._policy is not None and docs:
            outcome = evaluate(self._policy, view.proposal, docs, self._clock())
            counted = {docs[c.position - 1].document: c.code for c in outcome.checks}
            lines.append(f"Outcome so far: {outcome.status} ({outcome.message})")
        for sd in docs:
            try:
                d = Decision.from_bytes(sd.document)
            except InvalidData:
                lines.append("an unreadable decision")
                continue
            reason, _ = reveal(d.reason)
            verdict = "approved" if d.verdict == "approve" else "rejected"
            check = counted.get(sd.document, "not verified")
            lines.append(f"{d.reviewer} {verdict} at {format_when(d.decided_at)} "
                         f"[{check}]\n    reason: {reason}")
        if view.my_decision is not None and len(docs) == 1:
            lines.append("Other reviewers' decisions are not visible to you yet (sealed, or "
                         "not made); the outcome shows once it is final.")
        self.decisions.set_text("\n".join(lines))
        self.decisions_box.show()

    def _clear_decisions(self) -> None:
        self.decisions.set_text("")
        self.decisions_box.hide()

    def _tick(self) -> None:
        view = self._view
        now = self._clock()
        if view is None:
            self.status.clear()
            self.time_left.clear()
            self.bundle_button.hide()
        else:
            stand = standing(view.proposal, self._policy, self._identity, now)
            status = f"Status: {status_text(view, now, stand)}"
            left = "finished" if is_finished(view) else \
                format_left(view.proposal.expires_at, now)
            if self.status.text() != status:
                self.status.setText(status)
                self.status.setAccessibleName(status)
            self.time_left.setText(f"Time left: {left}")
            self.time_left.setAccessibleName(f"Time left: {left}")
            self.bundle_button.setVisible(is_finished(view))
        reason = block_reason(view, self._policy, self._identity, now)
        self.approve_button.setEnabled(not reason)
        self.reject_button.setEnabled(not reason)
        if self.blocked.text() != reason:
            self.blocked.setText(reason)
            self.blocked.setAccessibleName(reason or "Ready to decide")

