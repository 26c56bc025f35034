"""Trading days of the Chinese futures exchanges, and the sessions of each.

Trading days come from the ``shinny-calendar`` package (offline; holidays built in up to
its release) plus holidays from config. A *trading day* T owns the night session held on
the evening of the previous trading day and the day sessions of T itself; a night tick
therefore belongs to the next trading day, and a tick after midnight on a Saturday belongs
to Monday. Which sessions a day has is history (``session_history.csv``), resolved by
``sessions.build_schedule``; config adds or overrides rows.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from shinny_calendar import CalendarUtility

from ghtrader_core.calendar.clock import (
    BEIJING_OFFSET_S,
    EPOCH,
    NS_PER_S,
    SYSTEM_CLOCK,
    Clock,
    beijing_today,
)
from ghtrader_core.calendar.history import Regime, shipped_history
from ghtrader_core.calendar.sessions import (
    DaySchedule,
    NightHours,
    NoNightPeriod,
    Session,
    build_schedule,
)
from ghtrader_core.symbols import Variety

# The 2020 suspension is a row of the shipped history now; config may still add periods.
DEFAULT_NO_NIGHT: tuple[NoNightPeriod, ...] = ()


@dataclass
class TradingCalendar:
    extra_holidays: Iterable[date] = ()
    no_night: Sequence[NoNightPeriod] = DEFAULT_NO_NIGHT
    night_hours: Sequence[NightHours] = ()
    history: Sequence[Regime] | None = None  # None: the history shipped with the package
    extra_regimes: Sequence[Regime] = ()  # config rows: after the history, so they win ties
    clock: Clock = field(default=SYSTEM_CLOCK, repr=False, compare=False)  # dates the index
    # The last day the index of trading days reaches: two years after the clock's date when
    # built. Days past it are still answered (day by day, slower).
    horizon: date = field(init=False, repr=False, compare=False)
    _holidays: frozenset[date] = field(init=False, repr=False, compare=False)
    _days: list[date] = field(init=False, repr=False, compare=False)
    _rows: dict[tuple[str, str], tuple[Regime, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._holidays = frozenset(CalendarUtility().holidays) | frozenset(self.extra_holidays)
        # A sorted index of trading days, 2003 .. two years ahead, for O(log n) neighbours.
        first = date(2003, 1, 1)
        self.horizon = max(beijing_today(self.clock), first) + timedelta(days=730)
        n = (self.horizon - first).days + 1
        self._days = [
            d for d in (first + timedelta(days=i) for i in range(n)) if self._is_trading(d)
        ]
        self._rows = {}

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

    def regimes(self, variety: Variety) -> tuple[Regime, ...]:
        """The history rows (shipped, then config) that name ``variety`` or all of its
        exchange."""
        key = (variety.exchange.value, variety.code)
        rows = self._rows.get(key)
        if rows is None:
            table = shipped_history() if self.history is None else self.history
            rows = tuple(r for r in (*table, *self.extra_regimes) if r.covers(variety))
            self._rows[key] = rows
        return rows

    def _after_holiday(self, trading_day: date, prev: date) -> bool:
        """A non-trading weekday between the previous trading day and this one: the evening
        before it was the evening before a holiday, which has no night session."""
        d = prev + timedelta(days=1)
        while d < trading_day:
            if d.weekday() < 5:
                return True
            d += timedelta(days=1)
        return False

    def schedule(self, variety: Variety, trading_day: date) -> DaySchedule:
        """The sessions of ``trading_day`` for ``variety`` with the rows they come from."""
        prev = self.prev_trading_day(trading_day)
        if not self._is_trading(trading_day):
            return DaySchedule(variety, trading_day, prev, (), (), ())
        return build_schedule(
            variety,
            trading_day,
            prev,
            after_holiday=self._after_holiday(trading_day, prev),
            rows=self.regimes(variety),
            no_night=self.no_night,
            night_hours=self.night_hours,
        )

    def sessions(self, variety: Variety, trading_day: date) -> list[Session]:
        """The sessions of ``trading_day`` for ``variety``, in time order (UTC ns)."""
        return list(self.schedule(variety, trading_day).sessions)

    def has_night(self, variety: Variety, trading_day: date) -> bool:
        """Whether trading day ``trading_day`` opens with a night session for ``variety``."""
        return self.schedule(variety, trading_day).night_held

    def trading_day_of(self, ns: int) -> date:
        """The trading day a tick at UTC ``ns`` belongs to (switch at 18:00 Beijing time)."""
        local_s = ns // NS_PER_S + BEIJING_OFFSET_S
        day = EPOCH + timedelta(days=local_s // 86400)
        if local_s % 86400 >= 18 * 3600:
            return self.next_trading_day(day)
        return day if self._is_trading(day) else self.next_trading_day(day)

    def trading_days_of(self, ns: np.ndarray) -> np.ndarray:
        """Vectorised ``trading_day_of`` over an int64 array; returns ``datetime64[D]``."""
        if len(ns) == 0:
            return np.array([], dtype="datetime64[D]")
        local_s = ns // NS_PER_S + BEIJING_OFFSET_S
        local_day = local_s // 86400
        evening = (local_s % 86400) >= 18 * 3600
        out = np.empty(len(ns), dtype="datetime64[D]")
        for key in np.unique(np.stack([local_day, evening.astype(np.int64)], axis=1), axis=0):
            d = EPOCH + timedelta(days=int(key[0]))
            td = self.next_trading_day(d) if key[1] or not self._is_trading(d) else d
            mask = (local_day == key[0]) & (evening == bool(key[1]))
            out[mask] = np.datetime64(td, "D")
        return out
