"""Trading days and trading sessions of the Chinese futures exchanges, as history.

``TradingCalendar`` (``trading.py``) gives trading days and, per (variety, trading day),
the sessions that applied then: ``sessions.py`` resolves them from the rows of
``session_history.csv`` (``history.py``), each with its source and confidence. All times
are Beijing time; sessions are UTC nanoseconds (``clock.py``).
"""

from ghtrader_core.calendar.clock import NS_PER_S, local_date_of_ns, local_midnight_ns
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
    "DAY_SESSIONS",
    "DEFAULT_NO_NIGHT",
    "NIGHT_SESSIONS",
    "NS_PER_S",
    "Confidence",
    "DaySchedule",
    "HistoryError",
    "NightHours",
    "NoNightPeriod",
    "Regime",
    "Session",
    "TradingCalendar",
    "local_date_of_ns",
    "local_midnight_ns",
    "parse_history",
    "regime_from_row",
    "shipped_history",
]
