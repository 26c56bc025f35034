"""Beijing wall-clock time and the UTC nanoseconds ticks carry.

All times of the exchanges are Beijing time (UTC+8, no daylight saving); sessions are
returned as UTC nanoseconds, the unit of TqSdk's ``datetime`` column.
"""

from __future__ import annotations

from datetime import date, timedelta

NS_PER_S = 1_000_000_000
BEIJING_OFFSET_S = 8 * 3600
EPOCH = date(1970, 1, 1)


def local_midnight_ns(day: date) -> int:
    """UTC nanoseconds of 00:00 Beijing time on ``day``."""
    return ((day - EPOCH).days * 86400 - BEIJING_OFFSET_S) * NS_PER_S


def local_date_of_ns(ns: int) -> date:
    return EPOCH + timedelta(days=(ns // NS_PER_S + BEIJING_OFFSET_S) // 86400)
