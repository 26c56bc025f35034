"""Which symbol-days to fetch: calendar x config minus checkpoints, in one query.

A day is planned when it has no checkpoint, or with ``force``. The checkpointed days of the
whole range come from one query per store as two arrays (``Store.checkpointed_days``), and
the difference is taken on a days x symbols boolean grid: no Python object per stored day
(150,000 symbol-days plan in a few tens of milliseconds; ``bench/plan.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from ghtrader_core.calendar import BEIJING as BEIJING  # daemon.timetable imports it here
from ghtrader_core.calendar import SYSTEM_CLOCK, Clock, TradingCalendar, beijing_now
from ghtrader_core.store.base import Store
from ghtrader_core.symbols import MainSymbol, parse_main

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
DAY_CLOSE_HOUR = 16  # day sessions end by 15:15; a trading day is complete after this hour


class PlanError(ValueError):
    """A request that cannot be planned (e.g. a range without trading days)."""


@dataclass(frozen=True, order=True)
class Job:
    trading_day: date
    symbol_name: str

    @property
    def symbol(self) -> MainSymbol:
        return parse_main(self.symbol_name)

    def __str__(self) -> str:
        return f"{self.symbol_name}@{self.trading_day}"


@dataclass(frozen=True)
class Plan:
    jobs: list[Job]
    skipped: int
    start: date
    end: date

    @property
    def total(self) -> int:
        return len(self.jobs) + self.skipped


def last_complete_day(
    calendar: TradingCalendar, now: datetime | None = None, *, clock: Clock = SYSTEM_CLOCK
) -> date:
    """The latest trading day whose sessions are all over (Beijing time), at ``now`` or
    else at the clock's present."""
    local = now.astimezone(BEIJING) if now is not None else beijing_now(clock)
    today = local.date()
    if calendar.is_trading_day(today) and local.hour >= DAY_CLOSE_HOUR:
        return today
    return calendar.prev_trading_day(today)


async def plan(
    store: Store,
    calendar: TradingCalendar,
    symbols: Sequence[str],
    start: date,
    end: date | None,
    *,
    force: bool = False,
    clock: Clock = SYSTEM_CLOCK,
) -> Plan:
    end = end or last_complete_day(calendar, clock=clock)
    if end < start:
        raise PlanError(f"empty date range: start {start} is after end {end}")
    days = calendar.trading_days(start, end)
    if not days:
        raise PlanError(f"no trading day between {start} and {end}")
    names = list(dict.fromkeys(symbols))  # a symbol named twice is planned once
    present = np.zeros((len(days), len(names)), dtype=bool)  # day-major, as jobs are ordered
    if not force:
        pairs = await store.checkpointed_days(names, start, end)
        numbers = np.array([d.toordinal() - EPOCH_ORDINAL for d in days], dtype=np.int32)
        row = np.minimum(np.searchsorted(numbers, pairs.day), len(days) - 1)
        known = (numbers[row] == pairs.day) & (pairs.symbol >= 0)  # a day the calendar has
        present[row[known], pairs.symbol[known]] = True
    day_index, symbol_index = np.nonzero(~present)
    jobs = [
        Job(days[d], names[s])
        for d, s in zip(day_index.tolist(), symbol_index.tolist(), strict=True)
    ]
    return Plan(jobs=jobs, skipped=int(present.sum()), start=start, end=end)
