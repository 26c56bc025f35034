"""Trading days and trading sessions of the Chinese futures exchanges.

Trading days come from the ``shinny-calendar`` package (offline; holidays built in up to
its release) plus holidays from config. A *trading day* T owns the night session held on
the evening of the previous trading day and the day sessions of T itself; a night tick
therefore belongs to the next trading day, and a tick after midnight on a Saturday belongs
to Monday. There is no night session on the evening before a holiday, and dated periods
with no night session at all (the 2020 suspension) are data, not code.

All times are Beijing time (UTC+8, no daylight saving); sessions are returned as UTC
nanoseconds, the unit of TqSdk's ``datetime`` column.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from shinny_calendar import CalendarUtility

from ghtrader_core.symbols import Exchange, Variety

NS_PER_S = 1_000_000_000
_BEIJING_OFFSET_S = 8 * 3600
_EPOCH = date(1970, 1, 1)

# (start, end) as seconds after local midnight of the session's calendar day;
# a night end past 24:00 runs into the next calendar day.
DAY_SESSIONS: dict[str, tuple[tuple[str, int, int], ...]] = {
    "commodity": (
        ("am1", 9 * 3600, 10 * 3600 + 15 * 60),
        ("am2", 10 * 3600 + 30 * 60, 11 * 3600 + 30 * 60),
        ("pm", 13 * 3600 + 30 * 60, 15 * 3600),
    ),
    "index": (
        ("am", 9 * 3600 + 30 * 60, 11 * 3600 + 30 * 60),
        ("pm", 13 * 3600, 15 * 3600),
    ),
    "bond": (
        ("am", 9 * 3600 + 30 * 60, 11 * 3600 + 30 * 60),
        ("pm", 13 * 3600, 15 * 3600 + 15 * 60),
    ),
}
NIGHT_SESSIONS: dict[str, tuple[int, int]] = {
    "2300": (21 * 3600, 23 * 3600),
    "0100": (21 * 3600, 25 * 3600),
    "0230": (21 * 3600, 26 * 3600 + 30 * 60),
}


@dataclass(frozen=True)
class NoNightPeriod:
    """Trading days ``first``..``last`` (inclusive) whose night session was not held."""

    first: date
    last: date
    exchanges: frozenset[Exchange] = frozenset(Exchange)


# All exchanges suspended night trading from the night before 2020-02-03 until the night
# of 2020-05-06 (first night back belongs to trading day 2020-05-07).
DEFAULT_NO_NIGHT: tuple[NoNightPeriod, ...] = (NoNightPeriod(date(2020, 2, 3), date(2020, 5, 6)),)


@dataclass(frozen=True)
class NightHours:
    """Trading days ``first``..``last`` whose night session closed at another time than
    today's (exchanges have moved night closes over the years): data, not code.

    ``end_s`` counts seconds after midnight of the evening the session opens, so a close
    after midnight is past 24 h (01:00 is 25 * 3600). ``varieties`` holds ``EX.code``
    names; empty means every variety of ``exchanges`` that trades at night.
    """

    first: date
    last: date
    end_s: int
    exchanges: frozenset[Exchange] = frozenset(Exchange)
    varieties: frozenset[str] = frozenset()

    def applies(self, variety: Variety, trading_day: date) -> bool:
        if not self.first <= trading_day <= self.last:
            return False
        if self.varieties:
            return f"{variety.exchange}.{variety.code}" in self.varieties
        return variety.exchange in self.exchanges


@dataclass(frozen=True)
class Session:
    name: str
    start_ns: int
    end_ns: int

    @property
    def seconds(self) -> float:
        return (self.end_ns - self.start_ns) / NS_PER_S


def local_midnight_ns(day: date) -> int:
    """UTC nanoseconds of 00:00 Beijing time on ``day``."""
    return ((day - _EPOCH).days * 86400 - _BEIJING_OFFSET_S) * NS_PER_S


def local_date_of_ns(ns: int) -> date:
    return _EPOCH + timedelta(days=(ns // NS_PER_S + _BEIJING_OFFSET_S) // 86400)


@dataclass
class TradingCalendar:
    extra_holidays: Iterable[date] = ()
    no_night: Sequence[NoNightPeriod] = DEFAULT_NO_NIGHT
    night_hours: Sequence[NightHours] = ()
    _holidays: frozenset[date] = field(init=False, repr=False)
    _days: list[date] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._holidays = frozenset(CalendarUtility().holidays) | frozenset(self.extra_holidays)
        # A sorted index of trading days, 2003 .. two years ahead, for O(log n) neighbours.
        first, last = date(2003, 1, 1), date.today() + timedelta(days=730)
        n = (last - first).days + 1
        self._days = [
            d for d in (first + timedelta(days=i) for i in range(n)) if self._is_trading(d)
        ]

    def _is_trading(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._holidays

    def is_trading_day(self, day: date) -> bool:
        return self._is_trading(day)

    def trading_days(self, start: date, end: date) -> list[date]:
        """Trading days in ``start``..``end`` inclusive."""
        if start < self._days[0] or end > self._days[-1]:
            span = (end - start).days + 1
            days = (start + timedelta(days=i) for i in range(max(span, 0)))
            return [d for d in days if self._is_trading(d)]
        lo = bisect.bisect_left(self._days, start)
        hi = bisect.bisect_right(self._days, end)
        return self._days[lo:hi]

    def next_trading_day(self, day: date) -> date:
        """The first trading day strictly after ``day``."""
        d = day + timedelta(days=1)
        while not self._is_trading(d):
            d += timedelta(days=1)
        return d

    def prev_trading_day(self, day: date) -> date:
        """The last trading day strictly before ``day``."""
        d = day - timedelta(days=1)
        while not self._is_trading(d):
            d -= timedelta(days=1)
        return d

    def has_night(self, variety: Variety, trading_day: date) -> bool:
        """Whether trading day ``trading_day`` opens with a night session for ``variety``."""
        if variety.night is None or not self._is_trading(trading_day):
            return False
        for period in self.no_night:
            if period.first <= trading_day <= period.last and variety.exchange in period.exchanges:
                return False
        prev = self.prev_trading_day(trading_day)
        # The evening before a holiday has no night session: any non-trading weekday between
        # the previous trading day and this one means a holiday interrupted the run.
        d = prev + timedelta(days=1)
        while d < trading_day:
            if d.weekday() < 5:
                return False
            d += timedelta(days=1)
        return True

    def sessions(self, variety: Variety, trading_day: date) -> list[Session]:
        """The sessions of ``trading_day`` for ``variety``, in time order (UTC ns)."""
        if not self._is_trading(trading_day):
            return []
        out: list[Session] = []
        if variety.night is not None and self.has_night(variety, trading_day):
            start_s, end_s = NIGHT_SESSIONS[variety.night]
            for rule in self.night_hours:  # the last rule that applies wins
                if rule.applies(variety, trading_day):
                    end_s = rule.end_s
            base = local_midnight_ns(self.prev_trading_day(trading_day))
            out.append(Session("night", base + start_s * NS_PER_S, base + end_s * NS_PER_S))
        base = local_midnight_ns(trading_day)
        for name, start_s, end_s in DAY_SESSIONS[variety.day]:
            out.append(Session(name, base + start_s * NS_PER_S, base + end_s * NS_PER_S))
        return out

    def trading_day_of(self, ns: int) -> date:
        """The trading day a tick at UTC ``ns`` belongs to (switch at 18:00 Beijing time)."""
        local_s = ns // NS_PER_S + _BEIJING_OFFSET_S
        day = _EPOCH + timedelta(days=local_s // 86400)
        if local_s % 86400 >= 18 * 3600:
            return self.next_trading_day(day)
        return day if self._is_trading(day) else self.next_trading_day(day)

    def trading_days_of(self, ns: np.ndarray) -> np.ndarray:
        """Vectorised ``trading_day_of`` over an int64 array; returns ``datetime64[D]``."""
        if len(ns) == 0:
            return np.array([], dtype="datetime64[D]")
        local_s = ns // NS_PER_S + _BEIJING_OFFSET_S
        local_day = local_s // 86400
        evening = (local_s % 86400) >= 18 * 3600
        out = np.empty(len(ns), dtype="datetime64[D]")
        for key in np.unique(np.stack([local_day, evening.astype(np.int64)], axis=1), axis=0):
            d = _EPOCH + timedelta(days=int(key[0]))
            td = self.next_trading_day(d) if key[1] or not self._is_trading(d) else d
            mask = (local_day == key[0]) & (evening == bool(key[1]))
            out[mask] = np.datetime64(td, "D")
        return out
