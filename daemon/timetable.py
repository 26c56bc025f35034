"""When a trading day can be ingested: after its day session's close plus a delay.

The daemon owns time (the core does not), so the question "which day is the newest one
to fetch now, and when does the next one become fetchable" lives here, as pure functions
of the calendar, the wall clock and ``daemon.new_day_delay_s``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from daemon.planner import BEIJING
from ghtrader_core.calendar import TradingCalendar

DAY_CLOSE = time(15, 15)  # the last day session (CFFEX treasury futures) ends at 15:15


def ingestible_at(trading_day: date, delay_s: float) -> datetime:
    """The moment ``trading_day`` may be fetched: its close plus the configured delay."""
    close = datetime.combine(trading_day, DAY_CLOSE, tzinfo=BEIJING)
    return close + timedelta(seconds=delay_s)


def last_ingestible_day(calendar: TradingCalendar, now: datetime, delay_s: float) -> date:
    local = now.astimezone(BEIJING).date()
    day = local if calendar.is_trading_day(local) else calendar.prev_trading_day(local)
    while ingestible_at(day, delay_s) > now:
        day = calendar.prev_trading_day(day)
    return day


def effective_end(
    calendar: TradingCalendar, configured_end: date | None, now: datetime, delay_s: float
) -> date:
    """The last day a pass covers: the configured end, but never a day not yet closed."""
    latest = last_ingestible_day(calendar, now, delay_s)
    return latest if configured_end is None else min(configured_end, latest)


def next_new_day_at(
    calendar: TradingCalendar, configured_end: date | None, through: date, delay_s: float
) -> datetime | None:
    """When the first day after ``through`` becomes fetchable; None if the range is closed."""
    following = calendar.next_trading_day(through)
    if configured_end is not None and following > configured_end:
        return None
    return ingestible_at(following, delay_s)
