"""Which symbol-days to fetch: calendar x config minus checkpoints, in one query.

A day is planned when it has no checkpoint, or with ``force``. The checkpoints of the
whole range are read in one query, never one per day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from ghtrader_core.calendar import TradingCalendar
from ghtrader_core.store.base import Store
from ghtrader_core.symbols import MainSymbol, parse_main

BEIJING = timezone(timedelta(hours=8))
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


def last_complete_day(calendar: TradingCalendar, now: datetime | None = None) -> date:
    """The latest trading day whose sessions are all over (Beijing time)."""
    local = (now or datetime.now(tz=BEIJING)).astimezone(BEIJING)
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
) -> Plan:
    end = end or last_complete_day(calendar)
    if end < start:
        raise PlanError(f"empty date range: start {start} is after end {end}")
    days = calendar.trading_days(start, end)
    if not days:
        raise PlanError(f"no trading day between {start} and {end}")
    wanted = [Job(d, s) for d in days for s in symbols]
    done = set() if force else set(await store.checkpoints(symbols, start, end))
    jobs = [j for j in wanted if (j.symbol_name, j.trading_day) not in done]
    return Plan(jobs=jobs, skipped=len(wanted) - len(jobs), start=start, end=end)
