"""Emit Qt signals from Python without PySide6 6.12.0's reference leak on `True`.

In PySide6 6.12.0 every `SignalInstance.emit(...)` called from Python hands back `True`
without the reference it owes, so each emit takes one reference from `True` for good; after
some hundreds of emits (a filter keystroke, a selection, a sync) `True` is freed and the
interpreter aborts ("bool_dealloc: deallocating True or False"). Signals Qt emits itself are
not affected. `emit` here measures the loss once, with a throw-away signal, and gives the
reference back after each emit; on a PySide6 without the bug it measures nothing and does
nothing more than `signal.emit`.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal

PROBES = 16


class _Probe(QObject):
    fired = Signal()


def _measure() -> int:
    """References to `True` one emit loses (0 on a PySide6 without the bug)."""
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(PROBES):
        probe.fired.emit()
    lost = before - sys.getrefcount(True)
    _give_back(max(lost, 0))
    return max(round(lost / PROBES), 0)


def _give_back(count: int) -> None:
    for _ in range(count):
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(True))


LOST_PER_EMIT = _measure()


def emit(signal: Any, *args: Any) -> None:
    """`signal.emit(*args)`, then return what the emit took from `True`, if anything."""
    signal.emit(*args)
    if LOST_PER_EMIT:
        _give_back(LOST_PER_EMIT)
