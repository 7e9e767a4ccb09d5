"""The decision card: exactly what would run, built from the bytes that are hashed and signed.

Agent-written fields are labelled as such and rendered as plain text after
core.textsafety.reveal made hidden characters visible. Other reviewers' verdicts are not
put into any widget until this reviewer has decided (or the outcome is final).
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.models import time_left
from app.views.common import add_row, heading, plain_block, plain_label
from core.formats import Decision, canonical, now_utc
from core.policy import Policy, match_rule
from core.queue.base import FINAL_STATUSES, ProposalView
from core.textsafety import reveal

FINGERPRINT_CHARS = 16


def action_fingerprint(view: ProposalView) -> str:
    return view.proposal.action_hash[7:7 + FINGERPRINT_CHARS]


class DecisionCard(QScrollArea):
    def __init__(self) -> None:
        super().__init__()
        self.setWidgetResizable(True)
        self.setAccessibleName("Decision card")
        self.view: ProposalView | None = None
        self.warnings: list[str] = []
        self.show_empty()

    def show_empty(self) -> None:
        self.view = None
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.addWidget(plain_label("Select a proposal to see exactly what would run.",
                                     "No proposal selected"))
        layout.addStretch()
        self.setWidget(box)

    def show_view(self, view: ProposalView, policy: Policy | None,
                  now: datetime | None = None) -> None:
        now = now or now_utc()
        self.view = view
        self.warnings = []
        p = view.proposal
        box = QWidget()
        outer = QVBoxLayout(box)

        def agent(text: object, name: str) -> QLabel:
            shown, warns = reveal(str(text))
            self.warnings += warns
            return plain_label(shown, name)

        title = agent(p.summary["title"], "Title (written by the agent)")
        f = title.font()
        f.setPointSizeF(f.pointSizeF() * 1.4)
        f.setBold(True)
        title.setFont(f)
        outer.addWidget(title)
        outer.addWidget(plain_label("Title and summary are written by the agent: unverified.",
                                    "Agent text notice", selectable=False))

        outer.addWidget(heading("What exactly runs"))
        form = QFormLayout()
        add_row(form, "Route", plain_label(p.route, "Route"))
        action_text, warns = reveal(canonical(p.action).decode())
        self.warnings += warns
        add_row(form, "Action (canonical JSON)", plain_block(action_text, "Exact action as "
                                                           "canonical JSON"))
        fp = plain_label(action_fingerprint(view), "Action fingerprint")
        fp.setToolTip(p.action_hash)
        add_row(form, "Action fingerprint", fp)
        add_row(form, "Requested by", plain_label(p.requester, "Requester"))
        add_row(form, "Proposed by", plain_label(p.proposer, "Proposing agent"))
        add_row(form, "Job", agent(p.job_id, "Job id"))
        add_row(form, "Expires", plain_label(f"{p.data['expires_at']}  "
                                           f"({time_left(p.expires_at, now)})", "Expiry"))
        outer.addLayout(form)

        outer.addWidget(heading("Policy"))
        form = QFormLayout()
        if policy is not None:
            rule = match_rule(policy, p.route, p.params)
            add_row(form, "Policy", plain_label(policy.name, "Policy name"))
            add_row(form, "Policy hash", plain_label(policy.hash, "Policy hash"))
            add_row(form, "Rule", plain_label(rule.describe() if rule else
                                            f"no rule (default {policy.default})", "Rule"))
            add_row(form, "Approvals needed", plain_label(str(rule.approvals if rule else 0),
                                                        "Approvals needed"))
        else:
            add_row(form, "Policy", plain_label(p.policy, "Policy hash"))
        outer.addLayout(form)

        outer.addWidget(heading("The agent's summary (unverified)"))
        form = QFormLayout()
        s = p.summary
        add_row(form, "Why", agent(s["why"], "Why (agent)"))
        add_row(form, "Blast radius", agent(s["blast_radius"], "Blast radius (agent)"))
        add_row(form, "Reversibility", agent(s["reversibility"], "Reversibility (agent)"))
        add_row(form, "Cost (minor units)", agent(s.get("cost_impact_minor"), "Cost (agent)"))
        add_row(form, "Confidence", agent(s.get("confidence"), "Confidence (agent)"))
        for e in s.get("evidence", []):
            add_row(form, "Evidence", agent(f"{e['label']}: {e['ref']}", "Evidence (agent)"))
        for g in s.get("gates_passed", []):
            add_row(form, "Gate passed", agent(g, "Gate passed (agent)"))
        outer.addLayout(form)

        if self.warnings:
            warn = plain_label("⚠ " + "\n⚠ ".join(dict.fromkeys(self.warnings)),
                               "Hidden character warnings")
            warn.setObjectName("warning")
            warn.setFrameShape(QFrame.Shape.Box)
            outer.insertWidget(2, warn)

        outer.addWidget(heading("Decisions"))
        if view.my_decision is None and view.status not in FINAL_STATUSES:
            outer.addWidget(plain_label("Other reviewers' decisions are hidden until you have "
                                        "decided.", "Blind review notice", selectable=False))
        else:
            for d in view.decisions or ([view.my_decision] if view.my_decision else []):
                doc = Decision.from_bytes(d.document)
                outer.addWidget(plain_label(
                    f"{doc.data['decided_at']}  {doc.reviewer}: {doc.verdict.upper()} — "
                    f"{reveal(doc.reason)[0]}", f"Decision by {doc.reviewer}"))
        outer.addStretch()
        self.setWidget(box)
