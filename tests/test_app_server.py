# ruff: noqa: F811 - pytest fixtures are imported by name
"""The app against the real `foureyes serve` process: blind review end to end (the other
reviewer's verdict is nowhere in the UI before this reviewer decides, and shown after), and
a refusal only the server can make (shared group) shown in plain words."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.models import STATUS
from app.settings import Settings
from core.formats import Proposal, now_utc
from core.policy import Policy, SignedDecision
from core.sample import SampleWorld
from core.signing import FileKeySource
from tests.app_fixtures import (
    BOB,
    CAROL,
    CTRL_SHIFT,
    DAVE,
    QT_STRICT,
    WAIT_MS,
    app_paths,  # noqa: F401
    select,
    visible_strings,
    window_factory,  # noqa: F401
)
from tests.server_fixtures import Server

pytestmark = QT_STRICT

SECRET = "CAROL-SECRET-REASON-7731"


class Live:
    def __init__(self, world: SampleWorld, server: Server, key_file: Path) -> None:
        self.world, self.server, self.key_file = world, server, key_file
        self.policy = Policy.from_bytes(world.policy_bytes())

    def propose(self, **kwargs: object) -> Proposal:
        p = self.world.proposal(policy_hash=self.policy.hash, **kwargs)
        agent = self.server.agent()
        agent.submit_proposal(p)
        agent.close()
        return p

    def decide_as(self, who: str, p: Proposal, verdict: str, reason: str) -> None:
        d, sig = self.world.decide(p, who, verdict, reason, decided_at=now_utc())
        q = self.server.reviewer(who)
        q.submit_decision(p.hash, SignedDecision(d.raw, sig))
        q.close()

    def settings(self) -> Settings:
        return Settings(identity=BOB, key_file=str(self.key_file), transport="server",
                        server_url=self.server.url, sync_seconds=3600)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    root = tmp_path_factory.mktemp("app-server")
    world = SampleWorld.create()
    server = Server(world, root / "srv")
    server.setup()
    server.start()
    key_file = root / "bob.key"
    FileKeySource(key_file).import_signer(BOB, world.signer(BOB))
    try:
        yield Live(world, server, key_file)
    finally:
        server.stop()


def test_blind_review_end_to_end(qtbot, live, window_factory) -> None:
    p = live.propose(title="Pay invoice 4411")
    live.decide_as(CAROL, p, "approve", SECRET)
    window = window_factory(live.settings(), rows=1)
    select(window, p, qtbot)

    before = visible_strings()
    for needle in (SECRET, CAROL, "carol", "1 of 2", "approved"):
        assert needle not in before, needle
    assert window.model.index(window.model.row_of(p.hash), STATUS).data() == "awaiting you"
    assert not window.card.decisions_box.isVisible()

    qtbot.keyClick(window, Qt.Key.Key_A, CTRL_SHIFT)
    qtbot.waitUntil(lambda: window.dialog is not None, timeout=WAIT_MS)
    dialog = window.dialog
    dialog.reason.setPlainText("Matches the purchase order.")
    dialog.confirm.setText(p.action_hash[7:15])
    with qtbot.waitSignal(dialog.decided, timeout=WAIT_MS):
        dialog.submit_button.click()

    qtbot.waitUntil(lambda: SECRET in window.card.decisions.text(), timeout=WAIT_MS)
    after = visible_strings()
    assert f"{CAROL} approved" in after and SECRET in after
    assert f"{BOB} approved" in after
    assert "Outcome so far: approved (2 of 2 required approvals)" in after
    assert window.model.index(window.model.row_of(p.hash), STATUS).data() == "approved · you approved"


def test_server_refusal_is_shown_in_plain_words(qtbot, live, window_factory) -> None:
    p = live.propose(title="Pay the quarterly invoice", reversibility="reversible")
    live.decide_as(CAROL, p, "approve", "fine by me")
    live.decide_as(DAVE, p, "approve", "matches the order")  # the outcome is now final
    window = window_factory(live.settings(), rows=1)
    select(window, p, qtbot)
    assert window.card.can_decide()  # precheck cannot know; only the server can
    qtbot.keyClick(window, Qt.Key.Key_A, CTRL_SHIFT)
    qtbot.waitUntil(lambda: window.dialog is not None, timeout=WAIT_MS)
    dialog = window.dialog
    dialog.reason.setPlainText("The key is old and the invoice checks out.")
    dialog.confirm.setText(p.action_hash[7:15])  # every approval confirms the action
    dialog.submit_button.click()
    qtbot.waitUntil(lambda: dialog.error.text().startswith("Not submitted"), timeout=WAIT_MS)
    assert "This proposal is closed: its outcome is final." in dialog.error.text()
    assert "[closed]" in dialog.error.text()
    assert not dialog.retry_button.isVisible() and dialog.isVisible()
