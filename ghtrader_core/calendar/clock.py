"""Time, in one place: the process's clock, and the conversions ticks and sessions use.

``Clock`` is the one source of "now" (wall UTC, Beijing local, monotonic). The daemon's
composition root makes one (``SystemClock`` unless a test injects its own) and hands it
down; no other module asks the operating system for the time, so a test that moves the
clock moves it for the planner, the sink's timestamps, ``/status`` and the metrics alike
(``tests/test_architecture.py`` checks that nobody else calls ``datetime.now``,
``date.today`` or ``time.time``).

All times of the exchanges are Beijing time (UTC+8, no daylight saving); sessions are
returned as UTC nanoseconds, the unit of TqSdk's ``datetime`` column.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Protocol

NS_PER_S = 1_000_000_000
BEIJING_OFFSET_S = 8 * 3600
BEIJING = timezone(timedelta(seconds=BEIJING_OFFSET_S))
EPOCH = date(1970, 1, 1)


class Clock(Protocol):
    """What a component may ask of time. ``now`` is timezone-aware UTC."""

    def now(self) -> datetime: ...
    def monotonic(self) -> float: ...


class SystemClock:
    """The operating system's clocks: the default everywhere, and the only caller of them."""

    def now(self) -> datetime:
        return datetime.now(tz=UTC)

    def monotonic(self) -> float:
        return time.monotonic()


SYSTEM_CLOCK: Clock = SystemClock()


def beijing_now(clock: Clock) -> datetime:
    """The clock's wall time in Beijing (the exchanges' local time)."""
    return clock.now().astimezone(BEIJING)


def beijing_today(clock: Clock) -> date:
    """The clock's date in Beijing: "today" for the exchanges, wherever the host is."""
    return beijing_now(clock).date()


def naive_utc(clock: Clock) -> datetime:
    """The clock's wall time as naive UTC, the form both stores keep timestamps in."""
    return clock.now().astimezone(UTC).replace(tzinfo=None)


def local_midnight_ns(day: date) -> int:
    """UTC nanoseconds of 00:00 Beijing time on ``day``."""
    return ((day - EPOCH).days * 86400 - BEIJING_OFFSET_S) * NS_PER_S


def local_date_of_ns(ns: int) -> date:
    return EPOCH + timedelta(days=(ns // NS_PER_S + BEIJING_OFFSET_S) // 86400)
