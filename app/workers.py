"""Run blocking work (network, disk, signing) off the GUI thread; report through signals.

Like Electrum's TaskThread and Vorta's jobs: the view connects `done`/`failed` first, the
worker never touches a widget, and results arrive on the GUI thread via queued signals.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from core.errors import FoureyesError


class _Signals(QObject):
    done = Signal(object)
    failed = Signal(str, str)  # code, plain message


class Task(QRunnable):
    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__()
        self.fn = fn
        self.signals = _Signals()

    def run(self) -> None:
        try:
            result = self.fn()
        except FoureyesError as e:
            self.signals.failed.emit(e.code, e.message)
            return
        except Exception as e:  # noqa: BLE001 - shown to the user, never a crash
            traceback.print_exc()
            self.signals.failed.emit("error", f"{type(e).__name__}: {e}")
            return
        self.signals.done.emit(result)


def run_task(fn: Callable[[], Any], done: Callable[[Any], None],
             failed: Callable[[str, str], None]) -> Task:
    task = Task(fn)
    task.setAutoDelete(False)
    task.signals.done.connect(done)
    task.signals.failed.connect(failed)
    QThreadPool.globalInstance().start(task)
    return task
