# ruff: noqa: F811 - pytest fixtures are imported by name
"""Issue 13 at scale, asserted by counting (never by timing): what a filter keystroke, a
load and a sync cost the GUI thread in model signals, rows searched, rows formatted and
sorts, and that a changing count never re-lays out the window. The wall-clock figures are
`benchmarks/app_scale.py`'s."""

from __future__ import annotations

import gc
import sys
from datetime import timedelta

import pytest
from PySide6.QtCore import QEvent, QObject, Qt

import app.models as models
from app.models import TIME_LEFT, QueueModel, build_rows, plan_sync
from app.settings import Settings
from app.views.main_window import MainWindow
from core.formats import now_utc
from core.policy import Policy
from core.queue.base import ProposalView
from core.sample import SampleWorld
from tests.app_fixtures import BOB, QT_STRICT, WAIT_MS, app_paths  # noqa: F401

pytestmark = QT_STRICT
ROWS = 120


@pytest.fixture(scope="module")
def world() -> tuple[SampleWorld, Policy, list[ProposalView]]:
    w = SampleWorld.create()
    policy = Policy.from_bytes(w.policy_bytes())
    now = now_utc()
    views = [ProposalView(w.proposal(
        policy_hash=policy.hash, title=f"Pay invoice {n} from vendor {n % 7}",
        params={"amount_minor": 1000 + n, "currency": "USD", "to": f"acct-{n % 40:03d}"},
        created_at=now - timedelta(seconds=n)), "pending") for n in range(ROWS)]
    return w, policy, views


def _shown_window(qtbot, app_paths) -> MainWindow:  # noqa: F811
    w = MainWindow(app_paths, Settings(identity=BOB), use_tray=False)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    return w


@pytest.fixture
def window(qtbot, app_paths, world) -> MainWindow:  # noqa: F811
    """A real window with no queue behind it; the test feeds it rows the way a sync does."""
    _, policy, views = world
    w = _shown_window(qtbot, app_paths)
    w.policy = policy
    w.model.apply(plan_sync({}, build_rows(views, policy, BOB), now_utc(), w.model.order()))
    qtbot.waitUntil(lambda: w.model.rowCount() == ROWS, timeout=WAIT_MS)
    return w


class _Signals:
    """Counts what a model tells its views."""

    def __init__(self, model: QueueModel) -> None:
        self.counts = {"reset": 0, "layout": 0, "removed": 0, "inserted": 0, "changed": 0}
        model.modelReset.connect(lambda: self._add("reset"))
        model.layoutChanged.connect(lambda *_a: self._add("layout"))
        model.rowsRemoved.connect(lambda *_a: self._add("removed"))
        model.rowsInserted.connect(lambda *_a: self._add("inserted"))
        model.dataChanged.connect(lambda *_a: self._add("changed"))

    def _add(self, name: str) -> None:
        self.counts[name] += 1

    def take(self) -> dict[str, int]:
        out = {k: v for k, v in self.counts.items() if v}
        self.counts = dict.fromkeys(self.counts, 0)
        return out


def test_a_filter_keystroke_is_one_layout_change_and_keeps_the_selection(qtbot, window) -> None:
    view, model = window.queue_view, window.model
    target = next(r for r in model.rows() if r.view.proposal.summary["title"] ==
                  "Pay invoice 17 from vendor 3")
    assert view.select_hash(target.hash)
    qtbot.waitUntil(lambda: window.card.view is not None, timeout=WAIT_MS)
    signals = _Signals(model)

    view.filter_edit.setText("vendor 3")  # keeps the selected row: no reset, one layout
    assert signals.take() == {"layout": 1}
    assert view.current().hash == target.hash and window.card.view.hash == target.hash
    view.filter_edit.setText("m vendor 3")  # the same rows still: nothing at all
    assert signals.take() == {}
    view.filter_edit.setText("invoice 9 ")  # the selected row goes: the card follows
    assert signals.take() == {"layout": 1}
    assert view.current() is None and window.card.view is None
    view.filter_edit.clear()
    assert signals.take() == {"layout": 1} and model.rowCount() == ROWS


def test_a_narrowing_filter_searches_only_the_rows_shown(qtbot, window) -> None:
    model, edit = window.model, window.queue_view.filter_edit
    start = model.rows_searched
    edit.setText("vendor")  # from nothing: every row
    assert model.rows_searched - start == ROWS
    for text in ("vendor ", "vendor 3", "m vendor 3"):  # each searches what is shown
        shown, before = model.rowCount(), model.rows_searched
        edit.setText(text)
        assert model.rows_searched - before == shown
    assert model.rowCount() == sum(n % 7 == 3 for n in range(ROWS))
    before = model.rows_searched
    edit.setText("vendor")  # wider again: every row
    assert model.rows_searched - before == ROWS
    before = model.rows_searched
    window.queue_view.pending_only.setChecked(True)  # narrows too
    assert model.rows_searched - before == ROWS  # every row still shown after "vendor"
    window.queue_view.pending_only.setChecked(False)


def test_a_load_is_sorted_on_the_worker_and_formats_only_the_rows_on_screen(
        qtbot, app_paths, world, monkeypatch) -> None:  # noqa: F811
    _, policy, views = world
    w = _shown_window(qtbot, app_paths)
    sorts: list[str] = []
    real = models.sort_rows

    def counting(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        sorts.append("sort")
        return real(*args, **kwargs)

    monkeypatch.setattr(models, "sort_rows", counting)
    rows = build_rows(views, policy, BOB)
    assert not any(r._texts for r in rows)  # display text waits until a row is shown
    plan = plan_sync({}, rows, now_utc(), w.model.order())  # the worker's part
    assert sorts == ["sort"]
    w.model.apply(plan)
    qtbot.waitUntil(lambda: any(r._texts for r in rows), timeout=WAIT_MS)  # painted
    assert sorts == ["sort"]  # the GUI thread did not sort again
    shown = len(w.queue_view.visible_rows())
    formatted = sum(r._texts is not None for r in rows)
    assert 0 < shown <= formatted <= shown + 2 < ROWS
    assert [r.hash for r in w.model.rows()] == [r.hash for r in models.sort_rows(
        rows, TIME_LEFT, Qt.SortOrder.AscendingOrder, now_utc())]


def test_a_sync_that_changes_one_row_signals_one_row(qtbot, window, world,
                                                     monkeypatch) -> None:
    _, policy, views = world
    model = window.model
    built: list[int] = []
    real = models.build_row
    monkeypatch.setattr(models, "build_row", lambda *a, **k: built.append(1) or real(*a, **k))
    fresh = list(views)
    signals = _Signals(model)
    rows = build_rows(fresh, policy, BOB, reuse=model.snapshot())
    assert built == []  # nothing changed: every row reused
    model.apply(plan_sync(model.snapshot(), rows, now_utc()))
    assert signals.take() == {}
    fresh[5] = ProposalView(views[5].proposal, "closed")  # finished: moves to the end
    rows = build_rows(fresh, policy, BOB, reuse=model.snapshot())
    assert len(built) == 1
    model.apply(plan_sync(model.snapshot(), rows, now_utc()))
    assert signals.take() == {"removed": 1, "inserted": 1}
    assert model.row_at(ROWS - 1).hash == views[5].hash


def test_a_changing_count_never_lays_out_the_window_again(qtbot, window) -> None:
    """The "N of M" label asking for a new layout re-laid out (and repainted) the whole
    window, card included, on every keystroke."""
    requests: list[str] = []

    class Watch(QObject):
        def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
            if event.type() == QEvent.Type.LayoutRequest:
                requests.append(type(obj).__name__)
            return False

    watch = Watch()
    for widget in (window, window.tabs, window.split, window.queue_view):
        widget.installEventFilter(watch)
    def settled() -> bool:  # the window's own first layouts, after showing, are done
        seen = len(requests)
        qtbot.wait(100)
        return len(requests) == seen

    qtbot.waitUntil(settled, timeout=WAIT_MS)
    requests.clear()
    for text in ("vendor 3", "invoice 1", "vendor", ""):
        window.model.set_filter(text=text)  # the count changes each time
        qtbot.wait(20)
    assert window.queue_view.count.text() == f"{ROWS} of {ROWS}"
    assert requests == []


def test_emitting_a_signal_keeps_true_alive(qtbot, window) -> None:
    """PySide6 6.12.0 takes a reference from True on every emit from Python; some hundreds
    of filter keystrokes or syncs later the interpreter aborts (pyproject.toml excludes that
    release). This fails on any PySide6 that does it again."""
    view = window.queue_view
    before = sys.getrefcount(True)
    for n in range(300):
        window.model.set_filter(text="vendor 3" if n % 2 else "")  # two emits a change
        view.selection_changed.emit(None)
    assert abs(sys.getrefcount(True) - before) < 20


def test_a_whole_new_set_of_rows_keeps_the_selection_without_a_reset(qtbot, window,
                                                                    world) -> None:
    """A sync whose plan no longer fits the model (or one under a filter) swaps in new `Row`
    objects: one layout change, and the selection found again by hash."""
    _, policy, views = world
    model, view = window.model, window.queue_view
    view.filter_edit.setText("vendor 2")
    target = model.row_at(3)
    assert view.select_hash(target.hash)
    signals = _Signals(model)
    model.set_rows(build_rows(views, policy, BOB))  # every Row a new object
    assert signals.take() == {"layout": 1}
    assert view.current().hash == target.hash and model.row_at(3) is not target


def test_a_load_leaves_its_rows_out_of_the_collectors_walks(world) -> None:
    """Built with the cycle collector paused, then frozen: no later collection walks the
    rows (one walk of a 10,000-row heap took 70-250 ms), and the collector is on again."""
    _, policy, views = world
    before = gc.get_freeze_count()
    rows = build_rows(views, policy, BOB)
    assert gc.isenabled()
    assert gc.get_freeze_count() - before >= len(rows)
    assert not any(row in gc.get_objects(generation=2) for row in rows[:3])
