"""Which stored days a read returns, which it leaves out and why, and each day's segment.

A read is planned from the day index alone (checkpoints, verdicts, manifests: one row per
day, never a scan of ticks): the days whose validation status is wanted are read, the
others are reported as ``ExcludedDay`` records, both on the returned frame
(``frame.attrs["excluded"]``) and as one structured log event, so a researcher can see
programmatically that a range has holes and where they come from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from ghtrader_core.read.segments import Segments

DEFAULT_STATUSES = ("ok", "warn")
ALL_STATUSES = ("ok", "warn", "fail", "unvalidated")
HISTORY = (date(1990, 1, 1), date(2199, 12, 31))  # the whole history of a symbol

DayLike = date | str


def as_day(value: DayLike) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"not a trading day (YYYY-MM-DD): {value!r}") from None


def as_statuses(statuses: Sequence[str] | str) -> tuple[str, ...]:
    wanted = (statuses,) if isinstance(statuses, str) else tuple(statuses)
    unknown = [s for s in wanted if s not in ALL_STATUSES]
    if unknown:
        raise ValueError(f"unknown validation status {unknown}: choose from {ALL_STATUSES}")
    return wanted


@dataclass(frozen=True)
class ExcludedDay:
    """A stored day a read left out: its status is not among those asked for."""

    symbol: str
    trading_day: date
    contract: str
    status: str
    score: float | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "trading_day": self.trading_day.isoformat(),
            "contract": self.contract,
            "status": self.status,
            "score": self.score,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class DayPlan:
    """The stored days of one symbol in ``start``..``end``: ``index`` (all of them, with
    ``segment``), the wanted ones in order, and the excluded ones with their reasons."""

    symbol: str
    start: date
    end: date
    statuses: tuple[str, ...]
    index: pd.DataFrame
    excluded: tuple[ExcludedDay, ...]
    segments: Segments

    @property
    def wanted(self) -> pd.DataFrame:
        return self.index[self.index["status"].isin(self.statuses)]

    @property
    def days(self) -> list[date]:
        return list(self.wanted["trading_day"])

    def runs(self) -> list[tuple[date, date]]:
        """The wanted days as runs (first, last) of consecutive stored days: a read is
        one query per run, and a day left out is never transferred."""
        wanted = self.index["status"].isin(self.statuses).to_numpy()
        days = list(self.index["trading_day"])
        out: list[tuple[date, date]] = []
        for i, keep in enumerate(wanted):
            if not keep:
                continue
            if i and wanted[i - 1]:
                out[-1] = (out[-1][0], days[i])
            else:
                out.append((days[i], days[i]))
        return out

    def contract_of(self) -> dict[date, str]:
        return dict(zip(self.index["trading_day"], self.index["contract"], strict=True))

    def segment_of(self) -> dict[date, int]:
        return dict(zip(self.index["trading_day"], self.index["segment"], strict=True))


def make_plan(
    symbol: str,
    start: date,
    end: date,
    statuses: tuple[str, ...],
    history: pd.DataFrame,
    schedule: Sequence[tuple[date, str]],
    checks: dict[date, str],
) -> DayPlan:
    """``history`` is the symbol's whole day index (for stable segment numbers);
    ``checks`` names the failing/warning checks of days, for the reasons."""
    segments = Segments.build(
        symbol, schedule, zip(history["trading_day"], history["contract"], strict=True)
    )
    in_range = (history["trading_day"] >= start) & (history["trading_day"] <= end)
    index = history[in_range].reset_index(drop=True)
    index["segment"] = np.array([segments.of(d) for d in index["trading_day"]], dtype="int64")
    excluded = []
    for row in index[~index["status"].isin(statuses)].itertuples(index=False):
        day: date = row.trading_day  # type: ignore[assignment]
        score = None if row.score is None or pd.isna(row.score) else float(row.score)  # type: ignore[arg-type]
        reason = f"validation status {row.status!s} not in {list(statuses)}"
        if checks.get(day):
            reason += f" (checks: {checks[day]})"
        excluded.append(
            ExcludedDay(symbol, day, str(row.contract), str(row.status), score, reason)
        )
    return DayPlan(symbol, start, end, statuses, index, tuple(excluded), segments)


def excluded_frame(excluded: Sequence[ExcludedDay]) -> pd.DataFrame:
    return pd.DataFrame(
        [asdict(e) for e in excluded],
        columns=["symbol", "trading_day", "contract", "status", "score", "reason"],
    )
