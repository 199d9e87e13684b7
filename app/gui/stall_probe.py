"""Measure how long the GUI event loop goes without running: the longest stall a user would feel.

A QTimer asks to tick every `interval_ms`; when the loop is free the gaps between ticks stay near
that interval, and any longer gap is time the GUI thread spent blocked (or starved of the GIL by a
worker).  Start it, do the work, stop it, read `max_gap_ms`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, QTimer


@dataclass(frozen=True)
class StallReport:
    max_gap_ms: float
    p99_gap_ms: float
    ticks: int
    seconds: float
    over_100ms: int  # gaps a person would notice

    def __str__(self) -> str:
        return (f"longest stall {self.max_gap_ms:.0f} ms, p99 {self.p99_gap_ms:.0f} ms, "
                f"{self.over_100ms} gaps over 100 ms in {self.seconds:.1f} s ({self.ticks} ticks)")


class StallProbe(QObject):
    def __init__(self, interval_ms: int = 10, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.interval_ms = interval_ms
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._gaps: list[float] = []
        self._last = 0.0
        self._started = 0.0

    def start(self) -> None:
        self._gaps.clear()
        self._started = self._last = time.perf_counter()
        self._timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self._gaps.append((now - self._last) * 1000)
        self._last = now

    def stop(self) -> StallReport:
        self._timer.stop()
        self._tick()  # the time since the last tick counts too
        return self.report()

    def report(self) -> StallReport:
        gaps = sorted(self._gaps) or [0.0]
        p99 = gaps[min(len(gaps) - 1, int(0.99 * len(gaps)))]
        return StallReport(gaps[-1], p99, len(self._gaps), time.perf_counter() - self._started,
                           sum(g > 100 for g in gaps))
