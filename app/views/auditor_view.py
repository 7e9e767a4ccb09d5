"""The auditor's view: open a .foureyes bundle offline and see at a glance whether it holds."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.models import ChecksModel
from app.views.common import heading, plain_block, plain_label
from core.bundle.trust import load_trust
from core.bundle.verify import NotABundle, Report, verify_bundle
from core.errors import InvalidData
from core.queue.atomic import write_atomic


def report_html(report: Report, name: str) -> str:
    """A self-contained HTML report; every value escaped."""
    e = html.escape
    rows = "".join(f"<tr><td>{'✓' if c.ok else '✗'}</td><td>{e(c.code)}</td>"
                   f"<td>{e(c.message)}</td></tr>" for c in report.checks)
    timeline = "".join(f"<li>{e(t.at.strftime('%Y-%m-%d %H:%M:%SZ'))} {e(t.kind)} "
                       f"{e(t.who)}: {e(t.text)}</li>" for t in report.timeline)
    return (f"<!doctype html><meta charset='utf-8'><title>Foureyes report: {e(name)}</title>"
            f"<h1>{e(report.verdict)}</h1><p>Bundle: {e(name)}</p>"
            f"<h2>Checks</h2><table border=1>{rows}</table>"
            f"<h2>Timeline</h2><ol>{timeline}</ol>")


class AuditorView(QWidget):
    verified = Signal(object)

    def __init__(self, trust_file: str = "") -> None:
        super().__init__()
        self.trust_file = trust_file
        self.report: Report | None = None
        self.bundle_name = ""
        self.setAcceptDrops(True)
        self.setAccessibleName("Auditor view")
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.open_button = QPushButton("Open bundle… (Ctrl+O)")
        self.open_button.setAccessibleName("Open bundle")
        self.open_button.clicked.connect(self.choose_bundle)
        self.trust_button = QPushButton("Trust file…")
        self.trust_button.setAccessibleName("Choose trust file")
        self.trust_button.clicked.connect(self.choose_trust)
        self.export_button = QPushButton("Export report as HTML…")
        self.export_button.setAccessibleName("Export report as HTML")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self.choose_export)
        for b in (self.open_button, self.trust_button, self.export_button):
            bar.addWidget(b)
        bar.addStretch()
        layout.addLayout(bar)
        self.trust_label = plain_label(self._trust_text(), "Trust file")
        layout.addWidget(self.trust_label)
        self.verdict = plain_label("Open a .foureyes proof bundle (or drop one here). "
                                   "Verification runs offline.", "Verdict")
        f = self.verdict.font()
        f.setPointSizeF(f.pointSizeF() * 1.4)
        f.setBold(True)
        self.verdict.setFont(f)
        layout.addWidget(self.verdict)
        self.summary = plain_label("", "Bundle summary")
        layout.addWidget(self.summary)
        layout.addWidget(heading("Checks"))
        self.checks = ChecksModel()
        table = QTableView()
        table.setModel(self.checks)
        table.setAccessibleName("Verification checks")
        table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        table.verticalHeader().hide()
        table.setWordWrap(True)
        self.table = table
        layout.addWidget(table, 2)
        layout.addWidget(heading("Timeline"))
        self.timeline = plain_block("", "Timeline")
        self.timeline.setMaximumHeight(16777215)
        layout.addWidget(self.timeline, 1)

    def _trust_text(self) -> str:
        if self.trust_file:
            return f"Trust: {self.trust_file}"
        return "No trust file chosen: bundles are checked for consistency only (exit 3)."

    def choose_trust(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Trust file", "", "Trust (*.toml)")
        if path:
            self.trust_file = path
            self.trust_label.setText(self._trust_text())

    def choose_bundle(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open proof bundle", "",
                                              "Foureyes bundles (*.foureyes)")
        if path:
            self.open_bundle(Path(path))

    def choose_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export report", "report.html",
                                              "HTML (*.html)")
        if path:
            self.export_html(Path(path))

    def export_html(self, path: Path) -> None:
        if self.report is not None:
            write_atomic(path, report_html(self.report, self.bundle_name).encode())

    def open_bundle(self, path: Path) -> None:
        """Verification is a pure function over bytes: fast, offline, on this thread."""
        self.bundle_name = path.name
        try:
            data = path.read_bytes()
            trust = load_trust(Path(self.trust_file)) if self.trust_file else None
            report = verify_bundle(data, trust)
        except NotABundle as e:
            self._show_error(f"{path.name} is not a proof bundle: {e}")
            return
        except (OSError, InvalidData) as e:
            self._show_error(f"Cannot check {path.name}: {e}")
            return
        self.report = report
        self.verdict.setText(report.verdict)
        self.verdict.setObjectName("ok" if report.ok else "failed")
        self.verdict.setStyleSheet("color: #1b7f3b;" if report.ok else "color: #b3261e;")
        p = report.proposal
        self.summary.setText(f"{path.name}\n{p.route} requested by {p.requester}, proposed by "
                             f"{p.proposer}\nproposal {p.hash}" if p else path.name)
        self.checks.set_rows([(c.ok, c.code, c.message) for c in report.checks])
        self.table.resizeRowsToContents()
        self.timeline.setPlainText("\n".join(
            f"{t.at:%Y-%m-%d %H:%M:%S}Z  {t.kind:<9} {t.who}  {t.text}"
            for t in report.timeline))
        self.export_button.setEnabled(True)
        self.verified.emit(report)

    def _show_error(self, message: str) -> None:
        self.report = None
        self.verdict.setText(message)
        self.checks.set_rows([])
        self.timeline.setPlainText("")
        self.export_button.setEnabled(False)

    def dragEnterEvent(self, event) -> None:  # noqa: ANN001, N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: ANN001, N802
        urls = event.mimeData().urls()
        if urls:
            self.open_bundle(Path(urls[0].toLocalFile()))
            event.acceptProposedAction()

