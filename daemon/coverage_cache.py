"""Coverage kept in memory: loaded from the store once, then updated by ``day_done``.

``/coverage`` is asked often (dashboards, operators) and the store's answer only changes
when a day is checkpointed, which the pipeline announces. So the cache holds the set of
days per symbol and the rendered JSON, rebuilt only after a change or when the range it
is measured against moves: a request is a dictionary lookup. With the cache switched off
every request asks the store, as before (for comparison and roll-back).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date

from daemon.coverage import summarize
from daemon.events import Observer, StoredDay
from ghtrader_core.calendar import TradingCalendar
from ghtrader_core.records import CoverageRow

RangeKey = tuple[tuple[str, ...], date, date]


def render(
    rows: Sequence[CoverageRow],
    calendar: TradingCalendar,
    symbols: Sequence[str],
    start: date,
    end: date,
) -> bytes:
    table = summarize(rows, calendar, symbols, start, end)
    body = {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "symbols": [{**c.as_dict(), "missing": [d.isoformat() for d in c.missing]} for c in table],
    }
    return json.dumps(body, separators=(",", ":")).encode()


class CoverageCache(Observer):
    def __init__(self, calendar: TradingCalendar) -> None:
        self.calendar = calendar
        self._days: dict[str, dict[date, int]] = {}
        self._rendered: tuple[RangeKey, bytes] | None = None

    def seed(self, rows: Sequence[CoverageRow]) -> None:
        """Load what the store holds. ``rows`` of a row are spread evenly over its days:
        only the per-symbol sum is ever shown, and it stays exact."""
        self._days = {}
        for row in rows:
            n = len(row.days)
            share, extra = divmod(row.rows, n) if n else (0, 0)
            self._days[row.symbol] = {
                d: share + (1 if i < extra else 0) for i, d in enumerate(row.days)
            }
        self._rendered = None

    def set_calendar(self, calendar: TradingCalendar) -> None:
        self.calendar = calendar
        self._rendered = None

    def day_done(self, day: StoredDay) -> None:
        self._days.setdefault(day.symbol, {})[day.trading_day] = day.rows
        self._rendered = None

    def rows(self) -> list[CoverageRow]:
        out = []
        for symbol in sorted(self._days):
            days = self._days[symbol]
            ordered = tuple(sorted(days))
            out.append(
                CoverageRow(
                    symbol,
                    ordered[0] if ordered else None,
                    ordered[-1] if ordered else None,
                    len(ordered),
                    sum(days.values()),
                    ordered,
                )
            )
        return out

    def json(self, symbols: Sequence[str], start: date, end: date) -> bytes:
        key: RangeKey = (tuple(symbols), start, end)
        if self._rendered is None or self._rendered[0] != key:
            self._rendered = (key, render(self.rows(), self.calendar, symbols, start, end))
        return self._rendered[1]
