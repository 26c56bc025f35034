"""Coverage: per symbol, which trading days are stored and which are missing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from ghtrader_core.calendar import TradingCalendar
from ghtrader_core.records import CoverageRow


@dataclass(frozen=True)
class SymbolCoverage:
    symbol: str
    first_day: date | None
    last_day: date | None
    days_present: int
    days_missing: int
    rows: int
    missing: tuple[date, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "first_day": self.first_day.isoformat() if self.first_day else None,
            "last_day": self.last_day.isoformat() if self.last_day else None,
            "days_present": self.days_present,
            "days_missing": self.days_missing,
            "rows": self.rows,
        }


def summarize(
    rows: Sequence[CoverageRow],
    calendar: TradingCalendar,
    symbols: Sequence[str],
    start: date,
    end: date,
) -> list[SymbolCoverage]:
    """Configured symbols are measured against ``start``..``end``; symbols only found in
    the store against their own first..last day."""
    by_symbol = {r.symbol: r for r in rows}
    out: list[SymbolCoverage] = []
    for symbol in [*symbols, *sorted(set(by_symbol) - set(symbols))]:
        row = by_symbol.get(symbol)
        present = set(row.days) if row else set()
        if symbol in symbols:
            lo, hi = start, end
        else:
            assert row is not None and row.first_day and row.last_day
            lo, hi = row.first_day, row.last_day
        missing = tuple(d for d in calendar.trading_days(lo, hi) if d not in present)
        out.append(
            SymbolCoverage(
                symbol=symbol,
                first_day=row.first_day if row else None,
                last_day=row.last_day if row else None,
                days_present=len(present),
                days_missing=len(missing),
                rows=row.rows if row else 0,
                missing=missing,
            )
        )
    return out
