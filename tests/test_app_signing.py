# ruff: noqa: F811 - pytest fixtures are imported by name
"""Issue 13, safety at the moment of signing, through the real window and dialog: the
approve dialog shows every parameter decoded with the card's warnings; line breaks and
space runs in one-line fields are markers, flagged; the signed action outranks the agent's
title; rows tell the truth (requested by me, not eligible, flagged, recipient, status agrees
with the card); reasons are real; every approval confirms the fingerprint."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt

from app.display import MIN_REASON_CHARS
from app.models import RECIPIENT, STATUS, TITLE, WARN
from app.settings import Settings
from core.textsafety import LINE_BREAK_MARKER
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

TAIL = "; ALSO transfer 9000000 to acct-666"
HOSTILE_PARAMS = {"amount_minor": 990000, "currency": "USD", "to": "acct-77\u202e199",
                  "memo": "refund\nApproved-by: security@example.com",
                  "note": "acct-991" + " " * 3000 + TAIL}


def _open(window, qtbot, key: Qt.Key = Qt.Key.Key_A):  # noqa: ANN001, ANN202
    qtbot.keyClick(window, key, CTRL_SHIFT)
    qtbot.waitUntil(lambda: window.dialog is not None and window.dialog.isVisible(),
                    timeout=WAIT_MS)
    return window.dialog


def test_approve_dialog_shows_every_parameter_decoded_with_warnings(qtbot, folder_world,
                                                                    window_factory) -> None:
    p = folder_world.submit(title="Refund\nApproved-by: security@example.com",
                            params=HOSTILE_PARAMS)
    window = window_factory(folder_world.settings(), rows=1)
    select(window, p, qtbot)
    dialog = _open(window, qtbot)
    params = dialog.params
    names = [k.text() for k in params.keys]
    assert names == sorted(HOSTILE_PARAMS)  # every one of them, in canonical order
    assert params.value_of("amount_minor") == "990000"
    to = params.value_of("to")
    assert "\u202e" not in to and "⟦U+202E RIGHT-TO-LEFT OVERRIDE⟧" in to
    memo = params.value_of("memo")
    assert "\n" not in memo and LINE_BREAK_MARKER in memo
    note = params.value_of("note")
    assert note == "acct-991⟦3000 spaces⟧" + TAIL  # the tail is in sight, not 3000 px away
    assert dialog.warning.isVisible()
    for needle in ("bidirectional", "line breaks", "runs of spaces"):
        assert needle in dialog.warning.text(), needle
    # the same warnings the card shows, under each value and for screen readers
    assert any("bidirectional" in w.text() for w in params.warnings)
    to_widget = params.values[names.index("to")]
    assert "bidirectional" in to_widget.accessibleDescription()
    card_to = window.card.params.value_of("to")
    assert card_to == to
    assert "⟦U+202E" in dialog.headline.text() and "990,000" not in dialog.headline.text()
    assert "9,900.00 USD" in dialog.headline.text()
    assert "\n" not in dialog.title.text() and LINE_BREAK_MARKER in dialog.title.text()


def test_title_line_break_is_a_marker_on_card_and_row(qtbot, folder_world,
                                                      window_factory) -> None:
    p = folder_world.submit(title="Refund order 1182\nApproved-by: security@example.com")
    window = window_factory(folder_world.settings(), rows=1)
    select(window, p, qtbot)
    card = window.card
    assert card.title.toPlainText() == ("Refund order 1182" + LINE_BREAK_MARKER
                                        + "Approved-by: security@example.com")
    assert card.title_warning.isVisible() and "line break" in card.title_warning.text()
    assert card.char_banner.isVisible()
    row = window.model.row_of(p.hash)
    assert "\n" not in window.model.index(row, TITLE).data()
    assert window.model.index(row, WARN).data() == "⚠"
    assert "title" in window.model.index(row, WARN).data(Qt.ItemDataRole.AccessibleTextRole)


def test_signed_action_is_the_most_prominent_thing(qtbot, folder_world, window_factory) -> None:
    p = folder_world.submit(title="A very long and loud title written by the agent")
    window = window_factory(folder_world.settings(), rows=1)
    select(window, p, qtbot)
    card = window.card
    assert card.headline.text() == "payments.transfer  ·  to acct-991  ·  1,200.00 USD"
    sizes = [w.font().pointSizeF() for w in card.findChildren(type(card.title))
             if w.isVisible() and w is not card.headline]
    assert card.headline.font().pointSizeF() > max(sizes)  # the largest text on the card
    assert card.headline.font().bold()
    assert card.title.font().italic() and not card.title.font().bold()
    assert card.headline.mapTo(card, card.headline.rect().topLeft()).y() < \
        card.title.mapTo(card, card.title.rect().topLeft()).y()


def test_rows_tell_the_truth(qtbot, folder_world, window_factory) -> None:
    mine = folder_world.submit(title="Booth deposit", requester=BOB,
                               params={"amount_minor": 75000, "currency": "USD",
                                       "to": "acct-400"})
    other = folder_world.submit(title="Pay invoice 4411")
    window = window_factory(folder_world.settings(), rows=2)
    model = window.model
    assert model.index(model.row_of(mine.hash), STATUS).data() == "requested by you"
    assert model.index(model.row_of(other.hash), STATUS).data() == "awaiting you"
    assert model.index(model.row_of(mine.hash), RECIPIENT).data() == "acct-400"
    banner = window.queue_view.banner
    qtbot.waitUntil(banner.isVisible, timeout=WAIT_MS)
    assert banner.label.text().startswith("1 proposal(s) wait")  # not 2
    window.queue_view.pending_only.setChecked(True)
    assert window.queue_view.proxy.rowCount() == 1
    window.queue_view.pending_only.setChecked(False)

    select(window, mine, qtbot)  # before any typing: disabled, with the reason
    assert not window.card.approve_button.isEnabled()
    assert window.card.blocked.text().startswith("You asked for this action yourself")
    assert window.card.status.text() == "Status: requested by you"  # row and card agree
    select(window, other, qtbot)
    assert window.card.status.text() == \
        "Status: " + model.index(model.row_of(other.hash), STATUS).data()


def test_not_eligible_shows_in_rows_and_card(qtbot, folder_world, window_factory) -> None:
    p = folder_world.submit(title="Pay invoice 4411")
    settings = folder_world.settings()
    settings.identity = "erin@example.com"  # not in the policy's roster
    window = window_factory(settings, rows=1)
    row = window.model.row_of(p.hash)
    assert window.model.index(row, STATUS).data().startswith("not eligible")
    select(window, p, qtbot)
    assert not window.card.approve_button.isEnabled()
    assert "not in the policy's list of reviewers" in window.card.blocked.text()
    assert not window.queue_view.banner.isVisible()  # nothing waits for erin


def test_a_reason_must_be_real(qtbot, folder_world, window_factory, app_paths) -> None:
    p = folder_world.submit(title="Refund order 1182", reversibility="reversible")
    window = window_factory(folder_world.settings(), rows=1)
    select(window, p, qtbot)
    dialog = _open(window, qtbot, Qt.Key.Key_R)
    for weak in ("ok", "looks good", "fine fine"):
        dialog.reason.setPlainText(weak)
        dialog.submit_button.click()
        assert "not a reason" in dialog.error.text(), weak
        assert dialog.signed is None
    dialog.reason.setPlainText("Customer was already refunded by hand.")
    with qtbot.waitSignal(dialog.decided, timeout=WAIT_MS):
        dialog.submit_button.click()


def test_the_reason_minimum_can_only_be_raised(app_paths) -> None:
    app_paths.settings_file.parent.mkdir(parents=True, exist_ok=True)
    app_paths.settings_file.write_text(json.dumps({"min_reason_chars": 3,
                                                   "min_reason_words": 1}))
    low = Settings.load(app_paths)
    assert low.min_reason_chars == MIN_REASON_CHARS and low.min_reason_words >= 3
    app_paths.settings_file.write_text(json.dumps({"min_reason_chars": 60}))
    assert Settings.load(app_paths).min_reason_chars == 60


def test_a_raised_minimum_applies_in_the_dialog(qtbot, folder_world, window_factory) -> None:
    p = folder_world.submit(title="Refund", reversibility="reversible")
    settings = folder_world.settings()
    settings.min_reason_chars = 60
    window = window_factory(settings, rows=1)
    select(window, p, qtbot)
    dialog = _open(window, qtbot, Qt.Key.Key_R)
    dialog.reason.setPlainText("Customer was already refunded by hand.")  # 38 characters
    dialog.submit_button.click()
    assert "60 characters" in dialog.error.text()


def test_every_approval_confirms_the_fingerprint(qtbot, folder_world, window_factory) -> None:
    """Not the agent's `reversibility`: a "reversible" claim still needs the typed code."""
    p = folder_world.submit(title="Refund", reversibility="reversible")
    window = window_factory(folder_world.settings(), rows=1)
    select(window, p, qtbot)
    dialog = _open(window, qtbot)
    assert dialog.confirm_box.isVisible()
    assert "Every approval" in dialog.confirm_caption.text()
    dialog.reason.setPlainText("The carrier confirmed the damage in writing.")
    dialog.submit_button.click()
    assert "first 8 characters" in dialog.error.text() and dialog.signed is None
    dialog.confirm.setText(p.action_hash[7:15])
    with qtbot.waitSignal(dialog.decided, timeout=WAIT_MS):
        dialog.submit_button.click()
