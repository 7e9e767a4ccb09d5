# ruff: noqa: F811 - pytest fixtures are imported by name
"""Deciding through the real dialog against a real folder queue: a reason is required and
signed verbatim, irreversible approvals need the fingerprint typed back, precheck refusals
are shown in plain words before anything is signed, and a failed hand-in can be retried
with the very same signed bytes."""

from __future__ import annotations

import json
from datetime import timedelta

from PySide6.QtCore import Qt

from app.models import STATUS, TIME_LEFT
from app.session import Session
from core.errors import TransportError
from core.formats import Decision, now_utc
from core.signing import verify
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


def _open(window, qtbot, key: Qt.Key):  # noqa: ANN001, ANN202
    qtbot.keyClick(window, key, CTRL_SHIFT)
    qtbot.waitUntil(lambda: window.dialog is not None and window.dialog.isActiveWindow(),
                    timeout=WAIT_MS)
    return window.dialog


def _own_decision(app_paths, proposal) -> tuple[bytes, str]:  # noqa: ANN001
    path = app_paths.state_dir / "my-decisions" / BOB / f"{proposal.hash[7:]}.json"
    obj = json.loads(path.read_bytes())
    return obj["decision"].encode(), obj["signature"]


def test_approve_irreversible_with_reason_and_fingerprint(qtbot, folder_world, window_factory,
                                                          app_paths) -> None:
    p = folder_world.submit(title="Pay invoice 4411")  # irreversible
    window = window_factory(folder_world.settings(), rows=1)
    select(window, p, qtbot)
    dialog = _open(window, qtbot, Qt.Key.Key_A)
    assert dialog.verdict == "approve" and dialog.confirm_box.isVisible()

    dialog.submit_button.click()
    assert "Write a reason" in dialog.error.text()
    reason = "  Checked PO-7781 ✓\nand the vendor allow-list.  "
    dialog.reason.setPlainText(reason)
    qtbot.keyClicks(dialog.confirm, "00000000")
    dialog.submit_button.click()
    assert "first 8 characters" in dialog.error.text()
    assert dialog.signed is None

    dialog.confirm.clear()
    qtbot.keyClicks(dialog.confirm, p.action_hash[7:15].upper())  # case does not matter
    with qtbot.waitSignal(dialog.decided, timeout=WAIT_MS):
        dialog.submit_button.click()
    qtbot.waitUntil(lambda: window.dialog is None, timeout=WAIT_MS)

    raw, signature = _own_decision(app_paths, p)
    decision = Decision.from_bytes(raw)
    assert decision.reason == reason  # verbatim: spaces, newline and all
    assert decision.verdict == "approve" and decision.reviewer == BOB
    assert decision.proposal == p.hash and decision.action == p.action_hash
    assert verify(signature, raw, "foureyes-decision-v1") == folder_world.world.key(BOB)
    sealed = list((folder_world.root / "decisions" / p.hash[7:]).glob("*.sealed"))
    assert len(sealed) == 1

    card = window.card
    assert not card.approve_button.isEnabled() and not card.reject_button.isEnabled()
    assert card.decisions_box.isVisible()
    assert "bob@example.com approved" in card.decisions.text()
    assert "Checked PO-7781" in card.decisions.text()
    row = window.model.row_of(p.hash)
    assert window.model.index(row, STATUS).data() == "pending · you approved"
    window.decide("approve")  # deciding twice is not possible
    assert window.dialog is None


def test_reject_needs_no_fingerprint_but_every_approval_does(qtbot, folder_world,
                                                              window_factory, app_paths) -> None:
    """The agent's "reversible" is its own claim: approving it still confirms the action."""
    p = folder_world.submit(title="Refund order 1182", reversibility="reversible",
                            params={"amount_minor": 4900, "currency": "EUR", "to": "acct-1"})
    window = window_factory(folder_world.settings(), rows=1)
    select(window, p, qtbot)
    dialog = _open(window, qtbot, Qt.Key.Key_R)
    assert dialog.verdict == "reject" and not dialog.confirm_box.isVisible()
    dialog.approve_radio.setChecked(True)  # approving even a "reversible" one: the code
    assert dialog.confirm_box.isVisible()
    dialog.reject_radio.setChecked(True)
    qtbot.keyClicks(dialog.reason, "Customer already refunded by hand.")
    with qtbot.waitSignal(dialog.decided, timeout=WAIT_MS):
        qtbot.keyClick(dialog.reason, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert Decision.from_bytes(_own_decision(app_paths, p)[0]).verdict == "reject"


def test_precheck_refuses_self_review_before_signing(qtbot, folder_world,
                                                     window_factory) -> None:
    mine = folder_world.submit(title="Booth deposit", requester=BOB)
    window = window_factory(folder_world.settings(), rows=1)
    select(window, mine, qtbot)
    card = window.card
    assert not card.approve_button.isEnabled()
    assert card.blocked.text().startswith("You asked for this action yourself")
    qtbot.keyClick(window, Qt.Key.Key_A, CTRL_SHIFT)
    assert window.dialog is None
    assert "yourself" in window.statusBar().currentMessage()


def test_expired_proposal_cannot_be_approved(qtbot, folder_world, window_factory,
                                             app_paths) -> None:
    p = folder_world.submit(title="Soon gone", ttl=timedelta(minutes=5),
                            created_at=now_utc() - timedelta(minutes=4, seconds=58))
    window = window_factory(folder_world.settings(), rows=1)
    select(window, p, qtbot)
    qtbot.waitUntil(lambda: not window.card.approve_button.isEnabled(), timeout=WAIT_MS)
    assert "expired" in window.card.blocked.text()
    assert window.model.index(window.model.row_of(p.hash), TIME_LEFT).data() == "expired"

    # A dialog opened just before expiry refuses at submit time, in plain words.
    from app.views.decide_dialog import DecideDialog

    dialog = DecideDialog(window.model.views()[0], window.policy, window.session,
                          window.queue_runner, "reject", window)
    qtbot.addWidget(dialog)
    dialog.reason.setPlainText("Too late to check the invoice now.")
    dialog.submit_button.click()
    assert dialog.error.text().startswith("This proposal has expired")
    assert dialog.signed is None
    assert not (app_paths.state_dir / "my-decisions").exists()


def test_transport_failure_offers_retry_with_the_same_bytes(qtbot, folder_world,
                                                           window_factory, monkeypatch,
                                                           app_paths) -> None:
    p = folder_world.submit(title="Refund", reversibility="reversible")
    window = window_factory(folder_world.settings(), rows=1)
    real = Session.submit
    sent: list[bytes] = []

    def flaky(self, proposal_hash, decision):  # noqa: ANN001, ANN202
        sent.append(decision.document)
        if len(sent) == 1:
            raise TransportError("unreachable", "the share went away")
        return real(self, proposal_hash, decision)

    monkeypatch.setattr(Session, "submit", flaky)
    select(window, p, qtbot)
    dialog = _open(window, qtbot, Qt.Key.Key_A)
    dialog.reason.setPlainText("Refund matches the carrier claim.")
    qtbot.keyClicks(dialog.confirm, p.action_hash[7:15])
    dialog.submit_button.click()
    qtbot.waitUntil(dialog.retry_button.isVisible, timeout=WAIT_MS)
    assert "the share went away" in dialog.error.text()
    assert not dialog.reason.isEnabled() and not dialog.submit_button.isEnabled()
    with qtbot.waitSignal(dialog.decided, timeout=WAIT_MS):
        dialog.retry_button.click()
    assert len(sent) == 2 and sent[0] == sent[1]
    assert _own_decision(app_paths, p)[0] == sent[0]
