"""Trading days and trading sessions of the Chinese futures exchanges, as history.

``TradingCalendar`` (``trading.py``) gives trading days and, per (variety, trading day),
the sessions that applied then: ``sessions.py`` resolves them from the rows of
``session_history.csv`` (``history.py``), each with its source and confidence. All times
are Beijing time; sessions are UTC nanoseconds (``clock.py``).
"""

from ghtrader_core.calendar.clock import (
    BEIJING,
    NS_PER_S,
    SYSTEM_CLOCK,
    Clock,
    SystemClock,
    beijing_now,
    beijing_today,
    local_date_of_ns,
    local_midnight_ns,
    naive_utc,
)
from ghtrader_core.calendar.history import (
    Confidence,
    HistoryError,
    Regime,
    parse_history,
    regime_from_row,
    shipped_history,
)
from ghtrader_core.calendar.sessions import (
    DAY_SESSIONS,
    NIGHT_SESSIONS,
    DaySchedule,
    NightHours,
    NoNightPeriod,
    Session,
)
from ghtrader_core.calendar.trading import DEFAULT_NO_NIGHT, TradingCalendar

__all__ = [
    "BEIJING",
    "DAY_SESSIONS",
    "DEFAULT_NO_NIGHT",
    "NIGHT_SESSIONS",
    "NS_PER_S",
    "SYSTEM_CLOCK",
    "Clock",
    "Confidence",
    "DaySchedule",
    "HistoryError",
    "NightHours",
    "NoNightPeriod",
    "Regime",
    "Session",
    "SystemClock",
    "TradingCalendar",
    "beijing_now",
    "beijing_today",
    "local_date_of_ns",
    "local_midnight_ns",
    "naive_utc",
    "parse_history",
    "regime_from_row",
    "shipped_history",
]
