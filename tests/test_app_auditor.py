# ruff: noqa: F811 - pytest fixtures are imported by name
"""The auditor view, offline: the independent vector passes every check against its trust
file, a tampered copy names the failing check, no trust is said plainly, and the HTML
export escapes every value. Bundles arrive by button, drag and drop, and command line."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from click.testing import CliRunner
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from app.main import start
from app.views.auditor_view import AuditorView, Verified, report_html, verify_file
from app.workers import TaskRunner
from core.bundle.verify import verify_bundle
from core.sample import SampleWorld
from tests.app_fixtures import QT_STRICT, VECTORS, WAIT_MS, app_paths  # noqa: F401
from tests.bundle_factory import build, trust_toml

pytestmark = QT_STRICT

VECTOR = VECTORS / "payment-2of4.foureyes"
TRUST = VECTORS / "trust.toml"


def _auditor(qtbot, trust: Path | None = None) -> AuditorView:  # noqa: ANN001
    runner = TaskRunner()
    view = AuditorView(runner, str(trust) if trust else "")
    runner.setParent(view)
    qtbot.addWidget(view)
    view.resize(1280, 800)
    view.show()
    return view


def _verified(qtbot, view: AuditorView, path: Path) -> None:  # noqa: ANN001
    view.result = None
    view.open_bundle(path)
    qtbot.waitUntil(lambda: view.result is not None and view.result.path == path,
                    timeout=WAIT_MS)


def _rows(model) -> list[list[str]]:  # noqa: ANN001
    return [[model.index(r, c).data() for c in range(model.columnCount())]
            for r in range(model.rowCount())]


def test_independent_vector_passes_every_check(qtbot) -> None:
    view = _auditor(qtbot, TRUST)
    _verified(qtbot, view, VECTOR)
    assert view.outcome.text() == "VALID: executed. Every check passed against your trust file."
    rows = _rows(view.checks_model)
    codes = [r[1] for r in rows]
    assert {"archive", "format", "policy_hash", "decision", "quorum", "receipt", "checkpoint",
            "inclusion"} <= set(codes)
    assert all(r[0] == "pass" for r in rows)
    assert len(rows) == len(verify_bundle(VECTOR.read_bytes(), None).checks)
    timeline = _rows(view.timeline_model)
    assert [r[1] for r in timeline] == ["proposed", "approve", "approve", "executed"]
    assert timeline[1][2] == "bob@example.com" and timeline[0][0] == "2026-11-24T09:00:00Z"
    assert "prod-agents" in view.facts.text() and view.export_button.isEnabled()


def test_tampered_copy_names_the_failing_check(qtbot, tmp_path) -> None:
    members = {}
    with zipfile.ZipFile(VECTOR) as z:
        for name in z.namelist():
            members[name] = z.read(name)
    assert b'"verdict":"approve"' in members["decisions/1.json"]
    members["decisions/1.json"] = members["decisions/1.json"].replace(
        b'"verdict":"approve"', b'"verdict":"reject"')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    tampered = tmp_path / "tampered.foureyes"  # the vector itself is never modified
    tampered.write_bytes(out.getvalue())

    view = _auditor(qtbot, TRUST)
    _verified(qtbot, view, tampered)
    assert view.outcome.text().startswith("FAILED:")
    failing = [r for r in _rows(view.checks_model) if r[0] == "FAIL"]
    assert failing and failing[0][1] == "signature"
    assert "signature" in view.outcome.text()


def test_no_trust_and_not_a_bundle(qtbot, tmp_path) -> None:
    view = _auditor(qtbot)
    _verified(qtbot, view, VECTOR)
    assert view.outcome.text().startswith("CONSISTENT, BUT NOT TRUSTED")
    junk = tmp_path / "notes.foureyes"
    junk.write_text("not a zip")
    view.open_bundle(junk)
    qtbot.waitUntil(lambda: view.outcome.text().startswith("Cannot verify"), timeout=WAIT_MS)
    assert "not a proof bundle" in view.outcome.text()
    assert view.checks_model.rowCount() == 0 and not view.export_button.isEnabled()


def test_html_export_escapes_every_value(qtbot, tmp_path) -> None:
    world = SampleWorld.create()
    hostile = '<script>alert(1)</script><img src=x onerror="y">'
    data, policy = build(world, proposal_kw={"title": hostile})
    bundle = tmp_path / "hostile.foureyes"
    bundle.write_bytes(data)
    trust = tmp_path / "trust.toml"
    trust.write_bytes(trust_toml(world, policy))
    view = _auditor(qtbot, trust)
    _verified(qtbot, view, bundle)
    assert view.outcome.text().startswith("VALID")
    out = tmp_path / "report.html"
    view.export(out)
    html = out.read_text()
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;y&quot;&gt;" in html
    assert html.count("<tr class=\"ok\">") == len(view.result.report.checks)
    # The pure function escapes check messages too.
    v = verify_file(bundle, str(trust))
    assert report_html(Verified(v.path, v.report, '"><b>trust')).count("&quot;&gt;&lt;b&gt;") == 1


def test_drag_and_drop_opens_a_bundle(qtbot) -> None:
    view = _auditor(qtbot, TRUST)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(VECTOR))])
    pos = QPointF(view.rect().center())
    # Qt declares a QPoint for the enter event and a QPointF for the drop.
    enter = QDragEnterEvent(view.rect().center(), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(view, enter)
    assert enter.isAccepted()
    drop = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(view, drop)
    qtbot.waitUntil(lambda: view.result is not None, timeout=WAIT_MS)
    assert view.outcome.text().startswith("VALID")


def test_command_line_opens_the_auditor_without_setup(qtbot, app_paths) -> None:
    window = start([str(VECTOR)])  # no settings: no first-run dialog for an auditor
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.auditor.result is not None, timeout=WAIT_MS)
    assert window.tabs.currentWidget() is window.auditor
    assert window.auditor.outcome.text().startswith("CONSISTENT, BUT NOT TRUSTED")
    window.close()

    import click

    from core.cli.app import register

    group = click.Group()
    register(group)
    result = CliRunner().invoke(group, ["app", "--help"])
    assert result.exit_code == 0 and "app [OPTIONS] [FILE.foureyes]" in result.output
