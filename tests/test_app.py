"""The desktop app through real widgets, against a real server and a real folder queue."""

from __future__ import annotations

import zipfile
from io import BytesIO

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox

from app.views.common import all_text
from app.views.decide_dialog import DecideDialog
from core.formats import now_utc
from core.policy import Policy
from core.review import make_decision
from tests.app_fixtures import TIMEOUT_MS, key_file, model_strings, open_window, select
from tests.folder_fixtures import Folder

BOB, CAROL, ALICE = "bob@example.com", "carol@example.com", "alice@example.com"
CAROL_REASON = "Carol checked the purchase order 7731"


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))


def _propose(server, world, **kw):
    p = world.proposal(policy_hash=Policy.from_bytes(world.policy_bytes()).hash, **kw)
    server.agent().submit_proposal(p)
    return p


def _accept_dialog(monkeypatch, reason="Looks right to me", confirm=True):
    def fake_exec(self):
        self.reason.setPlainText(reason)
        if self.confirm is not None and confirm:
            self.confirm.setText(self.expected)
        return DecideDialog.DialogCode.Accepted if self.ok.isEnabled() else \
            DecideDialog.DialogCode.Rejected

    monkeypatch.setattr(DecideDialog, "exec", fake_exec)


def test_blind_review_then_decide_over_a_real_server(qtbot, server, tmp_path, monkeypatch):
    world = server.world
    p = _propose(server, world, title="Pay <b>invoice</b> <img src=x> <a href='y'>4411</a>")
    server.reviewer(CAROL).submit_decision(p.hash, make_decision(
        p, verdict="approve", reason=CAROL_REASON, identity=CAROL,
        signer=world.signer(CAROL), now=now_utc()))
    window = open_window(qtbot, tmp_path, identity=BOB, server=server.url,
                         key_file=str(key_file(world, BOB, tmp_path)))
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=TIMEOUT_MS)
    select(window, p.hash)
    # Nothing anywhere says carol decided, or how.
    everything = all_text(window) + model_strings(window.model) + model_strings(
        window.queue_view.proxy)
    assert CAROL_REASON not in everything and CAROL not in everything
    assert "approved" not in everything.lower().replace("approvals", "")
    assert window.model.views[0].decisions == ()
    # Agent HTML is literal text in plain-text labels.
    title = window.queue_view.card.findChildren(QLabel)[0]
    assert title.text() == "Pay <b>invoice</b> <img src=x> <a href='y'>4411</a>"
    labels = window.findChildren(QLabel)
    assert labels and all(lab.textFormat() == Qt.TextFormat.PlainText for lab in labels)

    _accept_dialog(monkeypatch)
    qtbot.mouseClick(window.queue_view.approve, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.model.rowCount() == 1 and
                    window.model.views[0].my_decision is not None, timeout=TIMEOUT_MS)
    select(window, p.hash)
    qtbot.waitUntil(lambda: CAROL_REASON in all_text(window.queue_view.card),
                    timeout=TIMEOUT_MS)
    assert "Looks right to me" in all_text(window.queue_view.card)
    assert not window.queue_view.approve.isEnabled()  # one decision per person


def test_precheck_refuses_the_requester_before_signing(qtbot, server, tmp_path, monkeypatch):
    world = server.world
    p = _propose(server, world)
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a: warnings.append(a[2]))
    window = open_window(qtbot, tmp_path, identity=ALICE, server=server.url,
                         key_file=str(key_file(world, ALICE, tmp_path)))
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=TIMEOUT_MS)
    select(window, p.hash)
    window.queue_view.approve.click()
    assert warnings and "requested this action" in warnings[0]
    assert server.gate().get_proposal(p.hash).decisions == ()


def test_server_refusal_is_shown_in_plain_words(qtbot, server, tmp_path, monkeypatch):
    world = server.world
    p = _propose(server, world)
    window = open_window(qtbot, tmp_path, identity=BOB, server=server.url,
                         key_file=str(key_file(world, BOB, tmp_path)))
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=TIMEOUT_MS)
    server.reviewer(BOB).submit_decision(p.hash, make_decision(
        p, verdict="approve", reason="from the CLI", identity=BOB,
        signer=world.signer(BOB), now=now_utc()))
    monkeypatch.setattr(QMessageBox, "exec", lambda self: QMessageBox.StandardButton.Close)
    window.submit(window.model.views[0], "approve", "again from the app")
    qtbot.waitUntil(lambda: "Not recorded" in window.status.text(), timeout=TIMEOUT_MS)
    assert "duplicate_reviewer" in window.status.text()


def test_folder_queue_sort_filter_and_irreversible_confirmation(qtbot, world, tmp_path,
                                                                monkeypatch):
    folder = Folder.create(world, tmp_path)
    gate = folder.gate()
    policy = Policy.from_bytes(world.policy_bytes())
    small = world.proposal(policy_hash=policy.hash, params={"amount_minor": 100,
                                                            "currency": "EUR", "to": "a"})
    big = world.proposal(policy_hash=policy.hash)
    iam = world.proposal(policy_hash=policy.hash, route="iam.grant", params={"role": "x"},
                         reversibility="reversible", title="Grant role")
    for p in (small, big, iam):
        gate.submit_proposal(p)
    window = open_window(qtbot, tmp_path, identity=BOB, folder=str(folder.root),
                         key_file=str(key_file(world, BOB, tmp_path)))
    qtbot.waitUntil(lambda: window.model.rowCount() == 3, timeout=TIMEOUT_MS)
    qv = window.queue_view
    qv.table.sortByColumn(5, Qt.SortOrder.DescendingOrder)
    assert qv.proxy.index(0, 5).data().startswith("1,200.00")
    qv.filter.setText("iam")
    assert qv.proxy.rowCount() == 1
    qv.filter.setText("")
    select(window, big.hash)
    dialog = DecideDialog(qv.current(), "approve")
    qtbot.addWidget(dialog)
    dialog.reason.setPlainText("ok")
    assert not dialog.ok.isEnabled()          # irreversible: fingerprint still missing
    dialog.confirm.setText("00000000")
    assert not dialog.ok.isEnabled()
    dialog.confirm.setText(dialog.expected)
    assert dialog.ok.isEnabled()
    dialog.reason.setPlainText("   ")
    assert not dialog.ok.isEnabled()          # a reason is required
    _accept_dialog(monkeypatch, reason="Checked with finance")
    qtbot.keyClick(window, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: "recorded" in window.status.text() or "synced" in
                    window.status.text() and any(v.my_decision for v in window.model.views),
                    timeout=TIMEOUT_MS)
    gate.collect()
    assert len(gate.get_proposal(big.hash).decisions) == 1


def test_offline_shows_the_cached_queue_with_its_age(qtbot, world, tmp_path):
    folder = Folder.create(world, tmp_path)
    folder.gate().submit_proposal(world.proposal(
        policy_hash=Policy.from_bytes(world.policy_bytes()).hash))
    kf = str(key_file(world, BOB, tmp_path))
    window = open_window(qtbot, tmp_path, identity=BOB, folder=str(folder.root), key_file=kf)
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=TIMEOUT_MS)
    window.close()
    (folder.root / "policy.toml").rename(folder.root / "unplugged")
    again = open_window(qtbot, tmp_path, identity=BOB, folder=str(folder.root), key_file=kf)
    assert again.model.rowCount() == 1
    assert "Offline" in again.status.text() and "s ago" in again.status.text()


def test_auditor_view_on_the_independent_vector(qtbot, vectors_dir, tmp_path):
    from app.views.auditor_view import AuditorView

    view = AuditorView(str(vectors_dir / "trust.toml"))
    qtbot.addWidget(view)
    view.open_bundle(vectors_dir / "payment-2of4.foureyes")
    assert view.verdict.text() == "VALID: executed"
    assert all(ok for ok, _c, _m in view.checks.rows)
    assert "bob@example.com" in view.timeline.toPlainText()
    out = tmp_path / "report.html"
    view.export_html(out)
    assert "VALID: executed" in out.read_text()

    data = (vectors_dir / "payment-2of4.foureyes").read_bytes()
    members = {n: zipfile.ZipFile(BytesIO(data)).read(n)
               for n in zipfile.ZipFile(BytesIO(data)).namelist()}
    members["receipt.json"] = members["receipt.json"].replace(b"succeeded", b"failed\x20\x20")
    bad = tmp_path / "tampered.foureyes"
    with zipfile.ZipFile(bad, "w") as z:
        for n, d in members.items():
            z.writestr(n, d)
    view.open_bundle(bad)
    assert view.verdict.text().startswith("FAILED")
    assert any(not ok for ok, _c, _m in view.checks.rows)
    view.open_bundle(tmp_path / "report.html")
    assert "not a proof bundle" in view.verdict.text()


def test_keys_view_with_a_key_file(qtbot, tmp_path):
    from app.views.keys_view import KeysView
    from core.signing import FileKeySource

    source = FileKeySource(tmp_path / "k")
    key = source.create(BOB)
    view = KeysView()
    qtbot.addWidget(view)
    view.set_source(source, BOB)
    assert view.fingerprint.text() == key.fingerprint
    assert view.line.text().startswith(BOB) and key.openssh() in view.line.text()
    view.copy_line()
    view.rotate()
    assert view.previous.text() == key.fingerprint
    view.remove_previous()
    assert view.previous.text() == "none"
    assert "seed" not in all_text(view).lower()


def test_every_control_has_an_accessible_name(qtbot, world, tmp_path):
    from PySide6.QtWidgets import QAbstractButton, QLineEdit, QPlainTextEdit, QTableView

    folder = Folder.create(world, tmp_path)
    window = open_window(qtbot, tmp_path, identity=BOB, folder=str(folder.root),
                         key_file=str(key_file(world, BOB, tmp_path)))
    controls = [w for cls in (QAbstractButton, QLineEdit, QPlainTextEdit, QTableView)
                for w in window.findChildren(cls) if w.isVisibleTo(window)]
    unnamed = [w for w in controls if not w.accessibleName() and
               type(w).__name__ not in ("QTabBar", "QToolButton")]
    assert not unnamed, [type(w).__name__ + ":" + w.objectName() for w in unnamed]


def test_first_run_creates_a_key_and_saves_settings(qtbot, tmp_path):
    from app.settings import Settings
    from app.views.first_run import FirstRunDialog

    settings = Settings()
    dialog = FirstRunDialog(settings)
    qtbot.addWidget(dialog)
    dialog.identity.setText("erin@example.com")
    dialog.use_file.setChecked(True)
    dialog.key_file.setText(str(tmp_path / "erin.key"))
    dialog.create_key.click()
    assert "ssh-ed25519 " in dialog.public.text() and "SHA256:" in dialog.public.text()
    dialog.identity.setText("Erin@Example.com")
    dialog._accept()
    assert "lowercase" in dialog.public.text() and not settings.configured
    dialog.identity.setText("erin@example.com")
    dialog.folder.setText(str(tmp_path / "usb"))
    dialog._accept()
    assert settings.configured and settings.key_file.endswith("erin.key")
    settings.save(tmp_path / "settings.json")
    assert Settings.load(tmp_path / "settings.json").identity == "erin@example.com"


def test_new_pending_items_raise_a_notification_and_countdown_ticks(qtbot, world, tmp_path):
    folder = Folder.create(world, tmp_path)
    gate = folder.gate()
    h = Policy.from_bytes(world.policy_bytes()).hash
    gate.submit_proposal(world.proposal(policy_hash=h))
    window = open_window(qtbot, tmp_path, identity=BOB, folder=str(folder.root),
                         key_file=str(key_file(world, BOB, tmp_path)))
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=TIMEOUT_MS)
    seen = []
    window.notify = seen.append
    gate.submit_proposal(world.proposal(policy_hash=h, title="Second"))
    window.sync()
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=TIMEOUT_MS)
    assert seen and "1 new proposal" in seen[0]
    with qtbot.waitSignal(window.model.dataChanged, timeout=TIMEOUT_MS) as blocker:
        window.model.tick()
    top_left, bottom_right = blocker.args[0], blocker.args[1]
    assert top_left.column() == bottom_right.column() == window.model.TIME_COLUMN
