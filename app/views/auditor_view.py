"""The auditor's view: open a proof bundle, verify it offline, read every check.

Verification is `core.bundle.verify.verify_bundle`, the same function as `foureyes verify`,
run on a worker over the file's bytes with the trust file the auditor chose (never one from
the bundle). Nothing here needs a network. The HTML export escapes every value with
`html.escape`: bundle contents are untrusted, and the report may be opened in a browser.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDropEvent,
    QStandardItem,
    QStandardItemModel,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app import theme
from app.display import reveal
from app.views.widgets import PlainValue, heading, plain_label
from app.workers import TaskRunner
from core.bundle.trust import load_trust
from core.bundle.verify import NotABundle, Report, verify_bundle
from core.errors import FoureyesError, InvalidData, TransportError

BUNDLE_SUFFIX = ".foureyes"
MAX_BUNDLE_BYTES = 80 * 1024 * 1024  # 64 entries of at most 1 MiB, plus zip overhead


@dataclass(frozen=True)
class Verified:
    path: Path
    report: Report
    trust_path: str


def verify_file(path: Path, trust_path: str) -> Verified:
    """Worker side: read the file once, then the pure verifier over its bytes."""
    try:
        if path.stat().st_size > MAX_BUNDLE_BYTES:
            raise InvalidData("too_large", f"{path.name} is larger than any valid bundle")
        data = path.read_bytes()
    except OSError as e:
        raise TransportError("unreadable", f"cannot read {path}: {e.strerror}") from e
    trust = load_trust(Path(trust_path)) if trust_path else None
    try:
        report = verify_bundle(data, trust)
    except NotABundle as e:
        raise InvalidData("not_a_bundle", f"{path.name} is not a proof bundle: {e}") from e
    return Verified(path, report, trust_path)


def outcome_text(report: Report) -> str:
    if report.exit_code == 0:
        return "VALID: " + report.verdict.removeprefix("VALID: ") + \
            ". Every check passed against your trust file."
    if report.exit_code == 3:
        return ("CONSISTENT, BUT NOT TRUSTED: every check passed, but no trust file was "
                "chosen, so nothing ties this bundle to a policy or log you trust.")
    failed = ", ".join(sorted({c.code for c in report.failures}))
    return f"FAILED: {len(report.failures)} check(s) failed ({failed}). Do not rely on this " \
        "bundle."


def _at(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def report_html(v: Verified) -> str:
    """A standalone HTML report: every value escaped, no scripts, no external resources."""
    e = html.escape
    r = v.report
    p = r.proposal
    rows = "\n".join(
        f"<tr class=\"{'ok' if c.ok else 'bad'}\"><td>{'pass' if c.ok else 'FAIL'}</td>"
        f"<td>{e(c.code)}</td><td>{e(c.message)}</td></tr>" for c in r.checks)
    timeline = "\n".join(
        f"<tr><td>{e(_at(t.at))}</td><td>{e(t.kind)}</td><td>{e(t.who)}</td>"
        f"<td>{e(t.text)}</td></tr>" for t in r.timeline)
    facts = [("Bundle file", v.path.name), ("Trust file", v.trust_path or "none chosen"),
             ("Exit code", str(r.exit_code))]
    if p is not None:
        facts += [("Proposal", p.hash), ("Route", p.route), ("Action hash", p.action_hash),
                  ("Title (written by the agent, unverified)", reveal(p.summary["title"])[0]),
                  ("Requester", p.requester), ("Agent", p.proposer)]
    if r.policy is not None:
        facts.append(("Policy", f"{r.policy.name} {r.policy.hash}"))
    fact_rows = "\n".join(f"<tr><th>{e(k)}</th><td>{e(val)}</td></tr>" for k, val in facts)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Foureyes bundle report: {e(v.path.name)}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}
table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #999;padding:4px;
text-align:left;vertical-align:top;overflow-wrap:anywhere}}.ok td:first-child{{color:#176b2c}}
.bad td:first-child{{color:#b00020;font-weight:bold}}</style></head><body>
<h1>Foureyes bundle report</h1>
<p><strong>{e(outcome_text(r))}</strong></p>
<table>{fact_rows}</table>
<h2>Checks</h2>
<table><tr><th>Result</th><th>Check</th><th>Message</th></tr>
{rows}</table>
<h2>Timeline</h2>
<table><tr><th>When (UTC)</th><th>What</th><th>Who</th><th>Details</th></tr>
{timeline}</table>
<p>Generated {e(_at(datetime.now(UTC)))} by the Foureyes desktop app.</p>
</body></html>
"""


def _row(*values: str) -> list[QStandardItem]:
    items = []
    for value in values:
        item = QStandardItem(value)
        item.setEditable(False)
        items.append(item)
    return items


def _fit_columns(table: QTableView) -> None:
    """Fit every column but the last, which stretches (resizing it too would undo that)."""
    for column in range(table.model().columnCount() - 1):
        table.resizeColumnToContents(column)


class AuditorView(QWidget):
    trust_chosen = Signal(str)
    verified = Signal(object)  # Verified, once shown

    def __init__(self, runner: TaskRunner, trust_path: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Auditor")
        self.setAcceptDrops(True)
        self.runner = runner
        self.trust_path = trust_path
        self.result: Verified | None = None

        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.open_button = QPushButton("&Open bundle…")
        self.open_button.setAccessibleName("Open a proof bundle")
        self.open_button.clicked.connect(self.choose_bundle)
        self.trust_button = QPushButton("Choose &trust file…")
        self.trust_button.setAccessibleName("Choose the trust file")
        self.trust_button.clicked.connect(self.choose_trust)
        self.export_button = QPushButton("&Export report as HTML…")
        self.export_button.setAccessibleName("Export the report as HTML")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self.choose_export)
        bar.addWidget(self.open_button)
        bar.addWidget(self.trust_button)
        bar.addStretch(1)
        bar.addWidget(self.export_button)
        layout.addLayout(bar)

        self.trust_label = plain_label(name="Trust file in use")
        layout.addWidget(self.trust_label)
        self.hint = plain_label("Open a .foureyes proof bundle (Ctrl+O), or drop one here. "
                                "Verification runs on this computer and needs no network.",
                                name="Hint")
        layout.addWidget(self.hint)
        self.outcome = heading("")
        self.outcome.setWordWrap(True)
        self.outcome.setAccessibleName("Verification outcome")
        layout.addWidget(self.outcome)
        self.facts = PlainValue(name="Bundle facts")
        layout.addWidget(self.facts)

        self.checks_model = QStandardItemModel(0, 3, self)
        self.checks_model.setHorizontalHeaderLabels(["Result", "Check", "Message"])
        self.checks = self._table(self.checks_model, "Checks")
        self.timeline_model = QStandardItemModel(0, 4, self)
        self.timeline_model.setHorizontalHeaderLabels(["When (UTC)", "What", "Who", "Details"])
        self.timeline = self._table(self.timeline_model, "Timeline")
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.setChildrenCollapsible(False)
        split.addWidget(self._titled("Checks", self.checks))
        split.addWidget(self._titled("Timeline", self.timeline))
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout.addWidget(split, 1)
        self._show_trust()

    def _table(self, model: QStandardItemModel, name: str) -> QTableView:
        table = QTableView(self)
        table.setModel(model)
        table.setAccessibleName(name)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setWordWrap(True)
        table.setMinimumHeight(2 * self.fontMetrics().height())  # fits a 200 % small screen
        table.verticalHeader().hide()
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        return table

    def _titled(self, title: str, widget: QWidget) -> QWidget:
        box = QWidget(self)
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(plain_label(title, wrap=False))
        layout.addWidget(widget)
        return box

    # -- trust

    def set_trust(self, path: str) -> None:
        self.trust_path = path
        self._show_trust()
        if self.result is not None:
            self.open_bundle(self.result.path)

    def _show_trust(self) -> None:
        text = f"Trust file: {Path(self.trust_path).name}" if self.trust_path else \
            "No trust file chosen: bundles are checked for consistency only."
        self.trust_label.setText(text)
        self.trust_label.setAccessibleName(text)

    def choose_trust(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose your trust file", "",
                                              "Trust files (*.toml);;All files (*)")
        if path:
            self.set_trust(path)
            self.trust_chosen.emit(path)

    # -- opening and verifying

    def choose_bundle(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a proof bundle", "",
                                              f"Proof bundles (*{BUNDLE_SUFFIX});;All files (*)")
        if path:
            self.open_bundle(Path(path))

    def open_bundle(self, path: Path) -> None:
        self._set_outcome(f"Verifying {Path(path).name}…", theme.current().text)
        self.export_button.setEnabled(False)
        trust = self.trust_path
        self.runner.run(lambda: verify_file(Path(path), trust), self._show, self._failed)

    def _failed(self, error: object) -> None:
        self.result = None
        text = error.message if isinstance(error, FoureyesError) else repr(error)
        self._set_outcome(f"Cannot verify: {text}", theme.current().bad)
        self.facts.set_text("")
        self.checks_model.removeRows(0, self.checks_model.rowCount())
        self.timeline_model.removeRows(0, self.timeline_model.rowCount())

    def _set_outcome(self, text: str, color: str) -> None:
        self.outcome.setText(text)
        self.outcome.setAccessibleName(text)
        self.outcome.setStyleSheet(f"color: {color};")

    def _show(self, v: Verified) -> None:
        self.result = v
        r = v.report
        c = theme.current()
        color = c.ok if r.exit_code == 0 else c.bad if r.exit_code == 1 else c.warn_text
        self._set_outcome(outcome_text(r), color)
        facts = [f"File: {v.path.name}"]  # the name only: the folder is the user's business
        if r.proposal is not None:
            p = r.proposal
            title, warnings = reveal(p.summary["title"])
            facts += [f"Title (written by the agent, unverified): {title}",
                      f"Route: {p.route}    Requester: {p.requester}    Agent: {p.proposer}",
                      f"Proposal: {p.hash}", f"Action: {p.action_hash}"]
            facts += [f"⚠ {w}" for w in warnings]
        if r.policy is not None:
            facts.append(f"Policy: {r.policy.name} {r.policy.hash}")
        self.facts.set_text("\n".join(facts))
        self.checks_model.removeRows(0, self.checks_model.rowCount())
        for check in r.checks:
            row = _row("pass" if check.ok else "FAIL", check.code, check.message)
            row[0].setForeground(QColor(c.ok if check.ok else c.bad))
            if not check.ok:
                font = row[0].font()
                font.setBold(True)
                row[0].setFont(font)
            self.checks_model.appendRow(row)
        _fit_columns(self.checks)
        self.timeline_model.removeRows(0, self.timeline_model.rowCount())
        for item in r.timeline:
            self.timeline_model.appendRow(_row(_at(item.at), item.kind, item.who, item.text))
        _fit_columns(self.timeline)
        self.export_button.setEnabled(True)
        self.hint.hide()
        self.verified.emit(v)

    # -- export

    def choose_export(self) -> None:
        if self.result is None:
            return
        suggested = self.result.path.with_suffix(".report.html").name
        path, _ = QFileDialog.getSaveFileName(self, "Export the report", suggested,
                                              "HTML (*.html)")
        if path:
            self.export(Path(path))

    def export(self, path: Path) -> None:
        if self.result is None:
            return
        try:
            path.write_text(report_html(self.result), encoding="utf-8")
        except OSError as e:
            self._set_outcome(f"Cannot write {path}: {e.strerror}", theme.current().bad)

    # -- drag and drop

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            event.acceptProposedAction()
            self.open_bundle(Path(urls[0].toLocalFile()))
