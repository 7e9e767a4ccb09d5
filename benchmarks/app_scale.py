"""The reviewer app at 10,000 proposals, offscreen: prints the figures issue 13 sets goals for.

    .venv/bin/python benchmarks/app_scale.py [--rows 10000]

Runs the real MainWindow (offscreen, in a temporary app home) over an in-memory queue:
model load (rows built on the worker + applied and painted on the GUI thread), filter per
keystroke, sort per column, idle CPU with the countdown running, the longest GUI-thread
block while a sync runs (a 5 ms heartbeat timer measures the gaps), and peak RSS.
Wall-clock figures for the machine at hand; no test depends on them.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["FOUREYES_APP_HOME"] = tempfile.mkdtemp(prefix="foureyes-bench-")

GOALS = {"load": 300.0, "filter": 30.0, "sort": 100.0, "cpu": 1.0, "block": 50.0, "rss": 250.0}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--idle-seconds", type=float, default=5.0)
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the load (worker and GUI parts) and print the top calls")
    args = parser.parse_args()

    from PySide6.QtCore import QElapsedTimer, QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from app import theme
    from app.models import AMOUNT, RECIPIENT, STATUS, TIME_LEFT, TITLE, build_rows, plan_sync
    from app.session import Pull
    from app.settings import AppPaths, Settings
    from app.views.main_window import MainWindow
    from core.formats import now_utc
    from core.policy import Policy
    from core.queue.base import ProposalView
    from core.sample import REVIEWERS, SampleWorld

    app = QApplication([sys.argv[0]])
    theme.apply(app, "light")
    world = SampleWorld.create()
    policy_bytes = world.policy_bytes()
    policy = Policy.from_bytes(policy_bytes)
    now = now_utc()
    print(f"building {args.rows:,} proposals…", flush=True)
    views = []
    for n in range(args.rows):
        p = world.proposal(policy_hash=policy.hash, title=f"Pay invoice {n} from vendor {n % 97}",
                           params={"amount_minor": 1000 + n * 7 % 900_000, "currency": "USD",
                                   "to": f"acct-{n % 5000:04d}"},
                           created_at=now - timedelta(seconds=n % 1700),
                           ttl=timedelta(minutes=30))
        views.append(ProposalView(p, "pending"))

    settings = Settings(identity=REVIEWERS[0])  # no queue: the benchmark feeds the window
    window = MainWindow(AppPaths.default(), settings, use_tray=False)
    window.resize(1280, 800)
    window.show()
    app.processEvents()
    identity = settings.identity

    def settle() -> None:
        """Deliver what the change posted, including the one repaint it asked for."""
        for _ in range(3):
            app.processEvents()

    # (1) model load: rows built and sorted on the worker (as `prepare` does), then applied
    # and painted on the GUI thread
    profiles: list[tuple[str, object]] = []

    def timed(label: str, fn):  # noqa: ANN001, ANN202
        if not args.profile:
            return fn()
        import cProfile

        prof = cProfile.Profile()
        value = prof.runcall(fn)
        profiles.append((label, prof))
        return value

    t0, c0 = time.perf_counter(), time.process_time()
    plan = timed("worker: build_rows + plan_sync", lambda: plan_sync(
        {}, build_rows(views, policy, identity, now_utc()), now_utc(), window.model.order()))
    t1, c1 = time.perf_counter(), time.process_time()
    window.policy = policy

    def apply() -> None:
        window.model.apply(plan)
        settle()

    timed("GUI: apply + paint", apply)
    t2, c2 = time.perf_counter(), time.process_time()
    build_ms, apply_ms = (t1 - t0) * 1e3, (t2 - t1) * 1e3
    build_cpu, apply_cpu = (c1 - c0) * 1e3, (c2 - c1) * 1e3

    # (2) filter, one keystroke at a time: wall time (what the reviewer waits for) and the
    # GUI thread's CPU time (the same work, less what other processes on the machine cost)
    edit = window.queue_view.filter_edit
    per_key: list[float] = []
    per_key_cpu: list[float] = []

    def key(text: str) -> None:
        t, c = time.perf_counter(), time.process_time()
        edit.setText(text)
        settle()
        per_key.append((time.perf_counter() - t) * 1e3)
        per_key_cpu.append((time.process_time() - c) * 1e3)

    searched = window.model.rows_searched
    for text in ("a", "ac", "acc", "acct", "acct-", "acct-0", "acct-01", "acct-012", ""):
        key(text)
    for word in ("invoice 12", "vendor 3"):  # typed key by key
        edit.clear()
        settle()
        for ch in word:
            key(edit.text() + ch)
    edit.clear()
    settle()
    searched = window.model.rows_searched - searched

    # (3) sort
    sorts, sorts_cpu = [], []
    for column in (AMOUNT, TITLE, RECIPIENT, STATUS, TIME_LEFT):
        for order in (1, 0):
            t, c = time.perf_counter(), time.process_time()
            window.queue_view.table.sortByColumn(column, Qt.SortOrder(order))
            settle()
            sorts.append((time.perf_counter() - t) * 1e3)
            sorts_cpu.append((time.process_time() - c) * 1e3)

    # (4) idle CPU, countdown running
    window.queue_view.table.selectRow(0)
    settle()
    loop = QEventLoop()
    QTimer.singleShot(int(args.idle_seconds * 1000), loop.quit)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    loop.exec()  # a real event loop: the process sleeps between timer events
    cpu_pct = (time.process_time() - cpu0) / (time.perf_counter() - wall0) * 100

    # (5) the longest GUI-thread block during a sync: 20 changed, 10 new, 10 gone
    fresh = list(views[10:])
    for n in range(20):
        fresh[n] = ProposalView(fresh[n].proposal, "rejected")
    for n in range(10):
        p = world.proposal(policy_hash=policy.hash, title=f"New {n}")
        fresh.append(ProposalView(p, "pending"))

    class FakeSession:
        identity = settings.identity

        def pull(self) -> Pull:
            time.sleep(0.05)  # the network
            return Pull(fresh, policy_bytes, now_utc())

        def close(self) -> None:
            pass

    window.session = FakeSession()  # type: ignore[assignment]
    applied: list[float] = []  # GUI-thread time of the callback that applies the sync
    applied_cpu: list[float] = []
    real_pulled = window._pulled

    def timed_pulled(prepared) -> None:  # noqa: ANN001
        t, c = time.perf_counter(), time.thread_time()
        real_pulled(prepared)
        applied.append((time.perf_counter() - t) * 1e3)
        applied_cpu.append((time.thread_time() - c) * 1e3)

    window._pulled = timed_pulled  # type: ignore[method-assign]
    gaps: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.elapsed()]

    def beat() -> None:
        t = clock.elapsed()
        gaps.append(t - last[0])
        last[0] = t

    heartbeat = QTimer()
    heartbeat.setInterval(5)
    heartbeat.timeout.connect(beat)
    heartbeat.start()
    quiet = QEventLoop()  # the noise floor: the same heartbeat with nothing to do
    QTimer.singleShot(2000, quiet.quit)
    quiet.exec()
    floor = max(gaps[1:]) - 5 if len(gaps) > 1 else 0.0
    gaps.clear()
    last[0] = clock.elapsed()
    window.sync()
    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(50)
    poll.timeout.connect(lambda: None if window.syncing else QTimer.singleShot(200, loop.quit))
    poll.start()
    QTimer.singleShot(60_000, loop.quit)
    loop.exec()  # the real event loop, so the heartbeat measures what a user would feel
    poll.stop()
    heartbeat.stop()
    block = max(gaps) - 5 if gaps else 0.0  # a 5 ms beat late by this much
    assert window.model.rowCount() == len(fresh), "the sync did not apply"

    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    window.session = None
    window.close()

    def line(label: str, value: float, unit: str, goal: float) -> None:
        mark = "ok" if value <= goal else "OVER"
        print(f"{label:<46} {value:>9.1f} {unit:<3} (goal ≤ {goal:g} {unit}) {mark}")

    print(f"\nFoureyes reviewer app, {args.rows:,} proposals, offscreen "
          f"(Qt {__import__('PySide6').__version__})")
    print(f"  rows built on the worker: {build_ms:.1f} ms ({build_cpu:.1f} ms CPU); applied + "
          f"painted on the GUI thread: {apply_ms:.1f} ms ({apply_cpu:.1f} ms CPU)")
    print(f"  load average while measuring: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores "
          "(wall-clock figures grow with it)")
    line("model load (worker + GUI)", build_ms + apply_ms, "ms", GOALS["load"])
    line("filter, median keystroke", statistics.median(per_key), "ms", GOALS["filter"])
    line("filter, worst keystroke", max(per_key), "ms", GOALS["filter"])
    print("  filter per keystroke (ms):", " ".join(f"{v:.0f}" for v in per_key))
    print("  the same, GUI-thread CPU (ms):", " ".join(f"{v:.0f}" for v in per_key_cpu),
          f"(median {statistics.median(per_key_cpu):.1f}, worst {max(per_key_cpu):.1f})")
    print(f"  rows the filter searched over {len(per_key)} keystrokes: {searched:,} "
          f"(a full pass each would be {len(per_key) * args.rows:,}); no debounce")
    line("sort, median column/order", statistics.median(sorts), "ms", GOALS["sort"])
    line("sort, worst column/order", max(sorts), "ms", GOALS["sort"])
    print("  sort per column/order (ms):", " ".join(f"{v:.0f}" for v in sorts),
          f"(CPU worst {max(sorts_cpu):.1f})")
    line(f"idle CPU over {args.idle_seconds:g} s (countdown running)", cpu_pct, "%",
         GOALS["cpu"])
    line("longest GUI-thread block during a sync", block, "ms", GOALS["block"])
    print(f"  the sync's apply callback took {max(applied):.1f} ms on the GUI thread "
          f"({max(applied_cpu):.1f} ms CPU); with "
          f"nothing to do the same heartbeat was late by up to {floor:.1f} ms (other "
          "processes on this machine)")
    line("peak RSS", rss_mb, "MB", GOALS["rss"])
    for label, prof in profiles:
        import pstats

        print(f"\n--- cProfile, {label} (by own time) ---")
        pstats.Stats(prof).sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    main()
