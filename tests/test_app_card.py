# ruff: noqa: F811 - pytest fixtures are imported by name
"""The decision card: built from the signed bytes, agent text shown as literal plain text
with hidden characters revealed and flagged, long values wrapped not elided, and no other
verdict anywhere in the UI before this reviewer decided (even if a queue sent one)."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QPlainTextEdit, QTextBrowser, QTextEdit

from app.models import STATUS, TITLE
from app.views.widgets import PlainValue
from core.formats import sha256_ref
from core.queue.base import ProposalView
from tests.app_fixtures import (
    CAROL,
    QT_STRICT,
    WAIT_MS,
    app_paths,  # noqa: F401
    folder_world,  # noqa: F401
    select,
    visible_strings,
    window_factory,  # noqa: F401
)

pytestmark = QT_STRICT

HOSTILE_TITLE = '<b>x</b> <img src="https://evil.example/p.png"> <a href="https://evil.example">go</a>'
SECRET = "CAROL-SECRET-REASON-7731"


def _plain_everywhere() -> None:
    """No widget in the app can render markup: labels are PlainText, no rich text editors."""
    for top in QApplication.topLevelWidgets():
        assert not top.findChildren(QTextBrowser)
        assert not top.findChildren(QTextEdit)
        for label in top.findChildren(QLabel):
            assert label.textFormat() == Qt.TextFormat.PlainText, label.text()


def test_card_is_built_from_the_signed_bytes(qtbot, folder_world, window_factory) -> None:
    p = folder_world.submit(title="Pay invoice 4411")
    window = window_factory(folder_world.settings(), rows=1)
    select(window, p, qtbot)
    card = window.card
    assert card.action_json.value.text() == p.action_bytes.decode()
    assert card.proposal_hash.value.text() == sha256_ref(p.raw)
    assert card.action_hash.value.text() == p.action_hash
    assert card.action_fp.value.text().replace(" ", "") == p.action_hash[7:39]
    assert card.policy_name.value.text() == "demo-payments"
    assert card.policy_hash.value.text() == folder_world.policy.hash
    assert card.rule.value.text().startswith("rule 1: ")
    assert card.needed.value.text().startswith("2 distinct reviewers")
    assert "unverified" in card.summary_box.title()
    assert card.why.value.text() == "Invoice due today"
    assert card.evidence.value.text() == "invoice: inv-4411"
    assert card.approve_button.isEnabled() and card.reject_button.isEnabled()


def test_agent_markup_is_literal_text(qtbot, folder_world, window_factory) -> None:
    p = folder_world.submit(title=HOSTILE_TITLE, why="<script>alert(1)</script> see <i>x</i>",
                            evidence=[{"label": "<u>ticket</u>", "ref": "<a href='x'>y</a>"}])
    window = window_factory(folder_world.settings(), rows=1)
    select(window, p, qtbot)
    card = window.card
    assert card.title.toPlainText() == HOSTILE_TITLE
    assert card.why.value.text() == "<script>alert(1)</script> see <i>x</i>"
    assert card.evidence.value.text() == "<u>ticket</u>: <a href='x'>y</a>"
    row = window.model.row_of(p.hash)
    assert window.model.index(row, TITLE).data() == HOSTILE_TITLE
    assert window.model.index(row, TITLE).data(Qt.ItemDataRole.ToolTipRole) is None
    assert not card.char_banner.isVisible()
    _plain_everywhere()


def test_hidden_characters_are_revealed_and_flagged(qtbot, folder_world, window_factory) -> None:
    p = folder_world.submit(title="Refund \u202e1144 eciovni\u202c",
                            params={"amount_minor": 990000, "currency": "USD",
                                    "to": "acct-77\u200b1"},
                            why="Pay аcct-991")  # Cyrillic а
    window = window_factory(folder_world.settings(), rows=1)
    select(window, p, qtbot)
    card = window.card
    assert card.char_banner.isVisible()
    assert "\u202e" not in card.title.toPlainText()
    assert "⟦U+202E RIGHT-TO-LEFT OVERRIDE⟧" in card.title.toPlainText()
    assert card.title_warning.isVisible() and "bidirectional" in card.title_warning.text()
    assert "⟦U+200B ZERO WIDTH SPACE⟧" in card.action_json.value.text()
    assert card.action_json.warning.isVisible()
    assert "zero-width" in card.action_json.warning.text()
    assert "look like ASCII" in card.why.warning.text()
    table_title = window.model.index(window.model.row_of(p.hash), TITLE).data()
    assert "\u202e" not in table_title and "⟦U+202E" in table_title


def test_long_values_wrap_and_are_never_elided(qtbot, folder_world, window_factory) -> None:
    account = "acct-" + "7" * 300 + "-END"
    p = folder_world.submit(params={"amount_minor": 1, "currency": "USD", "to": account},
                            why="word " * 400 + "LAST")
    window = window_factory(folder_world.settings(), rows=1)
    select(window, p, qtbot)
    value = window.card.action_json.value
    assert isinstance(value, PlainValue) and isinstance(value, QPlainTextEdit)
    assert value.text().endswith('-END"},"route":"payments.transfer"}')
    assert value.lineWrapMode() == QPlainTextEdit.LineWrapMode.WidgetWidth
    assert value.horizontalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAlwaysOff
    line = value.fontMetrics().lineSpacing()
    qtbot.waitUntil(lambda: value.height() > 3 * line, timeout=WAIT_MS)  # it wrapped
    why = window.card.why.value
    assert why.text().endswith("LAST") and why.height() > 10 * line


def test_other_verdicts_are_hidden_even_when_a_queue_sends_them(qtbot, folder_world,
                                                                window_factory) -> None:
    """Defence in depth: a queue that leaks another reviewer's decision shows nothing."""
    p = folder_world.submit(title="Pay invoice 4411")
    window = window_factory(folder_world.settings(), rows=1)
    d, sig = folder_world.world.decide(p, CAROL, "reject", SECRET,
                                       decided_at=p.created_at + timedelta(seconds=5))
    from core.policy import SignedDecision

    leaky = ProposalView(p, "approved", None, (SignedDecision(d.raw, sig),))
    window.model.set_views([leaky])
    select(window, p, qtbot)
    window.card.decisions_box.show()  # even forced visible, the box holds nothing
    haystack = visible_strings()
    for needle in (SECRET, CAROL, "carol", "approved", "rejected", "you approved"):
        assert needle not in haystack, needle
    assert window.model.index(0, STATUS).data() == "awaiting you"
