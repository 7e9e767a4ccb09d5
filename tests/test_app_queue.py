# ruff: noqa: F811 - pytest fixtures are imported by name
"""The queue view over a real folder queue: columns, sort, filter, countdown, sync on a
worker, the offline cache with its age, new-proposal notices, keyboard navigation, and the
absence of any way to select (so approve) two proposals at once."""

from __future__ import annotations

import shutil
from datetime import timedelta

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QAbstractItemView

from app.models import AMOUNT, COLUMNS, STATUS, TIME_LEFT, TITLE
from core.formats import now_utc
from core.queue.base import ProposalView
from tests.app_fixtures import (  # noqa: F401
    BOB,
    QT_STRICT,
    WAIT_MS,
    app_paths,
    folder_world,
    select,
    window_factory,
)

pytestmark = QT_STRICT


def _titles(window) -> list[str]:  # noqa: ANN001
    proxy = window.queue_view.proxy
    return [proxy.index(r, TITLE).data() for r in range(proxy.rowCount())]


def test_columns_sort_and_filter(qtbot, folder_world, window_factory) -> None:
    small = folder_world.submit(title="Refund order 1182", params={
        "amount_minor": 4900, "currency": "EUR", "to": "acct-1"}, reversibility="reversible")
    big = folder_world.submit(title="Pay invoice 4411", params={
        "amount_minor": 120000, "currency": "USD", "to": "acct-991"})
    iam = folder_world.submit(route="iam.rotate_key", params={"principal": "ci"},
                              title="Rotate CI key", reversibility="partially_reversible")
    window = window_factory(folder_world.settings(), rows=3)
    model = window.model
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(len(COLUMNS))] == [
        "⚠", "Route", "Recipient", "Amount", "Title (agent's)", "Requester", "Agent",
        "Reversibility", "Time left", "Status"]
    row = model.row_of(big.hash)
    shown = [model.index(row, c).data() for c in range(len(COLUMNS))]
    assert shown[:8] == ["", "payments.transfer", "acct-991", "1,200.00 USD",
                         "Pay invoice 4411", "alice@example.com", "agent:payments-bot",
                         "irreversible"]
    assert shown[STATUS] == "awaiting you"
    assert model.index(model.row_of(iam.hash), AMOUNT).data() == "—"

    view = window.queue_view
    view.table.sortByColumn(AMOUNT, Qt.SortOrder.DescendingOrder)  # numbers, not text
    assert _titles(window) == ["Pay invoice 4411", "Refund order 1182", "Rotate CI key"]
    view.filter_edit.setText("iam.")
    assert _titles(window) == ["Rotate CI key"]
    assert view.count.text() == "1 of 3"
    view.filter_edit.setText("REFUND")
    assert _titles(window) == ["Refund order 1182"]
    view.filter_edit.setText("acct-991")  # the recipient, from the signed params
    assert _titles(window) == ["Pay invoice 4411"]
    view.filter_edit.setText("principal=ci")  # any parameter, name and value
    assert _titles(window) == ["Rotate CI key"]
    view.filter_edit.clear()
    assert len(_titles(window)) == 3 and view.count.text() == "3 of 3"
    del small


def test_countdown_repaints_only_live_time_cells(qtbot, folder_world, window_factory) -> None:
    """The model emits nothing once a second; the view repaints the visible time cells of
    live rows only, and finished rows stop counting down."""
    live = folder_world.submit(created_at=now_utc() - timedelta(minutes=1))
    window = window_factory(folder_world.settings(), rows=1)
    past = now_utc() - timedelta(minutes=20)
    gone = folder_world.world.proposal(policy_hash=folder_world.policy.hash, title="Long gone",
                                       ttl=timedelta(minutes=5), created_at=past)
    done = folder_world.world.proposal(policy_hash=folder_world.policy.hash, title="Done",
                                       ttl=timedelta(hours=2), created_at=past)
    window.model.set_views([window.model.views()[0], ProposalView(gone, "pending"),
                            ProposalView(done, "executed")], folder_world.policy, BOB)
    changed: list[int] = []
    window.model.dataChanged.connect(lambda *_a: changed.append(1))
    model, view = window.model, window.queue_view
    before = model.index(model.row_of(live.hash), TIME_LEFT).data()
    start = view.ticked
    qtbot.waitUntil(lambda: view.ticked >= start + 2, timeout=WAIT_MS)
    assert not changed
    # only the live row's cell is repainted each tick (the expired one is left alone)
    assert view.ticked - start <= 3  # one live row: one cell a tick, not three
    qtbot.waitUntil(lambda: model.index(model.row_of(live.hash), TIME_LEFT).data() != before,
                    timeout=WAIT_MS)
    assert model.index(model.row_of(gone.hash), TIME_LEFT).data() == "expired"
    assert model.index(model.row_of(gone.hash), STATUS).data() == "expired"
    assert model.index(model.row_of(done.hash), TIME_LEFT).data() == "finished"
    assert model.index(model.row_of(done.hash), STATUS).data() == "executed"
    # expired and finished rows sort after live ones, whatever the column and order
    for column in (TIME_LEFT, AMOUNT, TITLE):
        for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
            view.table.sortByColumn(column, order)
            assert _titles(window)[0] == live.summary["title"]


def test_sync_notifies_new_proposals_and_keeps_an_offline_copy(qtbot, folder_world,
                                                               window_factory,
                                                               app_paths) -> None:
    folder_world.submit(title="First")
    window = window_factory(folder_world.settings(), rows=1)
    banner = window.queue_view.banner
    qtbot.waitUntil(banner.isVisible, timeout=WAIT_MS)  # offscreen has no tray: the banner
    assert "1 proposal(s) wait" in banner.label.text()
    banner.close_button.click()
    assert "Live queue" in window.queue_view.age.text()

    folder_world.submit(title="Second", route="payments.refund")
    window.sync()
    qtbot.waitUntil(lambda: window.model.rowCount() == 2 and banner.isVisible(), timeout=WAIT_MS)
    assert banner.label.text() == "1 new proposal(s) to review: payments.refund"

    # The stick is pulled: the window keeps the last pull and says how old it is.
    shutil.move(folder_world.root, folder_world.root.with_name("unplugged"))
    window.sync()
    qtbot.waitUntil(lambda: "Offline copy" in window.queue_view.age.text(), timeout=WAIT_MS)
    assert "cannot be read" in window.queue_view.age.text()  # plain words
    assert "USB stick" in window.queue_view.age.text()
    assert window.model.rowCount() == 2

    # A fresh start, still offline, reads the SQLite cache.
    window.close()
    again = window_factory(folder_world.settings(), rows=2)
    assert sorted(_titles(again)) == ["First", "Second"]
    assert "Offline copy" in again.queue_view.age.text()


def test_keyboard_navigation_and_single_selection(qtbot, folder_world,
                                                  window_factory) -> None:
    for n in range(3):
        folder_world.submit(title=f"P{n}", created_at=now_utc() - timedelta(minutes=n))
    window = window_factory(folder_world.settings(), rows=3)
    table = window.queue_view.table
    assert table.selectionMode() == QAbstractItemView.SelectionMode.SingleSelection
    table.setFocus()
    order = _titles(window)
    qtbot.keyClick(window, Qt.Key.Key_J)
    qtbot.waitUntil(lambda: window.card.view is not None, timeout=WAIT_MS)
    assert window.card.view.proposal.summary["title"] == order[0]
    qtbot.keyClick(window, Qt.Key.Key_J)
    assert window.card.view.proposal.summary["title"] == order[1]
    qtbot.keyClick(window, Qt.Key.Key_Down, Qt.KeyboardModifier.ControlModifier)
    assert window.card.view.proposal.summary["title"] == order[2]
    qtbot.keyClick(window, Qt.Key.Key_K)
    qtbot.keyClick(window, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
    assert window.card.view.proposal.summary["title"] == order[0]

    # Ctrl+A, select-all and extending the selection all leave exactly one selected.
    qtbot.keyClick(table, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert len(table.selectionModel().selectedRows()) == 1
    table.selectAll()
    selection = table.selectionModel()
    selection.select(window.queue_view.proxy.index(2, 0),
                     QItemSelectionModel.SelectionFlag.Select
                     | QItemSelectionModel.SelectionFlag.Rows)
    assert len(selection.selectedRows()) == 1
    # Typing J into the filter types a J; it does not move the selection.
    window.queue_view.filter_edit.setFocus()
    qtbot.keyClicks(window.queue_view.filter_edit, "j")
    assert window.queue_view.filter_edit.text() == "j"


def test_selection_survives_a_sync(qtbot, folder_world, window_factory) -> None:
    a = folder_world.submit(title="Keep me")
    folder_world.submit(title="Other")
    window = window_factory(folder_world.settings(), rows=2)
    select(window, a, qtbot)
    folder_world.submit(title="Newcomer")
    resets: list[int] = []
    inserted: list[int] = []
    window.model.modelReset.connect(lambda: resets.append(1))
    window.model.rowsInserted.connect(lambda _p, first, last: inserted.append(last - first + 1))
    window.sync()
    qtbot.waitUntil(lambda: window.model.rowCount() == 3, timeout=WAIT_MS)
    assert not resets and inserted == [1]  # incremental: one row in, nothing reset
    assert window.queue_view.current().hash == a.hash
    assert window.card.view.hash == a.hash


def test_a_sync_is_applied_as_a_diff_planned_off_the_gui_thread(qtbot, folder_world,
                                                               window_factory) -> None:
    """Changed rows move, finished ones join the end, new ones slot in; no reset."""
    from app.models import build_rows, plan_sync

    ps = [folder_world.submit(title=f"P{n}", created_at=now_utc() - timedelta(minutes=n))
          for n in range(4)]
    window = window_factory(folder_world.settings(), rows=4)
    model, policy = window.model, folder_world.policy
    model.sort(TIME_LEFT, Qt.SortOrder.AscendingOrder)
    extra = folder_world.world.proposal(policy_hash=policy.hash, title="New")
    views = {v.hash: v for v in model.views()}
    fresh = [ProposalView(ps[3], "executed")] + [views[p.hash] for p in ps[:2]] + \
        [ProposalView(extra, "pending")]  # ps[2] is gone
    resets: list[int] = []
    model.modelReset.connect(lambda: resets.append(1))
    plan = plan_sync(model.snapshot(), build_rows(fresh, policy, BOB), now_utc())
    assert plan.gone == {ps[2].hash, ps[3].hash} and [r.hash for r in plan.added] == [
        ps[3].hash, extra.hash]
    model.apply(plan)
    assert not resets
    titles = [model.index(r, TITLE).data() for r in range(model.rowCount())]
    assert titles[-1] == "P3" and set(titles) == {"P0", "P1", "P3", "New"}
    assert model.index(model.rowCount() - 1, STATUS).data() == "executed"
