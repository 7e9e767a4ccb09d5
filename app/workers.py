"""Run slow work (network, disk, keyring, verification) off the GUI thread.

Electrum's TaskThread and Vorta's job manager show the shape: a task runs on a worker, and
its result comes back through a queued signal to an object living on the GUI thread, which
then calls the view's callback there. Workers never touch a widget; callbacks always run on
the GUI thread, so views may update themselves freely inside them.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)

Callback = Callable[[Any], None]
SHUTDOWN_WAIT_MS = 10_000


class _Bridge(QObject):
    """Lives on the GUI thread; a worker emits on it, Qt queues delivery to the GUI thread."""

    finished = Signal(int, bool, object)


class _Task(QRunnable):
    def __init__(self, task_id: int, fn: Callable[[], Any], bridge: _Bridge) -> None:
        super().__init__()
        self.task_id = task_id
        self.fn = fn
        self.bridge = bridge
        self.setAutoDelete(True)

    def run(self) -> None:
        try:
            value = self.fn()
        except Exception as e:  # every failure goes back to the view
            log.debug("task %d failed", self.task_id, exc_info=True)
            self.bridge.finished.emit(self.task_id, False, e)
            return
        self.bridge.finished.emit(self.task_id, True, value)


class TaskRunner(QObject):
    """A small pool with callbacks on the GUI thread.

    `max_threads=1` (the default) also serialises the tasks, which is what a queue client
    wants: one request at a time, in the order asked.
    """

    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, max_threads: int = 1) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._bridge = _Bridge(self)
        self._bridge.finished.connect(self._deliver)
        self._callbacks: dict[int, tuple[Callback | None, Callback | None]] = {}
        self._ids = itertools.count(1)

    @property
    def busy(self) -> bool:
        return bool(self._callbacks)

    def run(self, fn: Callable[[], Any], on_done: Callback | None = None,
            on_error: Callback | None = None) -> int:
        """Start ``fn`` on a worker; ``on_done(value)`` or ``on_error(exc)`` run on the GUI thread."""
        task_id = next(self._ids)
        was_busy = self.busy
        self._callbacks[task_id] = (on_done, on_error)
        self._pool.start(_Task(task_id, fn, self._bridge))
        if not was_busy:
            self.busy_changed.emit(True)
        return task_id

    @Slot(int, bool, object)
    def _deliver(self, task_id: int, ok: bool, value: object) -> None:
        on_done, on_error = self._callbacks.pop(task_id, (None, None))
        try:
            if ok and on_done is not None:
                on_done(value)
            elif not ok:
                if on_error is not None:
                    on_error(value)
                else:
                    log.error("background task failed: %s", value)
        finally:
            if not self.busy:
                self.busy_changed.emit(False)

    def wait(self, msecs: int = SHUTDOWN_WAIT_MS) -> bool:
        """Block until running tasks end (shutdown and tests); undelivered callbacks are dropped."""
        done = self._pool.waitForDone(msecs)
        self._callbacks.clear()
        return done
