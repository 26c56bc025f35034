"""A ``ghtrader_core.calendar.Clock`` for tests: time moves only when the test moves it."""

from __future__ import annotations

from datetime import datetime


class ManualClock:
    """``now`` is ``at`` (timezone-aware UTC); ``monotonic`` is ``ticks``. Both are plain
    attributes a test sets."""

    def __init__(self, at: datetime) -> None:
        self.at = at
        self.ticks = 1000.0

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return self.ticks
