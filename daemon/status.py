"""What ``/status`` and the watchdog need to know, kept current by pipeline events.

Derived state only: last success per symbol, the dead letters still open, and when the
pipeline last moved. Health is judged from the last movement, not from a counter kept
twice: busy and silent for longer than ``stall_timeout_s`` means wedged.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from daemon.events import Observer, StoredDay
from ghtrader_core.calendar import SYSTEM_CLOCK, Clock
from ghtrader_core.records import FailedDay


class StatusBoard(Observer):
    def __init__(self, clock: Clock = SYSTEM_CLOCK) -> None:
        self._clock = clock  # the daemon's one clock, injected
        self.last_progress = clock.monotonic()
        self.last_success: dict[str, tuple[datetime, date]] = {}
        self.failed: dict[tuple[str, date], str] = {}
        self.pass_todo = 0  # days the running (or last) pass planned to fetch
        self.pass_finished = 0  # of those, done or failed

    def seed_failed(self, failed: Iterable[FailedDay]) -> None:
        self.failed = {(f.symbol, f.trading_day): f.reason for f in failed}

    def moved(self) -> None:
        self.last_progress = self._clock.monotonic()

    def stalled_for_s(self) -> float:
        return self._clock.monotonic() - self.last_progress

    # -- observer hooks ---------------------------------------------------------------
    def planned(self, total: int, skipped: int) -> None:
        self.pass_todo, self.pass_finished = total - skipped, 0
        self.moved()

    def day_fetched(self, symbol: str, trading_day: date, rows: int, seconds: float) -> None:
        self.moved()

    def day_failed(self, symbol: str, trading_day: date, reason: str, permanent: bool) -> None:
        self.failed[(symbol, trading_day)] = reason
        self.pass_finished += 1
        self.moved()

    def batch_flushed(self, days: int, rows: int, seconds: float) -> None:
        self.moved()

    def day_done(self, day: StoredDay) -> None:
        self.failed.pop((day.symbol, day.trading_day), None)
        self.pass_finished += 1
        previous = self.last_success.get(day.symbol)
        newest = max(day.trading_day, previous[1]) if previous else day.trading_day
        self.last_success[day.symbol] = (self._clock.now(), newest)

    def as_dict(self) -> dict[str, Any]:
        return {
            "last_success": {
                s: {"at": at.isoformat(), "trading_day": d.isoformat()}
                for s, (at, d) in sorted(self.last_success.items())
            },
            "failed_days": [
                {"symbol": s, "trading_day": d.isoformat(), "reason": r}
                for (s, d), r in sorted(self.failed.items())
            ],
            "seconds_since_progress": round(self.stalled_for_s(), 3),
        }
