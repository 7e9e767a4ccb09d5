# ruff: noqa: F811 - pytest fixtures are imported by name
"""Issue 13, what a careful reviewer expects, through the real window: dark mode at runtime,
accessible warnings, keyboard (Ctrl+F, next waiting, move on after deciding, F1 overlay,
Tab skipping read-only text), live-only notifications, plain-words errors, a window that
fits at 200 % on a small screen, the offline cache saying what it left out, and the demo's
gate executing once two reviewers approved, its bundle opening in the auditor."""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QWidget

from app import cache as cache_module
from app import theme
from app.cache import QueueCache
from app.models import STATUS
from app.settings import Settings
from app.views.first_run import FirstRunDialog
from app.views.shortcuts import ShortcutsDialog
from app.views.widgets import PlainValue
from app.workers import TaskRunner
from core.formats import now_utc
from core.queue.base import ProposalView
from tests.app_fixtures import (
    BOB,
    CTRL_SHIFT,
    QT_STRICT,
    WAIT_MS,
    app_paths,  # noqa: F401
    folder_world,  # noqa: F401
    select,
    window_factory,  # noqa: F401
)

pytestmark = QT_STRICT


@pytest.fixture(autouse=True)
def light_theme():
    yield
    theme.apply(QApplication.instance(), "light")


def _luma(color) -> float:  # noqa: ANN001
    return 0.2126 * color.redF() + 0.7152 * color.greenF() + 0.0722 * color.blueF()


def test_dark_mode_at_runtime_keeps_the_card_readable(qtbot, folder_world,
                                                      window_factory) -> None:
    p = folder_world.submit(title="Refund \u202e1144 eciovni\u202c")
    window = window_factory(folder_world.settings(), rows=1)
    select(window, p, qtbot)
    window.set_theme("dark")
    card = window.card
    qtbot.waitUntil(lambda: _luma(window.palette().color(QPalette.ColorRole.Window)) < 0.3,
                    timeout=WAIT_MS)  # the palette reaches the widgets through events
    for value in card.findChildren(PlainValue):
        if value.isVisible():
            text = value.palette().color(QPalette.ColorRole.Text)
            assert _luma(text) > 0.5, value.accessibleName()  # light text on dark
    assert theme.DARK.bad in card.char_banner.styleSheet()
    assert theme.DARK.muted in card.title.styleSheet()
    image = card.grab().toImage()  # and it really paints light pixels somewhere
    assert any(_luma(image.pixelColor(x, y)) > 0.6
               for x in range(0, image.width(), 7) for y in range(0, image.height(), 7))


def test_accessible_descriptions_carry_the_warnings(qtbot, folder_world,
                                                    window_factory) -> None:
    p = folder_world.submit(title="Refund \u202e1144 eciovni\u202c",
                            params={"amount_minor": 100, "currency": "USD",
                                    "to": "acct-7\u200b1"})
    window = window_factory(folder_world.settings(), rows=1)
    select(window, p, qtbot)
    card = window.card
    assert "bidirectional" in card.title.accessibleDescription()
    assert "zero-width" in card.action_json.value.accessibleDescription()
    assert "zero-width" in card.char_banner.accessibleDescription()
    assert "bidirectional" in card.accessibleDescription()
    assert card.status.accessibleName() == "Status: awaiting you"  # not just "Status"


def test_keyboard_filter_next_waiting_overlay_and_tab_order(qtbot, folder_world,
                                                            window_factory) -> None:
    a = folder_world.submit(title="A", created_at=now_utc() - timedelta(minutes=3))
    folder_world.submit(title="Mine", requester=BOB, created_at=now_utc() - timedelta(minutes=2))
    c = folder_world.submit(title="C", created_at=now_utc() - timedelta(minutes=1))
    window = window_factory(folder_world.settings(), rows=3)
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.queue_view.filter_edit.hasFocus()
    window.queue_view.table.setFocus()

    order = [window.model.view_at(window.model.row_of(h)).hash
             for h in (a.hash, c.hash)]
    qtbot.keyClick(window.queue_view.table, Qt.Key.Key_N)
    first = window.card.view.hash
    qtbot.keyClick(window.queue_view.table, Qt.Key.Key_N)
    second = window.card.view.hash
    assert {first, second} == set(order)  # "Mine" is skipped: it does not wait for me

    qtbot.keyClick(window.queue_view.table, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: any(isinstance(w, ShortcutsDialog) and w.isVisible()
                                for w in QApplication.topLevelWidgets()), timeout=WAIT_MS)
    overlay = window.shortcuts_dialog
    assert "next proposal waiting for you" in "\n".join(
        lbl.text() for lbl in overlay.findChildren(type(window.queue_view.count)))
    overlay.reject()

    # read-only text is out of the Tab order: Tab from the table reaches the buttons
    for value in window.card.findChildren(PlainValue):
        assert value.focusPolicy() == Qt.FocusPolicy.ClickFocus
    window.queue_view.table.setFocus()
    seen: list[QWidget] = []
    for _ in range(12):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        seen.append(QApplication.focusWidget())
        if QApplication.focusWidget() in (window.card.approve_button,
                                          window.card.reject_button):
            break
    assert QApplication.focusWidget() in (window.card.approve_button, window.card.reject_button)
    assert not any(isinstance(w, PlainValue) for w in seen)


def test_after_deciding_the_next_waiting_item_is_selected(qtbot, folder_world,
                                                          window_factory) -> None:
    a = folder_world.submit(title="First", reversibility="reversible",
                            created_at=now_utc() - timedelta(minutes=2))
    b = folder_world.submit(title="Second", created_at=now_utc() - timedelta(minutes=1))
    window = window_factory(folder_world.settings(), rows=2)
    select(window, a, qtbot)
    qtbot.keyClick(window, Qt.Key.Key_R, CTRL_SHIFT)
    qtbot.waitUntil(lambda: window.dialog is not None, timeout=WAIT_MS)
    window.dialog.reason.setPlainText("Duplicate of an earlier refund request.")
    with qtbot.waitSignal(window.dialog.decided, timeout=WAIT_MS):
        window.dialog.submit_button.click()
    qtbot.waitUntil(lambda: window.card.view is not None and window.card.view.hash == b.hash,
                    timeout=WAIT_MS)
    row = window.model.row_of(a.hash)
    assert window.model.index(row, STATUS).data().endswith("· you rejected")


def test_notifications_come_from_live_data_only(qtbot, folder_world, window_factory) -> None:
    folder_world.submit(title="Soon", ttl=timedelta(minutes=4))
    window = window_factory(folder_world.settings(), rows=1)
    banner = window.queue_view.banner
    qtbot.waitUntil(banner.isVisible, timeout=WAIT_MS)
    assert "1 proposal(s) wait" in banner.label.text()
    assert "expire within 5 minutes" in banner.label.text()
    window.close()
    shutil.move(folder_world.root, folder_world.root.with_name("unplugged"))
    again = window_factory(folder_world.settings(), rows=1)  # the offline copy
    qtbot.waitUntil(lambda: "Offline copy" in again.queue_view.age.text(), timeout=WAIT_MS)
    assert not again.queue_view.banner.isVisible()  # a stale copy never notifies
    assert not again.live


def test_server_down_is_said_in_plain_words(qtbot, app_paths, folder_world) -> None:
    from app.views.main_window import MainWindow

    settings = Settings(identity=BOB, key_file=str(folder_world.key_file), transport="server",
                        server_url="http://127.0.0.1:9", sync_seconds=3600)
    window = MainWindow(app_paths, settings, use_tray=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: "not answering" in window.queue_view.age.text(), timeout=WAIT_MS)
    assert "http://127.0.0.1:9" in window.queue_view.age.text()
    window.close()


def test_key_not_in_roster_gives_the_line_to_send(qtbot, folder_world, window_factory,
                                                  tmp_path) -> None:
    from core.signing import FileKeySource

    key_file = tmp_path / "erin.key"
    FileKeySource(key_file).create("erin@example.com")
    settings = folder_world.settings()
    settings.identity, settings.key_file = "erin@example.com", str(key_file)
    folder_world.submit(title="Pay invoice 4411")
    window = window_factory(settings, rows=1)
    notice = window.queue_view.notice
    qtbot.waitUntil(notice.isVisible, timeout=WAIT_MS)
    assert "Send this line to your security team" in notice.label.text()
    assert notice.line.text().startswith("erin@example.com ")
    assert "ssh-ed25519" in notice.line.text() and notice.copy_button.isVisible()


@pytest.mark.parametrize(("typed", "needle"), [
    ("Bob@Example.com", "lowercase"), ("bob", "missing the domain"),
    ("bob @example.com", "spaces"), ("agent:payments-bot", "reviewers are people"),
    ("", "Type your identity")])
def test_identity_mistakes_in_first_run(qtbot, app_paths, typed, needle) -> None:
    runner = TaskRunner()
    dialog = FirstRunDialog(app_paths, runner)
    qtbot.addWidget(dialog)
    dialog.identity.setText(typed)
    dialog.key_button.click()
    assert not dialog.error.isHidden() and needle in dialog.error.text()
    runner.wait()


def test_window_fits_at_200_percent_on_a_small_screen(qtbot, folder_world,
                                                      window_factory) -> None:
    p = folder_world.submit(title="Pay invoice 4411", why="word " * 300)
    window = window_factory(folder_world.settings(), rows=1)
    hint = window.minimumSizeHint()  # every tab, not only the queue, fits the small screen
    assert hint.width() <= 683 and hint.height() <= 384
    window.resize(683, 384)  # 1366x768 at 200 %: the logical pixels left
    select(window, p, qtbot)
    qtbot.waitUntil(lambda: window.width() <= 700, timeout=WAIT_MS)
    inside = QRect(0, 0, window.width(), window.height())
    table = window.queue_view.table  # the queue keeps whole rows (it had one clipped row)
    assert table.viewport().height() >= 3 * table.verticalHeader().defaultSectionSize()
    for button in (window.card.approve_button, window.card.reject_button):
        assert button.isVisible()
        top_left = button.mapTo(window, button.rect().topLeft())
        assert inside.contains(QRect(top_left, button.size())), button.text()
    qtbot.keyClick(window, Qt.Key.Key_A, CTRL_SHIFT)
    qtbot.waitUntil(lambda: window.dialog is not None, timeout=WAIT_MS)
    dialog = window.dialog
    dialog.resize(683, 384)
    qtbot.waitUntil(lambda: dialog.height() <= 400, timeout=WAIT_MS)
    box = QRect(0, 0, dialog.width(), dialog.height())
    for button in (dialog.submit_button, dialog.cancel_button):
        top_left = button.mapTo(dialog, button.rect().topLeft())
        assert box.contains(QRect(top_left, button.size())), button.text()
    dialog.reject()

    window.resize(800, 600)  # columns keep a readable width and scroll sideways instead
    header = window.queue_view.table.horizontalHeader()
    assert all(header.sectionSize(c) >= header.minimumSectionSize()
               for c in range(header.count()))
    assert header.sectionSize(2) >= 10 * window.fontMetrics().averageCharWidth()


def test_offline_cache_keeps_what_the_reviewer_needs_and_says_so(folder_world, tmp_path,
                                                                monkeypatch) -> None:
    monkeypatch.setattr(cache_module, "MAX_CACHED_PROPOSALS", 2)
    now = now_utc()
    world, policy = folder_world.world, folder_world.policy
    waiting = world.proposal(policy_hash=policy.hash, title="waiting", created_at=now)
    mine = world.proposal(policy_hash=policy.hash, title="mine", requester=BOB,
                          created_at=now)
    done = world.proposal(policy_hash=policy.hash, title="done", created_at=now)
    soon = world.proposal(policy_hash=policy.hash, title="soon", created_at=now,
                          ttl=timedelta(minutes=3))
    views = [ProposalView(done, "executed"), ProposalView(mine, "pending"),
             ProposalView(waiting, "pending"), ProposalView(soon, "pending")]
    cache = QueueCache(tmp_path / "c.sqlite")
    cache.store(views, policy.raw, now, BOB)
    loaded = cache.load()
    assert {v.proposal.summary["title"] for v in loaded.views} == {"waiting", "soon"}
    assert loaded.left_out == 2


def test_demo_gate_executes_after_two_approvals_and_the_bundle_opens(qtbot, app_paths,
                                                                    window_factory) -> None:
    from app.demo import build_demo

    settings = build_demo(app_paths)
    window = window_factory(settings, rows=6)
    pay = next(v for v in window.model.views()
               if v.proposal.summary["title"].startswith("Pay invoice 4411"))
    select(window, pay.proposal, qtbot)
    qtbot.keyClick(window, Qt.Key.Key_A, CTRL_SHIFT)
    qtbot.waitUntil(lambda: window.dialog is not None, timeout=WAIT_MS)
    dialog = window.dialog
    dialog.reason.setPlainText("Matches PO-7781 and the invoice PDF.")
    dialog.confirm.setText(pay.proposal.action_hash[7:15])
    with qtbot.waitSignal(dialog.decided, timeout=WAIT_MS):
        dialog.submit_button.click()
    model = window.model
    qtbot.waitUntil(lambda: model.index(model.row_of(pay.hash), STATUS).data().startswith(
        "executed"), timeout=WAIT_MS)
    select(window, pay.proposal, qtbot)
    assert window.card.bundle_button.isVisible()
    window.card.bundle_button.click()
    qtbot.waitUntil(lambda: window.auditor.result is not None, timeout=WAIT_MS)
    assert window.tabs.currentWidget() is window.auditor
    assert window.auditor.outcome.text().startswith("VALID")


def test_the_offline_copy_says_what_it_left_out(qtbot, folder_world, window_factory,
                                                monkeypatch) -> None:
    monkeypatch.setattr(cache_module, "MAX_CACHED_PROPOSALS", 1)
    folder_world.submit(title="Waiting for you")
    folder_world.submit(title="Your own", requester=BOB)
    window = window_factory(folder_world.settings(), rows=2)
    shutil.move(folder_world.root, folder_world.root.with_name("unplugged"))
    window.sync()
    qtbot.waitUntil(lambda: "Offline copy" in window.queue_view.age.text(), timeout=WAIT_MS)
    assert "left out 1" in window.queue_view.age.text()
    assert "Everything waiting for you is kept" in window.queue_view.age.text()
