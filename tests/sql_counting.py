"""Counting what SQLite does, so complexity tests assert work done, never time taken."""

from __future__ import annotations

import sqlite3


class Steps:
    """VM instructions (`count`) and statements run on one connection while entered: a
    hot path that touches the same rows at any history size runs the same count."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.count = 0
        self.statements: list[str] = []

    def _tick(self) -> int:
        self.count += 1
        return 0

    def __enter__(self) -> Steps:
        self.conn.set_progress_handler(self._tick, 1)
        self.conn.set_trace_callback(self.statements.append)
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.set_progress_handler(None, 1)
        self.conn.set_trace_callback(None)
